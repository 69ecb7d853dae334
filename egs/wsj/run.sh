#!/usr/bin/env bash
# WSJ (80 hours, LDC93S6B + LDC94S13B) as the ST-NAS paper ran it (Table 2): train_si284, CMUdict
# phones with stress (72 outputs), 3-way speed perturbation, 40-dim fbank + deltas, CMVN, the WSJ
# super-network, ST-NAS with CTC, retraining with CTC-CRF (lambda 0.01), the pruned 20k trigram for
# decoding, the LM weight tuned on dev93, WER on eval92 and dev93. Every setting is in
# conf/recipe.conf; `./run.sh --help` lists the stages and options. See README.md.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe/utils/lib/recipe.sh"
recipe_init
help_message="Usage: $0 [options]
 e.g.: $0 --wsj0 /corpora/LDC93S6B --wsj1 /corpora/LDC94S13B
       $0 --stage 4 --stop-stage 7 --nas-launcher 'torchrun --nproc_per_node 4'
Stages (--stage N --stop-stage M; a finished stage is skipped, an interrupted one resumes):
  0  find the corpus: WSJ0's and WSJ1's CD dirs and index files (fails naming what it expected)
  1  data dirs $train_set, $test_sets (from the .ndx indices and .dot transcripts),
     CMUdict lexicon with stress, lang dir, word LMs (first pass: pruned trigram), TLG
  2  3-way speed perturbation of $train_set, 40-dim fbank, CMVN stats
  3  denominator graph: phone ${den_lm_order}-gram LM o CTC topology, path weights
  4  NAS warm-up of the super-network ($warmup_conf)
  5  architecture search ($search_conf, --method)
  6  derivation of the top-1 architecture to arch.json
  7  retraining of it with CTC-CRF ($retrain_conf); with --arch, of that arch.json (4-6 skipped)
  8  log-probabilities, WFST decoding of $test_sets (tgpr; with --rescore-nbest N its N-best lists rescored with the unpruned trigram), WER at the LM weight best on $dev_set
$(recipe_help_options)"
recipe_parse_options "$@"

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
wsj0=$(recipe_abs_paths "$wsj0"); wsj1=$(recipe_abs_paths "$wsj1")
[ -z "$arch" ] || arch=$(recipe_abs_paths "$arch")
recipe_enter

data=data
lang=$data/lang_phn
lm_dir=$data/local/lm
test_lang=${lang}_test_tgpr
graph=$test_lang/graph
recipe_exp

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: find the corpus (WSJ0: $wsj0; WSJ1: $wsj1)"
  local/wsj_data_prep.sh --check-only true --allow-partial $allow_partial --sets "$train_set $test_sets" \
    "$wsj0" "$wsj1" $data
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs, CMUdict lexicon, lang dir, word LMs, TLG"
  local/wsj_data_prep.sh --sets "$train_set $test_sets" "$wsj0" "$wsj1" $data
  local/wsj_prepare_lang.sh --keep-stress $keep_stress --lexicon-vocab $lexicon_vocab --oov-word "$oov_word" \
    --noise-word "$noise_word" --expected-outputs $expected_outputs $data/$train_set $lang
  local/wsj_prepare_lm.sh --lm-source $lm_source --prune-threshold $lm_prune_threshold --order $lm_order \
    --dev-text $data/$dev_set/text "$wsj0" "$wsj1" $lang $lm_dir
  steps/make_graph.sh $lang $lm_dir/lm_tgpr.arpa.gz $test_lang
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation, fbank, CMVN"
  # shellcheck disable=SC2086
  steps/make_features.sh --cmd "$train_cmd" --nj "$nj" --fbank-config "$fbank_conf" --compress $fbank_compress \
    --perturb $train_set $data fbank ${train_set}_sp $test_sets
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "=== stage 3: denominator graph (phone ${den_lm_order}-gram LM o CTC topology), path weights"
  steps/prep_den_lm.sh --order $den_lm_order --no-prune-order $den_no_prune_order \
    --num-extra-states $den_num_extra_states $lang $data/${train_set}_sp $data/den_meta
fi

# stages 4-7: warm-up, search, derivation, retraining (steps/nas_stages.sh)
recipe_nas_stages --data $data/${train_set}_sp --den-dir $data/den_meta --space $space --arch "$arch" \
  --warmup-config "$warmup_conf" --search-config "$search_conf" --retrain-config "$retrain_conf" $lang $exp

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding ($graph), scoring"
  lmwts=(--min-lmwt $min_lmwt --max-lmwt $max_lmwt --lmwt-step $lmwt_step)
  nbest_opts=""                # lattices' n-best lists for the rescoring with the unpruned trigram
  [ "$rescore_nbest" -eq 0 ] || nbest_opts="--mode lattice --nbest $rescore_nbest"
  for x in $test_sets; do
    steps/nas_decode.sh --nj $nj --cmd "$decode_cmd" --decode-opts "$decode_opts $nbest_opts" "${lmwts[@]}" --lang $lang \
      --score-cmd "local/score.sh --ignore-words '$score_ignore_words'" $exp/retrain $data/$x $graph $exp/retrain/decode_${x}_tgpr
    if [ "$rescore_nbest" -gt 0 ]; then
      steps/lmrescore.sh "${lmwts[@]}" $lm_dir/lm_tgpr.arpa.gz $lm_dir/lm_tg.arpa.gz $graph \
        $exp/retrain/decode_${x}_tgpr $exp/retrain/decode_${x}_tg
      local/score.sh --ignore-words "$score_ignore_words" $data/$x $graph $exp/retrain/decode_${x}_tg
    fi
  done
  { steps/report_wer.sh --dev-set $dev_set --tag tgpr $exp/retrain $test_sets
    if [ "$rescore_nbest" -gt 0 ]; then
      echo "# rescored with the unpruned trigram ($rescore_nbest-best lists of the tgpr lattices):"
      steps/report_wer.sh --dev-set $dev_set --tag tg $exp/retrain $test_sets
    fi; } | tee $exp/retrain/RESULTS
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
