#!/usr/bin/env bash
# Scoring of the default recipe, Kaldi's local/score.sh interface: steps/score.sh against the data
# dir's text (a %WER line per LM weight in <decode-dir>/wer_<lmwt>, the best in <decode-dir>/best_wer).
# Every word is scored: the synthesized corpus has no noise or OOV markers. Options go to steps/score.sh.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
usage="Usage: $0 [steps/score.sh options] <data-dir> <graph-dir> <decode-dir>"
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then echo "$usage"; exit 0; fi
if [ $# -lt 3 ]; then echo "$usage" >&2; exit 1; fi
exec "$recipe/steps/score.sh" "$@"
