#!/usr/bin/env bash
# WSJ (80 hours, LDC93S6B + LDC94S13B) as the ST-NAS paper ran it (Table 2): train_si284, CMUdict
# phones with stress (72 outputs), 3-way speed perturbation, 40-dim fbank + deltas, CMVN, the WSJ
# super-network, ST-NAS with CTC, retraining with CTC-CRF (lambda 0.01), the pruned 20k trigram for
# decoding, the LM weight tuned on dev93, WER on eval92 and dev93. Every setting is in
# conf/recipe.conf; `./run.sh --help` lists the stages and options. See README.md.
set -euo pipefail

recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stage=0
stop_stage=100
. "$recipe/conf/recipe.conf"
. "$recipe/utils/lib/recipe.sh"
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
Options (defaults from conf/recipe.conf, read first; --config FILE reads another such file):
  --stage <n> ($stage)   --stop-stage <n> ($stop_stage)
$(recipe_option_help "$recipe/conf/recipe.conf")"
. "$recipe/utils/parse_options.sh"
if [ $# -ne 0 ]; then echo "$0: unexpected arguments: $* (see --help)" >&2; exit 1; fi

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
wsj0=$(recipe_abs_paths "$wsj0"); wsj1=$(recipe_abs_paths "$wsj1")
[ -z "$arch" ] || arch=$(recipe_abs_paths "$arch")
cd "$recipe"
. ./cmd.sh
. ./path.sh

data=data
lang=$data/lang_phn
lm_dir=$data/local/lm
test_lang=${lang}_test_tgpr
graph=$test_lang/graph
if [ -n "$arch" ]; then
  [ -f "$arch" ] || { echo "$0: --arch $arch: no such file (expected an arch.json)" >&2; exit 1; }
  exp=exp/arch_$(sha1sum "$arch" | cut -c1-8)_seed$seed
else
  exp=exp/nas_${method}_seed$seed
fi
start_time=$(date +%s)

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
  if [ -f $graph/TLG.fst ] && [ $graph/TLG.fst -nt $lm_dir/lm_tgpr.arpa.gz ] && [ $graph/TLG.fst -nt $lang/L.fst ]; then
    echo "stage 1: $graph/TLG.fst is up to date; skipping"
  else
    utils/format_lm.sh $lang $lm_dir/lm_tgpr.arpa.gz $test_lang
    utils/mkgraph.sh $test_lang $graph
  fi
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

common=(--data $data/${train_set}_sp --lang $lang)

if [ -n "$arch" ] && [ $stage -le 6 ] && [ $stop_stage -ge 4 ]; then
  echo "=== stages 4-6 skipped: retraining the given --arch $arch"
else
  if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
    echo "=== stage 4: NAS warm-up of the super-network (space $space)"
    run_nas_stage warmup $exp/warmup "$warmup_conf" "${common[@]}" --space $space
  fi
  if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
    echo "=== stage 5: architecture search ($method)"
    run_nas_stage search $exp/search "$search_conf" "${common[@]}" --space $space --method $method --init $exp/warmup
  fi
  if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
    echo "=== stage 6: derive the top-1 architecture"
    derive_stage $exp/search $exp/derive
  fi
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "=== stage 7: retrain with CTC-CRF"
  run_nas_stage retrain $exp/retrain "$retrain_conf" "${common[@]}" --den-dir $data/den_meta \
    --arch "${arch:-$exp/derive/arch.json}"
fi

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding ($graph), scoring"
  for x in $test_sets; do
    steps/nas_infer.sh --nj $nj --cmd "$decode_cmd" $exp/retrain $data/$x $lang $exp/retrain/logprobs_$x
    # shellcheck disable=SC2086
    lmwts=(--min-lmwt $min_lmwt --max-lmwt $max_lmwt --lmwt-step $lmwt_step)
    nbest_opts=()                # lattices' n-best lists for the rescoring with the unpruned trigram
    [ "$rescore_nbest" -eq 0 ] || nbest_opts=(--mode lattice --nbest $rescore_nbest)
    # shellcheck disable=SC2086
    steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts "${lmwts[@]}" "${nbest_opts[@]}" \
      $graph $exp/retrain/logprobs_$x $exp/retrain/decode_${x}_tgpr
    local/score.sh --ignore-words "$score_ignore_words" $data/$x $graph $exp/retrain/decode_${x}_tgpr
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
