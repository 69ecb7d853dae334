#!/usr/bin/env bash
# Usage: local/make_bench_data.sh <per-spk> <src-data-dir> <dest-data-dir>
#  e.g.: local/make_bench_data.sh 40 data/train data/train_bench
# The training set of the ground-truth tables and of the searches scored against them
# (conf/bench.conf): <per-spk> utterances of each voice of <src>, evenly spaced in its list, so
# the same set every time. Skipped when <dest> is newer than <src>'s features.
set -euo pipefail
usage() { sed -n '2,6{s/^# \{0,1\}//;p}' "$0"; }
case ${1:-} in -h|--help) usage; exit 0 ;; esac
[ $# -eq 3 ] || { usage >&2; exit 1; }
per_spk=$1 src=$2 dest=$3
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")/../utils" && pwd)
[ -s $src/feats.scp ] || { echo "$0: no $src/feats.scp: run stages 0-3 of run.sh first" >&2; exit 1; }
if [ -s $dest/feats.scp ] && [ $dest/feats.scp -nt $src/feats.scp ]; then
  echo "$0: $dest is up to date"
else
  "$utils/subset_data_dir.sh" --per-spk $per_spk $src $dest
fi
