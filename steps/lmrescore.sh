#!/usr/bin/env bash
# Usage: steps/lmrescore.sh [options] <old-lm.arpa> <new-lm.arpa> <graph-dir> <in-decode-dir> <out-decode-dir>
# LM rescoring with the habits of Kaldi's lmrescore_const_arpa.sh: the first pass's LM out, the new
# LM in, the LM-weight sweep after. <in-decode-dir> is a steps/decode.sh --nbest N dir (its
# nbest.txt: each utterance's N best distinct word sequences of its lattice, with their graph and
# acoustic costs; nas/decoding/rescore.py says the format); <old-lm.arpa> is the ARPA file its
# graph's G.fst was made from, <graph-dir> that graph (words.txt). Writes
# <out-decode-dir>/scoring/<lmwt>.{tra,txt} as steps/decode.sh does, and scores them with --data.
# Options:
#   --min-lmwt <x> --max-lmwt <x> --lmwt-step <x>   LM weights (0.5:0.1:1.5)
#   --acwt <x>           acoustic scale, as the first pass's (1.0)
#   --data <data-dir>    score against <data-dir>/text (local/score.sh if the current directory has one)
#   --scoring-opts <opts>
set -euo pipefail
steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)
min_lmwt=0.5
max_lmwt=1.5
lmwt_step=0.1
acwt=1.0
data=""
scoring_opts=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/lm_weights.sh"
if [ $# -ne 5 ]; then echo "$help_message" >&2; exit 1; fi
old_lm=$1
new_lm=$2
graph=$3
in=$4
dir=$5
for f in "$old_lm" "$new_lm" "$graph/words.txt"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
[ -f "$in/nbest.txt" ] || { echo "$0: no such file: $in/nbest.txt (decode with steps/decode.sh --mode lattice --nbest N)" >&2; exit 1; }
weights=$(lm_weight_list "$min_lmwt" "$max_lmwt" "$lmwt_step") \
  || { echo "$0: bad LM weight range --min-lmwt $min_lmwt --max-lmwt $max_lmwt --lmwt-step $lmwt_step" >&2; exit 1; }
mkdir -p "$dir/log" "$dir/scoring"
rm -f "$dir"/scoring/*.tra "$dir"/scoring/*.txt
"$nas_python" -m nas.bin.lmrescore --lm-weights "$weights" --acwt "$acwt" "$old_lm" "$new_lm" "$graph/words.txt" \
  "$in/nbest.txt" "$dir/scoring" > "$dir/log/lmrescore.log" 2>&1 \
  || { cat "$dir/log/lmrescore.log" >&2; echo "$0: rescoring failed; see $dir/log/lmrescore.log" >&2; exit 1; }
grep "^lmrescore: " "$dir/log/lmrescore.log" | sed "s|^|$0: |"
for w in $weights; do
  "$utils/int2sym.pl" -f 2- "$graph/words.txt" "$dir/scoring/$w.tra" > "$dir/scoring/$w.txt"
done
if [ -n "$data" ]; then
  if [ -x local/score.sh ]; then score=local/score.sh; else score=$steps/score.sh; fi
  # shellcheck disable=SC2086
  "$score" $scoring_opts "$data" "$graph" "$dir"
fi
