#!/usr/bin/env bash
# Train a word n-gram LM (Kneser-Ney, ARPA) on Kaldi text for a lang dir's vocabulary,
# optionally entropy-pruned, with the perplexity of dev texts. Skipped when <lm-dir>/lm.arpa was made
# from the same text, vocabulary and options (<lm-dir>/.inputs.json, written last).
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

order=3
prune_threshold=0
min_counts=""
dev_text=""
all_words=false
help_message="Usage: $0 [options] <lang-dir> <train-text> <lm-dir>
 e.g.: $0 --order 3 --dev-text data/dev/text data/lang_phn data/train/text data/local/lm
Writes <lm-dir>/lm_unpruned.arpa and <lm-dir>/lm.arpa (pruned if --prune-threshold > 0);
words outside <lang-dir>/words.txt become <lang-dir>/oov.txt's word. Log: <lm-dir>/log/train_word_lm.log
Options:
  --order <n>               n-gram order, 1..5 ($order)
  --prune-threshold <x>     entropy pruning threshold, e.g. 1e-7 (0: none) ($prune_threshold)
  --min-counts '<c1 c2 ..>' per-order count cutoffs (SRILM -gtNmin), e.g. '0 0 1'
  --dev-text <files>        texts to report perplexity on (space-separated list)
  --all-words <bool>        every word of <lang-dir>/words.txt in the LM, those the text lacks with the
                            unigram mass left over (SRILM's -vocab, as Kaldi's swbd1_train_lms.sh) ($all_words)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/inputs.sh"

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
text=$2
dir=$3
for f in "$lang/words.txt" "$text"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
opts=(--order "$order" --prune-threshold "$prune_threshold" --min-counts "$min_counts")
$all_words && opts+=(--all-words)
for f in $dev_text; do
  [ -f "$f" ] || { echo "$0: no such file: $f (from --dev-text)" >&2; exit 1; }
  opts+=(--dev-text "$f")
done
made_from=("words=$lang/words.txt" "text=$text" "options:=${opts[*]}")
[ ! -f "$lang/oov.txt" ] || made_from+=("oov=$lang/oov.txt")
if [ -s "$dir/lm.arpa" ] && inputs_current "$0: $dir/lm.arpa is up to date; skipping" "$dir/.inputs.json" "${made_from[@]}"; then
  exit 0
fi
rm -f "$dir/.inputs.json"
mkdir -p "$dir/log"
"$nas_python" -m nas.bin.train_word_lm "${opts[@]}" "$lang" "$text" "$dir" 2>&1 | tee "$dir/log/train_word_lm.log"
inputs_record "$dir/.inputs.json" "${made_from[@]}"
