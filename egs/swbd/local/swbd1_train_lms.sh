#!/usr/bin/env bash
# Stage 1 word LM for decoding: Kneser-Ney on the Switchboard training transcripts, plus the Fisher
# transcripts when given (Kaldi's and CAT's sw1 trigram; with Fisher, its sw1_fsh text). Perplexity
# on the dev transcripts. Its vocabulary is the lexicon's, as Kaldi's (SRILM -vocab on the lexicon's
# words, -limit-vocab): words outside it are <UNK>, and every lexicon word has a unigram, those the text
# lacks with the mass left over. Writes <lm-dir>/lm.arpa.gz.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

order=3
prune_threshold=0
fisher=""
help_message="Usage: $0 [options] <train-text> <dev-text> <lang-dir> <lm-dir>
 e.g.: $0 --fisher '/corpora/LDC2004T19/fe_03_p1_tran /corpora/LDC2005T19/fe_03_p2_tran' \\
          data/train_nodev/text data/train_dev/text data/lang_phn data/local/lm
Skips the work when <lm-dir>/lm.arpa.gz is newer than <train-text>.
Options:
  --order <n>               n-gram order ($order)
  --prune-threshold <x>     entropy pruning threshold (0: none) ($prune_threshold)
  --fisher '<dir> ...'      Fisher transcript dirs (data/trans/NNN/*.txt) added to the LM text"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 4 ]; then echo "$help_message" >&2; exit 1; fi
train_text=$1; dev_text=$2; lang=$3; dir=$4

if [ -s "$dir/lm.arpa.gz" ] && [ "$dir/lm.arpa.gz" -nt "$train_text" ]; then
  echo "$0: $dir/lm.arpa.gz is up to date; skipping"
  exit 0
fi
mkdir -p "$dir"
cp "$train_text" "$dir/text"
if [ -n "$fisher" ]; then
  # shellcheck disable=SC2086
  "$nas_python" -m nas.corpora.swbd fisher-text $fisher "$dir/fisher_text"
  cat "$dir/fisher_text" >> "$dir/text"
fi
"$recipe/steps/train_word_lm.sh" --all-words true --order "$order" --prune-threshold "$prune_threshold" \
  --dev-text "$dev_text" \
  "$lang" "$dir/text" "$dir"
gzip -c "$dir/lm.arpa" > "$dir/lm.arpa.gz"
echo "$0: first-pass LM $dir/lm.arpa.gz"
