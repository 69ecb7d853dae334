#!/usr/bin/env bash
# Kaldi's utils/fix_data_dir.sh, implemented in nas.data.fix; run with --help for usage.
. "$(dirname "${BASH_SOURCE[0]}")/lib/nas_python.sh"
exec "$nas_python" -m nas.data.fix "$@"
