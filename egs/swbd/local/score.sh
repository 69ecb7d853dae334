#!/usr/bin/env bash
# Scoring as Kaldi's Switchboard recipe: a data dir with an stm (eval2000) is scored by sclite against
# it after the GLM, per subset (steps/score_stm.sh); any other by steps/score.sh against its text.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

subsets="swbd:^sw_ callhm:^en_ all:."
ignore_words="[noise] [laughter] [vocalized-noise] <UNK>"
cmd=run.pl
help_message="Usage: $0 [options] <data-dir> <graph-dir> <decode-dir>
Options:
  --subsets 'NAME:REGEX ...'   sclite subsets by file id ($subsets)
  --ignore-words '<w> ...'     hypothesis words not scored ($ignore_words)"
. "$recipe/utils/parse_options.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
if [ -f "$1/stm" ]; then
  "$recipe/steps/score_stm.sh" --subsets "$subsets" --ignore-words "$ignore_words" "$@"
else
  "$recipe/steps/score.sh" --ignore-words "$ignore_words" "$@"
fi
