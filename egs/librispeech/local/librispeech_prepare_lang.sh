#!/usr/bin/env bash
# Stage 1 lexicon and lang dir. Phone units: CMUdict's pronunciations, the published LibriSpeech lexicon's
# (OpenSLR 11, CMUdict's phone set) for the words CMUdict lacks, over the LM vocabulary and the training
# words; <UNK> -> <SPN> for the rest. BPE units: a sentencepiece model trained on the training
# transcripts spells every word of the same vocabulary. utils/prepare_lang_ctc.sh writes the lang dir.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

unit=phone
keep_stress=false
bpe_size=500
oov_word="<UNK>"
help_message="Usage: $0 [options] <lm-dir> <train-data-dir> <lang-dir>
 e.g.: $0 corpus/lm data/train_clean_100 data/lang_phn
<lm-dir> holds librispeech-vocab.txt (and librispeech-lexicon.txt for phone units). Rebuilds only when
the training text or those files are newer than <lang-dir>/L.fst.
Options:
  --unit <phone|bpe>          units ($unit)
  --keep-stress <bool>        phone: CMUdict's stress digits as separate units ($keep_stress)
  --bpe-size <n>              bpe: vocabulary size ($bpe_size)
  --oov-word <w>              phone: the word (unit <SPN>) unspellable words stand for ($oov_word)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
lm=$1; data=$2; lang=$3
vocab=$lm/librispeech-vocab.txt
published=$lm/librispeech-lexicon.txt
inputs=("$data/text" "$vocab")
[ "$unit" != phone ] || inputs+=("$published")
for f in "${inputs[@]}"; do
  [ -f "$f" ] || { echo "$0: no such file: $f (run stages 0 and 1's data preparation first)" >&2; exit 1; }
done
if [ -f "$lang/L.fst" ] && [ -f "$lang/.unit" ] && [ "$(cat "$lang/.unit")" = "$unit $keep_stress $bpe_size" ] && \
   [ -z "$(find "${inputs[@]}" -newer "$lang/L.fst")" ]; then
  echo "$0: $lang is up to date; skipping"
  exit 0
fi
mkdir -p "$lang"
case $unit in
  phone)
    dict=$data/../local/dict
    "$nas_python" -m nas.corpora.librispeech lexicon --vocab "$vocab" --text "$data/text" --published "$published" \
      --keep-stress "$keep_stress" "$dict/lexicon.txt"
    "$recipe/utils/prepare_lang_ctc.sh" --unit phone --lexicon "$dict/lexicon.txt" --text "$data/text" \
      --words "$vocab" --oov-word "$oov_word" --oov-unit "<SPN>" --noise-word "" "$lang" ;;
  bpe)
    "$recipe/utils/prepare_lang_ctc.sh" --unit bpe --bpe-size "$bpe_size" --text "$data/text" --words "$vocab" \
      --oov-word "" --oov-unit "" --noise-word "" "$lang" ;;
  *) echo "$0: --unit must be phone or bpe, not '$unit'" >&2; exit 1 ;;
esac
echo "$unit $keep_stress $bpe_size" > "$lang/.unit"
echo "$0: $lang: $(( $(wc -l < "$lang/units.txt") + 1 )) network outputs (units + blank)"
