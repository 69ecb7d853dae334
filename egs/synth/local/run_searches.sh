#!/usr/bin/env bash
# Usage: local/run_searches.sh [options]
# One-shot searches on the exhaustive space (issue 28; docs/bench.md, "One-shot searches on the
# exhaustive table"), each derived architecture scored by lookup in the exhaustive table: no
# retraining. --warmups warm-ups of the super-network (stage 4, conf/exhaustive/warmup.yaml, seeds
# 0..W-1), then for every method and run seed r in 0..R-1 a search from warm-up r mod W (stages 5-6,
# conf/exhaustive/search.yaml: until every block is decided, or the cap), --parallel at once. Each run
# records its wall seconds; python -m nas.bin.bench searches collects the finished ones into --export
# (results/searches.csv), which python -m nas.bin.bench compare judges against results/exhaustive.csv.
# With --score true every architecture of the table is also scored by each warm-up's and search's
# final weights (nas.bin.score: held-out loss on dev), and --ranking-csv says how those rank the table.
# A killed run is redone from its start (its search checkpoints resume it); finished ones are kept.
# Options:
#   --methods "st darts snas proxyless random"  --runs N (10)  --warmups N (5)  --parallel N (2)
#   --bench DIR (exp/searches)  --export FILE (results/searches.csv; "" for none)
#   --search-config F (conf/exhaustive/search.yaml)  --warmup-config F (conf/exhaustive/warmup.yaml)
#   --space F (conf/exhaustive/space.json)  --table-csv F (results/exhaustive.csv)  --nj N (1)
#   --max-runs N (0: all; else stop after N searches, then collect what has finished)
#   --score true|false (true)  --table-dir DIR (results/exhaustive: its plan.json lists the architectures)
#   --ranking-csv FILE (results/ranking.csv; "" for none)
set -euo pipefail
methods="st darts snas proxyless random"
runs=10
warmups=5
parallel=2
bench=exp/searches
export=results/searches.csv
search_config=conf/exhaustive/search.yaml
warmup_config=conf/exhaustive/warmup.yaml
space=conf/exhaustive/space.json
table_csv=results/exhaustive.csv
nj=1
max_runs=0
score=true
table_dir=results/exhaustive
ranking_csv=results/ranking.csv
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. conf/bench.conf
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
[ "$runs" -ge 1 ] && [ "$warmups" -ge 1 ] && [ "$parallel" -ge 1 ] || { echo "$0: --runs, --warmups and --parallel must be >= 1" >&2; exit 1; }
[ -s data/$bench_data/feats.scp ] || local/make_bench_data.sh $per_spk data/train data/$bench_data
[ -f "$table_csv" ] || { echo "$0: no $table_csv: build the table first (local/run_exhaustive.sh)" >&2; exit 1; }
mkdir -p $bench/runs
[ $parallel -le 1 ] || export OMP_NUM_THREADS=1

timed() {                       # timed <seconds-file> <log> <command...>: run it, then write its wall seconds
  local out=$1 log=$2 t0; shift 2
  t0=$(date +%s.%N)
  "$@" < /dev/null > $log 2>&1 || return 1
  awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN { printf "%.1f\n", b - a }' > $out
}

score_weights() {               # score_weights <init-dir> <out-dir>: every table architecture by these weights
  $score || return 0
  [ ! -f $2/scores.json ] || return 0
  "$nas_python" -m nas.bin.score --data data/$bench_data --valid-data data/dev --lang data/lang_phn --space $space \
    --loss ctc-crf --den-dir data/den_meta --init $1 --archs $table_dir --batch-size 16 --overwrite true $2 > $2.log 2>&1 \
    || { echo "$0: scoring with $1 failed: see $2.log" >&2; return 1; }
}

finished() {                    # finished <run dir>: searched, derived (and scored)
  [ -f $1/seconds ] && [ -f $1/derive/arch.json ] && { ! $score || [ -f $1/score/scores.json ]; }
}

warmup() {                      # warmup <seed>
  local d=$bench/warmup_seed$1
  if ! { [ -f $d/seconds ] && [ -f $d/warmup/done ]; }; then
    mkdir -p $d
    echo "=== warm-up seed $1 in $d"
    timed $d/seconds $d.log ./run.sh --space $space --nas-data $bench_data --seed $1 --stage 4 --stop-stage 4 \
      --warmup-config $warmup_config --warmup-dir $d/warmup --nj $nj \
      || { echo "$0: warm-up $1 failed: see $d.log" >&2; return 1; }
  fi
  score_weights $d/warmup $d/score
}

one_run() {                     # one_run <method> <run seed>
  local w=$(( $2 % warmups )) d=$bench/runs/$1_run$2
  if ! { [ -f $d/seconds ] && [ -f $d/derive/arch.json ]; }; then
    echo "=== $1 run $2 (warm-up seed $w)"
    mkdir -p $d
    echo $w > $d/warmup_seed
    timed $d/seconds $d.log ./run.sh --space $space --nas-data $bench_data --method $1 --seed $2 \
      --warmup-dir $bench/warmup_seed$w/warmup --search-config $search_config --stage 5 --stop-stage 6 \
      --exp-dir $d --nj $nj || { echo "$0: $1 run $2 failed: see $d.log" >&2; return 1; }
  fi
  score_weights $d/search $d/score
}

collect() {
  [ -n "$export" ] || return 0
  "$nas_python" -m nas.bin.bench searches $bench --space $space --table-csv $table_csv --csv $export \
    --ranking-csv "$ranking_csv"
}

pool() {                        # pool <function> <job lines...>: at most --parallel at once
  local fn=$1 failed=0 job; shift
  for job in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge $parallel ]; do wait -n || failed=$((failed + 1)); done
    [ $failed -eq 0 ] || break
    $fn $job &
  done
  while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=$((failed + 1)); done
  return $failed
}

pool warmup $(seq 0 $((warmups - 1))) || { echo "$0: warm-up(s) failed; fix and rerun" >&2; exit 1; }
todo=()
for r in $(seq 0 $((runs - 1))); do
  for m in $methods; do
    finished $bench/runs/${m}_run$r || todo+=("$m:$r")
  done
done
[ $max_runs -eq 0 ] || [ ${#todo[@]} -le $max_runs ] || todo=("${todo[@]:0:$max_runs}")
echo "$0: ${#todo[@]} search(es) to run"
run_job() { one_run "${1%%:*}" "${1##*:}"; }
failed=0
pool run_job "${todo[@]}" || failed=$?
collect
[ $failed -eq 0 ] || { echo "$0: $failed search(es) failed; fix and rerun (finished ones are kept)" >&2; exit 1; }
echo "$0: done; python -m nas.bin.bench compare --table-csv $table_csv --space $space --searches $export"
