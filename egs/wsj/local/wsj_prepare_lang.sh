#!/usr/bin/env bash
# Stage 1 lexicon and lang dir: CMUdict phones with stress (69 phones, plus <NSN> for noise and <SPN>
# for unknown words: 72 network outputs with blank, as CAT's WSJ phone recipe and the paper).
# Reports the training words CMUdict cannot spell (they stand for the OOV word in training).
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

keep_stress=true
lexicon_vocab=cmudict
oov_word="<UNK>"
noise_word="<NOISE>"
expected_outputs=72
help_message="Usage: $0 [options] <train-data-dir> <lang-dir>
 e.g.: $0 data/train_si284 data/lang_phn
Writes <lang-dir> (utils/prepare_lang_ctc.sh) and <lang-dir>/oov_report.txt (training words without a
pronunciation, with counts). Rebuilds only when <train-data-dir>/text is newer than <lang-dir>/L.fst.
Options:
  --keep-stress <bool>        CMUdict stress markers as separate units ($keep_stress)
  --lexicon-vocab <v>         cmudict: all CMUdict words; train: the training words only ($lexicon_vocab)
  --oov-word <w>              word (unit <SPN>) that training words without a pronunciation stand for ($oov_word)
  --noise-word <w>            noise word of the transcripts (unit <NSN>) ($noise_word)
  --expected-outputs <n>      warn when the network output count (units + blank) differs ($expected_outputs)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
data=$1; lang=$2
[ -f "$data/text" ] || { echo "$0: no such file: $data/text (run the data preparation first)" >&2; exit 1; }

if [ -f "$lang/L.fst" ] && [ "$lang/L.fst" -nt "$data/text" ] && [ -f "$lang/oov_report.txt" ]; then
  echo "$0: $lang is up to date; skipping"
else
  mkdir -p "$data/../local/dict" "$lang"
  words=""
  case $lexicon_vocab in
    cmudict)
      words=$data/../local/dict/cmudict_words.txt
      "$nas_python" -m nas.corpora.wsj cmudict-words "$words" ;;
    train) ;;
    *) echo "$0: --lexicon-vocab must be cmudict or train, not '$lexicon_vocab'" >&2; exit 1 ;;
  esac
  "$recipe/utils/prepare_lang_ctc.sh" --unit phone --keep-stress "$keep_stress" --text "$data/text" \
    --words "$words" --oov-word "$oov_word" --oov-unit "<SPN>" --noise-word "$noise_word" --noise-unit "<NSN>" \
    "$lang" 2>&1 | tee "$lang/oov_report.txt"
fi
outputs=$(( $(wc -l < "$lang/units.txt") + 1 ))
if [ "$outputs" -ne "$expected_outputs" ]; then
  echo "$0: WARNING: $lang has $outputs network outputs (units + blank), not $expected_outputs as the paper" >&2
else
  echo "$0: $lang: $outputs network outputs (units + blank), as the paper"
fi
