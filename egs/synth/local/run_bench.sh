#!/usr/bin/env bash
# Usage: local/run_bench.sh [options]
# Ground-truth tables on the default corpus (docs/bench.md): architectures of two spaces trained
# stand-alone with one fixed budget (conf/bench_retrain.yaml), decoded and scored as stage 8, and
# written as benchmark tables that nas.bench.table loads like NAS-Bench-ASR's.
#   cell: NAS-Bench-ASR's cell in nb_asr_small, --cells models drawn uniformly over its 8,242
#         model hashes, plus the all-linear and all-conv7 cells
#   tdnn: the paper's TDNN space at half the recipe's width (conf/bench_tdnn.json), --tdnn choice
#         vectors drawn uniformly, plus TDNN-D
# Each is trained on data/train_bench (--per-spk utterances of every training voice: all 30 voices,
# two thirds of their utterances; the searches of local/score_search.sh see the same set) with
# conf/bench_retrain.yaml and decoded with --decode-opts: conf/bench.conf, the settings both
# scripts share; the budget that makes the 133 trainings fit about two hours on 2 cores.
# The first --noise architectures of each space are trained with every seed of --seeds (the noise
# floor), the others with the first; on an existing plan, --seeds adds the seeds its noise floor lacks
# (the new jobs after the others; the noise table keeps the old seeds until every architecture has the
# new ones, nas.bench.ground_truth.add_seeds). Stages: 0 the plan (exp/bench/plan.json, archs/, jobs.txt),
# 1 the trainings (each one ./run.sh --arch A --seed S --stage 7 into exp/bench/runs/ID_seedS;
# finished ones are skipped, an interrupted one resumes, so a killed run continues where it
# stopped; a training the tables hold is finished too, so runs/ can be removed once collected),
# 2 the tables (exp/bench/tables/{cell,tdnn}/). Stages 0-3 of run.sh must have run.
# Options:
#   --cells N (60) --tdnn N (30) --noise N (10) --seeds "0 1 2" --plan-seed N (0)
#   --extra true|false (true: the hand-picked architectures)   --nj N (2)
#   --tdnn-extra "F,..." (conf/tdnn_d.arch.json: the block space's hand-picked arch.json files)
#   --job-order seed|arch (seed: every first seed, then the others; arch: each architecture's seeds in a row)
#   --per-spk N --decode-opts "..." --tdnn-space F --cell-space S ... (conf/bench.conf)
#   --bench DIR (exp/bench)   --tiny true|false (false: the tiny corpus, 2 cells + 1 TDNN, 1 epoch)
#   --stage N (0) --stop-stage N (2)   --max-jobs N (0: all; else stop after N trainings this run)
#   --parallel N (1: one training at a time with --nj threads and jobs; N > 1: N at once, one thread
#                 and one job each, which overlaps one's decoding and start-up with another's training;
#                 with --executor slurm: N > 1 caps the jobs running at once; each has --nj jobs)
#   --executor local|slurm (local; slurm: one SLURM job per training through python -m nas.bin.launch,
#                 docs/cluster.md)   --launch-opts "..." (more nas.bin.launch options, e.g.
#                 "--partition cpu --account me --cpus 2 --time-min 120"; "--gpus 1" for a GPU each)
set -euo pipefail
cells=60
tdnn=30
noise=10
seeds="0 1 2"
plan_seed=0
extra=true
tdnn_extra=conf/tdnn_d.arch.json
job_order=seed
nj=2
bench=exp/bench
tiny=false
stage=0
stop_stage=2
max_jobs=0
parallel=1
executor=local
launch_opts=""
help_message="$(sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//')"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. conf/bench.conf
. ./path.sh
. utils/parse_options.sh
[ $# -eq 0 ] || { echo "$help_message" >&2; exit 1; }

config=$bench_config
if $tiny; then
  [ "$bench" != exp/bench ] || bench=exp/tiny_bench
  cells=2; tdnn=1; noise=0; extra=false
  config=$bench/retrain_tiny.yaml
  mkdir -p $bench
  sed 's/^max_epochs: .*/max_epochs: 1/' $bench_config > $config
fi
tiny_opt=(--tiny $tiny)
d=data
$tiny && d=data_tiny

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  if [ -f $bench/plan.json ]; then
    echo "stage 0: $bench/plan.json exists; keeping its architectures"
    # the arch.json files it lacks, and the seeds of --seeds its noise floor lacks (their jobs appended)
    added=$("$nas_python" -m nas.bin.bench archs $bench --seeds "$seeds" | "$nas_python" -c "import json, sys; print(json.load(sys.stdin)['jobs_added'])")
    [ "$added" -eq 0 ] || echo "stage 0: --seeds \"$seeds\": $added trainings added to $bench/jobs.txt"
  else
    "$nas_python" -m nas.bin.bench plan --out $bench --cells $cells --tdnn $tdnn --noise $noise \
      --seeds "$seeds" --plan-seed $plan_seed --extra $extra --tdnn-space $tdnn_space --cell-space $cell_space \
      --tdnn-extra "$tdnn_extra" --job-order $job_order
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  job_nj=$nj
  [ $parallel -le 1 ] || [ $executor != local ] || job_nj=1
  mkdir -p $bench/runs
  ./run.sh "${tiny_opt[@]}" --stage 3 --stop-stage 3 | grep -v "^===" || true   # path weights of train too
  local/make_bench_data.sh $per_spk $d/train $d/$bench_data
  # the per-utterance splits stage 8 decodes from, made once here: parallel jobs would otherwise
  # race to create the same data/<set>/split<N>utt
  for x in dev test; do utils/split_data.sh --per-utt $d/$x $job_nj > /dev/null; done
  # the jobs still to train: a finished run dir or a row of the tables (runs/ may be removed once
  # collected) counts as done, so a rerun submits only the failed and unfinished ones
  "$nas_python" -m nas.bin.bench pending $bench > $bench/pending.txt
  total=$(wc -l < $bench/pending.txt)
  echo "stage 1: $total of $(wc -l < $bench/jobs.txt) trainings to run"
  if [ $max_jobs -gt 0 ] && [ $total -gt $max_jobs ]; then
    echo "stage 1: --max-jobs $max_jobs: running the first $max_jobs; rerun to continue"
    total=$max_jobs
  fi
  omp=0
  [ $parallel -le 1 ] || [ $executor != local ] || omp=1
  n=0
  : > $bench/launch.tsv
  while read -r id seed space; do
    n=$((n + 1))
    [ $n -le $total ] || break
    echo "=== bench job $n/$total: $id ($space) seed $seed"
    cmd=$(printf '%q ' local/bench_job.sh --tiny $tiny --nj $job_nj --retrain-data $bench_data \
          --retrain-config $config --decode-opts "$decode_opts" --test-lmwts "$test_lmwts" --omp-threads $omp $bench $id $seed)
    printf '%s\t%s\t%s\n' "${id}_seed$seed" "$bench/runs/${id}_seed$seed.log" "$cmd" >> $bench/launch.tsv
  done < $bench/pending.txt
  at_once=$parallel
  [ $executor = local ] || [ $parallel -gt 1 ] || at_once=0      # on SLURM: no cap unless one is asked for
  # shellcheck disable=SC2086
  if ! "$nas_python" -m nas.bin.launch --jobs $bench/launch.tsv --executor $executor --parallel $at_once \
         $launch_opts; then
    echo "$0: bench job(s) failed (their logs are named above); fix and rerun (finished ones are kept)" >&2
    exit 1
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  "$nas_python" -m nas.bin.bench collect $bench
fi
