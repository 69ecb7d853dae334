#!/usr/bin/env bash
# Score a decode dir against an stm reference with sclite (Debian's sctk) after a GLM, per subset:
# the Hub5 way Switchboard's eval2000 is scored (SW and CH separately, as the ST-NAS paper's Table 3).
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

subsets="all:."
glm=""
stm=""
ignore_words=""
ignore_regex=""
sclite_opts="-F -D"
cmd="$utils/run.pl"
help_message="Usage: $0 [options] <data-dir> <graph-or-lang-dir> <decode-dir>
 e.g.: $0 --subsets 'swbd:^sw_ callhm:^en_' data/eval2000 data/lang_phn_sw1_tg/graph exp/retrain/decode_eval2000_sw1_tg
<data-dir> has stm, segments, reco2file_and_channel, and glm (used when present). For every
<decode-dir>/scoring/<lmwt>.txt (steps/decode.sh), the words of each utterance are spread over its
segment into a ctm; ctm and stm go through the GLM (csrfilt.sh -dh), and sclite scores them per
subset: <decode-dir>/score_<lmwt>/<subset>.sys, a %WER line per weight and subset, and the best
weight per subset in <decode-dir>/best_wer_<subset>.
Options:
  --subsets 'NAME:REGEX ...'  subsets by stm/ctm file id ($subsets)
  --stm <file>                reference (default: <data-dir>/stm)
  --glm <file>                GLM (default: <data-dir>/glm when present)
  --ignore-words '<w> ...'    hypothesis words left out (e.g. noise words, <unk>)
  --ignore-regex <regex>      hypothesis ctm lines matching it, case-insensitively, left out (as grep -i -v -E;
                              e.g. egs/swbd/local/score.sh's: Kaldi's hesitations and partial words)
  --sclite-opts <opts>        sclite options ($sclite_opts: fragments and optionally deletable words)
  --cmd <cmd>                 accepted for Kaldi compatibility; scoring runs here"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
data=$1
dir=$3
opts=(--subsets "$subsets" --ignore-words "$ignore_words" --ignore-regex "$ignore_regex" --sclite-opts "$sclite_opts")
[ -z "$glm" ] || opts+=(--glm "$glm")
[ -z "$stm" ] || opts+=(--stm "$stm")
mkdir -p "$dir/scoring/log"
if ! "$nas_python" -m nas.bin.score_stm "${opts[@]}" "$data" "$dir" > "$dir/scoring/log/score_stm.log" 2>&1; then
  cat "$dir/scoring/log/score_stm.log" >&2
  echo "$0: scoring failed; see $dir/scoring/log/score_stm.log" >&2
  exit 1
fi
cat "$dir/scoring/log/score_stm.log"
