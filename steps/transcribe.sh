#!/usr/bin/env bash
# Transcribe audio files with a trained model and a graph: one line per file on stdout,
# '<file> <words...> (RTF <x>)' (python -m nas.bin.transcribe; its --help says the rest).
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

lmwt=""
cmvn=""
fbank_config=""
beam=""
max_active=""
acwt=""
checkpoint=best.pt
device=cpu
help_message="Usage: $0 [options] <model-dir> <graph-or-lang-dir> <audio> [<audio> ...]
 e.g.: $0 exp/nas_st_seed0/retrain data/lang_phn my_recording.wav other.flac
<model-dir> is a retrain exp dir (arch.json, best.pt); <graph-or-lang-dir> holds TLG.fst, words.txt
and tokens.txt (utils/mkgraph.sh), itself or in graph/. Audio: wav, flac, SPHERE; any rate (resampled
with sox to the model's), any channel count (mixed down). Writes to stdout one line per file:
  <file> <word> ... (RTF <decode seconds / audio seconds>)
notes and errors to stderr. Exit status 1 when a file could not be read (the others are still
transcribed), 2 when the model, graph or options cannot be used.
Options:
  --lmwt <w>             LM weight (default: the one stage 8 chose on dev, from <model-dir>/RESULTS)
  --cmvn <file>          CMVN statistics for every file: a matrix, or a cmvn.scp (summed)
                         (default: each file's own statistics)
  --fbank-config <file>  fbank options (default: those of the model's training features)
  --beam <x>             decoding beam       } default: as stage 8 decoded the dev set (<model-dir>/
  --max-active <n>       active states       } decode_<dev>/.inputs.json), else steps/decode.sh's
  --acwt <x>             acoustic scale      } defaults (15, 7000, 1.0)
  --checkpoint <file>    checkpoint in <model-dir> ($checkpoint)
  --device <dev>         torch device ($device)"

echo "$0 $*" >&2        # the command line, on stderr: stdout is the transcripts
. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -lt 3 ]; then echo "$help_message" >&2; exit 1; fi
opts=(--checkpoint "$checkpoint" --device "$device")
for o in lmwt cmvn fbank_config beam max_active acwt; do      # unset ones: the module finds the model's own
  [ -z "${!o}" ] || opts+=("--${o//_/-}" "${!o}")
done
exec "$nas_python" -m nas.bin.transcribe "${opts[@]}" "$@"
