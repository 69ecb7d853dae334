#!/usr/bin/env bash
# Usage: utils/data/remove_dup_utts.sh <max-count> <src-data-dir> <dest-data-dir>
# Keep at most <max-count> utterances with the same transcript (the first ones in sorted order):
# Switchboard's train_nodup drops most copies of "uh-huh", "yeah", ... (Kaldi's remove_dup_utts.sh).
# Printed: the utterances dropped, and how many distinct transcripts had more than <max-count>.
set -euo pipefail
utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
if [ $# -ne 3 ]; then sed -n '2p' "$0" | sed 's/^# //' >&2; exit 1; fi
max=$1; src=$2; dest=$3
case $max in ''|*[!0-9]*) echo "$0: <max-count> must be a positive integer, not '$max'" >&2; exit 1 ;; esac
[ -f "$src/text" ] || { echo "$0: no such file: $src/text" >&2; exit 1; }
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
LC_ALL=C awk -v max="$max" '{ t = $0; sub(/^[^ \t]+[ \t]*/, "", t); if (++n[t] <= max) print $1; else { d++; if (n[t] == max + 1) dt++ } }
  END { printf "%d %d\n", d + 0, dt + 0 > "/dev/stderr" }' "$src/text" > "$tmp" 2> "$tmp.counts"
read -r dropped distinct < "$tmp.counts"; rm -f "$tmp.counts"
"$utils/subset_data_dir.sh" --utt-list "$tmp" "$src" "$dest" >/dev/null
echo "$0: kept $(wc -l < "$tmp") of $(wc -l < "$src/text") utterances of $src in $dest;" \
     "dropped $dropped utterances, those beyond the first $max with the same transcript" \
     "($distinct distinct transcripts had more than $max utterances)"
