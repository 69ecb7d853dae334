#!/usr/bin/env bash
# Kaldi's utils/validate_data_dir.sh, implemented in nas.data.validate; run with --help for usage.
. "$(dirname "${BASH_SOURCE[0]}")/lib/nas_python.sh"
exec "$nas_python" -m nas.data.validate "$@"
