#!/usr/bin/env bash
# Stage 1 data prep of the Hub5 2000 evaluation set (eval2000): speech LDC2002S09, references
# LDC2002T43. <data-dir> gets segments from the pem file (widened by up to 0.1 s), text from the
# stm, one wav.scp entry per conversation side, and the stm and glm that sclite scores with
# (steps/score_stm.sh, per subset: Switchboard sw_*, CallHome en_*). Stops, naming them, when a
# conversation's audio, a segment within its audio or a pem segment of an stm line is missing, since
# sclite would count the words of what was not decoded as deletions (Kaldi stops unless all 80 sides
# are there); --allow-partial true goes on and leaves those segments out of the stm.
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

allow_partial=false
help_message="Usage: $0 [options] <eval2000-audio-dir> <eval2000-text-dir> <data-dir>
 e.g.: $0 /corpora/LDC2002S09 /corpora/LDC2002T43 data/eval2000
<eval2000-audio-dir>: LDC2002S09 or its hub5e_00 dir (english/*.sph, english/hub5e_00.pem);
<eval2000-text-dir>: LDC2002T43 (hub5e00.english.000405.stm and en20000405_hub5.glm, found below it).
Options:
  --allow-partial <bool>   go on without missing recordings or segments, leaving them out of the stm ($allow_partial)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 3 ]; then echo "$help_message" >&2; exit 1; fi
partial=()
$allow_partial && partial=(--allow-partial)
mkdir -p "$3"
"$nas_python" -m nas.corpora.swbd eval2000 --audio "$1" --text "$2" "${partial[@]}" "$3"
"$recipe/utils/validate_data_dir.sh" --no-feats "$3"
