#!/usr/bin/env bash
# Scoring of egs/timit, Kaldi's local/score.sh interface: references and hypotheses (48 training phones)
# both folded to Lee & Hon's 39 (`python -m nas.corpora.timit fold-phones`), then steps/score.sh: a %WER
# line (the PER) per LM weight in <decode-dir>/wer_<lmwt>, the best in <decode-dir>/best_wer, and
# sclite's count of the same hypotheses beside ours in <decode-dir>/scoring/sclite/wer_<lmwt> (the
# cross-check: our count is the minimum edit distance, sclite's alignment weighs substitutions 4 and
# insertions/deletions 3, so it can only count as many errors or more). Options go to steps/score.sh.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage="Usage: $0 [steps/score.sh options] <data-dir> <graph-or-lang-dir> <decode-dir>"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then echo "$usage"; exit 0; fi
if [ $# -lt 3 ]; then echo "$usage" >&2; exit 1; fi
. "$recipe/utils/lib/nas_python.sh"
exec "$recipe/steps/score.sh" --sclite true \
  --filter-cmd "$nas_python -m nas.corpora.timit fold-phones --map $recipe/conf/phones.61-48-39.map --to 39" "$@"
