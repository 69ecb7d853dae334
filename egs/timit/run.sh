#!/usr/bin/env bash
# TIMIT (LDC93S1) with NAS-Bench-ASR's protocol (Mehrotra et al., ICLR 2021): Kaldi's splits (train
# without SA, the 50-speaker dev set, the 24-speaker core test set), 48 training phones folded to 39 for
# scoring, 80 log mel filterbanks normalized with the training statistics, NAS over the benchmark's cell
# space, retraining with the benchmark's training protocol, PER by CTC prefix beam search (width 12) and
# by WFST decoding with a phone bigram. Every setting is in conf/recipe.conf; `./run.sh --help` lists the
# stages and options. See README.md.
set -euo pipefail

recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stage=0
stop_stage=100
. "$recipe/conf/recipe.conf"
. "$recipe/utils/lib/recipe.sh"
help_message="Usage: $0 [options]
 e.g.: $0 --timit /corpora/LDC93S1/timit/TIMIT
       $0 --arch-vec \"[[1,0],[1,0,0],[1,0,0,0]]\" --stage 7    # retrain a benchmark architecture (4-6 skipped)
       $0 --stage 4 --method darts --space-params width=0.25,cells=[1,1,2,2]
Stages (--stage N --stop-stage M; a finished stage is skipped, an interrupted one resumes):
  0  find the corpus and check it: TRAIN/ and TEST/, the listed speakers, .PHN .WRD .TXT beside each .WAV
  1  data dirs train (3696), dev (400), test (192); 48-phone lang dir; phone ${lm_order}-gram LM and TLG
  2  fbank ($fbank_conf) of train (speed-perturbed with --speed-perturb true), dev, test; $cmvn CMVN
  3  denominator graph: phone ${den_lm_order}-gram LM o CTC topology, path weights
  4  NAS warm-up of the super-network ($warmup_conf, --space $space)
  5  architecture search ($search_conf, --method)
  6  derivation of the top-1 architecture to arch.json; its benchmark vector and model hash
  7  retraining ($retrain_conf; --loss ctc-crf for CTC-CRF); with --arch-vec, of that benchmark vector
  8  log-probabilities; PER on dev and test after folding to 39 phones, by CTC prefix beam search
     (width $beam_width) and by WFST decoding with the phone bigram (LM weight best on dev); with
     --bench-dir, the benchmark table's PER of the same architecture beside ours
Options (defaults from conf/recipe.conf, read first; --config FILE reads another such file):
  --stage <n> ($stage)   --stop-stage <n> ($stop_stage)
$(recipe_option_help "$recipe/conf/recipe.conf")"
. "$recipe/utils/parse_options.sh"
if [ $# -ne 0 ]; then echo "$0: unexpected arguments: $* (see --help)" >&2; exit 1; fi

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
timit=$(recipe_abs_paths "$timit")
[ -z "$bench_dir" ] || bench_dir=$(recipe_abs_paths "$bench_dir")
for v in warmup_conf search_conf retrain_conf phone_map dev_spk test_spk fbank_conf; do
  case ${!v} in conf/*) ;; *) printf -v "$v" '%s' "$(recipe_abs_paths "${!v}")" ;; esac
done
case $space in */*|*.json) space=$(recipe_abs_paths "$space") ;; esac
cd "$recipe"
. ./cmd.sh
. ./path.sh

data=data
lang=$data/lang_phn
graph=${lang}_bg/graph
train_set=train
$speed_perturb && train_set=train_sp
space_opts=(--space "$space")
[ -z "$space_params" ] || space_opts+=(--space-params "$space_params")
if [ -n "$arch_vec" ]; then
  exp=exp/archvec_$(echo "$arch_vec" | tr -d ' ' | sha1sum | cut -c1-8)_seed$seed
else
  exp=exp/nas_${method}_seed$seed
fi
start_time=$(date +%s)
prep_opts=(--allow-partial $allow_partial --phone-map "$phone_map" --dev-spk "$dev_spk" --test-spk "$test_spk")

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: find the corpus ($timit) and check it"
  local/timit_data_prep.sh --check-only true "${prep_opts[@]}" "$timit" $data
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs, 48-phone lang dir, phone ${lm_order}-gram LM, TLG"
  local/timit_data_prep.sh "${prep_opts[@]}" "$timit" $data
  for x in train dev test; do utils/validate_data_dir.sh --no-feats $data/$x; done
  if [ -f $lang/T.fst ] && [ $lang/T.fst -nt $data/train/text ] && [ $lang/T.fst -nt $data/local/dict/lexicon.txt ]; then
    echo "stage 1: $lang is up to date; skipping"
  else
    utils/prepare_lang_ctc.sh --unit phone --lexicon $data/local/dict/lexicon.txt --words $data/local/dict/lexicon.txt \
      --oov-word "" --noise-word "" $lang          # all 48 phones, whether or not the training text has each
  fi
  if [ -f $graph/TLG.fst ] && [ $graph/TLG.fst -nt $lang/T.fst ]; then
    echo "stage 1: $graph/TLG.fst is up to date; skipping"
  else
    steps/train_word_lm.sh --order $lm_order --dev-text $data/dev/text $lang $data/train/text $data/local/lm
    utils/format_lm.sh $lang $data/local/lm/lm.arpa ${lang}_bg
    utils/mkgraph.sh ${lang}_bg $graph
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: fbank ($fbank_conf), $cmvn CMVN"
  opts=()
  $speed_perturb && opts+=(--perturb train)
  [ $cmvn != global ] || opts+=(--global-cmvn fbank/global_cmvn_$train_set.mat)   # the training set's statistics
  steps/make_features.sh --cmd "$train_cmd" --nj "$nj" --fbank-config "$fbank_conf" "${opts[@]}" \
    $data fbank $train_set dev test
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "=== stage 3: denominator graph (phone ${den_lm_order}-gram LM o CTC topology), path weights"
  # dev's path weights too: it is stage 7's held-out set
  steps/prep_den_lm.sh --order $den_lm_order --no-prune-order $den_no_prune_order \
    --num-extra-states $den_num_extra_states --extra-text $data/dev/text $lang $data/$train_set $data/den_meta
fi

common=(--data $data/$train_set --lang $lang)
if [ -n "$arch_vec" ]; then
  arch=$exp/arch.json
  if [ $stage -le 7 ] && [ $stop_stage -ge 4 ]; then
    echo "=== stages 4-6 skipped: retraining the benchmark architecture $arch_vec"
    mkdir -p $exp
    "$nas_python" -m nas.bin.bench info "${space_opts[@]}" --arch-vec "$arch_vec" --features '{"delta_order": 0}' \
      --write-arch $arch > $exp/arch_info.json
    "$nas_python" -m nas.bin.bench info "${space_opts[@]}" --arch $arch --brief
  fi
else
  arch=$exp/derive/arch.json
  if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
    echo "=== stage 4: NAS warm-up of the super-network (space $space)"
    run_nas_stage warmup $exp/warmup "$warmup_conf" "${common[@]}" "${space_opts[@]}"
  fi
  if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
    echo "=== stage 5: architecture search ($method)"
    run_nas_stage search $exp/search "$search_conf" "${common[@]}" "${space_opts[@]}" --method $method \
      --init $exp/warmup
  fi
  if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
    echo "=== stage 6: derive the top-1 architecture"
    derive_stage $exp/search $exp/derive
    "$nas_python" -m nas.bin.bench info "${space_opts[@]}" --arch $arch --brief
  fi
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "=== stage 7: retrain ($retrain_conf${loss:+, --loss $loss})"
  retrain_opts=(--valid-data $data/dev --den-dir $data/den_meta --arch $arch)
  [ -z "$loss" ] || retrain_opts+=(--loss $loss)
  run_nas_stage retrain $exp/retrain "$retrain_conf" "${common[@]}" "${retrain_opts[@]}"
fi

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities; PER by CTC prefix beam search (width $beam_width) and WFST ($graph)"
  for x in dev test; do
    made_from=("model=$exp/retrain/best.pt" "arch=$exp/retrain/arch.json" "feats=$data/$x/feats.scp"
               "cmvn=$data/$x/cmvn.scp" "text=$data/$x/text" "lang=$lang" "graph=$graph"
               "options:=$beam_width $beam_cutoff_top_n $decode_opts $min_lmwt $max_lmwt $lmwt_step")
    if [ -s $exp/retrain/decode_${x}_bg/best_wer ] && inputs_current "stage 8: $exp/retrain/decode_$x* are up to date; skipping" \
         $exp/retrain/.inputs_decode_$x.json "${made_from[@]}"; then
      continue
    fi
    steps/nas_infer.sh --nj $nj --cmd "$decode_cmd" $exp/retrain $data/$x $lang $exp/retrain/logprobs_$x
    d=$exp/retrain/decode_${x}_beam$beam_width          # no LM: its hypotheses are LM weight 0's
    mkdir -p $d/scoring
    cutoff=()
    [ "$beam_cutoff_top_n" -eq 0 ] || cutoff=(--cutoff-top-n $beam_cutoff_top_n)
    "$nas_python" -m nas.bin.ctc_prefix_decode --beam $beam_width "${cutoff[@]}" $lang $exp/retrain/logprobs_$x $d/scoring/0.txt
    local/score.sh $data/$x $lang $d
    steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts --min-lmwt $min_lmwt --max-lmwt $max_lmwt \
      --lmwt-step $lmwt_step $graph $exp/retrain/logprobs_$x $exp/retrain/decode_${x}_bg
    local/score.sh $data/$x $graph $exp/retrain/decode_${x}_bg
    inputs_record $exp/retrain/.inputs_decode_$x.json "${made_from[@]}"
  done
  bench_opts=()
  [ -z "$bench_dir" ] || bench_opts=(--bench-dir "$bench_dir")
  local/report_per.sh "${bench_opts[@]}" --beam $beam_width --space "$space" $exp/retrain | tee $exp/retrain/RESULTS
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
