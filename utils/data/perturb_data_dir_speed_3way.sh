#!/usr/bin/env bash
# Usage: utils/data/perturb_data_dir_speed_3way.sh <src-data-dir> <dest-data-dir>
# 3-way speed perturbation, as Kaldi's: the source itself (its ids and audio kept)
# with its sp0.9- and sp1.1- copies (utterance, speaker and recording ids prefixed),
# utt2uniq mapping each copy to its original utterance. Redo features afterwards.
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,5p' "$0" | sed 's/^# //'; exit 0; fi
if [ $# -ne 2 ]; then sed -n '2p' "$0" | sed 's/^# //' >&2; exit 1; fi
. "$(dirname "${BASH_SOURCE[0]}")/../lib/nas_python.sh"
"$nas_python" -m nas.data.speed_perturb --keep-ids --factors 0.9,1.0,1.1 "$1" "$2"
"$(dirname "${BASH_SOURCE[0]}")/../validate_data_dir.sh" --no-feats --no-text --no-audio-check "$2"
