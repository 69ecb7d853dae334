#!/usr/bin/env bash
# Usage: local/prepare_data.sh <corpus-dir> <data-dir>
# Kaldi data dirs <data-dir>/{train,dev,test} from the corpus' <split>.tsv files
# (utt, spk, wav path, transcript), validated. What it writes is kept in <dir>/.prep/; a data
# dir whose wav.scp, text and utt2spk would be the same as then is left as it is (with its
# features, and with the utterances stage 2 dropped for bad audio), so a rerun redoes nothing.
# Later stages take <dir>/.prep/text's time as the time the data last changed.
set -euo pipefail
if [ $# -ne 2 ]; then sed -n '2,5p' "$0" | sed 's/^# //' >&2; exit 1; fi
corpus=$1
data=$2
for split in train dev test; do
  tsv=$corpus/$split.tsv
  [ -s "$tsv" ] || { echo "$0: missing or empty $tsv (run stage 0)" >&2; exit 1; }
  d=$data/$split
  tmp=$(mktemp -d)
  awk -F'\t' '{print $1, $3}' "$tsv" | LC_ALL=C sort > "$tmp/wav.scp"
  awk -F'\t' '{print $1, $4}' "$tsv" | LC_ALL=C sort > "$tmp/text"
  awk -F'\t' '{print $1, $2}' "$tsv" | LC_ALL=C sort > "$tmp/utt2spk"
  record=$d/.prep
  [ -d "$record" ] || record=$d          # a dir written before the record was kept
  same=true
  for f in wav.scp text utt2spk; do
    cmp -s "$tmp/$f" "$record/$f" 2>/dev/null || same=false
  done
  if $same; then
    echo "$0: $d is up to date"
    # start the record with the tables' own times, so nothing made from them looks stale
    if [ "$record" = "$d" ]; then mkdir -p "$d/.prep"; cp -p "$d"/{wav.scp,text,utt2spk} "$d/.prep/"; fi
  else
    rm -rf "$d"
    mkdir -p "$d"
    cp "$tmp"/{wav.scp,text,utt2spk} "$d/"
    utils/utt2spk_to_spk2utt.pl "$d/utt2spk" > "$d/spk2utt"
    utils/validate_data_dir.sh --no-feats "$d"
    mkdir -p "$d/.prep"
    cp "$tmp"/{wav.scp,text,utt2spk} "$d/.prep/"
  fi
  rm -rf "$tmp"
done
