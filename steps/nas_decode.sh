#!/usr/bin/env bash
# Stage 8 for one data set, written once for every recipe: the network's log-probabilities
# (steps/nas_infer.sh), WFST decoding at each LM weight (steps/decode.sh), scoring with the recipe's
# local/score.sh, and optionally the greedy (no LM) unit error rate. Skipped when the decode dir was
# made from the same model, features, transcripts, graph and options (<decode-dir>/.inputs.json, written
# last); redone, saying what changed, otherwise.
set -euo pipefail
echo "$0 $*"

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

nj=4
cmd="$utils/run.pl"
checkpoint=best.pt
lang=""
logprobs=""
decode_opts=""
min_lmwt=""
max_lmwt=""
lmwt_step=""
score_cmd=""
greedy=""
help_message="Usage: $0 [options] <model-dir> <data-dir> <graph-dir> <decode-dir>
 e.g.: $0 --nj 4 --decode-opts '--beam 15' --min-lmwt 0.5 --max-lmwt 1.5 --lmwt-step 0.1 \\
         exp/nas_st_seed0/retrain data/test_eval92 data/lang_phn_test_tgpr/graph exp/nas_st_seed0/retrain/decode_test_eval92_tgpr
Writes <logprobs> (default <model-dir>/logprobs_<basename of data-dir>), <decode-dir>/scoring/*, and
what the scoring command writes there (wer_<lmwt>, best_wer).
Options:
  --nj <n> ($nj)  --cmd <cmd> ($cmd)
  --checkpoint <file> ($checkpoint)     in <model-dir>
  --lang <dir>                  its tokens.txt orders the outputs (default: <graph-dir>)
  --logprobs <dir>              where the log-probabilities go
  --decode-opts '<opts>'        for steps/decode.sh (beam, max-active, mode, nbest ...)
  --min-lmwt, --max-lmwt, --lmwt-step <x>   the LM weights (default: steps/decode.sh's)
  --score-cmd '<cmd>'           the scoring command with its options, evaluated by the shell (quote as on a
                                command line) and called with <data-dir> <graph-dir> <decode-dir>; default:
                                local/score.sh of the current dir if there is one, else steps/score.sh
  --greedy <label>              also the greedy decoding's unit error rate, into <decode-dir>/<label in lower case>.txt"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/inputs.sh"
if [ $# -ne 4 ]; then echo "$help_message" >&2; exit 1; fi
mdir=$1
data=$2
graph=$3
dir=$4
lang=${lang:-$graph}
logprobs=${logprobs:-$mdir/logprobs_$(basename "$data")}
if [ -z "$score_cmd" ]; then
  score_cmd=$steps/score.sh
  [ ! -x local/score.sh ] || score_cmd=local/score.sh
fi
for f in "$mdir/arch.json" "$mdir/$checkpoint" "$data/feats.scp" "$data/text" "$graph/TLG.fst" "$lang/tokens.txt"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done

lmwts=()
[ -z "$min_lmwt" ] || lmwts+=(--min-lmwt "$min_lmwt")
[ -z "$max_lmwt" ] || lmwts+=(--max-lmwt "$max_lmwt")
[ -z "$lmwt_step" ] || lmwts+=(--lmwt-step "$lmwt_step")
made_from=("model=$mdir/$checkpoint" "arch=$mdir/arch.json" "feats=$data/feats.scp" "text=$data/text"
           "graph=$graph" "tokens=$lang/tokens.txt"
           "options:=$decode_opts ${lmwts[*]} | $score_cmd | $greedy")
[ ! -f "$data/cmvn.scp" ] || made_from+=("cmvn=$data/cmvn.scp")
if [ -d "$dir/scoring" ] && inputs_current "$dir is up to date; skipping" "$dir/.inputs.json" "${made_from[@]}"; then
  exit 0
fi
rm -f "$dir/.inputs.json"

"$steps/nas_infer.sh" --nj "$nj" --cmd "$cmd" --checkpoint "$checkpoint" "$mdir" "$data" "$lang" "$logprobs"
# shellcheck disable=SC2086
"$steps/decode.sh" --nj "$nj" --cmd "$cmd" $decode_opts "${lmwts[@]}" "$graph" "$logprobs" "$dir"
eval "$score_cmd" '"$data" "$graph" "$dir"'
if [ -n "$greedy" ]; then
  label=$(echo "$greedy" | tr '[:upper:]' '[:lower:]')
  "$nas_python" -m nas.bin.greedy_decode --ref-text "$data/text" --label "$greedy" "$lang" "$logprobs" \
    "$dir/greedy_units.txt" > "$dir/$label.txt"
fi
inputs_record "$dir/.inputs.json" "${made_from[@]}"
