#!/usr/bin/env bash
# Build the decoding graph TLG.fst = T o min(det(L o G)) from a lang dir with L.fst, T.fst, G.fst.
set -euo pipefail

utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)

max_mem_gb=""
max_states=-1
help_message="Usage: $0 [options] <lang-dir> <graph-dir>
 e.g.: $0 data/lang_phn_test data/lang_phn_test/graph
Writes <graph-dir>/TLG.fst, words.txt, tokens.txt; skips the build when TLG.fst is newer
than L.fst, T.fst and G.fst. Log: <graph-dir>/log/mkgraph.log
Options:
  --max-mem-gb <x>   address-space cap of the build (default: 3/4 of physical memory; 0: none);
                     a G too large for it fails with a message instead of taking the machine down
  --max-states <n>   stop det(L o G) beyond n states (default: no limit)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
dir=$2
for f in L.fst T.fst G.fst tokens.txt words.txt; do
  [ -f "$lang/$f" ] || { echo "$0: no such file: $lang/$f" >&2; exit 1; }
done
if [ -f "$dir/TLG.fst" ] && [ "$dir/TLG.fst" -nt "$lang/L.fst" ] && [ "$dir/TLG.fst" -nt "$lang/T.fst" ] \
   && [ "$dir/TLG.fst" -nt "$lang/G.fst" ]; then
  echo "$0: $dir/TLG.fst is newer than the lang dir's FSTs; not rebuilding"
  exit 0
fi
mkdir -p "$dir/log"
opts=(--max-states "$max_states")
[ -z "$max_mem_gb" ] || opts+=(--max-mem-gb "$max_mem_gb")
rm -f "$dir/TLG.fst"
set +e
"$nas_python" -m nas.bin.make_tlg "${opts[@]}" "$lang" "$dir" > "$dir/log/mkgraph.log" 2>&1
rc=$?
set -e
cat "$dir/log/mkgraph.log"
if [ $rc -ne 0 ]; then
  rm -f "$dir/TLG.fst"
  if [ $rc -gt 128 ] || grep -q "cannot allocate memory" "$dir/log/mkgraph.log"; then
    # an allocation failure can also end the process by abort() instead of MemoryError
    echo "$0: out of memory: the graph build died (exit status $rc) under the memory cap" \
         "(--max-mem-gb ${max_mem_gb:-default}); prune the LM or lower its order; see $dir/log/mkgraph.log" >&2
  else
    echo "$0: the graph build failed; see $dir/log/mkgraph.log" >&2
  fi
  exit 1
fi
