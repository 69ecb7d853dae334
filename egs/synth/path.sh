# Sourced by run.sh: the repository's virtual environment (made by `make`) first on PATH,
# C locale for sorting, so the steps find python, sph2pipe and the Debian tools.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -d "$root/.venv/bin" ]; then
  export PATH="$root/.venv/bin:$PATH"
fi
export LC_ALL=C
export PYTHONUNBUFFERED=1
