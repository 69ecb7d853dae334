#!/usr/bin/env bash
# Default recipe: a corpus synthesized with espeak-ng and flite, so that the whole pipeline
# runs with no licensed data and no GPU. Stages as in every recipe of this toolkit:
#   0 corpus   1 data dirs, lang dir, word LM, TLG   2 speed perturbation, fbank, CMVN
#   3 den graph   4 NAS warm-up   5 architecture search   6 derivation   7 CTC-CRF retraining
#   8 log-probabilities, WFST decoding, scoring
# Each stage skips what is already complete; an interrupted training stage resumes.
# Outputs: data/, fbank/, exp/warmup_seed$seed (shared by all search methods of a seed),
# exp/nas_${method}_seed$seed/{search,derive,retrain,retrain/decode_test}; with --arch A,
# exp/$(basename A .arch.json)_seed$seed/retrain. local/run_compare.sh runs the baselines.
set -euo pipefail

stage=0
stop_stage=100
nj=2
seed=0              # training seed (initialization, batch order, sampling)
corpus_seed=0       # corpus seed (sentences, voices, splits): the same corpus for every training seed
tiny=false          # a few minutes end to end: fewer voices, utterances and epochs
num_voices=36       # corpus size: synthetic voices (flite's and espeak-ng's) ...
num_dev_voices=3    # ... of which held out for dev
num_test_voices=3   # ... and for test (speaker-disjoint from train)
utts_per_voice=60   # ... and utterances per voice
method=st           # search method: st, darts, snas, proxyless, random
arch=""             # an arch.json to retrain instead of searching (skips stages 4-6), e.g. conf/tdnn_d.arch.json
retrain_loss=ctc-crf   # stage 7 loss: ctc-crf (with conf/retrain.yaml's lambda * CTC) or ctc
nas_data=train      # data of stages 4-5: the unperturbed training set (a third of the frames of
                    # train_sp, for a CPU budget), or train_sp as the paper; retraining uses train_sp
decode_opts="--beam 15 --max-active 7000"
corpus=corpus
help_message="Usage: $0 [--stage N] [--stop-stage N] [--nj N] [--seed S] [--corpus-seed S] [--tiny true|false]
          [--method st|darts|snas|proxyless|random] [--arch ARCH.json] [--retrain-loss ctc-crf|ctc]
          [--nas-data train|train_sp]
          [--num-voices N] [--num-dev-voices N] [--num-test-voices N] [--utts-per-voice N] [--decode-opts '...']
Stages: 0 corpus  1 data dirs, lang, word LM, TLG  2 speed perturbation, fbank, CMVN  3 den graph
        4 warm-up  5 search  6 derivation  7 retraining  8 decoding and scoring"

cd "$(dirname "${BASH_SOURCE[0]}")"
. ./cmd.sh
. ./path.sh
. utils/parse_options.sh
. utils/lib/recipe.sh

conf=conf
if $tiny; then
  conf=conf/tiny
  corpus=corpus_tiny
  num_voices=8; num_dev_voices=1; num_test_voices=1; utts_per_voice=12
  # an untrained-looking network gives flat outputs: one narrow search per LM weight
  decode_opts="--mode redecode --beam 10 --max-active 1000 --min-lmwt 0.6 --max-lmwt 1.2 --lmwt-step 0.2"
fi
data=data
fbank=fbank
prefix=""
if $tiny; then data=data_tiny; fbank=fbank_tiny; prefix=tiny_; fi
warmup_dir=exp/${prefix}warmup_seed$seed
exp=exp/${prefix}nas_${method}_seed$seed
arch_json=$exp/derive/arch.json
if [ -n "$arch" ]; then       # retrain a given architecture: no warm-up, search or derivation
  [ -f "$arch" ] || { echo "$0: --arch $arch: no such file" >&2; exit 1; }
  exp=exp/${prefix}$(basename "$arch" .json | sed 's/\.arch$//')_seed$seed
  arch_json=$arch
fi
retrain=$exp/retrain
[ "$retrain_loss" = ctc-crf ] || retrain=$exp/retrain_$retrain_loss
lang=$data/lang_phn

start_time=$(date +%s)

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: synthesize the corpus in $corpus"
  stamp=$corpus/.done.seed$corpus_seed.v$num_voices.d$num_dev_voices.t$num_test_voices.n$utts_per_voice
  if [ -f "$stamp" ]; then
    echo "stage 0: $corpus is complete; skipping"
  else
    rm -rf "$corpus"
    python3 local/make_corpus.py --seed "$corpus_seed" --nj "$nj" --num-voices "$num_voices" \
      --num-dev-voices "$num_dev_voices" --num-test-voices "$num_test_voices" \
      --utts-per-voice "$utts_per_voice" "$corpus"
    touch "$stamp"
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs, phone lang dir (CMUdict), word 3-gram LM, TLG"
  local/prepare_data.sh "$corpus" $data
  if [ ! -f $lang/graph/TLG.fst ] || [ $lang/graph/TLG.fst -ot $data/train/text ]; then
    utils/prepare_lang_ctc.sh --unit phone --text $data/train/text --words "$corpus/vocab.txt" $lang
    mkdir -p $data/local/lm
    # the training transcripts plus the grammar's extra sentences (none from dev or test)
    { cat $data/train/text; awk '{printf "lm-%06d %s\n", NR, $0}' "$corpus/lm_text.txt"; } > $data/local/lm/text
    steps/train_word_lm.sh --order 3 --dev-text $data/dev/text $lang $data/local/lm/text $data/local/lm
    utils/format_lm.sh $lang $data/local/lm/lm.arpa $lang
    utils/mkgraph.sh $lang $lang/graph
  else
    echo "stage 1: $lang/graph/TLG.fst is up to date; skipping"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation, fbank, CMVN"
  if [ -s $data/train_sp/wav.scp ] && [ $data/train_sp/wav.scp -nt $data/train/wav.scp ]; then
    echo "stage 2: $data/train_sp is up to date; skipping the perturbation"
  else
    utils/data/perturb_data_dir_speed_3way.sh $data/train $data/train_sp
  fi
  for x in $(echo train_sp $nas_data dev test | tr ' ' '\n' | awk '!seen[$0]++'); do
    if [ -s $data/$x/cmvn.scp ] && [ $data/$x/cmvn.scp -nt $data/$x/wav.scp ]; then
      echo "stage 2: $data/$x has features and CMVN stats; skipping"
      continue
    fi
    steps/make_fbank.sh --cmd "$train_cmd" --nj "$nj" --fbank-config conf/fbank.conf \
      $data/$x exp/make_fbank/$x $fbank
    utils/fix_data_dir.sh $data/$x
    steps/compute_cmvn_stats.sh $data/$x exp/make_fbank/$x $fbank
    utils/validate_data_dir.sh $data/$x
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "=== stage 3: denominator graph (phone 4-gram LM o CTC topology), path weights"
  if [ -f $data/den_meta/den_lm.fst ] && [ $data/den_meta/den_lm.fst -nt $data/train_sp/text ] && \
     [ "$(wc -l < $data/den_meta/path_weight.txt)" -eq "$(cat $data/train_sp/text $data/dev/text | wc -l)" ]; then
    echo "stage 3: $data/den_meta is up to date; skipping"
  else
    steps/prep_den_lm.sh --extra-text $data/dev/text $lang $data/train_sp $data/den_meta
  fi
fi

common=(--lang $lang)

if [ -n "$arch" ] && [ $stage -le 6 ] && [ $stop_stage -ge 4 ]; then
  echo "=== stages 4-6 skipped: retraining the given $arch"
fi

if [ -z "$arch" ] && [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  echo "=== stage 4: NAS warm-up of the super-network ($conf/space.json)"
  run_nas_stage warmup $warmup_dir $conf/warmup.yaml "${common[@]}" --data $data/$nas_data --space $conf/space.json
fi

if [ -z "$arch" ] && [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  echo "=== stage 5: architecture search ($method)"
  run_nas_stage search $exp/search $conf/search.yaml "${common[@]}" --data $data/$nas_data --space $conf/space.json --method $method --init $warmup_dir
fi

if [ -z "$arch" ] && [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  echo "=== stage 6: derive the top-1 architecture"
  if [ -f $exp/derive/arch.json ] && [ $exp/derive/arch.json -nt $exp/search/final.pt ]; then
    echo "stage 6: $exp/derive/arch.json is up to date; skipping"
  else
    python -m nas.bin.derive --overwrite true $exp/search $exp/derive
  fi
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "=== stage 7: retrain $arch_json with $retrain_loss"
  run_nas_stage retrain $retrain $conf/retrain.yaml "${common[@]}" --data $data/train_sp --valid-data $data/dev --den-dir $data/den_meta \
    --arch $arch_json --loss $retrain_loss
fi

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding (TLG), scoring"
  for x in test; do
    if [ -s $retrain/decode_$x/per.txt ] && [ $retrain/decode_$x/per.txt -nt $retrain/done ]; then
      echo "stage 8: $retrain/decode_$x is up to date; skipping"
      continue
    fi
    steps/nas_infer.sh --nj $nj --cmd "$decode_cmd" $retrain $data/$x $lang $retrain/logprobs_$x
    steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts $lang/graph $retrain/logprobs_$x $retrain/decode_$x
    steps/score.sh $data/$x $lang/graph $retrain/decode_$x
    python -m nas.bin.greedy_decode --ref-text $data/$x/text --label PER $lang $retrain/logprobs_$x \
      $retrain/decode_$x/greedy_units.txt > $retrain/decode_$x/per.txt
  done
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
if [ $stop_stage -ge 8 ] && [ -s $retrain/decode_test/per.txt ]; then
  echo "test WER ($(basename $exp), $retrain_loss): $(cat $retrain/decode_test/best_wer)"
  echo "test PER (greedy): $(head -n 1 $retrain/decode_test/per.txt)"
fi
