#!/usr/bin/env bash
# Score a decode dir against a data dir's text: one Kaldi %WER line per LM weight and the best
# (Kaldi's local/score.sh interface; recipes link local/score.sh to this script).
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

cmd="$utils/run.pl"
ignore_words=""
filter_cmd=""
costs=levenshtein
mode=all
sclite=false
help_message="Usage: $0 [options] <data-dir> <graph-or-lang-dir> <decode-dir>
 e.g.: $0 --ignore-words '<NOISE> <SPN>' data/test data/lang_phn_test/graph exp/retrain/decode_test
Scores every <decode-dir>/scoring/<lmwt>.txt (steps/decode.sh) against <data-dir>/text and writes
<decode-dir>/wer_<lmwt>, <decode-dir>/best_wer, per-utterance alignments in
<decode-dir>/scoring/wer_details/per_utt_<lmwt>, and sclite trn files <decode-dir>/scoring/{ref,<lmwt>}.trn.
A partial score says so on its %WER line, e.g. '%WER 7.14 [ ... ] over 9 of 12 utterances (PARTIAL: 3
without hypothesis, not scored; see <decode-dir>/scoring/partial_<lmwt>)', and best_wer keeps the mark.
Options:
  --ignore-words '<w> ...'   words removed from reference and hypotheses before scoring
  --filter-cmd <cmd>         text filter applied to both (stdin to stdout, 'utt words' lines);
                             default: local/wer_output_filter if executable in the current directory
  --costs <levenshtein|sclite>   alignment costs: plain edit distance (Kaldi) or sclite's 3/3/4 ($costs)
  --mode <all|present|strict>   a reference utterance without hypothesis: all deletions (all), left out of
                             the WER (present, Kaldi's local/score.sh), or an error (strict) ($mode)
  --sclite <bool>            also score with sclite (Debian's sctk): <decode-dir>/scoring/sclite/ ($sclite)
  --cmd <cmd>                accepted for Kaldi compatibility; scoring runs here"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
data=$1
dir=$3
[ -f "$data/text" ] || { echo "$0: no such file: $data/text" >&2; exit 1; }
ls "$dir"/scoring/*.txt > /dev/null 2>&1 || { echo "$0: no hypotheses in $dir/scoring (run steps/decode.sh)" >&2; exit 1; }
if [ -z "$filter_cmd" ] && [ -x local/wer_output_filter ]; then filter_cmd=local/wer_output_filter; fi
[ -n "$filter_cmd" ] || filter_cmd=cat

mkdir -p "$dir/scoring/log"
rm -f "$dir"/wer_* "$dir"/scoring/*.filt.txt "$dir"/scoring/partial_*
$filter_cmd < "$data/text" > "$dir/scoring/ref_filt.txt" \
  || { echo "$0: the filter '$filter_cmd' failed on $data/text" >&2; exit 1; }
n=0
for f in "$dir"/scoring/*.txt; do
  w=$(basename "$f" .txt)
  [[ $w =~ ^[0-9]+(\.[0-9]+)?$ ]] || continue
  $filter_cmd < "$f" > "$dir/scoring/$w.filt.txt" || { echo "$0: the filter '$filter_cmd' failed on $f" >&2; exit 1; }
  n=$((n + 1))
done
[ $n -gt 0 ] || { echo "$0: no <lmwt>.txt hypotheses in $dir/scoring" >&2; exit 1; }

opts=(--ignore-words "$ignore_words" --costs "$costs" --mode "$mode")
$sclite && opts+=(--sclite)
[ -f "$data/utt2spk" ] && opts+=(--utt2spk "$data/utt2spk")
if ! "$nas_python" -m nas.bin.score_decode "${opts[@]}" "$dir/scoring/ref_filt.txt" "$dir" \
     > "$dir/scoring/log/score.log" 2>&1; then
  cat "$dir/scoring/log/score.log" >&2
  echo "$0: scoring failed; see $dir/scoring/log/score.log" >&2
  exit 1
fi
cat "$dir/scoring/log/score.log"
grep -H WER "$dir"/wer_* | "$utils/best_wer.sh" | tee "$dir/best_wer"
