#!/usr/bin/env bash
# Stage 1 data prep of Switchboard-1 Release 2 (LDC97S62) with the Mississippi State transcripts:
# <data-dir> with wav.scp (one entry per conversation side, its channel picked by sph2pipe -c),
# segments, text, utt2spk, spk2utt, reco2file_and_channel. nas/corpora/swbd/__init__.py documents the
# layout it reads and the transcript normalization it applies.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

check_only=false
allow_partial=false
help_message="Usage: $0 [options] <swbd-dir> <ms98-dir> <data-dir>
 e.g.: $0 /corpora/LDC97S62 /corpora/swb_ms98_transcriptions data/train
<swbd-dir>: LDC97S62 (its .sph files are found wherever they are below it); <ms98-dir>: the unpacked
switchboard_word_alignments.tar.gz (swb_ms98_transcriptions, or the dir holding it), from
http://www.openslr.org/resources/5/switchboard_word_alignments.tar.gz. The tables are left as they
are when nothing changed. Reports transcripts without audio; stops, naming them, when a conversation
with audio lacks the MS98 transcript of a side (MS98 has both sides of every conversation).
Options:
  --check-only <bool>      only check that the inputs are there, failing at once naming what is missing ($check_only)
  --allow-partial <bool>   go on without the sides whose MS98 transcript is missing (reported) ($allow_partial)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
swbd=$1; ms98=$2; data=$3
partial=()
$allow_partial && partial=(--allow-partial)

if $check_only; then
  "$nas_python" -m nas.corpora.swbd check --swbd "$swbd" --ms98 "$ms98" "${partial[@]}"
  exit 0
fi
mkdir -p "$data"
"$nas_python" -m nas.corpora.swbd train --swbd "$swbd" --ms98 "$ms98" "${partial[@]}" "$data" \
  | tee "$data/../swbd1_data_prep.log"
"$recipe/utils/validate_data_dir.sh" --no-feats "$data"
