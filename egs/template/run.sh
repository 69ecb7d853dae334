#!/usr/bin/env bash
# Template recipe: the start of a recipe for a corpus of your own (docs/new_corpus.md). Copy it
# with utils/new_recipe.sh NAME; then the one corpus-specific part to write is local/prepare_data.sh
# (it ships as an example for a simple layout); the rest is the shared pipeline of every recipe:
#   0 corpus (local/get_corpus.sh if you add one)   1 data dirs, lang dir, word LM, TLG
#   2 speed perturbation, fbank, CMVN   3 den graph   4 NAS warm-up   5 architecture search
#   6 derivation   7 CTC-CRF retraining   8 log-probabilities, WFST decoding, scoring
# Each stage skips what is already complete and redoes what was made from changed inputs.
# Every setting is in conf/recipe.conf; `./run.sh --help` lists the stages and options.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe/utils/lib/recipe.sh"
recipe_init
help_message="Usage: $0 [options]
 e.g.: $0 --corpus-dir /data/mycorpus                       # every stage
       $0 --corpus-dir /data/mycorpus --stop-stage 1        # data dirs and lang dir first, to check them
       $0 --arch ../synth/exp/nas_st_seed0/derive/arch.json # retrain an architecture found elsewhere
Stages (--stage N --stop-stage M; a finished stage is skipped, an interrupted one resumes):
  0  the corpus (--corpus-dir $corpus_dir): local/get_corpus.sh <corpus-dir> if you add one, then a check it is there
  1  data dirs train, dev, test (local/prepare_data.sh), validated; $unit lang dir; word ${lm_order}-gram LM; TLG
  2  3-way speed perturbation of train, 40-dim fbank, CMVN stats
  3  denominator graph: phone 4-gram LM o CTC topology, path weights
  4  NAS warm-up of the super-network ($warmup_config, $space)
  5  architecture search ($search_config, --method $method)
  6  derivation of the top-1 architecture to arch.json
  7  retraining of it with CTC-CRF ($retrain_config); with --arch, of that arch.json (4-6 skipped)
  8  log-probabilities, WFST decoding of dev and test, test WER at the LM weight best on dev
$(recipe_help_options)"
recipe_parse_options "$@"

# paths given relative to where run.sh was called from (conf/... and shipped space names: the recipe's)
for v in corpus_dir lexicon words lm_text fbank_conf space warmup_config search_config retrain_config arch; do
  case ${!v} in ""|conf/*|wsj|swbd|nb_asr*) ;; *) printf -v "$v" '%s' "$(recipe_abs_paths "${!v}")" ;; esac
done
recipe_enter

data=data
case $unit in phone) lang=$data/lang_phn ;; char|bpe) lang=$data/lang_$unit ;;
  *) echo "$0: --unit must be phone, char or bpe, not '$unit'" >&2; exit 1 ;; esac
[ -z "$lexicon" ] || [ "$unit" = phone ] || { echo "$0: --lexicon goes with --unit phone" >&2; exit 1; }
recipe_exp

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: the corpus in $corpus_dir"
  [ ! -x local/get_corpus.sh ] || local/get_corpus.sh "$corpus_dir"
  [ -d "$corpus_dir" ] || { echo "$0: no corpus dir $corpus_dir: give --corpus-dir (docs/new_corpus.md)" >&2; exit 1; }
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs (local/prepare_data.sh), $unit lang dir, word ${lm_order}-gram LM, TLG"
  local/prepare_data.sh "$corpus_dir" $data
  for x in train dev test; do
    utils/utt2spk_to_spk2utt.pl $data/$x/utt2spk > $data/$x/spk2utt
    utils/validate_data_dir.sh --no-feats $data/$x
  done
  utils/prepare_lang_ctc.sh --unit $unit --text $data/train/text ${lexicon:+--lexicon "$lexicon"} \
    ${words:+--words "$words"} $lang
  mkdir -p $data/local/lm
  cat $data/train/text $lm_text > $data/local/lm/text
  steps/train_word_lm.sh --order $lm_order --dev-text $data/dev/text $lang $data/local/lm/text $data/local/lm
  steps/make_graph.sh $lang $data/local/lm/lm.arpa $lang
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation of train, fbank, CMVN"
  # shellcheck disable=SC2046
  steps/make_features.sh --cmd "$train_cmd" --nj $nj --fbank-config "$fbank_conf" --perturb train $data fbank \
    $(echo train_sp $nas_data dev test | tr ' ' '\n' | awk '!seen[$0]++')
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "=== stage 3: denominator graph, path weights of train_sp, train and dev"
  steps/prep_den_lm.sh --extra-text "$data/dev/text $data/train/text" $lang $data/train_sp $data/den_meta
fi

# stages 4-7: warm-up, search, derivation, retraining validated on dev (steps/nas_stages.sh)
recipe_nas_stages --search-data $data/$nas_data --retrain-data $data/$retrain_data --valid-data $data/dev \
  --den-dir $data/den_meta --space "$space" --warmup-config "$warmup_config" --search-config "$search_config" \
  --retrain-config "$retrain_config" --arch "$arch" $lang $exp

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding, scoring (local/score.sh) of dev and test"
  for x in dev test; do
    steps/nas_decode.sh --nj $nj --cmd "$decode_cmd" --decode-opts "$decode_opts" --lang $lang \
      $exp/retrain $data/$x $lang/graph $exp/retrain/decode_$x
  done
  steps/report_wer.sh --dev-set dev $exp/retrain test | tee $exp/retrain/RESULTS
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
