#!/usr/bin/env bash
# Stage 1 lexicon and lang dir from the MS98 dictionary: 42 phones plus spn (vocalized noise and
# unknown words), nsn (noise), lau (laughter): 45 units, 46 network outputs with blank, as CAT's
# Switchboard recipe and the paper. Reports the training words the lexicon cannot spell.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

first_pron=true
oov_word="<UNK>"
expected_outputs=46
help_message="Usage: $0 [options] <ms98-dir> <train-data-dir> <lang-dir>
 e.g.: $0 /corpora/swb_ms98_transcriptions data/train_nodup data/lang_phn
Writes <train-data-dir>/../local/dict/lexicon.txt, <lang-dir> and <lang-dir>/oov_report.txt.
Rebuilds only when <train-data-dir>/text is newer than <lang-dir>/L.fst.
Options:
  --first-pron <bool>         each word's first MS98 pronunciation only ($first_pron)
  --oov-word <w>              the word (unit spn) that words without a pronunciation stand for ($oov_word)
  --expected-outputs <n>      warn when the network output count (units + blank) differs ($expected_outputs)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
ms98=$1; data=$2; lang=$3
[ -f "$data/text" ] || { echo "$0: no such file: $data/text (run the data preparation first)" >&2; exit 1; }

if [ -f "$lang/L.fst" ] && [ "$lang/L.fst" -nt "$data/text" ] && [ -f "$lang/oov_report.txt" ]; then
  echo "$0: $lang is up to date; skipping"
else
  dict=$data/../local/dict
  mkdir -p "$dict" "$lang"
  opts=()
  $first_pron || opts+=(--all-prons)
  "$nas_python" -m nas.corpora.swbd dict --ms98 "$ms98" "${opts[@]}" "$dict/lexicon.txt"
  "$recipe/utils/prepare_lang_ctc.sh" --unit phone --lexicon "$dict/lexicon.txt" --text "$data/text" \
    --words "$dict/lexicon.txt" --oov-word "$oov_word" --oov-unit spn --noise-word "" "$lang" 2>&1 \
    | tee "$lang/oov_report.txt"
fi
outputs=$(( $(wc -l < "$lang/units.txt") + 1 ))
if [ "$outputs" -ne "$expected_outputs" ]; then
  echo "$0: WARNING: $lang has $outputs network outputs (units + blank), not $expected_outputs as the paper" >&2
else
  echo "$0: $lang: $outputs network outputs (units + blank), as the paper"
fi
