#!/usr/bin/env bash
# Usage: local/run_latency.sh [options] --tag <name>
#  e.g.: local/run_latency.sh --tag vm2 --threads 1,2 --cuda no
#        local/run_latency.sh --tag a100 --threads 1 --cuda yes --executor slurm \
#          --launch-opts "--partition gpu --gpus 1 --cpus 2 --sbatch exclusive=user"
# The latency table of a space's architectures on the machine the job runs on (docs/latency.md):
# python -m nas.bin.bench latency as one job of python -m nas.bin.launch, here (--executor local) or
# on a SLURM node of the kind the model is meant for (--executor slurm: the node's CPU, and its GPU
# with --cuda yes). One job, not one per setting or per architecture: its settings and architectures
# are timed interleaved on one machine, the only way the figures compare; on SLURM ask for a whole
# node (--sbatch exclusive=user) so that other jobs do not time-share it. Writes --out (lookup
# tables, benchmarking files nb-asr-bench-<tag>-<setting>.pickle, summary.json) and --csv; the job's
# log is --out/job.log. A rerun measures again.
# Options:
#   --tag NAME (required: the device names' prefix, e.g. the machine)  --space F (conf/exhaustive/space.json)
#   --out DIR (exp/latency_<tag>)  --csv FILE (DIR/latency.csv)  --threads "1,2"  --cuda auto|yes|no (auto)
#   --modes stream,offline  --reps N (15)  --warmup N (3)  --input-dim N (120)  --num-tokens N (42)
#   --extra "..." (more python -m nas.bin.bench latency options, e.g. "--table DIR --epochs 3")
#   --executor local|slurm (local)  --launch-opts "..." (more nas.bin.launch options)
set -euo pipefail
tag=""
space=conf/exhaustive/space.json
out=""
csv=""
threads=1,2
cuda=auto
modes=stream,offline
reps=15
warmup=3
input_dim=120
num_tokens=42
extra=""
executor=local
launch_opts=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] && [ -n "$tag" ] || { echo "$help_message" >&2; exit 1; }
[ -n "$out" ] || out=exp/latency_$tag
[ -n "$csv" ] || csv=$out/latency.csv
mkdir -p $out
# shellcheck disable=SC2086
printf '%s\t%s\t%s\n' latency_$tag $out/job.log "$(printf '%q ' "$nas_python" -m nas.bin.bench latency \
  --space $space --out $out --csv $csv --tag $tag --threads $threads --cuda $cuda --modes $modes --reps $reps \
  --warmup $warmup --input-dim $input_dim --num-tokens $num_tokens $extra)" > $out/launch.tsv
# shellcheck disable=SC2086
"$nas_python" -m nas.bin.launch --jobs $out/launch.tsv --executor $executor $launch_opts \
  || { echo "$0: the latency job failed (its log is named above)" >&2; exit 1; }
echo "$0: wrote $out and $csv"
