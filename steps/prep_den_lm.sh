#!/usr/bin/env bash
# Build the CTC-CRF denominator graph (stage 3): a phone n-gram LM from a data dir's transcripts,
# composed with the CTC topology, and the per-utterance path weights.
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

order=4
no_prune_order=3
num_extra_states=1000
text_is_ids=false
extra_text=
help_message="Usage: $0 [options] <lang-dir> <data-dir> <out-dir>
 e.g.: $0 data/lang_phn data/train_sp data/den_meta
Reads <lang-dir>/tokens.txt and lexicon_numbers.txt and <data-dir>/text; writes
<out-dir>/{phone_lm.arpa,phone_lm.fst,den_lm.fst,path_weight.txt}, and what they were made from
(<out-dir>/.inputs.json): a rerun with the same inputs and options does nothing.
Options:
  --order <n>               phone LM order ($order)
  --no-prune-order <n>      keep all histories of n-grams up to this order ($no_prune_order)
  --num-extra-states <n>    longer histories kept, most frequent first ($num_extra_states)
  --text-is-ids <bool>      <data-dir>/text already holds token ids ($text_is_ids)
  --extra-text '<files>'    other Kaldi texts (e.g. data/dev/text) whose utterances also get path
                            weights (the LM is estimated on <data-dir>/text alone)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/inputs.sh"

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
data=$2
dir=$3
for f in "$lang/tokens.txt" "$data/text"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
opts=(--order "$order" --no-prune-order "$no_prune_order" --num-extra-states "$num_extra_states"
      --tokens "$lang/tokens.txt")
if $text_is_ids; then
  opts+=(--text-is-ids)
else
  [ -f "$lang/lexicon_numbers.txt" ] || { echo "$0: no such file: $lang/lexicon_numbers.txt" >&2; exit 1; }
  opts+=(--lexicon "$lang/lexicon_numbers.txt")
  # the lang dir's unknown-word entry, as the training targets use it
  [ -s "$lang/oov.txt" ] && opts+=(--oov "$(head -n 1 "$lang/oov.txt")")
fi
for f in $extra_text; do
  [ -f "$f" ] || { echo "$0: no such file: $f (from --extra-text)" >&2; exit 1; }
  opts+=(--weights-for "$f")
done
made_from=("tokens=$lang/tokens.txt" "lexicon=$lang/lexicon_numbers.txt" "oov=$lang/oov.txt" "text=$data/text"
           "options:=${opts[*]}")
i=0
for f in $extra_text; do i=$((i + 1)); made_from+=("extra_text$i=$f"); done
if [ -s "$dir/den_lm.fst" ] && [ -s "$dir/path_weight.txt" ] && \
   inputs_current "$0: $dir is up to date; skipping" "$dir/.inputs.json" "${made_from[@]}"; then
  exit 0
fi
mkdir -p "$dir/log"
"$nas_python" -m nas.bin.make_den_lm "${opts[@]}" "$data/text" "$dir" 2>&1 | tee "$dir/log/make_den_lm.log"
inputs_record "$dir/.inputs.json" "${made_from[@]}"
