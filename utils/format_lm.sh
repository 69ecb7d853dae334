#!/usr/bin/env bash
# Make a test lang dir: a copy of <lang-dir> with G.fst from an ARPA LM (plain or .gz).
# (Kaldi's utils/format_lm.sh, without its lexicon argument: the lang dir has the words.)
set -euo pipefail

utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)

help_message="Usage: $0 <lang-dir> <arpa> <out-lang-dir>
 e.g.: $0 data/lang_phn data/local/lm/lm.arpa data/lang_phn_test
<out-lang-dir> may be <lang-dir> itself. Log: <out-lang-dir>/log/format_lm.log"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
arpa=$2
out=$3
for f in "$lang/words.txt" "$lang/tokens.txt" "$lang/L.fst" "$lang/T.fst" "$arpa"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
mkdir -p "$out/log"
if [ "$(cd "$lang" && pwd -P)" != "$(cd "$out" && pwd -P)" ]; then
  for f in "$lang"/*; do
    [ -f "$f" ] && [ "$(basename "$f")" != G.fst ] && cp "$f" "$out/"
  done
fi
"$nas_python" -m nas.bin.arpa_to_g "$arpa" "$out/words.txt" "$out/G.fst" > "$out/log/format_lm.log" 2>&1 \
  || { cat "$out/log/format_lm.log" >&2; echo "$0: failed (log: $out/log/format_lm.log)" >&2; exit 1; }
grep -E '^arpa_to_g|WARNING' "$out/log/format_lm.log" || true
