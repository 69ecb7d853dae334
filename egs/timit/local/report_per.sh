#!/usr/bin/env bash
# Stage 8's summary of egs/timit: the PER (39 phones) of dev and test by CTC prefix beam search and by WFST
# decoding with the phone bigram at the LM weight best on dev (steps/report_wer.sh prints them as %WER
# lines: the words here are phones); with --bench-dir, the released benchmark's PER of the same architecture.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
beam=12
space=nb_asr
bench_dir=""
help_message="Usage: $0 [options] <retrain-dir>
 e.g.: $0 --bench-dir /data/nb-asr exp/nas_st_seed0/retrain
Options:
  --beam <n>           the prefix beam search width of decode_<set>_beam<n> ($beam)
  --space <space>      the arch.json's space, for its benchmark vector ($space)
  --bench-dir <dir>    the released NAS-Bench-ASR files (nas.bin.bench info --table)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 1 ]; then echo "$help_message" >&2; exit 1; fi
dir=$1
echo "# PER after folding to 39 phones (the %WER lines count phones); the model: $dir/best.pt"
sclite_lines() {       # sclite's count, and the benchmark's averaging, at the LM weight chosen on dev
  local tag=$1 w x
  w=$(sed -n 's:.*/wer_\([0-9.]*\)$:\1:p' "$dir/decode_dev_$tag/best_wer")
  for x in dev test; do
    echo "$x sclite at LM weight $w: $(head -n 1 "$dir/decode_${x}_$tag/scoring/sclite/wer_$w")"
    awk -v x="$x" -v w="$w" '$2 == "#csid" { n++; r = $3 + $4 + $6; s += r ? ($4 + $5 + $6) / r : ($5 > 0) }
      END { if (n) printf "%s mean of per-utterance PERs at LM weight %s (NAS-Bench-ASR'"'"'s averaging): %.2f%% over %d utterances\n", x, w, 100 * s / n, n }' \
      "$dir/decode_${x}_$tag/scoring/wer_details/per_utt_$w"
  done
}
echo "# CTC prefix beam search, width $beam, no LM:"
"$recipe/steps/report_wer.sh" --dev-set dev --tag beam$beam "$dir" dev test | grep -v 'best WER over'
sclite_lines beam$beam
echo "# WFST decoding with the phone bigram, the LM weight chosen on dev:"
"$recipe/steps/report_wer.sh" --dev-set dev --tag bg "$dir" dev test
sclite_lines bg
if [ -n "$bench_dir" ]; then
  echo "# NAS-Bench-ASR's table for the same architecture (its PER: CTC beam search, mean of per-utterance rates):"
  "$nas_python" -m nas.bin.bench info --space "$space" --arch "$dir/arch.json" --table "$bench_dir" --brief
fi
