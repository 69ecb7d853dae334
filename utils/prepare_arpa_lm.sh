#!/usr/bin/env bash
# Use an ARPA LM given as a file (a corpus' own LM) instead of training one: decompress
# (.gz, or .Z/.z as the LDC ships them), drop any header before \data\, optionally prune.
set -euo pipefail

utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)

prune_threshold=0
min_order=2
help_message="Usage: $0 [options] <in-lm> <out-lm>
 e.g.: $0 --prune-threshold 1e-7 /corpora/LDC94S13B/13-32.1/wsj1/doc/lng_modl/base_lm/tcb20onp.z data/local/nist_lm/lm_tgpr.arpa.gz
<out-lm> is plain ARPA, gzip'ed when its name ends in .gz (utils/format_lm.sh reads both).
Options:
  --prune-threshold <x>   entropy pruning threshold, e.g. 1e-7 (0: keep every n-gram) ($prune_threshold)
  --min-order <n>         prune n-grams of this order and above ($min_order)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
"$nas_python" -m nas.bin.prepare_arpa --prune-threshold "$prune_threshold" --min-order "$min_order" "$1" "$2"
