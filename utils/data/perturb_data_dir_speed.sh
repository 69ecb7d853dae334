#!/usr/bin/env bash
# Usage: utils/data/perturb_data_dir_speed.sh <factor> <src-data-dir> <dest-data-dir>
# One speed-perturbed copy: ids prefixed sp<factor>-, wav.scp piped through
# `sox ... speed <factor>`, segments and utt2dur scaled. Redo features afterwards.
set -euo pipefail
if [ "${1:-}" = --help ] || [ "${1:-}" = -h ]; then sed -n '2,4p' "$0" | sed 's/^# //'; exit 0; fi
if [ $# -ne 3 ]; then sed -n '2p' "$0" | sed 's/^# //' >&2; exit 1; fi
. "$(dirname "${BASH_SOURCE[0]}")/../lib/nas_python.sh"
exec "$nas_python" -m nas.data.speed_perturb --factors "$1" "$2" "$3"
