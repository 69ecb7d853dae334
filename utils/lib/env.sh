# Sourced by every recipe's path.sh: the repository's virtual environment (made by `make`) first on PATH,
# so that sph2pipe (ours, over desphere: wav.scp pipes use it) and the tools are found; $nas_python, the
# one interpreter run.sh, steps/ and local/ use (utils/lib/nas_python.sh: $NAS_PYTHON, else the .venv's,
# else python3), exported as NAS_PYTHON; C locale for sorting. The repository is the one this file is in,
# reached through the recipe's utils symlink, so a copy of a recipe dir elsewhere (with its steps and
# utils links) works too.
root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -d "$root/.venv/bin" ]; then
  export PATH="$root/.venv/bin:$PATH"
fi
. "$root/utils/lib/nas_python.sh"
export NAS_PYTHON=$nas_python
export LC_ALL=C
export PYTHONUNBUFFERED=1
