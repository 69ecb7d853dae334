#!/usr/bin/env bash
# Usage: local/score_search.sh [options]
# Every search method scored against the ground-truth tables of local/run_bench.sh (run it first),
# into BENCH.md (docs/bench.md). For each space (cell: nb_asr_small; tdnn: conf/space.json), one
# warm-up (the first seed's), and for every method and seed: the search from it and its derived
# architecture (./run.sh --stage 4 --stop-stage 6 into BENCH/search/SPACE_METHOD_seedS), that
# architecture trained stand-alone with the tables' budget (BENCH/derived/...), and every table
# architecture scored by the search's super-network weights and by the warm-up's (nas.bin.score:
# held-out loss on dev); then the tabular methods on the tables themselves (dev WER seen, test
# WER judged), and nas.bin.bench report writes BENCH.md. Finished steps are skipped.
# The transfer experiment (He, Su, Yu; cell space, --transfer true): ST-NAS searches the cell on
# a proxy (a tenth of the training voices, at least 3; the network at half nb_asr_small's width), and the cell is
# retrained at nb_asr_small's size on the whole training set with the tables' budget.
# Options:
#   --methods "st darts snas proxyless random"  --seeds "0 1 2"  --spaces "cell tdnn"
#   --bench DIR (exp/bench)  --out FILE (BENCH.md)  --nj N (2)  --tabular-runs N (100)
#   --tabular-budget N (10: queries per tabular run)  --tiny true|false (false: exp/tiny_bench,
#                     one method and seed)  --transfer true|false (true)
set -euo pipefail
methods="st darts snas proxyless random"
seeds="0 1 2"
spaces="cell tdnn"
bench=exp/bench
out=BENCH.md
nj=2
tabular_runs=100
tabular_budget=10
tiny=false
transfer=true
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }

config=conf/bench_retrain.yaml
data=data
prefix=""
conf=conf
if $tiny; then
  [ "$bench" != exp/bench ] || bench=exp/tiny_bench
  [ "$out" != BENCH.md ] || out=$bench/BENCH.md
  methods=st; seeds=0; tabular_runs=3; tabular_budget=2
  config=$bench/retrain_tiny.yaml
  data=data_tiny; prefix=tiny_; conf=conf/tiny
fi
[ -f $bench/plan.json ] && [ -d $bench/tables ] || { echo "$0: no tables in $bench: run local/run_bench.sh first" >&2; exit 1; }
tiny_opt=(--tiny $tiny)
first_seed=${seeds%% *}
mkdir -p $bench/search $bench/derived
epochs=$(sed -n 's/^max_epochs: *//p' $config)

for space in $spaces; do
  case $space in
    cell) space_opt=(--space nb_asr_small); space_arg=nb_asr_small; tag=nb_asr_small_ ;;
    tdnn) space_opt=(); space_arg=$conf/space.json; tag="" ;;   # run.sh's default space
    *) echo "$0: unknown space $space (cell, tdnn)" >&2; exit 1 ;;
  esac
  [ -d $bench/tables/$space ] || { echo "$0: no table $bench/tables/$space; skipping $space"; continue; }
  warmup=exp/${prefix}${tag}warmup_seed$first_seed
  for seed in $seeds; do
    for method in $methods; do
      s=$bench/search/${space}_${method}_seed$seed
      echo "=== $space: $method seed $seed (warm-up $warmup)"
      ./run.sh "${tiny_opt[@]}" "${space_opt[@]}" --method $method --seed $seed --warmup-seed $first_seed \
        --stage 4 --stop-stage 6 --exp-dir $s --nj $nj < /dev/null > $s.log 2>&1 \
        || { echo "$0: search failed: see $s.log" >&2; exit 1; }
      d=$bench/derived/${space}_${method}_seed$seed
      ./run.sh "${tiny_opt[@]}" --arch $s/derive/arch.json --seed 0 --stage 7 --nj $nj --exp-dir $d \
        --retrain-data train --retrain-config $config < /dev/null > $d.log 2>&1 \
        || { echo "$0: stand-alone training of the derived architecture failed: see $d.log" >&2; exit 1; }
      if [ ! -f $s/score/scores.json ]; then
        "$nas_python" -m nas.bin.score --data $data/train --valid-data $data/dev --lang $data/lang_phn \
          --space $space_arg --init $s/search --archs $bench --batch-size 16 --overwrite true $s/score \
          > $s/score.log 2>&1 || { echo "$0: scoring failed: see $s/score.log" >&2; exit 1; }
      fi
    done
  done
  w=$bench/search/${space}_warmup
  if [ ! -f $w/score/scores.json ]; then
    mkdir -p $w
    "$nas_python" -m nas.bin.score --data $data/train --valid-data $data/dev --lang $data/lang_phn \
      --space $space_arg --init $warmup --archs $bench --batch-size 16 --overwrite true $w/score \
      > $w/score.log 2>&1 || { echo "$0: scoring failed: see $w/score.log" >&2; exit 1; }
  fi
  if [ $space = cell ] && $transfer; then
    proxy=$data/train_proxy
    if [ ! -s $proxy/feats.scp ]; then
      n=$(wc -l < $data/train/spk2utt)
      k=$(( n / 10 )); [ $k -ge 3 ] || k=3          # a tenth of the voices, at least 3 (one is held out)
      awk -v step=$(( n / k > 0 ? n / k : 1 )) '(NR - 1) % step == 0 { print $1 }' $data/train/spk2utt \
        | head -n $k > $bench/proxy_speakers.txt
      utils/subset_data_dir.sh --spk-list $bench/proxy_speakers.txt $data/train $proxy > /dev/null
    fi
    t=$bench/search/cell_transfer_seed$first_seed
    echo "=== cell: transfer: st seed $first_seed on $proxy ($(wc -l < $proxy/spk2utt) voices) at width 0.05"
    ./run.sh "${tiny_opt[@]}" --space nb_asr_small --space-params width=0.05 --nas-data train_proxy --method st \
      --seed $first_seed --stage 4 --stop-stage 6 --exp-dir $t --nj $nj < /dev/null > $t.log 2>&1 \
      || { echo "$0: the proxy search failed: see $t.log" >&2; exit 1; }
    d=$bench/derived/cell_transfer_seed$first_seed
    ./run.sh "${tiny_opt[@]}" --arch $t/derive/arch.json --seed 0 --stage 7 --nj $nj --exp-dir $d \
      --retrain-data train --retrain-config $config --retrain-space-params width=0.1 < /dev/null > $d.log 2>&1 \
      || { echo "$0: retraining the transferred cell failed: see $d.log" >&2; exit 1; }
  fi
  "$nas_python" -m nas.bin.bench search --table $bench/tables/$space --epochs $epochs --val dev_wer \
    --test test_wer --runs $tabular_runs --budget-queries $tabular_budget --out $bench/tabular/$space > /dev/null
done
"$nas_python" -m nas.bin.bench report $bench --out $out --spaces "$spaces" --methods "$methods" --seeds "$seeds"
echo "$0: wrote $out"
