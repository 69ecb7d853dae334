#!/usr/bin/env bash
# Stage 1 data prep: Kaldi data dirs from WSJ0 (LDC93S6B) and WSJ1 (LDC94S13B) as the LDC ships them.
# nas/corpora/wsj/__init__.py documents the layout it reads and the transcript normalization it applies.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

sets="train_si284 test_dev93 test_eval92"
check_only=false
allow_partial=false
help_message="Usage: $0 [options] <wsj0> <wsj1> <data-dir>
 e.g.: $0 /corpora/LDC93S6B /corpora/LDC94S13B data
<wsj0>, <wsj1>: the distributions (dirs holding CD dirs like 11-13.1 and 13-34.1), or quoted lists of
their CD dirs, as Kaldi's wsj_data_prep.sh takes them. Writes <data-dir>/<set>/{wav.scp,text,utt2spk,
spk2utt} for each set (left as they are when nothing changed) and validates them; reports with counts
the CD dirs missing or unused, index entries without audio, audio without transcripts.
Sets: train_si284 (si84 + si200), train_si84, test_dev93, test_eval92.
Options:
  --sets '<set> ...'      sets to prepare ($sets)
  --check-only <bool>     only check the corpus (stage 0): the CD dirs and index files, every CD the sets'
                          indices name, the LM CD 13-32.1, and one audio file per CD decoded; fails at once
                          naming what is missing or unreadable ($check_only)
  --allow-partial <bool>  with --check-only: CDs the indices name may be missing (reported; stage 1 leaves
                          their entries out) ($allow_partial)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
wsj0=$1; wsj1=$2; data=$3

if $check_only; then
  partial=(); ! $allow_partial || partial=(--allow-partial)
  "$nas_python" -m nas.corpora.wsj check --need-lm "${partial[@]}" --wsj0 "$wsj0" --wsj1 "$wsj1" --sets "${sets// /,}"
  exit 0
fi
mkdir -p "$data/local"
"$nas_python" -m nas.corpora.wsj data --wsj0 "$wsj0" --wsj1 "$wsj1" --sets "${sets// /,}" "$data" \
  | tee "$data/local/wsj_data_prep.log"
for x in $sets; do
  "$recipe/utils/validate_data_dir.sh" --no-feats "$data/$x"
done
