#!/usr/bin/env bash
# Scoring, Kaldi's local/score.sh interface (steps/nas_decode.sh calls it for stage 8): the words of
# --ignore-words are taken out of references and hypotheses (a corpus' noise and unknown-word markers,
# e.g. '<NOISE> <UNK>'), then steps/score.sh writes a %WER line per LM weight in <decode-dir>/wer_<lmwt>
# and the best in <decode-dir>/best_wer. Other options go to steps/score.sh (--sclite true, ...).
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ignore_words=""                # CHANGE: your corpus' markers that should not count as errors
usage="Usage: $0 [--ignore-words '<w> ...'] [steps/score.sh options] <data-dir> <graph-dir> <decode-dir>"
case ${1:-} in --help|-h) echo "$usage"; exit 0 ;; esac
if [ "${1:-}" = --ignore-words ] && [ $# -ge 2 ]; then ignore_words=$2; shift 2; fi
if [ $# -lt 3 ]; then echo "$usage" >&2; exit 1; fi
exec "$recipe/steps/score.sh" ${ignore_words:+--ignore-words "$ignore_words"} "$@"
