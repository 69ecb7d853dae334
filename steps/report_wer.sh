#!/usr/bin/env bash
# Stage 8 summary: the WER of each set at the LM weight that is best on the dev set (tuning on dev,
# reporting on test, as the WSJ papers do), and each set's own best for reference.
set -euo pipefail
steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

dev_set=dev
tag=""
help_message="Usage: $0 [options] <model-dir> <set> ...
 e.g.: $0 --dev-set test_dev93 --tag tgpr exp/nas_st_seed0/retrain test_dev93 test_eval92
Reads <model-dir>/decode_<set>[_<tag>]/{best_wer,wer_<lmwt>} (steps/score.sh) and prints per set:
  <set> WER at LM weight <w> (best on <dev-set>): %WER ...
  <set> best WER over the LM weights (for reference): %WER ...
Options:
  --dev-set <set>   the set the LM weight is chosen on ($dev_set)
  --tag <tag>       decode dir suffix, e.g. the graph's LM ($tag)"
. "$utils/parse_options.sh"
if [ $# -lt 2 ]; then echo "$help_message" >&2; exit 1; fi
dir=$1; shift
suffix=${tag:+_$tag}
best=$dir/decode_${dev_set}${suffix}/best_wer
[ -s "$best" ] || { echo "$0: no such file: $best (score $dev_set first)" >&2; exit 1; }
lmwt=$(sed -n 's:.*/wer_\([0-9.]*\)$:\1:p' "$best")
[ -n "$lmwt" ] || { echo "$0: cannot read the LM weight from $best: $(cat "$best")" >&2; exit 1; }
for x in "$@"; do
  d=$dir/decode_${x}${suffix}
  [ -f "$d/wer_$lmwt" ] || { echo "$0: no such file: $d/wer_$lmwt (decode and score $x with the same LM weights)" >&2; exit 1; }
  echo "$x WER at LM weight $lmwt (best on $dev_set): $(grep WER "$d/wer_$lmwt" | head -n 1)"
  echo "$x best WER over the LM weights (for reference): $(cat "$d/best_wer")"
done
