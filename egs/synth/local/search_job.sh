#!/usr/bin/env bash
# Usage: local/search_job.sh [options] warmup <seed>
#        local/search_job.sh [options] run <method> <run-seed>
#  e.g.: local/search_job.sh --bench exp/searches --warmups 5 run st 7
# One job of local/run_searches.sh, what its launcher runs here or on a SLURM node (docs/cluster.md).
# warmup: the super-network's warm-up with <seed> (./run.sh --stage 4) into BENCH/warmup_seed<seed>.
# run: a search by <method> with <run-seed> from the warm-up of seed <run-seed> mod --warmups
# (./run.sh --stage 5 --stop-stage 6: search and derivation) into BENCH/runs/<method>_run<run-seed>,
# or with --tag T into BENCH/runs/<method>-T_run<run-seed> (a variant: --search-opts, e.g. a latency budget).
# Either writes the stage's wall seconds to DIR/seconds (the sum over its attempts, each one's in
# DIR/seconds.attempts), and with --score true then scores every architecture of --table-dir's plan
# by the final weights into DIR/score (log: DIR/score.log).
# A finished part is skipped, so a rerun does only what is missing. Output goes to stdout (the
# launcher's log of the job).
# Options:
#   --bench DIR (exp/searches)  --warmups N (5)  --space F (conf/exhaustive/space.json)
#   --warmup-config F (conf/exhaustive/warmup.yaml)  --search-config F (conf/exhaustive/search.yaml)
#   --score true|false (true)  --table-dir DIR (results/exhaustive)  --nj N (1)
#   --omp-threads N (0: as the environment has it; N: OMP_NUM_THREADS=N)
#   --tag T ("": none; lowercase letters, digits, dots)  --search-opts "..." (more ./run.sh options of the search,
#                 e.g. "--latency-table F --latency-target 50 --latency-mode hard")
set -euo pipefail
bench=exp/searches
warmups=5
space=conf/exhaustive/space.json
warmup_config=conf/exhaustive/warmup.yaml
search_config=conf/exhaustive/search.yaml
score=true
table_dir=results/exhaustive
nj=1
omp_threads=0
tag=""
search_opts=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. conf/bench.conf
. ./path.sh
. utils/parse_options.sh
case "${1:-}" in
  warmup) [ $# -eq 2 ] || { echo "$help_message" >&2; exit 1; } ;;
  run) [ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; } ;;
  *) echo "$help_message" >&2; exit 1 ;;
esac
[ "$omp_threads" -eq 0 ] || export OMP_NUM_THREADS=$omp_threads
[[ "$tag" =~ ^[a-z0-9.]*$ ]] || { echo "$0: --tag '$tag': use lowercase letters, digits and dots" >&2; exit 1; }

timed() {     # timed <seconds-file> <command...>: run it; each attempt's wall seconds are appended to
  local out=$1 t0 rc=0; shift   # <seconds-file>.attempts (a failed one too), their sum written to <seconds-file>
  t0=$(date +%s.%N)             # once it succeeds: a resumed search costs all its attempts
  "$@" < /dev/null || rc=$?
  awk -v a=$t0 -v b=$(date +%s.%N) 'BEGIN { printf "%.1f\n", b - a }' >> $out.attempts
  [ $rc -eq 0 ] || return $rc
  awk '{ s += $1 } END { printf "%.1f\n", s }' $out.attempts > $out
}

score_weights() {               # score_weights <init-dir> <out-dir>: every table architecture by these weights
  $score || return 0
  [ ! -f $2/scores.json ] || { echo "$0: $2/scores.json exists"; return 0; }
  echo "$0: scoring every architecture of $table_dir with $1 (log: $2.log)"
  "$nas_python" -m nas.bin.score --data data/$bench_data --valid-data data/dev --lang data/lang_phn --space $space \
    --loss ctc-crf --den-dir data/den_meta --init $1 --archs $table_dir --batch-size 16 --overwrite true $2 > $2.log 2>&1 \
    || { echo "$0: scoring with $1 failed: see $2.log" >&2; return 1; }
}

if [ $1 = warmup ]; then
  d=$bench/warmup_seed$2
  if [ -f $d/seconds ] && [ -f $d/warmup/done ]; then
    echo "$0: warm-up seed $2 is finished in $d"
  else
    mkdir -p $d
    echo "=== warm-up seed $2 in $d"
    timed $d/seconds ./run.sh --space $space --nas-data $bench_data --seed $2 --stage 4 --stop-stage 4 \
      --warmup-config $warmup_config --warmup-dir $d/warmup --nj $nj
  fi
  score_weights $d/warmup $d/score
else
  method=$2 seed=$3
  w=$(( seed % warmups )) d=$bench/runs/${method}${tag:+-$tag}_run$seed
  [ -f $bench/warmup_seed$w/warmup/done ] \
    || { echo "$0: no finished warm-up in $bench/warmup_seed$w (run: $0 warmup $w)" >&2; exit 1; }
  if [ -f $d/seconds ] && [ -f $d/derive/arch.json ]; then
    echo "$0: $method run $seed is finished in $d"
  else
    echo "=== $method${tag:+ ($tag)} run $seed (warm-up seed $w) in $d"
    mkdir -p $d
    echo $w > $d/warmup_seed
    timed $d/seconds ./run.sh --space $space --nas-data $bench_data --method $method --seed $seed \
      --warmup-dir $bench/warmup_seed$w/warmup --search-config $search_config --stage 5 --stop-stage 6 \
      --exp-dir $d --nj $nj $search_opts
  fi
  score_weights $d/search $d/score
fi
