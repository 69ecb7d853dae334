#!/usr/bin/env bash
# Usage: tools/gpu_check.sh [options]
# The GPU path checked in one command of at most 8 minutes on a machine with one CUDA GPU: the
# extension built against its torch, the CUDA den kernel against the CPU kernel and its
# throughput, stages 4-8 of the tiny default recipe on cuda against cpu, and the search's GPU
# memory (tools/gpu_check.py says what each step measures). It prints a summary and writes
# OUT/gpu_check.json (rewritten after every step). The GPU machines have a CUDA torch and nvcc,
# Python 3.12, no Debian packages and no network, so the recipe's data and the missing Python
# packages are made here first and carried:
#   tools/gpu_check.sh --prepare       # here: tiny data (run.sh --tiny true stages 0-3) and wheels
#                                      # (tools/gpu_wheels.sh) into .gpu_check/ (about 40 MB)
#   tools/gpu_check.sh --out DIR       # there, from the repository root, with .gpu_check carried
#   tools/gpu_check.sh --dry-run       # a machine without CUDA: every step that needs none, the
#                                      # rest skipped, saying so (the suite runs this)
# Options:
#   --prepare        make the --work dir (above) and stop
#   --dry-run        no CUDA: run what needs none
#   --out DIR        (gpu_check) the summary and the steps' logs
#   --work DIR       (the repository's .gpu_check) the prepared data (synth/) and wheels (whl/)
#   --recipe DIR     (egs/synth) the recipe whose tiny stages 4-8 run
#   --steps "..."    (build env kernel throughput recipe memory) a subset
#   --budget-s N     (480) wall-clock budget: a step that no longer fits is skipped, saying so
#   --wheels BOOL    (true) --prepare downloads the wheels too
set -euo pipefail
t0=$(date +%s.%N)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prepare=false
dry_run=false
out=gpu_check
work=$root/.gpu_check
recipe=$root/egs/synth
steps="build env kernel throughput recipe memory"
budget_s=480
wheels=true
usage() { sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case $1 in
    --prepare) prepare=true; shift ;;
    --dry-run) dry_run=true; shift ;;
    --out|--work|--recipe|--steps|--budget-s|--wheels)
      [ $# -ge 2 ] || { echo "$0: $1 needs a value" >&2; exit 1; }
      v=${1#--}; printf -v "${v//-/_}" '%s' "$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$0: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
recipe=$(cd "$recipe" && pwd)
mkdir -p "$work" "$out"
work=$(cd "$work" && pwd)
. "$root/utils/lib/nas_python.sh"

if $prepare; then
  echo "gpu_check: the tiny recipe's stages 0-3 in $recipe (log: $work/prepare.log)"
  (cd "$recipe" && ./run.sh --tiny true --stop-stage 3) > "$work/prepare.log" 2>&1 \
    || { tail -5 "$work/prepare.log" >&2; echo "$0: the tiny recipe failed: see $work/prepare.log" >&2; exit 1; }
  rm -rf "$work/synth"
  mkdir -p "$work/synth"
  cp -r "$recipe/data_tiny" "$recipe/fbank_tiny" "$work/synth/"
  echo "$recipe" > "$work/synth/root.txt"          # the prefix of the scp files' paths, rewritten there
  if $wheels; then "$root/tools/gpu_wheels.sh" --out "$work/whl"; fi
  echo "gpu_check: prepared $work ($(du -sh "$work" | cut -f1)); carry it (the device's limit is 64 MiB)"
  exit 0
fi

if ! $dry_run && ls "$work"/whl/*.whl > /dev/null 2>&1; then
  site=/tmp/gpu_check_site
  "$nas_python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    "$work"/whl/*.whl > "$out/wheels.log" 2>&1 || { cat "$out/wheels.log" >&2; exit 1; }
  export PYTHONPATH=$site${PYTHONPATH:+:$PYTHONPATH}
  echo "gpu_check: installed $(ls "$work"/whl/*.whl | wc -l) wheels into $site"
fi
export PYTHONPATH=$root:$root/src${PYTHONPATH:+:$PYTHONPATH}      # nas and ctc_crf from this tree

if [ -f "$work/synth/root.txt" ] && [ ! -e "$recipe/data_tiny" ]; then
  old=$(cat "$work/synth/root.txt")
  cp -r "$work/synth/data_tiny" "$work/synth/fbank_tiny" "$recipe/"
  find "$recipe/data_tiny" -name "*.scp" -exec sed -i "s|$old/|$recipe/|g" {} +
  echo "gpu_check: unpacked the tiny data into $recipe (paths under $old rewritten)"
fi

opts=(--out "$out" --recipe "$recipe" --steps "$steps" --budget-s "$budget_s" --t0 "$t0")
$dry_run && opts+=(--dry-run)
exec "$nas_python" "$root/tools/gpu_check.py" "${opts[@]}"
