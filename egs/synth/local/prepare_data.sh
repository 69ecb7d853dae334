#!/usr/bin/env bash
# Usage: local/prepare_data.sh <corpus-dir> <data-dir>
# Kaldi data dirs <data-dir>/{train,dev,test} from the corpus' <split>.tsv files
# (utt, spk, wav path, transcript), validated.
set -euo pipefail
if [ $# -ne 2 ]; then sed -n '2,4p' "$0" | sed 's/^# //' >&2; exit 1; fi
corpus=$1
data=$2
for split in train dev test; do
  tsv=$corpus/$split.tsv
  [ -s "$tsv" ] || { echo "$0: missing or empty $tsv (run stage 0)" >&2; exit 1; }
  d=$data/$split
  mkdir -p "$d"
  awk -F'\t' '{print $1, $3}' "$tsv" | LC_ALL=C sort > "$d/wav.scp"
  awk -F'\t' '{print $1, $4}' "$tsv" | LC_ALL=C sort > "$d/text"
  awk -F'\t' '{print $1, $2}' "$tsv" | LC_ALL=C sort > "$d/utt2spk"
  utils/utt2spk_to_spk2utt.pl "$d/utt2spk" > "$d/spk2utt"
  utils/validate_data_dir.sh --no-feats "$d"
done
