#!/usr/bin/env bash
# LibriSpeech (OpenSLR 12; free, downloaded by stage 0), or Mini LibriSpeech (OpenSLR 31) with --mini
# true: the ST-NAS recipe of egs/wsj on train-clean-100 with one GPU (or train-clean-5 on a CPU): CMUdict
# phones (the published LibriSpeech lexicon for words CMUdict lacks) or BPE units, 3-way speed
# perturbation, 40-dim fbank + deltas, CMVN, the WSJ super-network, ST-NAS with CTC, retraining with
# CTC-CRF, a first pass with the small pruned trigram (tgsmall) and n-best rescoring with the large LMs,
# as Kaldi's librispeech recipe. Every setting is in conf/recipe.conf; `./run.sh --help` lists the stages
# and options. See README.md.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$recipe/utils/lib/recipe.sh"
recipe_init
# --mini true reads conf/mini.conf over conf/recipe.conf, before the command line's other options
mini_conf=false
prev=""
for a in "$@"; do
  case $prev/$a in --mini/true|*/--mini=true) mini_conf=true ;; --mini/false|*/--mini=false) mini_conf=false ;; esac
  prev=$a
done
if $mini_conf; then . "$recipe/conf/mini.conf"; fi
help_message="Usage: $0 [options]
 e.g.: $0                                   # train-clean-100, dev and test sets from openslr.org (one GPU)
       $0 --mini true                       # Mini LibriSpeech on a CPU
       $0 --url file:///data/openslr --md5sums /data/openslr/md5sums.txt   # a local mirror
       $0 --arch-vec \"[[1,0],[1,0,0],[1,0,0,0]]\" --stage 7   # retrain a NAS-Bench-ASR cell (4-6 skipped)
Stages (--stage N --stop-stage M; a finished stage is skipped, an interrupted one resumes):
  0  download the parts ($parts) and the LM and lexicon files from \$url
     (BASE/12, BASE/31, BASE/11), check each against its published MD5 (\$md5sums), resume partial
     downloads, unpack, skip what is there; the first .flac of each part decodes
  1  a data dir per part (dev-clean -> data/dev_clean), $unit lexicon and lang dir, the tgsmall TLG
  2  3-way speed perturbation of $train_set, 40-dim fbank, CMVN stats
  3  denominator graph: phone ${den_lm_order}-gram LM o CTC topology, path weights
  4  NAS warm-up of the super-network ($warmup_conf)
  5  architecture search ($search_conf, --method)
  6  derivation of the top-1 architecture to arch.json
  7  retraining of it with CTC-CRF ($retrain_conf); with --arch or --arch-vec, of that one (4-6 skipped)
  8  log-probabilities, WFST decoding of $test_sets with tgsmall, n-best rescoring
     with $rescore_lms, WER at the LM weight best on $dev_set
$(recipe_help_options)"
recipe_parse_options "$@"
if [ "$mini" != "$mini_conf" ]; then
  echo "$0: mini=$mini came from a --config file: give --mini $mini on the command line (it selects conf/mini.conf)" >&2
  exit 1
fi

# paths given relative to where run.sh was called from; the recipe then runs in its own dir
corpus_dir=${corpus_dir:-$recipe/corpus}
corpus_dir=$(recipe_abs_paths "$corpus_dir")
case $url in *://*) ;; *) url=$(recipe_abs_paths "$url") ;; esac
[ -z "$arch" ] || arch=$(recipe_abs_paths "$arch")
for v in md5sums warmup_conf search_conf retrain_conf fbank_conf space; do
  case ${!v} in conf/*|wsj|nb_asr*|"") ;; *) printf -v "$v" '%s' "$(recipe_abs_paths "${!v}")" ;; esac
done
recipe_enter

data=data
lm_src=$corpus_dir/lm
lm_dir=$data/local/lm
case $unit in phone) lang=$data/lang_phn ;; bpe) lang=$data/lang_bpe ;;
  *) echo "$0: --unit must be phone or bpe, not '$unit'" >&2; exit 1 ;; esac
test_lang=${lang}_test_tgsmall
graph=$test_lang/graph
declare -A lm_name=([tgsmall]=3-gram.pruned.3e-7.arpa.gz [tgmed]=3-gram.pruned.1e-7.arpa.gz
                    [tglarge]=3-gram.arpa.gz [fglarge]=4-gram.arpa.gz)
for x in $rescore_lms; do
  [ -n "${lm_name[$x]:-}" ] || { echo "$0: --rescore-lms: unknown LM '$x' (tgmed, tglarge, fglarge)" >&2; exit 1; }
done
recipe_exp
[ -z "$arch_vec" ] || exp=exp/archvec_$(echo "$arch_vec" | tr -d ' ' | sha1sum | cut -c1-8)_seed$seed

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  echo "=== stage 0: download $parts and $lm_files from $url into $corpus_dir"
  # shellcheck disable=SC2086
  "$nas_python" -m nas.corpora.librispeech download --url "$url" --md5sums "$md5sums" --corpus "$corpus_dir" \
    --lm-dir "$lm_src" --remove-archives $remove_archives --files $lm_files -- $parts
  # shellcheck disable=SC2086
  "$nas_python" -m nas.corpora.librispeech check --corpus "$corpus_dir" $parts
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  echo "=== stage 1: data dirs, $unit lexicon, lang dir, tgsmall TLG"
  # shellcheck disable=SC2086
  "$nas_python" -m nas.corpora.librispeech prepare --corpus "$corpus_dir" $data $parts
  for p in $parts; do utils/validate_data_dir.sh --no-feats $data/${p//-/_}; done
  local/librispeech_prepare_lang.sh --unit $unit --keep-stress $keep_stress --bpe-size $bpe_size \
    --oov-word "$oov_word" "$lm_src" $data/$train_set $lang
  mkdir -p $lm_dir
  for x in tgsmall $rescore_lms; do           # Kaldi's names for the published LMs
    f=$lm_src/${lm_name[$x]}
    [ -f "$f" ] || { echo "$0: no such file: $f (the $x LM: add ${lm_name[$x]} to --lm-files and run stage 0)" >&2; exit 1; }
    ln -sf "$f" $lm_dir/lm_$x.arpa.gz
  done
  steps/make_graph.sh $lang $lm_dir/lm_tgsmall.arpa.gz $test_lang
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  echo "=== stage 2: 3-way speed perturbation of $train_set, fbank of it and of $test_sets, CMVN"
  # shellcheck disable=SC2086
  steps/make_features.sh --cmd "$train_cmd" --nj "$nj" --fbank-config "$fbank_conf" --compress $fbank_compress \
    --perturb $train_set $data fbank ${train_set}_sp $test_sets
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  # $dev_set's path weights too: it is stage 7's held-out set, as in Kaldi's and icefall's recipes
  echo "=== stage 3: denominator graph (phone ${den_lm_order}-gram LM o CTC topology), path weights of ${train_set}_sp, $dev_set"
  steps/prep_den_lm.sh --order $den_lm_order --no-prune-order $den_no_prune_order \
    --num-extra-states $den_num_extra_states --extra-text $data/$dev_set/text $lang $data/${train_set}_sp $data/den_meta
fi

# stages 4-7: warm-up, search, derivation, retraining validated on $dev_set (steps/nas_stages.sh)
nas_space=$space
[ -z "$arch_vec" ] || nas_space=$arch_vec_space
recipe_nas_stages --data $data/${train_set}_sp --valid-data $data/$dev_set --den-dir $data/den_meta --space $nas_space \
  --arch "$arch" --arch-vec "$arch_vec" --warmup-config "$warmup_conf" --search-config "$search_conf" \
  --retrain-config "$retrain_conf" $lang $exp

if [ $stage -le 8 ] && [ $stop_stage -ge 8 ]; then
  echo "=== stage 8: log-probabilities, WFST decoding ($graph), rescoring with: ${rescore_lms:-none}, scoring"
  lmwts=(--min-lmwt $min_lmwt --max-lmwt $max_lmwt --lmwt-step $lmwt_step)
  [ "$rescore_nbest" -gt 0 ] || rescore_lms=""
  nbest_opts=""                # the first pass's n-best lists, for the rescoring LMs
  [ -z "$rescore_lms" ] || nbest_opts="--mode lattice --nbest $rescore_nbest"
  for x in $test_sets; do
    first=$exp/retrain/decode_${x}_tgsmall
    steps/nas_decode.sh --nj $nj --cmd "$decode_cmd" --decode-opts "$decode_opts $nbest_opts" "${lmwts[@]}" \
      --lang $lang --score-cmd "local/score.sh --ignore-words '$score_ignore_words'" $exp/retrain $data/$x $graph $first
    for lm in $rescore_lms; do
      steps/lmrescore.sh "${lmwts[@]}" $lm_dir/lm_tgsmall.arpa.gz $lm_dir/lm_$lm.arpa.gz $graph $first \
        $exp/retrain/decode_${x}_$lm
      local/score.sh --ignore-words "$score_ignore_words" $data/$x $graph $exp/retrain/decode_${x}_$lm
    done
  done
  { steps/report_wer.sh --dev-set $dev_set --tag tgsmall $exp/retrain $test_sets
    for lm in $rescore_lms; do
      echo "# the tgsmall first pass's $rescore_nbest-best lists rescored with $lm (${lm_name[$lm]}):"
      steps/report_wer.sh --dev-set $dev_set --tag $lm $exp/retrain $test_sets
    done; } | tee $exp/retrain/RESULTS
fi

echo "$0: stages $stage..$stop_stage done in $(( $(date +%s) - start_time ))s"
