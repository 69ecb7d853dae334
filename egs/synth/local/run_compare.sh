#!/usr/bin/env bash
# Usage: local/run_compare.sh [--seeds "0 1 2"] [--ctc-seeds "0"] [--nj N]
# The comparison of RESULTS.md on the default corpus, for each training seed:
#   ST-NAS                     ./run.sh --seed S                 (warm-up, search, derive, CTC-CRF retrain)
#   random search              ./run.sh --seed S --method random (the same warm-up; best of 10 sampled)
#   TDNN-D                     ./run.sh --seed S --arch conf/tdnn_d.arch.json
#   ST-NAS's architecture, CTC ./run.sh --seed S --retrain-loss ctc   (for the --ctc-seeds)
# then local/make_results.py writes RESULTS.md. Finished runs are skipped, so a rerun continues.
# On the 2-core development machine one seed takes about half an hour, the default set about
# 1.5 hours (RESULTS.md states the measured times).
set -euo pipefail
seeds="0 1 2"
ctc_seeds="0"
nj=2
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }

mkdir -p exp
times=exp/compare_times.txt
timed() {                    # timed <name> <run.sh options...>: run, and append "<name> <seconds>"
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  ./run.sh --nj $nj "$@"
  echo "$name $(( $(date +%s) - t0 ))" >> $times
}

for seed in $seeds; do
  timed "st_seed$seed" --seed $seed
  timed "random_seed$seed" --seed $seed --method random --stage 5
  timed "tdnn_d_seed$seed" --seed $seed --arch conf/tdnn_d.arch.json --stage 7
done
for seed in $ctc_seeds; do
  timed "st_ctc_seed$seed" --seed $seed --retrain-loss ctc --stage 7
done
"$nas_python" local/make_results.py --seeds "$seeds" exp RESULTS.md
echo "$0: wrote RESULTS.md"
