#!/usr/bin/env bash
# Stage 8, first half: the network's log-probabilities for a data dir, nj jobs in parallel.
set -euo pipefail

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

nj=4
cmd="$utils/run.pl"
checkpoint=best.pt
help_message="Usage: $0 [options] <model-dir> <data-dir> <lang-dir> <out-dir>
 e.g.: $0 --nj 8 exp/nas/retrain data/test data/lang_phn exp/nas/retrain/logprobs/test
Writes <out-dir>/logprobs.JOB.{ark,scp} and <out-dir>/logprobs.scp (all jobs).
Options:
  --nj <n>              parallel jobs ($nj)
  --cmd <cmd>           job runner ($cmd)
  --checkpoint <file>   checkpoint in <model-dir> ($checkpoint)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"

if [ $# -ne 4 ]; then echo "$help_message" >&2; exit 1; fi
mdir=$1
data=$2
lang=$3
dir=$4
for f in "$mdir/arch.json" "$mdir/$checkpoint" "$data/feats.scp" "$lang/tokens.txt"; do
  [ -f "$f" ] || { echo "$0: no such file: $f" >&2; exit 1; }
done
mkdir -p "$dir/log"
n=$(wc -l < "$data/feats.scp")
[ "$nj" -le "$n" ] || nj=$n
# by utterance: CMVN stats stay per speaker, and a test set may have fewer speakers than jobs
"$utils/split_data.sh" --per-utt "$data" "$nj" >/dev/null
sdata=$data/split${nj}utt
$cmd JOB=1:$nj "$dir/log/infer.JOB.log" \
  "$nas_python" -m nas.bin.infer --checkpoint "$checkpoint" "$mdir" "$sdata/JOB" "$lang" "$dir/logprobs.JOB"
for j in $(seq "$nj"); do cat "$dir/logprobs.$j.scp"; done | sort > "$dir/logprobs.scp"
echo "$0: $(wc -l < "$dir/logprobs.scp") of $n utterances in $dir/logprobs.scp"
