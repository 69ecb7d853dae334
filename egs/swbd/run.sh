#!/usr/bin/env bash
# Switchboard (300 hours, LDC97S62 with the Mississippi State transcripts) as the ST-NAS paper ran it
# (Table 3): train_nodup, the MS98 phone set (46 outputs), 3-way speed perturbation, 40-dim fbank
# at 8 kHz + deltas, CMVN, the Switchboard super-network (K=6), ST-NAS with CTC, retraining with
# CTC-CRF (lambda 0.1), decoding with the sw1 trigram, eval2000 scored by sclite per subset (SW, CH).
# `--arch <arch.json>` retrains a given architecture instead (Table 3's "Transferred from WSJ").
# Every setting is in conf/recipe.conf; `./run.sh --help` lists the stages and options. See README.md.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe/utils/lib/recipe.sh"
recipe_init
help_message="Usage: $0 [options]
 e.g.: $0 --swbd /corpora/LDC97S62 --ms98 /corpora/swb_ms98_transcriptions \\
          --eval2000-audio /corpora/LDC2002S09 --eval2000-text /corpora/LDC2002T43
       $0 --arch ../wsj/exp/nas_st_seed0/derive/arch.json     # Table 3: transferred from WSJ
Stages (--stage N --stop-stage M; a finished stage is skipped, an interrupted one resumes):
  0  check the corpus: LDC97S62's SPHERE files, the MS98 transcripts (both sides of every
     conversation with audio) and lexicon, eval2000 (every recording, every segment within its audio)
     (fails naming the directory, file or segment it expected; --allow-partial true goes on)
  1  data dirs train, eval2000 (with stm and glm); $dev_set (first $num_dev_utts utterances),
     $train_set (the rest, at most $max_dup_utts copies of a transcript); MS98 lexicon, lang dir,
     word ${lm_order}-gram LM (+ Fisher text if given), TLG
  2  3-way speed perturbation of $train_set, 40-dim fbank at 8 kHz, CMVN stats
  3  denominator graph: phone ${den_lm_order}-gram LM o CTC topology, path weights
  4  NAS warm-up of the super-network ($warmup_conf)
  5  architecture search ($search_conf, --method)
  6  derivation of the top-1 architecture to arch.json
  7  retraining of it with CTC-CRF ($retrain_conf), validated on $dev_set; with --arch, of that
     arch.json, stages 4-6 skipped
  8  log-probabilities, WFST decoding of $test_sets, sclite scoring per subset (SW, CH)
$(recipe_help_options)"
recipe_parse_options "$@"

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
swbd=$(recipe_abs_paths "$swbd"); ms98=$(recipe_abs_paths "$ms98"); fisher=$(recipe_abs_paths "$fisher")
eval2000_audio=$(recipe_abs_paths "$eval2000_audio"); eval2000_text=$(recipe_abs_paths "$eval2000_text")
[ -z "$arch" ] || arch=$(recipe_abs_paths "$arch")
recipe_enter

data=data
lang=$data/lang_phn
lm_dir=$data/local/lm
test_lang=${lang}_sw1_tg
graph=$test_lang/graph
recipe_exp

partial=()
$allow_partial && partial=(--allow-partial)
check_corpus() {   # every input there, or fail at once naming what was expected
  "$nas_python" -m nas.corpora.swbd check --swbd "$swbd" --ms98 "$ms98" --eval2000-audio "$eval2000_audio" \
    --eval2000-text "$eval2000_text" ${fisher:+--fisher "$fisher"} "${partial[@]}"
}

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: check the corpus (LDC97S62: $swbd; MS98: $ms98; eval2000: $eval2000_audio $eval2000_text)"
  check_corpus
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs, dev/train split, duplicates, MS98 lexicon, lang dir, word LM, TLG"
  [ $stage -le 0 ] || check_corpus
  local/swbd1_data_prep.sh --allow-partial $allow_partial "$swbd" "$ms98" $data/train
  local/eval2000_data_prep.sh --allow-partial $allow_partial "$eval2000_audio" "$eval2000_text" $data/eval2000
  split="num_dev_utts=$num_dev_utts max_dup_utts=$max_dup_utts"
  if [ -s $data/$train_set/text ] && [ $data/$train_set/text -nt $data/train/text ] && \
     [ $data/$dev_set/text -nt $data/train/text ] && [ "$(cat $data/$train_set/.split 2>/dev/null)" = "$split" ]; then
    echo "stage 1: $data/$dev_set and $data/$train_set are up to date; skipping the split"
  else
    n=$(wc -l < $data/train/segments)
    [ "$n" -gt "$num_dev_utts" ] || { echo "$0: --num-dev-utts $num_dev_utts: $data/train has only $n utterances" >&2; exit 1; }
    utils/subset_data_dir.sh --first $data/train $num_dev_utts $data/$dev_set
    utils/subset_data_dir.sh --last $data/train $((n - num_dev_utts)) $data/train_nodev
    utils/data/remove_dup_utts.sh $max_dup_utts $data/train_nodev $data/$train_set
    for x in $dev_set $train_set; do utils/validate_data_dir.sh --no-feats $data/$x; done
    echo "$split" > $data/$train_set/.split
  fi
  local/swbd1_prepare_lang.sh --first-pron $lexicon_first_pron --oov-word "$oov_word" --expected-outputs $expected_outputs \
    "$ms98" $data/$train_set $lang
  local/swbd1_train_lms.sh --order $lm_order --prune-threshold $lm_prune_threshold --fisher "$fisher" \
    $data/train_nodev/text $data/$dev_set/text $lang $lm_dir
  steps/make_graph.sh $lang $lm_dir/lm.arpa.gz $test_lang
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation, fbank, CMVN"
  # shellcheck disable=SC2086
  steps/make_features.sh --cmd "$train_cmd" --nj "$nj" --fbank-config "$fbank_conf" --compress $fbank_compress \
    --perturb $train_set $data fbank ${train_set}_sp $dev_set $test_sets
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "=== stage 3: denominator graph (phone ${den_lm_order}-gram LM o CTC topology), path weights"
  steps/prep_den_lm.sh --order $den_lm_order --no-prune-order $den_no_prune_order \
    --num-extra-states $den_num_extra_states --extra-text $data/$dev_set/text \
    $lang $data/${train_set}_sp $data/den_meta
fi

# stages 4-7: warm-up, search, derivation, retraining (steps/nas_stages.sh), validated on $dev_set
recipe_nas_stages --data $data/${train_set}_sp --valid-data $data/$dev_set --den-dir $data/den_meta --space $space \
  --arch "$arch" --warmup-config "$warmup_conf" --search-config "$search_conf" --retrain-config "$retrain_conf" $lang $exp

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding ($graph), sclite scoring per subset"
  for x in $test_sets; do
    d=$exp/retrain/decode_${x}_sw1_tg
    steps/nas_decode.sh --nj $nj --cmd "$decode_cmd" --decode-opts "$decode_opts" --min-lmwt $min_lmwt \
      --max-lmwt $max_lmwt --lmwt-step $lmwt_step --lang $lang \
      --score-cmd "local/score.sh --subsets '$score_subsets' --ignore-words '$score_ignore_words'" $exp/retrain $data/$x $graph $d
    for s in $score_subsets; do
      s=${s%%:*}
      if [ -f $d/best_wer_$s ]; then echo "$x $s WER (best LM weight): $(cat $d/best_wer_$s)"; fi
    done
  done | tee $exp/retrain/RESULTS
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
