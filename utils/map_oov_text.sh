#!/usr/bin/env bash
# Words of a data dir's text that the lang dir cannot spell: map them to the OOV word, or drop
# their utterances (then utils/fix_data_dir.sh drops those utterances everywhere in the dir).
set -euo pipefail

utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mode=unk
help_message="Usage: $0 [--mode unk|drop] <lang-dir> <data-dir>
 e.g.: $0 --mode drop data/lang_phn data/train
Rewrites <data-dir>/text (the original is kept as text.orig) and prints the OOV words with counts.
Options:
  --mode <unk|drop>   map OOV words to <lang-dir>/oov.txt's word, or drop their utterances ($mode)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
data=$2
[ -f "$data/text" ] || { echo "$0: no such file: $data/text" >&2; exit 1; }
[ -f "$lang/words.txt" ] || { echo "$0: no such file: $lang/words.txt" >&2; exit 1; }
[ -f "$data/text.orig" ] || cp "$data/text" "$data/text.orig"
"$nas_python" -m nas.bin.map_oov_text --mode "$mode" "$lang" "$data/text.orig" "$data/text.tmp"
mv "$data/text.tmp" "$data/text"
if [ "$mode" = drop ]; then
  "$utils/fix_data_dir.sh" "$data"
fi
