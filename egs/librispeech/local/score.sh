#!/usr/bin/env bash
# Scoring: the OOV word is left out of references and hypotheses (LibriSpeech's transcripts have no noise
# words), then steps/score.sh (a %WER line per LM weight, the best in <decode-dir>/best_wer).
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

ignore_words="<UNK>"
cmd=run.pl
help_message="Usage: $0 [options] <data-dir> <graph-dir> <decode-dir>
Options:
  --ignore-words '<w> ...'   words not scored ($ignore_words)"
. "$recipe/utils/parse_options.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
"$recipe/steps/score.sh" --ignore-words "$ignore_words" "$@"
