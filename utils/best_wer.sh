#!/usr/bin/env bash
# Print the lowest-WER line among Kaldi %WER lines on stdin (Kaldi's utils/best_wer.sh).
# Accepts `grep WER exp/dir/wer_*` output (`file:%WER 12.34 [ ... ]`) and lines that
# already end with the file name (`%WER 12.34 [ ... ] file`); prints the latter form.
# Ties keep the first line. Exit status 1 if no %WER line was read.
#  e.g.: grep WER exp/tdnn/decode_test/wer_* | utils/best_wer.sh
set -euo pipefail
if [ $# -gt 0 ]; then
  case "$1" in
    -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "Usage: ... | $0   (reads stdin)" >&2; exit 1 ;;
  esac
fi
awk '
  {
    line = $0; file = "";
    i = index(line, "%WER");
    if (i == 0) next;
    if (i > 1) { file = substr(line, 1, i - 1); sub(/:$/, "", file); line = substr(line, i); }
    split(line, f, " ");
    w = f[2];
    v = (w == "inf" || w == "nan") ? 1e300 : w + 0;
    if (file != "") line = line " " file;
    if (!found || v < best) { best = v; bestline = line; found = 1 }
  }
  END { if (!found) { print "best_wer.sh: no %WER line in the input" > "/dev/stderr"; exit 1 } print bestline }
'
