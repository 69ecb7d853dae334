#!/usr/bin/env bash
# WFST decoding of network log-probabilities with TLG.fst, in parallel jobs, one best word
# sequence per LM weight: <decode-dir>/scoring/<lmwt>.{tra,txt}. Scores them when --data is given.
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

nj=4
cmd="$utils/run.pl"
beam=15.0
max_active=7000
min_active=20
acwt=1.0
min_lmwt=0.5
max_lmwt=1.5
lmwt_step=0.1
mode=auto
lattice_beam=8.0
frame_shift=0.03
nbest=0
data=""
scoring_opts=""
help_message="Usage: $0 [options] <graph-dir> <logprob-scp-or-dir> <decode-dir>
 e.g.: $0 --nj 2 --data data/test data/lang_phn_test/graph exp/retrain/logprobs_test exp/retrain/decode_test
<graph-dir> has TLG.fst, words.txt, tokens.txt (utils/mkgraph.sh). <logprob-scp-or-dir> is a Kaldi
scp of float32 (frames, V) log-probability matrices, column 0 blank and column j token id j+1
of tokens.txt, or a directory holding logprobs.scp. The path score of LM weight w is
w * graph-cost - acwt * sum log p. Logs: <decode-dir>/log/decode.JOB.log (with the real-time
factor), summary in <decode-dir>/log/decode_summary.log.
Options:
  --nj <n>                  parallel jobs ($nj)
  --cmd <cmd>               job runner ($cmd)
  --beam <x>                decoding beam ($beam)
  --max-active <n>          most active states per frame, mode redecode ($max_active)
  --min-active <n>          ($min_active)
  --acwt <x>                acoustic scale ($acwt)
  --min-lmwt <x> --max-lmwt <x> --lmwt-step <x>   LM weights ($min_lmwt:$lmwt_step:$max_lmwt)
  --mode <auto|lattice|redecode>  one lattice pass, rescored per weight, or one search per
                            weight; auto: redecode for up to 3 weights, else lattice ($mode)
  --lattice-beam <x>        lattice pruning beam, mode lattice ($lattice_beam)
  --nbest <n>               also keep each utterance's n best distinct word sequences of its lattice
                            in <decode-dir>/nbest.txt, for steps/lmrescore.sh (mode lattice; $nbest: none)
  --frame-shift <s>         seconds per network output frame, for the RTF ($frame_shift)
  --data <data-dir>         score against <data-dir>/text afterwards (local/score.sh if the
                            current directory has one, else steps/score.sh)
  --scoring-opts <opts>     options for the scoring script"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/lm_weights.sh"

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
graph=$1
input=$2
dir=$3

for f in TLG.fst words.txt tokens.txt; do
  [ -f "$graph/$f" ] || { echo "$0: no such file: $graph/$f (run utils/mkgraph.sh)" >&2; exit 1; }
done
if [ -d "$input" ]; then
  if [ -f "$input/logprobs.scp" ]; then scp=$input/logprobs.scp
  else echo "$0: no logprobs.scp in $input" >&2; exit 1; fi
else
  scp=$input
  [ -f "$scp" ] || { echo "$0: no such file or directory: $input" >&2; exit 1; }
fi
[ -z "$data" ] || [ -f "$data/text" ] || { echo "$0: no such file: $data/text (from --data)" >&2; exit 1; }

weights=$(lm_weight_list "$min_lmwt" "$max_lmwt" "$lmwt_step") \
  || { echo "$0: bad LM weight range --min-lmwt $min_lmwt --max-lmwt $max_lmwt --lmwt-step $lmwt_step" >&2; exit 1; }

nutt=$(wc -l < "$scp")
[ "$nutt" -gt 0 ] || { echo "$0: $scp is empty" >&2; exit 1; }
if [ "$nj" -gt "$nutt" ]; then echo "$0: --nj $nj is more than the $nutt utterances; using $nutt"; nj=$nutt; fi

mkdir -p "$dir/log" "$dir/scoring" "$dir/split$nj"
rm -f "$dir"/scoring/*.tra "$dir"/scoring/*.txt "$dir"/log/decode.*.log "$dir"/nbest.txt
split_files=()
for n in $(seq "$nj"); do split_files+=("$dir/split$nj/logprobs.$n.scp"); done
"$utils/split_scp.pl" "$scp" "${split_files[@]}"

echo "$0: decoding $nutt utterances of $scp with $graph/TLG.fst in $nj jobs; LM weights: $weights"
start=$(date +%s.%N)
$cmd JOB=1:"$nj" "$dir/log/decode.JOB.log" \
  "$nas_python" -m nas.bin.decode_wfst --beam "$beam" --max-active "$max_active" --min-active "$min_active" \
    --acwt "$acwt" --lm-weights "$weights" --mode "$mode" --lattice-beam "$lattice_beam" \
    --frame-shift "$frame_shift" --nbest "$nbest" --job JOB "$graph" "$dir/split$nj/logprobs.JOB.scp" "$dir/scoring" \
  || { echo "$0: decoding failed; see $dir/log/decode.*.log" >&2; exit 1; }
wall=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.2f", e - s}')

for w in $weights; do
  for n in $(seq "$nj"); do cat "$dir/scoring/$w.$n.tra"; done | LC_ALL=C sort > "$dir/scoring/$w.tra"
  for n in $(seq "$nj"); do rm -f "$dir/scoring/$w.$n.tra"; done
  "$utils/int2sym.pl" -f 2- "$graph/words.txt" "$dir/scoring/$w.tra" > "$dir/scoring/$w.txt"
done

# real-time factor: the jobs' decoding time (one core each) and the wall clock, over audio time
if [ "$nbest" -gt 0 ]; then            # the jobs' lists, utterances in order, each one's ranks in order
  for n in $(seq "$nj"); do cat "$dir/scoring/nbest.$n.txt"; done | LC_ALL=C sort -s -k1,1 > "$dir/nbest.txt"
  rm -f "$dir"/scoring/nbest.*.txt
fi

cat "$dir"/log/decode.*.log | awk -v wall="$wall" -v nj="$nj" '
  /^decode_wfst: RTF/ { for (i = 1; i <= NF; i++) { if ($i == "decode") d += $(i+1) + 0; if ($i == "audio") a += $(i+1) + 0 } }
  END {
    if (a > 0) printf "RTF %.4f per core (decode %.2fs in %d jobs / audio %.2fs); wall-clock RTF %.4f (%.2fs)\n", d / a, d, nj, a, wall / a, wall
  }' | tee "$dir/log/decode_summary.log" | sed "s|^|$0: |"
nf=$(cat "$dir"/log/decode.*.log | grep -c "no final state reached" || true)
if [ "$nf" -gt 0 ]; then
  echo "$0: WARNING: $nf utterances reached no final state (a larger --beam may help); e.g.:"
  grep -h "no final state reached" "$dir"/log/decode.*.log | head -3
fi

if [ -n "$data" ]; then
  if [ -x local/score.sh ]; then score=local/score.sh; else score=$steps/score.sh; fi
  # shellcheck disable=SC2086
  "$score" $scoring_opts "$data" "$graph" "$dir"
fi
