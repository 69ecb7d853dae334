# Sourced by the egs/*/run.sh recipes: the helpers they share. They read the recipe's variables
# ($recipe, its dir; $stage, $stop_stage, $seed, $method; $nas_launcher, default $nas_python from
# path.sh; $num_workers, default 1; $device, $dtype), as Kaldi recipes do.
#
#   recipe_init                        stage=0, stop_stage=100, then the recipe's conf/recipe.conf
#   recipe_help_options                the help's option lines: --stage, --stop-stage and conf/recipe.conf's
#   recipe_parse_options "$@"          the command line's options over those (utils/parse_options.sh);
#                                      no other argument is allowed
#   recipe_enter                       cd to the recipe, cmd.sh and path.sh, the start time
#   recipe_exp                         exp=exp/nas_<method>_seed<seed>; with --arch (checked to exist),
#                                      exp/arch_<its sha1's first 8 digits>_seed<seed>
#   recipe_nas_stages <options...>     stages 4-7: steps/nas_stages.sh with the recipe's stage range, seed,
#                                      method, launcher, workers, device and dtype
#   recipe_abs_paths "<paths>"         the space-separated paths, relative ones made absolute
#                                      against $PWD (a recipe cds to its own dir after parsing)
#   recipe_option_help <recipe.conf>   "  --name (value)  comment" for each name=value line
#   run_nas_stage <kind> <exp-dir> <config> <options...>
#                                      $nas_launcher -m nas.bin.<kind> (warmup, search, retrain) into
#                                      <exp-dir>: skipped when finished (done), resumed when
#                                      interrupted (checkpoint.pt); $device and $dtype, when set,
#                                      are passed as --device / --dtype; the stage compares what it
#                                      was made from (its inputs.json) and redoes it when that changed
#   derive_stage <search-dir> <derive-dir>
#                                      stage 6: nas.bin.derive, skipped while <derive-dir>/arch.json
#                                      was derived from the search's present final.pt
# and utils/lib/inputs.sh's inputs_current / inputs_record for the stages written in run.sh.

. "$(dirname "${BASH_SOURCE[0]}")/inputs.sh"

recipe_init() {
  stage=0
  stop_stage=100
  . "$recipe/conf/recipe.conf"
}

recipe_help_options() {
  echo "Options (defaults from conf/recipe.conf, read first; --config FILE reads another such file):"
  echo "  --stage <n> ($stage)   --stop-stage <n> ($stop_stage)"
  recipe_option_help "$recipe/conf/recipe.conf"
}

recipe_parse_options() {
  . "$recipe/utils/parse_options.sh"
  if [ $# -ne 0 ]; then echo "$0: unexpected arguments: $* (see --help)" >&2; exit 1; fi
}

recipe_enter() {
  cd "$recipe"
  . ./cmd.sh
  . ./path.sh
  start_time=$(date +%s)
}

recipe_exp() {
  if [ -n "${arch:-}" ]; then
    [ -f "$arch" ] || { echo "$0: --arch $arch: no such file (expected an arch.json)" >&2; exit 1; }
    exp=exp/arch_$(sha1sum "$arch" | cut -c1-8)_seed$seed
  else
    exp=exp/nas_${method}_seed$seed
  fi
}

recipe_nas_stages() {
  steps/nas_stages.sh --stage "$stage" --stop-stage "$stop_stage" --seed "$seed" --method "${method:-st}" \
    --launcher "${nas_launcher:-}" --num-workers "${num_workers:-1}" --device "${device:-}" --dtype "${dtype:-}" "$@"
}

recipe_abs_paths() {
  local out="" p
  for p in $1; do
    case $p in /*) ;; *) p=$PWD/$p ;; esac
    out="$out $p"
  done
  echo "${out# }"
}

recipe_option_help() {
  local conf=$1 o comment
  for o in $(sed -n 's/^\([a-z_0-9]*\)=.*$/\1/p' "$conf"); do
    comment=$(awk -v o="$o" 'index($0, o "=") == 1 { i = match($0, /[ \t]+# /); if (i) print substr($0, i + RLENGTH) }' "$conf")
    printf '  --%s (%s)%s\n' "${o//_/-}" "${!o}" "${comment:+  $comment}"
  done
}

run_nas_stage() {
  local kind=$1 dir=$2 config=$3
  shift 3
  local resume=false extra=()
  [ -f "$dir/checkpoint.pt" ] && resume=true
  [ -z "${device:-}" ] || extra+=(--device "$device")       # the recipe's --device / --dtype, when set,
  [ -z "${dtype:-}" ] || extra+=(--dtype "$dtype")          # over the stage config's
  # shellcheck disable=SC2086
  ${nas_launcher:-${nas_python:-python3}} -m nas.bin.$kind --config "$config" --seed "$seed" --resume $resume \
    --redo-changed true --num-workers "${num_workers:-1}" "${extra[@]}" "$@" "$dir"
}

derive_stage() {
  local search=$1 derive=$2
  if [ -f "$derive/arch.json" ] && \
     inputs_current "stage 6: $derive/arch.json is up to date; skipping" "$derive/.inputs.json" "search=$search/final.pt"; then
    return 0
  fi
  "${nas_python:-python3}" -m nas.bin.derive --overwrite true "$search" "$derive"
  inputs_record "$derive/.inputs.json" "search=$search/final.pt"
}
