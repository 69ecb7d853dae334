#!/usr/bin/env bash
# Usage: local/run_exhaustive.sh [options]
# The exhaustive table (docs/bench.md, "The exhaustive table"): every architecture of
# conf/exhaustive/space.json trained stand-alone with every seed of --seeds under
# conf/exhaustive/retrain.yaml, decoded on the full dev and test sets (test at the LM weight best on
# dev), written as benchmark tables and exported as CSV. local/run_bench.sh does the work (plan,
# resumable trainings, tables); this script fixes its settings and keeps the results:
#   --export DIR (results/exhaustive): plan.json, jobs.txt, times.txt and tables/ copied there, and
#   DIR.csv (python -m nas.bin.bench export: one row per architecture and seed).
# A fresh checkout resumes from the committed copy: the bench dir starts as a copy of --export when it
# has no plan, and only the jobs the tables lack are trained. Stages 0-2 of run.sh must have run.
# The published table has seeds 0-5 (seeds 0-2 first: 3 fell short of the criterion). More seeds for a
# table that has fewer: --seeds adds the ones its architectures lack; tables/tdnn_noise and the CSV keep
# the old seeds until every architecture has all, the finished new ones waiting in tables/tdnn_extra
# (committed with the rest).
# Options:
#   --bench DIR (exp/exhaustive)  --seeds "0 1 2 3 4 5"  --parallel N (2)  --nj N (2)
#   --max-jobs N (0: all; else stop after N trainings, then collect and export what has finished)
#   --executor local|slurm (local)  --launch-opts "..."   (as local/run_bench.sh)
set -euo pipefail
bench=exp/exhaustive
seeds="0 1 2 3 4 5"
parallel=2
nj=2
max_jobs=0
executor=local
launch_opts=""
export=results/exhaustive
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }

conf=conf/exhaustive
# the space's size (64): --tdnn N and --noise N with N that size draw every architecture, each with every seed
n=$("$nas_python" -c "import math, sys; from nas.models.space import load_space
print(math.prod(len(c) for c in load_space(sys.argv[1], verbose=False).blocks.values()))" $conf/space.json)
extra=$(ls $conf/*.arch.json | paste -sd, -)
opts=(--cells 0 --tdnn $n --noise $n --tdnn-space $conf/space.json --tdnn-extra "$extra" --job-order arch
      --bench-config $conf/retrain.yaml --bench "$bench" --parallel $parallel --nj $nj
      --executor $executor --launch-opts "$launch_opts" --max-jobs $max_jobs --seeds "$seeds")

if [ ! -f "$bench/plan.json" ] && [ -n "$export" ] && [ -f "$export/plan.json" ]; then
  echo "$0: starting $bench from the committed $export"
  mkdir -p "$bench"
  cp -r "$export/." "$bench/"
fi
local/run_bench.sh "${opts[@]}"

if [ -n "$export" ]; then
  mkdir -p "$export"
  cp "$bench/plan.json" "$bench/jobs.txt" "$export/"
  [ ! -f "$bench/times.txt" ] || cp "$bench/times.txt" "$export/"
  rm -rf "$export/tables"
  cp -r "$bench/tables" "$export/tables"
  "$nas_python" -m nas.bin.bench export "$bench" --table tdnn --csv "$export.csv"
fi
