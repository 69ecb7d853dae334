#!/usr/bin/env bash
# Default recipe: a corpus synthesized with espeak-ng, so that the whole pipeline
# runs with no licensed data. Stages as in every recipe of this toolkit:
#   0 corpus   1 data dirs   2 speed perturbation, fbank, CMVN
# Stages 3-8 (den graph, NAS warm-up, search, derive, retrain, decode) join this
# script with their issues; until then it ends after stage 2.
set -euo pipefail

stage=0
stop_stage=100
nj=2
seed=0
num_voices=36       # corpus size: synthetic voices (flite's and espeak-ng's) ...
num_dev_voices=3    # ... of which held out for dev
num_test_voices=3   # ... and for test (speaker-disjoint from train)
utts_per_voice=60   # ... and utterances per voice
corpus=corpus
help_message="Usage: $0 [--stage N] [--stop-stage N] [--nj N] [--seed S] [--num-voices N] [--num-dev-voices N]
          [--num-test-voices N] [--utts-per-voice N]"

cd "$(dirname "${BASH_SOURCE[0]}")"
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh

start_time=$(date +%s)

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: synthesize the corpus in $corpus"
  stamp=$corpus/.done.seed$seed.v$num_voices.d$num_dev_voices.t$num_test_voices.n$utts_per_voice
  if [ -f "$stamp" ]; then
    echo "stage 0: $corpus is complete; skipping"
  else
    rm -rf "$corpus"
    python3 local/make_corpus.py --seed "$seed" --nj "$nj" --num-voices "$num_voices" \
      --num-dev-voices "$num_dev_voices" --num-test-voices "$num_test_voices" \
      --utts-per-voice "$utts_per_voice" "$corpus"
    touch "$stamp"
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs"
  local/prepare_data.sh "$corpus" data
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation, fbank, CMVN"
  utils/data/perturb_data_dir_speed_3way.sh data/train data/train_sp
  for x in train_sp dev test; do
    if [ -s data/$x/cmvn.scp ] && [ data/$x/cmvn.scp -nt data/$x/wav.scp ]; then
      echo "stage 2: data/$x has features and CMVN stats; skipping"
      continue
    fi
    steps/make_fbank.sh --cmd "$train_cmd" --nj "$nj" --fbank-config conf/fbank.conf \
      data/$x exp/make_fbank/$x fbank
    utils/fix_data_dir.sh data/$x
    steps/compute_cmvn_stats.sh data/$x exp/make_fbank/$x fbank
    utils/validate_data_dir.sh data/$x
  done
fi

echo "$0: stages $stage..$(( stop_stage < 2 ? stop_stage : 2 )) done in $(( $(date +%s) - start_time ))s." \
     "Stages 3-8 are not in this recipe yet."
