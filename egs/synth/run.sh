#!/usr/bin/env bash
# Default recipe: a corpus synthesized with espeak-ng and flite, so that the whole pipeline
# runs with no licensed data and no GPU. Stages as in every recipe of this toolkit:
#   0 corpus   1 data dirs, lang dir, word LM, TLG   2 speed perturbation, fbank, CMVN
#   3 den graph   4 NAS warm-up   5 architecture search   6 derivation   7 CTC-CRF retraining
#   8 log-probabilities, WFST decoding, scoring   9 LM rescoring (bigram first pass, 4-gram n-best rescoring)
# Each stage skips what is already complete; an interrupted training stage resumes.
# Outputs: data/, fbank/, exp/warmup_seed$seed (shared by all search methods of a seed),
# exp/nas_${method}_seed$seed/{search,derive,retrain,retrain/decode_{dev,test},retrain/RESULTS};
# with --arch A, exp/$(basename A .arch.json)_seed$seed/retrain; with --space S, exp/S_warmup_seed$seed
# and exp/S_nas_${method}_seed$seed. Settings: conf/recipe.conf
# (`./run.sh --help`). local/run_compare.sh runs the baselines; local/score.sh scores a decode dir.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe/utils/lib/recipe.sh"
recipe_init
dev_set=dev         # the corpus' splits (stage 1): the decoding LM weight is chosen on dev,
test_set=test       # and test is reported at that weight
help_message="Usage: $0 [options]
 e.g.: $0                                     # every stage on the default corpus (about 20 minutes, 2 cores)
       $0 --tiny true                         # a smoke run of every stage in about a minute
       $0 --seed 1 --method random --stage 5  # another search from the same warm-up
       $0 --arch conf/tdnn_d.arch.json        # retrain a given architecture (stages 4-6 skipped)
       $0 --space nb_asr_small                # search NAS-Bench-ASR's cell space (CPU-sized macro)
Stages (--stage N --stop-stage M; a finished stage is skipped, an interrupted one resumes):
  0  synthesize the corpus ($corpus): $num_voices voices, $utts_per_voice utterances each
  1  data dirs train, $dev_set, $test_set; CMUdict phone lang dir, word 3-gram LM, TLG
  2  3-way speed perturbation of train, 40-dim fbank, CMVN stats
  3  denominator graph: phone 4-gram LM o CTC topology, path weights
  4  NAS warm-up of the super-network (conf/warmup.yaml, --space: ${space:-conf/space.json})
  5  architecture search (conf/search.yaml, --method)
  6  derivation of the top-1 architecture to arch.json
  7  retraining of it with $retrain_loss (conf/retrain.yaml); with --arch, of that arch.json
  8  log-probabilities, WFST decoding of $dev_set and $test_set, $test_set WER at the LM weight best on $dev_set
  9  LM rescoring: a word bigram first pass (lattices, $rescore_nbest-best lists), rescored with a 4-gram
$(recipe_help_options)"
recipe_parse_options "$@"
case $test_lmwts in all|dev) ;; *) echo "$0: --test-lmwts $test_lmwts: expected all or dev" >&2; exit 1 ;; esac

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
[ -z "$arch" ] || arch=$(recipe_abs_paths "$arch")
case $space in */*|*.json) space=$(recipe_abs_paths "$space") ;; esac
[ -z "$exp_dir" ] || exp_dir=$(recipe_abs_paths "$exp_dir")
[ -z "$retrain_config" ] || retrain_config=$(recipe_abs_paths "$retrain_config")
[ -z "$warmup_config" ] || warmup_config=$(recipe_abs_paths "$warmup_config")
[ -z "$warmup_dir" ] || warmup_dir=$(recipe_abs_paths "$warmup_dir")
[ -z "$search_config" ] || search_config=$(recipe_abs_paths "$search_config")
[ -z "$latency_table" ] || latency_table=$(recipe_abs_paths "$latency_table")
recipe_enter

conf=conf
if $tiny; then
  conf=conf/tiny
  corpus=corpus_tiny
  num_voices=8; num_dev_voices=1; num_test_voices=1; utts_per_voice=12; dev_utts_per_voice=0; test_utts_per_voice=0
  corpus_voices=v1; corpus_conditions=v1   # clean espeak-ng and flite voices: festival's take 4x as long to synthesize
  # an untrained-looking network gives flat outputs: one narrow search per LM weight
  decode_opts="--mode redecode --beam 10 --max-active 1000 --min-lmwt 0.6 --max-lmwt 1.2 --lmwt-step 0.2"
  rescore_decode_opts="--beam 8 --lattice-beam 4"; rescore_lmwts="--min-lmwt 0.6 --max-lmwt 1.2 --lmwt-step 0.2"
fi
data=data
fbank=fbank
prefix=""
if $tiny; then data=data_tiny; fbank=fbank_tiny; prefix=tiny_; fi
params_tag() { echo "$1" | sed 's/[][{} "]//g; s/,/-/g; s|/|_|g'; }   # width=0.2,cells=[1,2] -> width=0.2-cells=1-2
tag=""                        # a space other than conf/space.json gets its own warm-up and exp dirs
[ -z "$space" ] || tag=$(basename "$space" .json)_
[ -z "$space_params" ] || tag=${tag}$(params_tag "$space_params")_
[ "$nas_data" = train ] || tag=${tag}${nas_data}_        # and other search data (a proxy set)
warmup_seed=${warmup_seed:-$seed}
[ -n "$warmup_dir" ] || warmup_dir=exp/${prefix}${tag}warmup_seed$warmup_seed
exp=exp/${prefix}${tag}nas_${method}_seed$seed
if [ -n "$arch" ]; then       # retrain a given architecture: no warm-up, search or derivation
  [ -f "$arch" ] || { echo "$0: --arch $arch: no such file" >&2; exit 1; }
  exp=exp/${prefix}$(basename "$arch" .json | sed 's/\.arch$//')_seed$seed
fi
[ -z "$exp_dir" ] || exp=$exp_dir
retrain=$exp/retrain
[ "$retrain_loss" = ctc-crf ] || retrain=$exp/retrain_$retrain_loss
[ -z "$retrain_space_params" ] || retrain=${retrain}_$(params_tag "$retrain_space_params")
lang=$data/lang_phn

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: synthesize the corpus in $corpus"
  stamp=$corpus/.done.seed$corpus_seed.v$num_voices.d$num_dev_voices.t$num_test_voices.n$utts_per_voice
  v2_opts=(--dev-utts-per-voice "$dev_utts_per_voice" --test-utts-per-voice "$test_utts_per_voice" --voices "$corpus_voices"
           --conditions "$corpus_conditions" --dev-conditions "$dev_conditions" --num-rooms "$num_rooms")
  # the v1 corpus keeps its stamp's name; other settings add theirs
  [ "${v2_opts[*]}" = "--dev-utts-per-voice 0 --test-utts-per-voice 0 --voices v1 --conditions v1 --dev-conditions train --num-rooms 40" ] \
    || stamp=$stamp.$(echo "${v2_opts[*]}" | sed 's/--//g; s/ /./g')
  if [ -f "$stamp" ]; then
    echo "stage 0: $corpus is complete; skipping"
  else
    rm -rf "$corpus"
    "$nas_python" local/make_corpus.py --seed "$corpus_seed" --nj "$nj" --num-voices "$num_voices" \
      --num-dev-voices "$num_dev_voices" --num-test-voices "$num_test_voices" \
      --utts-per-voice "$utts_per_voice" "${v2_opts[@]}" "$corpus"
    touch "$stamp"
  fi
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs, phone lang dir (CMUdict), word 3-gram LM, TLG"
  local/prepare_data.sh "$corpus" $data
  if [ ! -f $lang/graph/TLG.fst ] || [ $lang/graph/TLG.fst -ot $data/train/.prep/text ]; then
    utils/prepare_lang_ctc.sh --unit phone --text $data/train/text --words "$corpus/vocab.txt" $lang
    mkdir -p $data/local/lm
    # the training transcripts plus the grammar's extra sentences (none from dev or test)
    { cat $data/train/text; awk '{printf "lm-%06d %s\n", NR, $0}' "$corpus/lm_text.txt"; } > $data/local/lm/text
    steps/train_word_lm.sh --order 3 --dev-text $data/$dev_set/text $lang $data/local/lm/text $data/local/lm
    steps/make_graph.sh $lang $data/local/lm/lm.arpa $lang
  else
    echo "stage 1: $lang/graph/TLG.fst is up to date; skipping"
  fi
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation, fbank, CMVN"
  # shellcheck disable=SC2046
  steps/make_features.sh --cmd "$train_cmd" --nj "$nj" --fbank-config conf/fbank.conf --perturb train $data $fbank \
    $(echo train_sp $nas_data $dev_set $test_set | tr ' ' '\n' | awk '!seen[$0]++')
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  echo "=== stage 3: denominator graph (phone 4-gram LM o CTC topology), path weights"
  # path weights for dev (the held-out set) and the unperturbed train set too (--retrain-data train)
  steps/prep_den_lm.sh --extra-text "$data/$dev_set/text $data/train/text" $lang $data/train_sp $data/den_meta
fi

# stages 4-7: warm-up (shared by the searches of its seed), search, derivation, retraining (steps/nas_stages.sh)
recipe_nas_stages --search-data $data/$nas_data --retrain-data $data/$retrain_data --valid-data $data/$dev_set \
  --den-dir $data/den_meta --space "${space:-$conf/space.json}" --space-params "$space_params" \
  --retrain-space-params "$retrain_space_params" --warmup-seed "$warmup_seed" --warmup-dir $warmup_dir \
  --warmup-config "${warmup_config:-$conf/warmup.yaml}" --search-config "${search_config:-$conf/search.yaml}" \
  --retrain-config "${retrain_config:-$conf/retrain.yaml}" --loss $retrain_loss --arch "$arch" \
  --latency-table "$latency_table" --latency-target "$latency_target" --latency-mode $latency_mode \
  --measure-latency $measure_latency --retrain-dir $retrain $lang $exp

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding (TLG), scoring; $test_set at the LM weight best on $dev_set"
  for x in $dev_set $test_set; do
    lmwt_opts=()              # --test-lmwts dev: $test_set only at the weight that is best on $dev_set
    if [ $x = $test_set ] && [ "$test_lmwts" = dev ]; then
      w=$(sed -n 's:.*/wer_\([0-9.]*\)$:\1:p' $retrain/decode_$dev_set/best_wer)
      [ -n "$w" ] || { echo "$0: no LM weight in $retrain/decode_$dev_set/best_wer" >&2; exit 1; }
      lmwt_opts=(--min-lmwt $w --max-lmwt $w)
    fi
    # shellcheck disable=SC2086
    steps/nas_decode.sh --nj $nj --cmd "$decode_cmd" --decode-opts "$decode_opts" --lang $lang --greedy PER \
      "${lmwt_opts[@]}" $retrain $data/$x $lang/graph $retrain/decode_$x
  done
  steps/report_wer.sh --dev-set $dev_set $retrain $test_set > $retrain/RESULTS
  cat $retrain/RESULTS
fi

if [ $stage -le 9 ] && [ $stop_stage -ge 9 ]; then
  echo "=== stage 9: LM rescoring: word bigram first pass ($rescore_nbest-best lists of its lattices), 4-gram rescoring"
  lm=$data/local/lm             # stage 1's LM text; the bigram and the 4-gram come from the same text
  for o in 2 4; do
    steps/train_word_lm.sh --order $o --dev-text $data/$dev_set/text $lang $lm/text $data/local/lm_o$o
  done
  bg=${lang}_bg                 # the bigram's lang dir and graph
  steps/make_graph.sh $lang $data/local/lm_o2/lm.arpa $bg
  for x in $dev_set $test_set; do
    [ -s $retrain/logprobs_$x/logprobs.scp ] || { echo "$0: no $retrain/logprobs_$x: run stage 8 first" >&2; exit 1; }
    if [ -s $retrain/decode_${x}_bg_4g/best_wer ] && [ $retrain/decode_${x}_bg_4g/best_wer -nt $retrain/logprobs_$x/logprobs.scp ]; then
      echo "stage 9: $retrain/decode_${x}_bg_4g is up to date; skipping"
      continue
    fi
    # shellcheck disable=SC2086
    steps/decode.sh --nj $nj --cmd "$decode_cmd" $decode_opts $rescore_decode_opts $rescore_lmwts --mode lattice \
      --nbest $rescore_nbest $bg/graph $retrain/logprobs_$x $retrain/decode_${x}_bg
    local/score.sh $data/$x $bg/graph $retrain/decode_${x}_bg
    # shellcheck disable=SC2086
    steps/lmrescore.sh $rescore_lmwts --data $data/$x $data/local/lm_o2/lm.arpa $data/local/lm_o4/lm.arpa $bg/graph \
      $retrain/decode_${x}_bg $retrain/decode_${x}_bg_4g
  done
  { echo "# first pass with the word bigram (lattice mode, $rescore_nbest-best lists kept):"
    steps/report_wer.sh --dev-set $dev_set --tag bg $retrain $dev_set $test_set
    echo "# its $rescore_nbest-best lists rescored with the word 4-gram (bigram out, 4-gram in):"
    steps/report_wer.sh --dev-set $dev_set --tag bg_4g $retrain $dev_set $test_set; } > $retrain/RESULTS_rescore
  cat $retrain/RESULTS_rescore
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
if [ $stop_stage -ge 8 ] && [ -s $retrain/RESULTS ]; then
  line=$(grep "^$test_set WER at LM weight" $retrain/RESULTS)
  lmwt=$(echo "$line" | sed 's/^.* at LM weight \([0-9.]*\) .*$/\1/')
  echo "$test_set WER ($(basename $exp), $retrain_loss; LM weight $lmwt chosen on $dev_set): ${line#*): }"
  echo "$test_set PER (greedy): $(head -n 1 $retrain/decode_$test_set/per.txt)"
fi
