# Sourced by run.sh: the repository's virtual environment (made by `make`) first on PATH, so that
# python, sph2pipe (ours, over desphere: wav.scp pipes use it) and the tools are found; C locale
# for sorting. The repository is found through the recipe's utils symlink, so a copy of the recipe
# dir elsewhere (with the steps and utils links) works too.
root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/utils/.." && pwd)
if [ -d "$root/.venv/bin" ]; then
  export PATH="$root/.venv/bin:$PATH"
fi
export LC_ALL=C
export PYTHONUNBUFFERED=1
