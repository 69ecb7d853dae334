#!/usr/bin/env bash
# TIMIT (LDC93S1) with NAS-Bench-ASR's protocol (Mehrotra et al., ICLR 2021): Kaldi's splits (train
# without SA, the 50-speaker dev set, the 24-speaker core test set), 48 training phones folded to 39 for
# scoring, 80 log mel filterbanks normalized with the training statistics, NAS over the benchmark's cell
# space, retraining with the benchmark's training protocol, PER by CTC prefix beam search (width 12) and
# by WFST decoding with a phone bigram. Every setting is in conf/recipe.conf; `./run.sh --help` lists the
# stages and options. See README.md.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe/utils/lib/recipe.sh"
recipe_init
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
$(recipe_help_options)"
recipe_parse_options "$@"

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
timit=$(recipe_abs_paths "$timit")
[ -z "$bench_dir" ] || bench_dir=$(recipe_abs_paths "$bench_dir")
for v in warmup_conf search_conf retrain_conf phone_map dev_spk test_spk fbank_conf; do
  case ${!v} in conf/*) ;; *) printf -v "$v" '%s' "$(recipe_abs_paths "${!v}")" ;; esac
done
case $space in */*|*.json) space=$(recipe_abs_paths "$space") ;; esac
recipe_enter

data=data
lang=$data/lang_phn
graph=${lang}_bg/graph
train_set=train
$speed_perturb && train_set=train_sp
if [ -n "$arch_vec" ]; then
  exp=exp/archvec_$(echo "$arch_vec" | tr -d ' ' | sha1sum | cut -c1-8)_seed$seed
else
  exp=exp/nas_${method}_seed$seed
fi
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
  steps/train_word_lm.sh --order $lm_order --dev-text $data/dev/text $lang $data/train/text $data/local/lm
  steps/make_graph.sh $lang $data/local/lm/lm.arpa ${lang}_bg
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

# stages 4-7: warm-up, search, derivation (its benchmark vector and hash), retraining (steps/nas_stages.sh)
recipe_nas_stages --data $data/$train_set --valid-data $data/dev --den-dir $data/den_meta --space "$space" \
  --space-params "$space_params" --arch-vec "$arch_vec" --arch-features '{"delta_order": 0}' --describe true \
  --loss "$loss" --warmup-config "$warmup_conf" --search-config "$search_conf" --retrain-config "$retrain_conf" $lang $exp

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities; PER by CTC prefix beam search (width $beam_width) and WFST ($graph)"
  for x in dev test; do
    steps/nas_decode.sh --nj $nj --cmd "$decode_cmd" --decode-opts "$decode_opts" --min-lmwt $min_lmwt \
      --max-lmwt $max_lmwt --lmwt-step $lmwt_step --lang $lang $exp/retrain $data/$x $graph $exp/retrain/decode_${x}_bg
    d=$exp/retrain/decode_${x}_beam$beam_width          # no LM: its hypotheses are LM weight 0's
    made_from=("logprobs=$exp/retrain/logprobs_$x/logprobs.scp" "text=$data/$x/text" "options:=$beam_width $beam_cutoff_top_n")
    if [ -s $d/best_wer ] && inputs_current "stage 8: $d is up to date; skipping" $d/.inputs.json "${made_from[@]}"; then
      continue
    fi
    mkdir -p $d/scoring
    cutoff=()
    [ "$beam_cutoff_top_n" -eq 0 ] || cutoff=(--cutoff-top-n $beam_cutoff_top_n)
    "$nas_python" -m nas.bin.ctc_prefix_decode --beam $beam_width "${cutoff[@]}" $lang $exp/retrain/logprobs_$x $d/scoring/0.txt
    local/score.sh $data/$x $lang $d
    inputs_record $d/.inputs.json "${made_from[@]}"
  done
  bench_opts=()
  [ -z "$bench_dir" ] || bench_opts=(--bench-dir "$bench_dir")
  local/report_per.sh "${bench_opts[@]}" --beam $beam_width --space "$space" $exp/retrain | tee $exp/retrain/RESULTS
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
