#!/usr/bin/env bash
# Usage: utils/srun_torchrun.sh [options] (<script.py> | -m <module>) [args...]
#  e.g.: utils/srun_torchrun.sh --nodes 2 --nproc-per-node 4 -m nas.bin.retrain --config conf/retrain.yaml ...
#        (in a recipe: --nas-launcher "utils/srun_torchrun.sh --nodes 2 --nproc-per-node 4", inside an
#        sbatch or salloc allocation of 2 nodes with 4 GPUs each; docs/cluster.md)
# One training on several nodes: starts one torchrun agent per SLURM task with srun, and each agent
# starts --nproc-per-node training processes. The rendezvous comes from SLURM's environment: the
# first host of the step's node list is the master (MASTER_ADDR), the port is $MASTER_PORT or
# 29500 + the job id modulo 2000, the node rank is the task's SLURM_PROCID and the node count the
# step's SLURM_NTASKS; nas.train.distributed then reads torchrun's RANK, WORLD_SIZE and LOCAL_RANK
# (gloo on CPU, NCCL on GPU). Outside an allocation srun makes one for the step.
# Options:
#   --nodes N (1)            nodes of the step
#   --tasks-per-node N (1)   torchrun agents per node: 1 on GPUs (an agent owns its node's GPUs);
#                            more only for CPU trials of the multi-node path on one machine
#   --nproc-per-node N (1)   training processes per agent (the node's GPUs)
#   --srun-opts "..." ("")   more srun options, e.g. "--gres=gpu:4 --cpus-per-task 16 --partition gpu"
#   --python PY ($NAS_PYTHON, else the repository's .venv, else python3)
set -euo pipefail
nodes=1
tasks_per_node=1
nproc_per_node=1
srun_opts=""
python=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$utils/parse_options.sh"
[ $# -ge 1 ] || { echo "$help_message" >&2; exit 1; }
if [ -z "$python" ]; then . "$utils/lib/nas_python.sh"; python=$nas_python; fi

if [ -z "${NAS_SRUN_TORCHRUN_AGENT:-}" ]; then      # the launching side: one srun step, one agent per task
  command -v srun > /dev/null || { echo "$0: srun not found: run this on a SLURM cluster (docs/cluster.md)" >&2; exit 1; }
  for n in "$nodes" "$tasks_per_node" "$nproc_per_node"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "$0: --nodes, --tasks-per-node, --nproc-per-node need positive integers, got '$n'" >&2; exit 1; }
  done
  export NAS_SRUN_TORCHRUN_AGENT=1
  # shellcheck disable=SC2086
  exec srun --nodes="$nodes" --ntasks-per-node="$tasks_per_node" --ntasks=$((nodes * tasks_per_node)) \
    --kill-on-bad-exit=1 $srun_opts "$0" --nproc-per-node "$nproc_per_node" --python "$python" "$@"
fi

# one agent, in its SLURM task
for v in SLURM_PROCID SLURM_NTASKS SLURM_JOB_ID; do
  [ -n "${!v:-}" ] || { echo "$0: $v is not set: the agent side must run as an srun task" >&2; exit 1; }
done
nodelist=${SLURM_STEP_NODELIST:-${SLURM_JOB_NODELIST:-}}
master=$(scontrol show hostnames "$nodelist" | head -n 1)
[ -n "$master" ] || { echo "$0: no master host in SLURM's node list '$nodelist'" >&2; exit 1; }
port=${MASTER_PORT:-$((29500 + SLURM_JOB_ID % 2000))}
echo "$0: agent $SLURM_PROCID of $SLURM_NTASKS on $(hostname): rendezvous at $master:$port," \
     "$nproc_per_node process(es) here" >&2
exec "$python" -m torch.distributed.run --nnodes "$SLURM_NTASKS" --node-rank "$SLURM_PROCID" \
  --nproc-per-node "$nproc_per_node" --master-addr "$master" --master-port "$port" "$@"
