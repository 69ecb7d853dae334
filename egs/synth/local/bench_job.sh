#!/usr/bin/env bash
# Usage: local/bench_job.sh [options] <bench-dir> <id> <seed>
#  e.g.: local/bench_job.sh --retrain-config conf/bench_retrain.yaml exp/bench cell_003 0
# One job of local/run_bench.sh's stage 1, what its launcher runs here or on a SLURM node:
# architecture <id> of <bench-dir>/plan.json trained with <seed> (./run.sh --stage 7 --stop-stage 8
# into <bench-dir>/runs/<id>_seed<seed>), and on success "<id> <seed> <seconds>" appended to
# <bench-dir>/times.txt. Output goes to stdout (the launcher's log of the job).
# Options:
#   --tiny true|false (false)  --nj N (1)   --retrain-data NAME (train_bench)
#   --retrain-config F (conf/bench_retrain.yaml)   --decode-opts "..." ("")   --test-lmwts all|dev (all)
#   --omp-threads N (0: as the environment has it; N: OMP_NUM_THREADS=N)
set -euo pipefail
tiny=false
nj=1
retrain_data=train_bench
retrain_config=conf/bench_retrain.yaml
decode_opts=""
test_lmwts=all
omp_threads=0
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. utils/parse_options.sh
[ $# -eq 3 ] || { echo "$help_message" >&2; exit 1; }
bench=$1 id=$2 seed=$3
[ -f "$bench/archs/$id.arch.json" ] || { echo "$0: $bench/archs/$id.arch.json: no such architecture" >&2; exit 1; }
[ "$omp_threads" -eq 0 ] || export OMP_NUM_THREADS=$omp_threads
t0=$(date +%s)
./run.sh --tiny "$tiny" --arch "$bench/archs/$id.arch.json" --seed "$seed" --stage 7 --stop-stage 8 --nj "$nj" \
  --exp-dir "$bench/runs/${id}_seed$seed" --retrain-data "$retrain_data" --retrain-config "$retrain_config" \
  --decode-opts "$decode_opts" --test-lmwts "$test_lmwts" < /dev/null
echo "$id $seed $(( $(date +%s) - t0 ))" >> "$bench/times.txt"
