#!/usr/bin/env bash
# Stage 1 word LMs for decoding: WSJ1's own 20k open-vocabulary trigram (tcb20onp, non-verbalized
# punctuation) when it is there, entropy-pruned for the first pass ("tgpr", as Kaldi's recipe); else
# a trigram trained on WSJ1's LM training text (lng_modl/lm_train/np_data), pruned the same way.
# Writes <lm-dir>/lm_tgpr.arpa.gz (first pass) and <lm-dir>/lm_tg.arpa.gz (unpruned, for rescoring).
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

lm_source=auto
prune_threshold=1e-7
order=3
dev_text=""
help_message="Usage: $0 [options] <wsj0> <wsj1> <lang-dir> <lm-dir>
 e.g.: $0 /corpora/LDC93S6B /corpora/LDC94S13B data/lang_phn data/local/lm
Skips the work when <lm-dir>/lm_tgpr.arpa.gz exists (delete it to redo).
Options:
  --lm-source <corpus|text|auto>  the corpus' LM, one trained on its LM text, or the first that is there ($lm_source)
  --prune-threshold <x>           entropy pruning threshold of the first-pass LM ($prune_threshold)
  --order <n>                     n-gram order when training from text ($order)
  --dev-text <file>               Kaldi text to report perplexity on, when training from text"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 4 ]; then echo "$help_message" >&2; exit 1; fi
wsj0=$1; wsj1=$2; lang=$3; dir=$4

if [ -s "$dir/lm_tgpr.arpa.gz" ] && [ -s "$dir/lm_tg.arpa.gz" ]; then
  echo "$0: $dir/lm_tgpr.arpa.gz exists; skipping"
  exit 0
fi
mkdir -p "$dir"
case $lm_source in
  corpus|auto|text) ;;
  *) echo "$0: --lm-source must be corpus, text or auto, not '$lm_source'" >&2; exit 1 ;;
esac
tg=""
if [ "$lm_source" != text ]; then
  tg=$("$nas_python" -m nas.corpora.wsj lm --wsj0 "$wsj0" --wsj1 "$wsj1" | awk '$1 == "tcb20onp" {print $2}')
  if [ -z "$tg" ] && [ "$lm_source" = corpus ]; then
    echo "$0: no WSJ1 LM tcb20onp.z (expected <wsj1>/13-32.1/wsj1/doc/lng_modl/base_lm/tcb20onp.z under $wsj1);" \
         "use --lm-source text to train one from the LM training text" >&2
    exit 1
  fi
fi
if [ -n "$tg" ]; then
  echo "$0: the corpus' 20k trigram: $tg"
  "$recipe/utils/prepare_arpa_lm.sh" "$tg" "$dir/lm_tg.arpa.gz"
  "$recipe/utils/prepare_arpa_lm.sh" --prune-threshold "$prune_threshold" "$tg" "$dir/lm_tgpr.arpa.gz"
else
  echo "$0: training a ${order}-gram on WSJ1's LM training text"
  "$nas_python" -m nas.corpora.wsj lm-text --wsj0 "$wsj0" --wsj1 "$wsj1" --vocab "$lang/words.txt" "$dir/lm_text"
  "$recipe/steps/train_word_lm.sh" --order "$order" --prune-threshold "$prune_threshold" --dev-text "$dev_text" \
    "$lang" "$dir/lm_text" "$dir/text_lm"
  gzip -c "$dir/text_lm/lm_unpruned.arpa" > "$dir/lm_tg.arpa.gz"
  gzip -c "$dir/text_lm/lm.arpa" > "$dir/lm_tgpr.arpa.gz"
fi
echo "$0: first-pass LM $dir/lm_tgpr.arpa.gz; unpruned $dir/lm_tg.arpa.gz (for rescoring, when available)"
