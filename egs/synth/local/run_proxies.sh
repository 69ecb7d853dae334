#!/usr/bin/env bash
# Usage: local/run_proxies.sh [options]
# The zero-cost proxies of every architecture of a space (docs/proxies.md) as --shards jobs of
# python -m nas.bin.bench proxies (shard K scores every K-th architecture into DIR/shard_K.csv),
# handed to python -m nas.bin.launch: --parallel at once on this machine, or one SLURM job each with
# --executor slurm (docs/cluster.md); then the shards are merged into --csv in the order one survey
# writes. Resumable: rows --csv or a shard already holds are not scored again, and a rerun of the same
# command (with any --shards) scores only what is missing; a failed shard is named with its log
# (DIR/shard_K.log), and what it finished is merged all the same.
# Options:
#   --space F (conf/exhaustive/space.json)  --csv FILE (results/proxies.csv)
#   --plan F (results/exhaustive/plan.json: its ids go into the id column; "" for none)
#   --data DIR (data/train)  --lang DIR (data/lang_phn)  --seeds "0 1 2"  --batch-size N (16)  --data-seed N (0)
#   --proxies "a,b" ("": all)  --threads N (1: torch threads per job)
#   --shards N (0: as many as --parallel)  --parallel N (2)  --dir DIR (exp/proxies: the shards, logs)
#   --executor local|slurm (local)  --launch-opts "..." (more nas.bin.launch options, e.g.
#                 "--partition cpu --cpus 1 --time-min 60"; with slurm --parallel 1 means no cap)
set -euo pipefail
space=conf/exhaustive/space.json
csv=results/proxies.csv
plan=results/exhaustive/plan.json
data=data/train
lang=data/lang_phn
seeds="0 1 2"
batch_size=16
data_seed=0
proxies=""
threads=1
shards=0
parallel=2
dir=exp/proxies
executor=local
launch_opts=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }
[ "$parallel" -ge 1 ] && [ "$shards" -ge 0 ] || { echo "$0: --parallel must be >= 1 and --shards >= 0" >&2; exit 1; }
[ $shards -gt 0 ] || shards=$parallel
[ -s $data/feats.scp ] || { echo "$0: no $data/feats.scp: run ./run.sh --stop-stage 2 first" >&2; exit 1; }
mkdir -p $dir
common=(--space $space --data $data --lang $lang --seeds "$seeds" --batch-size $batch_size --data-seed $data_seed
  --threads $threads --proxies "$proxies")
[ -z "$plan" ] || common+=(--plan $plan)
: > $dir/launch.tsv
for k in $(seq 1 $shards); do
  printf '%s\t%s\t%s\n' shard_$k $dir/shard_$k.log "$(printf '%q ' "$nas_python" -m nas.bin.bench proxies \
    "${common[@]}" --shard $k/$shards --csv $dir/shard_$k.csv --skip-csv $csv)" >> $dir/launch.tsv
done
at_once=$parallel
[ $executor = local ] || [ $parallel -gt 1 ] || at_once=0      # on SLURM: no cap unless one is asked for
failed=0
# shellcheck disable=SC2086
"$nas_python" -m nas.bin.launch --jobs $dir/launch.tsv --executor $executor --parallel $at_once $launch_opts \
  || failed=1
parts=()
for k in $(seq 1 $shards); do [ ! -f $dir/shard_$k.csv ] || parts+=($dir/shard_$k.csv); done
if [ ${#parts[@]} -gt 0 ]; then
  "$nas_python" -m nas.bin.bench proxies --space $space --proxies "$proxies" --csv $csv --merge "${parts[@]}" \
    > /dev/null
fi
[ $failed -eq 0 ] || { echo "$0: shard(s) failed (their logs are named above); fix and rerun" >&2; exit 1; }
echo "$0: $(($(wc -l < $csv) - 1)) rows in $csv; report: python -m nas.bin.bench proxies --report-only --csv $csv --table-csv results/exhaustive.csv"
