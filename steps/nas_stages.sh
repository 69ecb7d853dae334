#!/usr/bin/env bash
# Stages 4-7 of every recipe, written once: NAS warm-up of the super-network, architecture search,
# derivation of the top-1 architecture, retraining of it. Each stage is skipped when finished from the
# same inputs, resumed when interrupted, and redone (with every later one) when what it was made from
# changed (its inputs.json; see docs/reliability.md). With --arch or --arch-vec, stages 4-6 are skipped
# and that architecture is retrained.
set -euo pipefail
echo "$0 $*"

steps=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
utils=$(cd -P "$steps/../utils" && pwd)

stage=4
stop_stage=7
data=""
search_data=""
retrain_data=""
valid_data=""
den_dir=""
space=""
space_params=""
retrain_space_params=""
method=st
seed=0
warmup_seed=""
warmup_dir=""
retrain_dir=""
warmup_config=""
search_config=""
retrain_config=""
loss=""
arch=""
arch_vec=""
arch_features=""
describe=false
launcher=""
num_workers=1
device=""
dtype=""
latency_table=""
latency_target=""
latency_mode=soft
measure_latency=false
help_message="Usage: $0 [options] <lang-dir> <exp-dir>
 e.g.: $0 --stage 4 --stop-stage 7 --data data/train_sp --den-dir data/den_meta --space wsj \\
         --warmup-config conf/warmup.yaml --search-config conf/search.yaml --retrain-config conf/retrain.yaml \\
         data/lang_phn exp/nas_st_seed0
Stages (of the recipe's numbering; the others are ignored):
  4  <warmup-dir> (default <exp-dir>/warmup): NAS warm-up of the super-network
  5  <exp-dir>/search: architecture search (--method) from the warm-up
  6  <exp-dir>/derive/arch.json: the top-1 architecture
  7  <retrain-dir> (default <exp-dir>/retrain): retraining of it, or of --arch / --arch-vec
Options:
  --stage <n> ($stage)  --stop-stage <n> ($stop_stage)
  --data <dir>                 training data of every stage (feats.scp, cmvn.scp, text)
  --search-data <dir>          data of stages 4-5 (default: --data)
  --retrain-data <dir>         data of stage 7 (default: --data)
  --valid-data <dir>           stage 7's held-out set (default: a share of its data)
  --den-dir <dir>              stage 3's denominator dir (stage 7's CTC-CRF)
  --space <name|json>          search space (default: each stage config's)
  --space-params <k=v,...>     its params for stages 4-5
  --retrain-space-params <k=v,...>   stage 7's params over the arch.json's (e.g. a deeper stack of the cell)
  --method <m> ($method)         st, darts, snas, proxyless, random
  --seed <n> ($seed)             training seed of stages 5-7
  --warmup-seed <n>            stage 4's seed (default: --seed); searches of several seeds may share one
  --warmup-dir <dir>           stage 4's dir (default: <exp-dir>/warmup)
  --retrain-dir <dir>          stage 7's dir (default: <exp-dir>/retrain)
  --warmup-config, --search-config, --retrain-config <yaml>   the stages' configs (required for the stages run)
  --loss <ctc|ctc-crf>         stage 7's loss over its config's
  --arch <arch.json>           retrain this architecture; stages 4-6 skipped
  --arch-vec <vector>          retrain this NAS-Bench-ASR vector of --space (written to <exp-dir>/arch.json)
  --arch-features <json>       the feature settings written with --arch-vec, e.g. '{\"delta_order\": 0}'
  --describe <true|false> ($describe)   stage 6: print the derived cell's NAS-Bench-ASR vector and hash (cell spaces)
  --launcher <cmd>             the training stages' launcher, e.g. 'torchrun --nproc_per_node 4' (default: python)
  --num-workers <n> ($num_workers)   data loader workers per process
  --device <d>, --dtype <t>    the training stages' device and precision over their configs'
  --latency-table <json>       stage 5: a latency lookup table of the space (python -m nas.bin.bench latency)
  --latency-target <ms>        stage 5: soft mode's reference latency, hard mode's budget
  --latency-mode <soft|hard> ($latency_mode)   soft: an expected-latency term in alpha's loss; hard: sample and
                               derive within the budget (stage 6 reads both from the search's final.pt)
  --measure-latency <true|false> ($measure_latency)   after stage 7: time the retrained architecture in the
                               table's setting, into <retrain-dir>/arch.json (python -m nas.bin.measure_latency)"

. "$utils/parse_options.sh"
. "$utils/lib/nas_python.sh"
. "$utils/lib/recipe.sh"
if [ $# -ne 2 ]; then echo "$help_message" >&2; exit 1; fi
lang=$1
exp=$2
[ $stage -le 7 ] && [ $stop_stage -ge 4 ] || exit 0
nas_launcher=$launcher          # read by run_nas_stage (utils/lib/recipe.sh)
search_data=${search_data:-$data}
retrain_data=${retrain_data:-$data}
warmup_dir=${warmup_dir:-$exp/warmup}
retrain_dir=${retrain_dir:-$exp/retrain}
space_opts=()
[ -z "$space" ] || space_opts+=(--space "$space")
[ -z "$space_params" ] || space_opts+=(--space-params "$space_params")
need() {   # need <option> <value> <stage>
  [ -n "$2" ] || { echo "$0: stage $3 needs $1" >&2; exit 1; }
}

if [ -n "$arch_vec" ]; then
  arch=$exp/arch.json
  if [ $stage -le 7 ] && [ $stop_stage -ge 4 ]; then
    echo "=== stages 4-6 skipped: retraining the benchmark architecture $arch_vec"
    mkdir -p "$exp"
    "$nas_python" -m nas.bin.bench info "${space_opts[@]}" --arch-vec "$arch_vec" ${arch_features:+--features "$arch_features"} \
      --write-arch "$arch" > "$exp/arch_info.json"
    "$nas_python" -m nas.bin.bench info "${space_opts[@]}" --arch "$arch" --brief
  fi
elif [ -n "$arch" ]; then
  [ -f "$arch" ] || { echo "$0: --arch $arch: no such file (expected an arch.json)" >&2; exit 1; }
  [ $stage -gt 6 ] || echo "=== stages 4-6 skipped: retraining the given --arch $arch"
else
  if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
    echo "=== stage 4: NAS warm-up of the super-network (${space:-the space of the config})"
    need --warmup-config "$warmup_config" 4; need --data "$search_data" 4
    seed=${warmup_seed:-$seed} run_nas_stage warmup "$warmup_dir" "$warmup_config" --lang "$lang" \
      --data "$search_data" "${space_opts[@]}"
  fi
  if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
    echo "=== stage 5: architecture search ($method)"
    need --search-config "$search_config" 5; need --data "$search_data" 5
    latency_opts=()
    [ -z "$latency_table" ] || latency_opts+=(--latency-table "$latency_table" --latency-mode "$latency_mode")
    [ -z "$latency_table" ] || [ -z "$latency_target" ] || latency_opts+=(--latency-target "$latency_target")
    run_nas_stage search "$exp/search" "$search_config" --lang "$lang" --data "$search_data" "${space_opts[@]}" \
      --method "$method" --init "$warmup_dir" "${latency_opts[@]}"
  fi
  if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
    echo "=== stage 6: derive the top-1 architecture"
    derive_stage "$exp/search" "$exp/derive"
    ! $describe || "$nas_python" -m nas.bin.bench info "${space_opts[@]}" --arch "$exp/derive/arch.json" --brief
  fi
  arch=$exp/derive/arch.json
fi

if [ $stage -le 7 ] && [ $stop_stage -ge 7 ]; then
  echo "=== stage 7: retrain $arch${loss:+ with $loss}"
  need --retrain-config "$retrain_config" 7; need --data "$retrain_data" 7
  opts=(--lang "$lang" --data "$retrain_data" --arch "$arch")       # the space is the arch.json's
  [ -z "$retrain_space_params" ] || opts+=(--space-params "$retrain_space_params")
  [ -z "$valid_data" ] || opts+=(--valid-data "$valid_data")
  [ -z "$den_dir" ] || opts+=(--den-dir "$den_dir")
  [ -z "$loss" ] || opts+=(--loss "$loss")
  run_nas_stage retrain "$retrain_dir" "$retrain_config" "${opts[@]}"
  if $measure_latency; then
    echo "=== stage 7: latency of the retrained architecture in its table's setting"
    "$nas_python" -m nas.bin.measure_latency ${latency_table:+--table "$latency_table"} "$retrain_dir/arch.json"
  fi
fi
