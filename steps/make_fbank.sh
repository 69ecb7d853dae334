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
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<fbank-dir>]]
 e.g.: $0 --nj 8 data/train exp/make_fbank/train fbank
Options:
  --nj <n>                        parallel jobs ($nj)
  --cmd <cmd>                     job runner (default: utils/run.pl)
  --fbank-config <file>           Kaldi fbank options, e.g. --num-mel-bins=40 ($fbank_config)
  --compress <true|false>         Kaldi-compressed matrices ($compress)
  --write-utt2num-frames <bool>   write <data-dir>/utt2num_frames ($write_utt2num_frames)
  --write-utt2dur <bool>          write <data-dir>/utt2dur if absent ($write_utt2dur)
Utterances whose audio cannot be read are logged with their id and left out;
the script ends by naming them. It fails only if no utterance succeeds."

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2; exit 1
fi
data=$1
logdir=${2:-$data/log}
fbankdir=${3:-$data/data}
name=$(basename "$data")

[ -f "$fbank_config" ] || { echo "$0: no such config file: $fbank_config" >&2; exit 1; }
[ -f "$data/wav.scp" ] || { echo "$0: no such file: $data/wav.scp" >&2; exit 1; }
"$utils/validate_data_dir.sh" --no-text --no-feats --no-audio-check "$data" >/dev/null \
  || { echo "$0: $data is not a valid data dir (see above)" >&2; exit 1; }

mkdir -p "$logdir" "$fbankdir"
fbankdir=$(cd "$fbankdir" && pwd)
rm -f "$logdir"/make_fbank_"$name".*.log

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
    "${input[@]}" "$fbankdir/raw_fbank_$name.JOB.ark" "$fbankdir/raw_fbank_$name.JOB.scp" \
  || { echo "$0: fbank jobs failed (see the logs named above)" >&2; exit 1; }

for n in $(seq "$nj"); do cat "$fbankdir/raw_fbank_$name.$n.scp"; done | LC_ALL=C sort > "$data/feats.scp"
if $write_utt2num_frames; then
  for n in $(seq "$nj"); do cat "$logdir/utt2num_frames.$n"; done | LC_ALL=C sort > "$data/utt2num_frames"
fi
wrote_utt2dur=false
if $write_utt2dur && [ ! -f "$data/utt2dur" ]; then
  for n in $(seq "$nj"); do cat "$logdir/utt2dur.$n"; done | LC_ALL=C sort > "$data/utt2dur"
  wrote_utt2dur=true
fi
rm -f "$logdir"/utt2num_frames.* "$logdir"/utt2dur.* "$logdir/$what".*.scp

nfeats=$(wc -l < "$data/feats.scp")
total=$(wc -l < "$data/utt2spk")
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN{printf "%.1f", e - s}')
if [ "$nfeats" -eq 0 ]; then
  # leave no empty tables behind: the data dir stays valid for a rerun once the audio is fixed
  rm -f "$data/feats.scp"
  $write_utt2num_frames && rm -f "$data/utt2num_frames"
  $wrote_utt2dur && rm -f "$data/utt2dur"
  echo "$0: ERROR: no utterance of $data got features; see $logdir/make_fbank_$name.*.log" >&2
  exit 1
fi
failed=$(grep -ho 'WARNING: utterance [^:]*' "$logdir"/make_fbank_"$name".*.log | awk '{print $3}' | LC_ALL=C sort || true)
if [ "$nfeats" -ne "$total" ]; then
  nfail=$((total - nfeats))
  echo "$0: WARNING: $nfail of $total utterances have no features: $(echo $failed | cut -c1-400)" >&2
  echo "$0: reasons are in $logdir/make_fbank_$name.*.log; utils/fix_data_dir.sh $data drops them" >&2
fi
echo "$0: done: features for $nfeats of $total utterances of $data in ${elapsed}s"
