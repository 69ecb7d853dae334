#!/usr/bin/env bash
# Usage: local/run_latency_searches.sh [options]
# Latency-constrained one-shot searches on the exhaustive space (issue 30; docs/latency.md, "Searches
# under a latency budget"): for each of --percentiles of the lookup table's predicted latency over
# every architecture of the space (python -m nas.bin.bench latency-budgets), --runs searches by each
# of --methods under that budget (--latency-mode hard: sampled and derived within it; soft: the
# expected-latency term with it as target), through local/run_searches.sh with --tag p<Q> (soft: softp<Q>):
# runs in exp/searches/runs/<method>-p<Q>_run<r>, from the same shared warm-ups as the unconstrained runs,
# collected into the same searches.csv (latency_mode, latency_bound_ms, predicted_ms). BENCH.md's
# latency section judges each derived architecture against the table's front at its measured latency.
# Options:
#   --methods "st" --runs N (5) --warmups N (5)  --percentiles "25,50,75"  --latency-mode hard|soft (hard)
#   --latency-table F (results/latency/latency-vm2-cpu-t1-offline-fit-onehot.json: the fit with the
#                     smallest error on this machine, docs/latency.md)
#   --searches-opts "..." (more local/run_searches.sh options: --parallel, --executor, --launch-opts,
#                     --max-runs, --bench, --export, ...)
set -euo pipefail
methods=st
runs=5
warmups=5
percentiles=25,50,75
latency_mode=hard
latency_table=results/latency/latency-vm2-cpu-t1-offline-fit-onehot.json
searches_opts=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
case $latency_mode in hard|soft) ;; *) echo "$0: --latency-mode '$latency_mode': hard or soft" >&2; exit 1 ;; esac
[ -f "$latency_table" ] || { echo "$0: no latency table $latency_table (python -m nas.bin.bench latency)" >&2; exit 1; }
budgets=$("$nas_python" -m nas.bin.bench latency-budgets --table $latency_table --percentiles "$percentiles")
while read -r tag ms; do
  tag=${tag//./d}                 # p12.5 -> p12d5: a run dir's tag has no dots to confuse
  # soft runs apart from the hard ones of the same budget (st-softp25, not st-p25: a finished hard run
  # would be taken for the soft one, and BENCH.md groups runs by method name)
  [ "$latency_mode" = hard ] || tag=$latency_mode$tag
  echo "$0: $tag: $latency_mode budget $ms ms ($latency_table)"
  # shellcheck disable=SC2086
  local/run_searches.sh --methods "$methods" --runs $runs --warmups $warmups --tag $tag \
    --search-opts "--latency-table $latency_table --latency-target $ms --latency-mode $latency_mode" $searches_opts < /dev/null
done <<< "$budgets"
