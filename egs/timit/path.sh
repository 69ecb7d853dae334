# Sourced by run.sh: the environment every recipe shares (utils/lib/env.sh: the repository's .venv first on
# PATH, $nas_python, C locale), found through this recipe's utils symlink. Add corpus-specific tools here.
. "$(cd -P "$(dirname "${BASH_SOURCE[0]}")/utils/lib" && pwd)/env.sh"
