#!/usr/bin/env bash
# Usage: local/prepare_data.sh <corpus-dir> <data-dir>
# >>> The corpus-specific part of the recipe: rewrite it for your corpus (docs/new_corpus.md). <<<
# It must write, for each of train, dev and test, <data-dir>/<set>/wav.scp, text and utt2spk, each
# sorted with LC_ALL=C sort; run.sh then makes spk2utt and validates them (utils/validate_data_dir.sh):
#   wav.scp   <utt> <audio file>   or   <utt> <command writing a wav to stdout> |
#             (16 kHz, as conf/fbank.conf says; e.g. <utt> sox <file> -t wav -r 16000 -c 1 - |)
#   text      <utt> <WORD> <WORD> ...   (spelled as the lexicon spells words: CMUdict is upper case)
#   utt2spk   <utt> <spk>   (ids without whitespace; each utterance id begins with its speaker id)
# This example reads a simple layout (CHANGE the loop below for yours):
#   <corpus-dir>/<set>/<speaker>/<name>.wav   16 kHz mono audio
#   <corpus-dir>/<set>/<speaker>/<name>.txt   its transcript, on one line
set -euo pipefail
if [ $# -ne 2 ]; then sed -n 2p "$0" | sed 's/^# //' >&2; exit 1; fi
corpus=$(cd "$1" && pwd)                 # absolute: wav.scp is read from other dirs
data=$2
for set in train dev test; do
  [ -d "$corpus/$set" ] || { echo "$0: no such dir: $corpus/$set" >&2; exit 1; }
  tmp=$(mktemp -d)
  find "$corpus/$set" -name '*.wav' | LC_ALL=C sort | while read -r wav; do
    spk=$(basename "$(dirname "$wav")")
    utt=$spk-$(basename "$wav" .wav)     # the speaker id first
    txt=${wav%.wav}.txt
    [ -f "$txt" ] || { echo "$0: no transcript $txt for $wav" >&2; exit 1; }
    words=$(awk '{ $1 = $1; printf "%s ", toupper($0) }' "$txt")   # upper case, one space between words
    echo "$utt $wav" >> "$tmp/wav.scp"
    echo "$utt ${words% }" >> "$tmp/text"
    echo "$utt $spk" >> "$tmp/utt2spk"
  done
  [ -s "$tmp/wav.scp" ] || { echo "$0: no .wav files under $corpus/$set" >&2; exit 1; }
  mkdir -p "$data/$set"
  for f in wav.scp text utt2spk; do LC_ALL=C sort "$tmp/$f" > "$data/$set/$f"; done
  rm -rf "$tmp"
done
