#!/usr/bin/env bash
# Per-speaker CMVN statistics of a data dir's features (Kaldi's steps/compute_cmvn_stats.sh).
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)
write_global=""
read_global=""
help_message="Usage: $0 [options] <data-dir> [<log-dir> [<cmvn-dir>]]
 e.g.: $0 data/train exp/make_fbank/train fbank
       $0 --write-global fbank/global_cmvn_train.mat data/train   (then --read-global it for data/test)
Writes <cmvn-dir>/cmvn_<name>.ark and <data-dir>/cmvn.scp, keyed by speaker (spk2utt).
Options:
  --write-global <file>   one matrix over all utterances, saved to <file>, given to every speaker
  --read-global <file>    every speaker gets <file>'s matrix (e.g. the training set's)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -lt 1 ] || [ $# -gt 3 ]; then
  echo "$help_message" >&2; exit 1
fi
data=$1
logdir=${2:-$data/log}
cmvndir=${3:-$data/data}
name=$(basename "$data")

for f in feats.scp spk2utt; do
  [ -f "$data/$f" ] || { echo "$0: no such file: $data/$f" >&2; exit 1; }
done
mkdir -p "$logdir" "$cmvndir"
cmvndir=$(cd "$cmvndir" && pwd)

global=()
[ -z "$write_global" ] || global=(--write-global "$write_global")
[ -z "$read_global" ] || global=(--read-global "$read_global")
if ! "$nas_python" -m nas.bin.compute_cmvn_stats "${global[@]}" --spk2utt "$data/spk2utt" "$data/feats.scp" \
     "$cmvndir/cmvn_$name.ark" "$cmvndir/cmvn_$name.scp" 2> "$logdir/cmvn_$name.log"; then
  cat "$logdir/cmvn_$name.log" >&2
  echo "$0: failed; log is in $logdir/cmvn_$name.log" >&2
  exit 1
fi
cp "$cmvndir/cmvn_$name.scp" "$data/cmvn.scp"
tail -n 1 "$logdir/cmvn_$name.log"
echo "$0: wrote $data/cmvn.scp"
