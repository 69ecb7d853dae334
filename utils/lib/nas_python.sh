# Sourced by scripts that run the `nas` package: sets $nas_python to the interpreter to use.
# Order: $NAS_PYTHON if set; the repository's .venv (made by `make`) if present; python3 on PATH.
_nas_root=$(cd -P "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if [ -n "${NAS_PYTHON:-}" ]; then
  nas_python=$NAS_PYTHON
elif [ -x "$_nas_root/.venv/bin/python" ]; then
  nas_python=$_nas_root/.venv/bin/python
else
  nas_python=python3
fi
unset _nas_root
