#!/usr/bin/env bash
# Usage: local/run_searches.sh [options]
# One-shot searches on the exhaustive space (issue 28; docs/bench.md, "One-shot searches on the
# exhaustive table"), each derived architecture scored by lookup in the exhaustive table: no
# retraining. --warmups warm-ups of the super-network (stage 4, conf/exhaustive/warmup.yaml, seeds
# 0..W-1), then for every method and run seed r in 0..R-1 a search from warm-up r mod W (stages 5-6,
# conf/exhaustive/search.yaml: until every block is decided, or the cap). Each warm-up and each run
# is one job of local/search_job.sh, handed to python -m nas.bin.launch: --parallel at once on this
# machine, or one SLURM job each with --executor slurm (docs/cluster.md). Each records its wall
# seconds; python -m nas.bin.bench searches collects the finished ones into --export (results/searches.csv,
# keeping its rows of runs that BENCH lacks), which python -m nas.bin.bench compare judges against results/exhaustive.csv.
# With --score true every architecture of the table is also scored by each warm-up's and search's
# final weights (nas.bin.score: held-out loss on dev), and --ranking-csv says how those rank the table.
# A killed run is redone from its start (its search checkpoints resume it); finished ones are kept, and
# a rerun of the same command submits only the failed and unfinished jobs (their logs: BENCH/*.log,
# BENCH/runs/*.log; the job lists: BENCH/launch_{warmups,runs}.tsv, launch_runs_<tag>.tsv).
# Options:
#   --methods "st darts snas proxyless random"  --runs N (10)  --warmups N (5)  --parallel N (2)
#   --bench DIR (exp/searches)  --export FILE (results/searches.csv; "" for none)
#   --search-config F (conf/exhaustive/search.yaml)  --warmup-config F (conf/exhaustive/warmup.yaml)
#   --space F (conf/exhaustive/space.json)  --table-csv F (results/exhaustive.csv)  --nj N (1)
#   --max-runs N (0: all; else stop after N searches, then collect what has finished)
#   --score true|false (true)  --table-dir DIR (results/exhaustive: its plan.json lists the architectures)
#   --ranking-csv FILE (results/ranking.csv; "" for none)
#   --executor local|slurm (local)  --launch-opts "..." (more nas.bin.launch options, e.g.
#                 "--partition cpu --account me --cpus 2 --time-min 120"; "--gpus 1" for a GPU each)
#   (--parallel N with slurm: N > 1 caps the jobs running at once; 1: no cap)
#   --tag T  --search-opts "..." (a variant of the methods: runs in BENCH/runs/<method>-T_run<r>, the
#                 search given these ./run.sh options; local/run_latency_searches.sh's latency budgets)
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
executor=local
launch_opts=""
tag=""
search_opts=""
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
suffix=${tag:+_$tag}             # the job list of a variant: launch_runs_<tag>.tsv
[[ "$tag" =~ ^[a-z0-9.]*$ ]] || { echo "$0: --tag '$tag': use lowercase letters, digits and dots" >&2; exit 1; }
omp=0                           # as the environment has it; 1 thread each when several share this machine
[ $parallel -le 1 ] || [ $executor != local ] || omp=1

finished() {                    # finished <dir>: warmed up or searched and derived (and scored)
  [ -f $1/seconds ] && { [ -f $1/warmup/done ] || [ -f $1/derive/arch.json ]; } \
    && { ! $score || [ -f $1/score/scores.json ]; }
}

collect() {
  [ -n "$export" ] || return 0
  "$nas_python" -m nas.bin.bench searches $bench --space $space --table-csv $table_csv --csv $export \
    --ranking-csv "$ranking_csv" --unit-seeds "$unit_seeds"
}

job_opts=(--bench $bench --warmups $warmups --space $space --warmup-config $warmup_config
  --search-config $search_config --score $score --table-dir $table_dir --nj $nj --omp-threads $omp
  --tag "$tag" --search-opts "$search_opts")

launch() {                      # launch <what>: the jobs of $bench/launch_<what>.tsv, through nas.bin.launch
  local at_once=$parallel
  [ $executor = local ] || [ $parallel -gt 1 ] || at_once=0      # on SLURM: no cap unless one is asked for
  # shellcheck disable=SC2086
  "$nas_python" -m nas.bin.launch --jobs $bench/launch_$1.tsv --executor $executor --parallel $at_once $launch_opts
}

add_job() {                     # add_job <what> <name> <log> <job arguments...>
  local what=$1 name=$2 log=$3; shift 3
  printf '%s\t%s\t%s\n' "$name" "$log" "$(printf '%q ' local/search_job.sh "${job_opts[@]}" "$@")" \
    >> $bench/launch_$what.tsv
}

: > $bench/launch_warmups.tsv
for w in $(seq 0 $((warmups - 1))); do
  d=$bench/warmup_seed$w
  finished $d || add_job warmups warmup_seed$w $d.log warmup $w
done
echo "$0: $(wc -l < $bench/launch_warmups.tsv) of $warmups warm-up(s) to run"
launch warmups || { echo "$0: warm-up(s) failed (their logs are named above); fix and rerun" >&2; exit 1; }

: > $bench/launch_runs$suffix.tsv
n=0
for r in $(seq 0 $((runs - 1))); do
  for m in $methods; do
    name=${m}${tag:+-$tag}_run$r d=$bench/runs/${m}${tag:+-$tag}_run$r
    finished $d && continue
    [ $max_runs -eq 0 ] || [ $n -lt $max_runs ] || break 2
    n=$((n + 1))
    add_job runs$suffix $name $d.log run $m $r
  done
done
echo "$0: $n search(es) to run"
failed=0
launch runs$suffix || failed=1
collect
[ $failed -eq 0 ] || { echo "$0: search(es) failed (their logs are named above); fix and rerun (finished ones are kept)" >&2; exit 1; }
echo "$0: done; python -m nas.bin.bench compare --table-csv $table_csv --space $space --searches $export"
