#!/usr/bin/env bash
# Stage 1's decoding graph, written once for every recipe: G.fst from an ARPA LM in a copy of the lang
# dir (utils/format_lm.sh), then TLG.fst (utils/mkgraph.sh). Skipped when <out-lang-dir>/graph was made
# from the same lang dir and LM (<out-lang-dir>/graph/.inputs.json, written last); redone, saying
# what changed, otherwise.
set -euo pipefail
echo "$0 $*"

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

mkgraph_opts=""
help_message="Usage: $0 [options] <lang-dir> <arpa[.gz]> <out-lang-dir>
 e.g.: $0 data/lang_phn data/local/lm/lm_tgpr.arpa.gz data/lang_phn_test_tgpr
Writes <out-lang-dir> (a copy of <lang-dir> with G.fst; it may be <lang-dir> itself) and
<out-lang-dir>/graph/TLG.fst.
Options:
  --mkgraph-opts '<opts>'   for utils/mkgraph.sh (--max-mem-gb, --max-states)"
. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/inputs.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
arpa=$2
out=$3
graph=$out/graph
made_from=()
for f in L.fst T.fst tokens.txt words.txt; do made_from+=("$f=$lang/$f"); done
made_from+=("lm=$arpa" "options:=$mkgraph_opts")
if [ -f "$graph/TLG.fst" ] && inputs_current "$graph/TLG.fst is up to date; skipping" "$graph/.inputs.json" "${made_from[@]}"; then
  exit 0
fi
rm -f "$graph/.inputs.json" "$graph/TLG.fst"
"$utils/format_lm.sh" "$lang" "$arpa" "$out"
# shellcheck disable=SC2086
"$utils/mkgraph.sh" $mkgraph_opts "$out" "$graph"
inputs_record "$graph/.inputs.json" "${made_from[@]}"
