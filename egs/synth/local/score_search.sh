#!/usr/bin/env bash
# Usage: local/score_search.sh [options]
# Every search method scored against the ground-truth tables of local/run_bench.sh (run it first),
# into BENCH.md (docs/bench.md). For each space (cell: nb_asr_small; tdnn: conf/bench_tdnn.json),
# one warm-up (the first seed's, into BENCH/search/SPACE_warmup/warmup, with conf/bench.conf's
# warm-up config of the space: the recipe's leaves both on the CTC plateau), and for every method
# and seed: the search from it and its
# derived architecture (./run.sh --stage 5 --stop-stage 6 into BENCH/search/SPACE_METHOD_seedS),
# that architecture trained stand-alone exactly as the tables' were (BENCH/derived/...), and every
# table architecture scored by the search's super-network weights and by the warm-up's
# (nas.bin.score: held-out loss on dev); then the tabular methods on the tables themselves (dev
# WER seen, test WER judged), and nas.bin.bench report writes BENCH.md. Finished steps are
# skipped, so a killed run continues; a search or transfer run with a record in BENCH/records/ is
# finished too (the export keeps them: copied back into BENCH, it resumes with what is missing).
# Warm-ups and searches see data/train_bench, the tables' training set (conf/bench.conf: the
# settings shared with run_bench.sh).
# The transfer experiment (He, Su, Yu; cell space, --transfer true): ST-NAS searches the cell on
# a proxy (a tenth of the training voices, at least 3; the network at half nb_asr_small's width), and
# the cell is retrained at nb_asr_small's size on the whole bench training set with the tables' budget.
# Options:
#   --methods "st darts snas proxyless random"  --seeds "0 1 2"  --spaces "cell tdnn"
#   --bench DIR (exp/bench)  --out FILE (BENCH.md)  --nj N (2)  --tabular-runs N (100)
#   --tabular-budget N (10: queries per tabular run)  --tiny true|false (false: exp/tiny_bench,
#                     one method and seed)  --transfer true|false (true)
#   --parallel N (1; N > 1: N searches at once, one thread and one job each)
#   --searches true|false (true; false: only what the tables alone give: the tabular methods and
#                     BENCH.md's table diagnostics, no warm-up, search or transfer run)
#   --export DIR (results/bench; none with --tiny): the bench dir without its search and training
#                     dirs (plan, tables, records/, tabular/), what BENCH.md is then made from, so
#                     that the committed copy remakes it: python -m nas.bin.bench report DIR
#   --table-csv FILE (results/exhaustive.csv)  --exhaustive-space F (conf/exhaustive/space.json)
#   --searches FILE (results/searches.csv)  --ranking FILE (results/ranking.csv)
#   --latency FILE (results/latency/nb-asr-bench-vm2-cpu-t1-offline.pickle)
#   --table-dir DIR (results/exhaustive/tables/tdnn_noise)
#   --latency-csv FILE (results/latency.csv)  --latency-lut F (results/latency/latency-vm2-cpu-t1-offline-fit-onehot.json):
#                     the searches of --searches under a latency budget (local/run_latency_searches.sh)
#                     against the front at their measured latency, when both exist
#   --proxies FILE (results/proxies.csv): when the table
#                     exists (and not --tiny), BENCH.md opens with the search methods judged on it
#                     (python -m nas.bin.bench compare: the one-shot runs of --searches if it exists,
#                     the tabular methods, random pick, the hand designs) and the zero-cost proxies
#                     (python -m nas.bin.bench proxies; docs/proxies.md) if --proxies exists, and
#                     the Pareto front of test WER against --latency (docs/latency.md) if it exists
#   --decode-opts "..." --cell-space S --tdnn-space F --cell-warmup-config F
#                     --cell-search-config F ... (conf/bench.conf)
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
parallel=1
searches=true
export=results/bench
proxies=results/proxies.csv
table_csv=results/exhaustive.csv
exhaustive_space=conf/exhaustive/space.json
searches_csv=results/searches.csv
ranking_csv=results/ranking.csv
latency=results/latency/nb-asr-bench-vm2-cpu-t1-offline.pickle
table_dir=results/exhaustive/tables/tdnn_noise
latency_csv=results/latency.csv
latency_lut=results/latency/latency-vm2-cpu-t1-offline-fit-onehot.json
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. conf/bench.conf
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }

config=$bench_config
data=data
if $tiny; then
  [ "$bench" != exp/bench ] || bench=exp/tiny_bench
  [ "$out" != BENCH.md ] || out=$bench/BENCH.md
  methods=st; seeds=0; tabular_runs=3; tabular_budget=2
  config=$bench/retrain_tiny.yaml
  cell_warmup_config=conf/tiny/warmup.yaml; tdnn_warmup_config=conf/tiny/warmup.yaml
  cell_search_config=conf/tiny/search.yaml; tdnn_search_config=conf/tiny/search.yaml
  data=data_tiny
  [ "$export" != results/bench ] || export=""
fi
[ -f $bench/plan.json ] && [ -d $bench/tables ] || { echo "$0: no tables in $bench: run local/run_bench.sh first" >&2; exit 1; }
local/make_bench_data.sh $per_spk $data/train $data/$bench_data   # the tables' training set (made by run_bench.sh)
tiny_opt=(--tiny $tiny)
first_seed=${seeds%% *}
table_seed=$(awk 'NR == 1 { print $2 }' $bench/jobs.txt)   # the seed every table architecture was trained with
job_nj=$nj
[ $parallel -le 1 ] || job_nj=1
mkdir -p $bench/search $bench/derived
epochs=$(sed -n 's/^max_epochs: *//p' $config)
bench_opts=(--retrain-data $bench_data --retrain-config $config --decode-opts "$decode_opts" --test-lmwts "$test_lmwts")

score() {                       # score <init-dir> <out-dir>: every table architecture by these weights
  [ ! -f $2/scores.json ] || return 0
  "$nas_python" -m nas.bin.score --data $data/$bench_data --valid-data $data/dev --lang $data/lang_phn \
    --space $space_arg "${loss_opt[@]}" --init $1 --archs $bench --batch-size 16 --overwrite true $2 \
    > $2.log 2>&1 || { echo "$0: scoring failed: see $2.log" >&2; return 1; }
}

tabular() {                     # the tabular methods on $space's table itself: dev WER seen, test WER judged
  "$nas_python" -m nas.bin.bench search --table $bench/tables/$space --epochs $epochs --val dev_wer \
    --test test_wer --runs $tabular_runs --budget-queries $tabular_budget --out $bench/tabular/$space > /dev/null
}

one_search() {                  # one_search <method> <seed>: search, derive, train stand-alone, score
  local method=$1 seed=$2 s=$bench/search/${space}_$1_seed$2 d=$bench/derived/${space}_$1_seed$2
  echo "=== $space: $method seed $seed (warm-up seed $first_seed)"
  if [ $parallel -gt 1 ]; then export OMP_NUM_THREADS=1; fi
  ./run.sh "${tiny_opt[@]}" "${space_opt[@]}" --nas-data $bench_data --method $method --seed $seed \
    --warmup-dir $warmup --search-config $search_config --stage 5 --stop-stage 6 --exp-dir $s --nj $job_nj < /dev/null > $s.log 2>&1 \
    || { echo "$0: search failed: see $s.log" >&2; return 1; }
  ./run.sh "${tiny_opt[@]}" --arch $s/derive/arch.json --seed $table_seed --stage 7 --stop-stage 8 --nj $job_nj --exp-dir $d \
    "${bench_opts[@]}" < /dev/null > $d.log 2>&1 \
    || { echo "$0: stand-alone training of the derived architecture failed: see $d.log" >&2; return 1; }
  score $s/search $s/score
}

for space in $spaces; do
  case $space in
    cell) space_arg=$cell_space; warmup_config=$cell_warmup_config; search_config=$cell_search_config ;;
    tdnn) space_arg=$tdnn_space; warmup_config=$tdnn_warmup_config; search_config=$tdnn_search_config ;;
    *) echo "$0: unknown space $space (cell, tdnn)" >&2; exit 1 ;;
  esac
  space_opt=(--space $space_arg)
  loss=$(sed -n 's/^loss: *//p' $warmup_config)
  loss_opt=(--loss ${loss:-ctc})                    # the scores' held-out loss: the warm-up's
  [ "${loss_opt[1]}" != ctc-crf ] || loss_opt+=(--den-dir $data/den_meta)
  [ -d $bench/tables/$space ] || { echo "$0: no table $bench/tables/$space; skipping $space"; continue; }
  if ! $searches; then
    tabular
    continue
  fi
  todo=()                       # the searches to run: neither a scored search dir nor a record has them
  for seed in $seeds; do        # (records/: what BENCH.md takes from a search, kept in the export)
    for method in $methods; do
      n=${space}_${method}_seed$seed
      [ -f $bench/search/$n/score/scores.json ] || [ -f $bench/records/$n.json ] || todo+=("$method $seed")
    done
  done
  warmup=$bench/search/${space}_warmup/warmup       # its score: search/${space}_warmup/score
  if [ ${#todo[@]} -eq 0 ] && [ -f $bench/records/${space}_warmup.json ]; then
    echo "=== $space: every search is scored (records in $bench/records)"
  else
    echo "=== $space: warm-up (seed $first_seed) in $warmup; ${#todo[@]} search(es) to run"
    mkdir -p $bench/search/${space}_warmup
    ./run.sh "${tiny_opt[@]}" "${space_opt[@]}" --nas-data $bench_data --seed $first_seed --stage 4 \
      --stop-stage 4 --warmup-config $warmup_config --warmup-dir $warmup --nj $nj < /dev/null \
      > $bench/search/${space}_warmup.log 2>&1 \
      || { echo "$0: warm-up failed: see $bench/search/${space}_warmup.log" >&2; exit 1; }
    [ -f $warmup/done ] || { echo "$0: no finished warm-up in $warmup" >&2; exit 1; }
    failed=0
    for job in "${todo[@]}"; do
      read -r method seed <<< "$job"
      while [ "$(jobs -rp | wc -l)" -ge $parallel ]; do wait -n || failed=$((failed + 1)); done
      [ $failed -eq 0 ] || break
      one_search $method $seed &
    done
    while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=$((failed + 1)); done
    [ $failed -eq 0 ] || { echo "$0: $failed search(es) failed; fix and rerun (finished ones are kept)" >&2; exit 1; }
    score $warmup $bench/search/${space}_warmup/score
  fi
  if [ $space = cell ] && $transfer && [ ! -f $bench/records/cell_transfer_seed$first_seed.json ]; then
    proxy=$data/${bench_data}_proxy
    if [ ! -s $proxy/feats.scp ]; then
      n=$(wc -l < $data/$bench_data/spk2utt)
      k=$(( n / 10 )); [ $k -ge 3 ] || k=3          # a tenth of the voices, at least 3 (one is held out)
      awk -v step=$(( n / k > 0 ? n / k : 1 )) '(NR - 1) % step == 0 { print $1 }' $data/$bench_data/spk2utt \
        | head -n $k > $bench/proxy_speakers.txt
      utils/subset_data_dir.sh --spk-list $bench/proxy_speakers.txt $data/$bench_data $proxy > /dev/null
    fi
    t=$bench/search/cell_transfer_seed$first_seed
    echo "=== cell: transfer: st seed $first_seed on $proxy ($(wc -l < $proxy/spk2utt) voices) at width 0.05"
    ./run.sh "${tiny_opt[@]}" --space $cell_space --space-params width=0.05 --nas-data $(basename $proxy) \
      --method st --seed $first_seed --stage 4 --stop-stage 6 --exp-dir $t --warmup-config $warmup_config \
      --warmup-dir $t/warmup --search-config $search_config --nj $nj < /dev/null > $t.log 2>&1 \
      || { echo "$0: the proxy search failed: see $t.log" >&2; exit 1; }
    d=$bench/derived/cell_transfer_seed$first_seed
    ./run.sh "${tiny_opt[@]}" --arch $t/derive/arch.json --seed $table_seed --stage 7 --stop-stage 8 --nj $nj --exp-dir $d \
      "${bench_opts[@]}" --retrain-space-params width=0.1 < /dev/null > $d.log 2>&1 \
      || { echo "$0: retraining the transferred cell failed: see $d.log" >&2; exit 1; }
  fi
  tabular
done
report=(--out $out --spaces "$spaces" --methods "$methods" --seeds "$seeds")
if ! $tiny && [ -f "$table_csv" ]; then
  report+=(--table-csv "$table_csv" --exhaustive-space "$exhaustive_space" --unit-seeds "$unit_seeds")
  [ ! -f "$searches_csv" ] || report+=(--searches "$searches_csv")
  [ ! -f "$ranking_csv" ] || report+=(--ranking "$ranking_csv")
  [ ! -f "$proxies" ] || report+=(--proxies "$proxies")
  [ ! -f "$latency" ] || [ ! -d "$table_dir" ] || report+=(--latency "$latency" --table-dir "$table_dir")
  [ ! -f "$searches_csv" ] || [ ! -f "$latency_csv" ] || [ ! -f "$latency_lut" ] \
    || report+=(--latency-csv "$latency_csv" --latency-lut "$latency_lut")
fi
"$nas_python" -m nas.bin.bench report $bench "${report[@]}" > /dev/null    # (re)writes records/ from the runs
if [ -n "$export" ]; then
  mkdir -p $export
  for f in plan.json jobs.txt times.txt proxy_speakers.txt tables records tabular; do
    [ ! -e $bench/$f ] || { rm -rf $export/$f; cp -r $bench/$f $export/; }
  done
  "$nas_python" -m nas.bin.bench report $export "${report[@]}" > /dev/null
fi
echo "$0: wrote $out"
