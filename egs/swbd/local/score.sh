#!/usr/bin/env bash
# Scoring as Kaldi's Switchboard recipe: a data dir with an stm (eval2000) is scored by sclite against
# it after the GLM, per subset (steps/score_stm.sh); any other by steps/score.sh against its text.
# Before sclite, the hypothesis ctm loses what Kaldi's local/score_sclite.sh takes out of it (grep -i -v -E,
# case-insensitive, on each ctm line): a line holding "[noise", "laughter" or "vocalized-noise]" anywhere
# (so [laughter-yes] and the word laughter go too), or "<unk>"; a word that is one of the hesitations
# uh um eh mm hm ah huh ha er oof hee ach eee ew; a word ending in "-" (a partial word). The reference
# has such words optionally deletable, so a hit gains nothing and a miss costs an insertion.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

subsets="swbd:^sw_ callhm:^en_ all:."
ignore_words="[noise] [laughter] [vocalized-noise] <UNK>"
ignore_regex='\[noise|laughter|vocalized-noise\]|<unk>| (uh|um|eh|mm|hm|ah|huh|ha|er|oof|hee|ach|eee|ew)$|-$'
cmd=run.pl
help_message="Usage: $0 [options] <data-dir> <graph-dir> <decode-dir>
Options:
  --subsets 'NAME:REGEX ...'   sclite subsets by file id ($subsets)
  --ignore-words '<w> ...'     hypothesis words not scored ($ignore_words)
  --ignore-regex <regex>       with an stm: hypothesis ctm lines not scored, case-insensitive; '' for none
                               ($ignore_regex)"
. "$recipe/utils/parse_options.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
if [ -f "$1/stm" ]; then
  "$recipe/steps/score_stm.sh" --subsets "$subsets" --ignore-words "$ignore_words" --ignore-regex "$ignore_regex" "$@"
else
  "$recipe/steps/score.sh" --ignore-words "$ignore_words" "$@"
fi
