#!/usr/bin/env bash
# Stage 2 of every recipe: optional 3-way speed perturbation of the training set, then for each
# data set fbank features (steps/make_fbank.sh, utils/fix_data_dir.sh) and CMVN statistics
# (steps/compute_cmvn_stats.sh), validated. Each part records what it was made from (wav.scp,
# segments, the fbank config; the features and speakers for CMVN) and is skipped on a rerun only
# when those are unchanged: a new fbank.conf or new audio redoes the features, and then the CMVN.
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

nj=4
cmd="$utils/run.pl"
fbank_config=conf/fbank.conf
compress=false
perturb=
global_cmvn=
log_dir=exp/make_fbank
help_message="Usage: $0 [options] <data-root> <fbank-dir> <set> [<set> ...]
 e.g.: $0 --perturb train data fbank train_sp dev test
Features of <data-root>/<set> for each set, archives in <fbank-dir>, logs in <log-dir>/<set>.
Options:
  --nj <n>                  parallel jobs ($nj)
  --cmd <cmd>               job runner (default: utils/run.pl)
  --fbank-config <file>     Kaldi fbank options ($fbank_config)
  --compress <bool>         Kaldi-compressed matrices ($compress)
  --perturb <set>           first make <data-root>/<set>_sp, the 3-way speed perturbation of <set>
  --global-cmvn <file>      one CMVN matrix for every speaker of every set: the first set's
                            statistics, written to <file> and read for the others (default:
                            per-speaker statistics)
  --log-dir <dir>           ($log_dir)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/inputs.sh"

if [ $# -lt 3 ]; then echo "$help_message" >&2; exit 1; fi
data=$1
fbank=$2
shift 2
[ -f "$fbank_config" ] || { echo "$0: no such config file: $fbank_config" >&2; exit 1; }

src_inputs() {      # what the perturbed copy is made from
  local d=$data/$perturb
  echo "wav=$d/wav.scp segments=$d/segments text=$d/text utt2spk=$d/utt2spk"
}
if [ -n "$perturb" ]; then
  sp=$data/${perturb}_sp
  # shellcheck disable=SC2046
  if [ -s "$sp/wav.scp" ] && inputs_current "$0: $sp is up to date; skipping the perturbation" \
       "$sp/.inputs_perturb.json" $(src_inputs); then
    :
  else
    "$utils/data/perturb_data_dir_speed_3way.sh" "$data/$perturb" "$sp"
  fi
fi

first=true
for x in "$@"; do
  d=$data/$x
  fbank_in=("wav=$d/wav.scp" "segments=$d/segments" "fbank_config=$fbank_config" "compress:=$compress")
  if [ -s "$d/feats.scp" ] && inputs_current "" "$d/.inputs_fbank.json" "${fbank_in[@]}"; then
    fresh_feats=false
  else
    "$steps/make_fbank.sh" --cmd "$cmd" --nj "$nj" --fbank-config "$fbank_config" --compress "$compress" \
      "$d" "$log_dir/$x" "$fbank"
    "$utils/fix_data_dir.sh" "$d"
    inputs_record "$d/.inputs_fbank.json" "${fbank_in[@]}"
    fresh_feats=true
  fi
  cmvn_opts=()
  cmvn_in=("feats=$d/feats.scp" "spk2utt=$d/spk2utt" "global_cmvn:=$global_cmvn")
  if [ -n "$global_cmvn" ]; then
    if $first; then cmvn_opts=(--write-global "$global_cmvn"); else cmvn_opts=(--read-global "$global_cmvn"); fi
    $first || cmvn_in+=("global=$global_cmvn")
  fi
  if ! $fresh_feats && [ -s "$d/cmvn.scp" ] && { [ -z "$global_cmvn" ] || [ -s "$global_cmvn" ]; } && \
     inputs_current "$0: $d has features and CMVN stats; skipping" "$d/.inputs_cmvn.json" "${cmvn_in[@]}"; then
    first=false
    continue
  fi
  "$steps/compute_cmvn_stats.sh" "${cmvn_opts[@]}" "$d" "$log_dir/$x" "$fbank"
  "$utils/validate_data_dir.sh" "$d"
  inputs_record "$d/.inputs_cmvn.json" "${cmvn_in[@]}"
  first=false
done
# after the sets: fix_data_dir may have dropped unreadable utterances from the perturbation's source
# shellcheck disable=SC2046
[ -z "$perturb" ] || inputs_record "$sp/.inputs_perturb.json" $(src_inputs)
