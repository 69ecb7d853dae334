#!/usr/bin/env bash
# Make a CTC lang dir (tokens.txt, words.txt, lexicon.txt, lexicon_numbers.txt, units.txt,
# L.fst, T.fst) with phone (CMUdict), character or BPE units, or over a trained model's tokens.txt.
set -euo pipefail

utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)

unit=phone
text=""
words=""
lexicon=""
keep_stress=false
first_pron=false
bpe_size=500
bpe_model=""
oov_word="<UNK>"
oov_unit="<SPN>"
noise_word="<NOISE>"
noise_unit="<NSN>"
missing=skip
topo=ctc
tokens=""
help_message="Usage: $0 [options] <lang-dir>
 e.g.: $0 --unit phone --text data/train/text data/lang_phn
Vocabulary: the words of --text and --words (all of CMUdict for phones when neither is given).
Options:
  --unit <phone|char|bpe>    units ($unit)
  --text <files>             Kaldi text files for the vocabulary (space-separated list; BPE trains on them)
  --words <files>            word lists (first field per line) to add to the vocabulary
  --lexicon <file>           phone lexicon.txt to use instead of CMUdict
  --keep-stress <bool>       keep CMUdict stress (AH0 AH1 AH2 as 3 units) ($keep_stress)
  --first-pron <bool>        only the first CMUdict pronunciation ($first_pron)
  --bpe-size <n>             BPE vocabulary size ($bpe_size)
  --bpe-model <file>         an existing sentencepiece model
  --oov-word <w> --oov-unit <u>      unknown-word entry ($oov_word $oov_unit; '' for none)
  --noise-word <w> --noise-unit <u>  noise entry ($noise_word $noise_unit; '' for none)
  --missing <skip|error>     vocabulary words without a pronunciation: report and skip, or fail ($missing)
  --topo <ctc|compact>       CTC topology of T.fst ($topo); compact for thousands of BPE units
  --tokens <file>            a trained model's tokens.txt: keep its token ids (Kaldi's --phone-symbol-table);
                             pronunciations with units outside it are reported and left out"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 1 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1

opts=(--unit "$unit" --bpe-size "$bpe_size" --oov-word "$oov_word" --oov-unit "$oov_unit"
      --noise-word "$noise_word" --noise-unit "$noise_unit" --missing "$missing" --topo "$topo")
for f in $text; do
  [ -f "$f" ] || { echo "$0: no such file: $f (from --text)" >&2; exit 1; }
  opts+=(--text "$f")
done
for f in $words; do
  [ -f "$f" ] || { echo "$0: no such file: $f (from --words)" >&2; exit 1; }
  opts+=(--words "$f")
done
[ -z "$lexicon" ] || opts+=(--lexicon "$lexicon")
[ -z "$bpe_model" ] || opts+=(--bpe-model "$bpe_model")
if [ -n "$tokens" ]; then
  [ -f "$tokens" ] || { echo "$0: no such file: $tokens (from --tokens)" >&2; exit 1; }
  opts+=(--tokens "$tokens")
fi
$keep_stress && opts+=(--keep-stress)
$first_pron && opts+=(--first-pron)

mkdir -p "$lang"
"$nas_python" -m nas.bin.prepare_lang "${opts[@]}" "$lang"
