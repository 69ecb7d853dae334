#!/usr/bin/env bash
# TIMIT data preparation (stages 0 and 1 of egs/timit/run.sh), Kaldi's local/timit_data_prep.sh role:
# `python -m nas.corpora.timit check` checks the corpus (--check-only true), `... prepare` writes
# data/{train,dev,test} with 48-phone transcripts and data/local/dict/lexicon.txt.
# See `python -m nas.corpora.timit check --help` (and `prepare --help`).
set -euo pipefail
recipe=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
check_only=false
allow_partial=false
phone_map=$recipe/conf/phones.61-48-39.map
dev_spk=$recipe/conf/dev_spk.list
test_spk=$recipe/conf/test_spk.list
help_message="Usage: $0 [options] <timit-dir> <data-dir>
 e.g.: $0 --check-only true /corpora/LDC93S1/timit/TIMIT data
Options:
  --check-only <bool>      stage 0: check the tree and stop ($check_only)
  --allow-partial <bool>   go on when listed speakers or companion files are missing ($allow_partial)
  --phone-map <file>       the 61-48-39 folding table ($phone_map)
  --dev-spk <file>         the dev speakers ($dev_spk)
  --test-spk <file>        the core test speakers ($test_spk)"
. "$recipe/utils/parse_options.sh"
. "$recipe/utils/lib/nas_python.sh"
if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
opts=(--phone-map "$phone_map" --dev-spk "$dev_spk" --test-spk "$test_spk")
if $check_only; then
  exec "$nas_python" -m nas.corpora.timit check --allow-partial "$allow_partial" "${opts[@]}" "$1"
fi
exec "$nas_python" -m nas.corpora.timit prepare "${opts[@]}" "$1" "$2"
