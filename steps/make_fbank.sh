#!/usr/bin/env bash
# Compute log mel filterbank features for a data dir, in parallel jobs (Kaldi's steps/make_fbank.sh).
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

nj=4
cmd="$utils/run.pl"
fbank_config=conf/fbank.conf
compress=false
write_utt2num_frames=true
write_utt2dur=true
truncated=drop
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<fbank-dir>]]
 e.g.: $0 --nj 8 data/train exp/make_fbank/train fbank
Options:
  --nj <n>                        parallel jobs ($nj)
  --cmd <cmd>                     job runner (default: utils/run.pl)
  --fbank-config <file>           Kaldi fbank options, e.g. --num-mel-bins=40 ($fbank_config)
  --compress <true|false>         Kaldi-compressed matrices ($compress)
  --write-utt2num-frames <bool>   write <data-dir>/utt2num_frames ($write_utt2num_frames)
  --write-utt2dur <bool>          write <data-dir>/utt2dur if absent ($write_utt2dur)
  --truncated <drop|keep>         an utterance whose audio file is shorter than its header says (a copy
                                  cut short): left out, or computed from what is there ($truncated)
Utterances whose audio cannot be read are logged with their id and left out;
the script ends by naming them. Truncated audio is named with the share of it that is
missing, in the summary and in <log-dir>/truncated_<name>.txt; by default those utterances
are left out too (half an utterance under the whole transcript is a wrong training target),
and utils/fix_data_dir.sh drops them from the data dir. It fails only if no utterance succeeds,
or if a job cannot write its features (a full disk: the job's partial files are removed)."

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2; exit 1
fi
data=$1
logdir=${2:-$data/log}
fbankdir=${3:-$data/data}
name=$(basename "$data")

case $truncated in drop|keep) ;; *) echo "$0: --truncated must be drop or keep, not '$truncated'" >&2; exit 1 ;; esac
[ -f "$fbank_config" ] || { echo "$0: no such config file: $fbank_config" >&2; exit 1; }
[ -f "$data/wav.scp" ] || { echo "$0: no such file: $data/wav.scp" >&2; exit 1; }
"$utils/validate_data_dir.sh" --no-text --no-feats --no-audio-check "$data" >/dev/null \
  || { echo "$0: $data is not a valid data dir (see above)" >&2; exit 1; }

mkdir -p "$logdir" "$fbankdir"
fbankdir=$(cd "$fbankdir" && pwd)
rm -f "$logdir"/make_fbank_"$name".*.log "$logdir/truncated_$name.txt"

if [ -f "$data/segments" ]; then
  split_src=$data/segments; what=segments
else
  split_src=$data/wav.scp; what=wav
fi
nutt=$(wc -l < "$split_src")
[ "$nj" -le "$nutt" ] || { echo "$0: --nj $nj is more than the $nutt utterances; using $nutt"; nj=$nutt; }
split_files=()
for n in $(seq "$nj"); do split_files+=("$logdir/$what.$n.scp"); done
"$utils/split_scp.pl" "$split_src" "${split_files[@]}"

extra=()
$compress && extra+=(--compress)
if [ $what = segments ]; then
  input=(--segments "$logdir/segments.JOB.scp" "$data/wav.scp")
else
  input=("$logdir/wav.JOB.scp")
fi

echo "$0: computing fbank for $nutt utterances of $data in $nj jobs (logs in $logdir)"
start=$(date +%s.%N)
$cmd JOB=1:"$nj" "$logdir/make_fbank_$name.JOB.log" \
  "$nas_python" -m nas.bin.compute_fbank --config "$fbank_config" "${extra[@]}" \
    --write-utt2num-frames "$logdir/utt2num_frames.JOB" --write-utt2dur "$logdir/utt2dur.JOB" \
    --write-truncated "$logdir/truncated.JOB" --truncated "$truncated" \
    "${input[@]}" "$fbankdir/raw_fbank_$name.JOB.ark" "$fbankdir/raw_fbank_$name.JOB.scp" \
  || { grep -h "ERROR" "$logdir"/make_fbank_"$name".*.log | head -n 3 | sed "s|^|$0: |" >&2
       echo "$0: fbank jobs failed (see the logs named above)" >&2; exit 1; }

for n in $(seq "$nj"); do cat "$fbankdir/raw_fbank_$name.$n.scp"; done | LC_ALL=C sort > "$data/feats.scp"
if $write_utt2num_frames; then
  for n in $(seq "$nj"); do cat "$logdir/utt2num_frames.$n"; done | LC_ALL=C sort > "$data/utt2num_frames"
fi
wrote_utt2dur=false
if $write_utt2dur && [ ! -f "$data/utt2dur" ]; then
  for n in $(seq "$nj"); do cat "$logdir/utt2dur.$n"; done | LC_ALL=C sort > "$data/utt2dur"
  wrote_utt2dur=true
fi
for n in $(seq "$nj"); do cat "$logdir/truncated.$n"; done | LC_ALL=C sort > "$logdir/truncated_$name.txt"
rm -f "$logdir"/utt2num_frames.* "$logdir"/utt2dur.* "$logdir"/truncated.* "$logdir/$what".*.scp

nfeats=$(wc -l < "$data/feats.scp")
total=$(wc -l < "$data/utt2spk")
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
ntrunc=$(wc -l < "$logdir/truncated_$name.txt")
trunc_note=""
if [ "$ntrunc" -gt 0 ]; then
  [ $truncated = drop ] && action="left out of feats.scp" || action="kept (--truncated keep)"
  names=$(awk '{printf "%s%s (%d%% of its audio missing)", (NR > 1 ? ", " : ""), $1, $2} NR == 5 {exit}' \
          "$logdir/truncated_$name.txt")
  [ "$ntrunc" -gt 5 ] && names="$names, ..."
  echo "$0: WARNING: $ntrunc of $total utterances truncated (audio files shorter than their headers say), $action: $names" >&2
  echo "$0: the list is in $logdir/truncated_$name.txt (utterance, % missing, wav.scp entry)" >&2
  trunc_note="; $ntrunc truncated, $action (see $logdir/truncated_$name.txt)"
else
  rm -f "$logdir/truncated_$name.txt"
fi
if [ "$nfeats" -eq 0 ]; then
  # leave no empty tables behind: the data dir stays valid for a rerun once the audio is fixed
  rm -f "$data/feats.scp"
  $write_utt2num_frames && rm -f "$data/utt2num_frames"
  $wrote_utt2dur && rm -f "$data/utt2dur"
  echo "$0: ERROR: no utterance of $data got features; see $logdir/make_fbank_$name.*.log" >&2
  exit 1
fi
failed=$(awk 'NR == FNR {have[$1] = 1; next} !($1 in have) {print $1}' "$data/feats.scp" "$data/utt2spk")
if [ "$nfeats" -ne "$total" ]; then
  nfail=$((total - nfeats))
  echo "$0: WARNING: $nfail of $total utterances have no features: $(echo $failed | cut -c1-400)" >&2
  echo "$0: reasons are in $logdir/make_fbank_$name.*.log; utils/fix_data_dir.sh $data drops them" >&2
fi
echo "$0: done: features for $nfeats of $total utterances of $data in ${elapsed}s$trunc_note"
