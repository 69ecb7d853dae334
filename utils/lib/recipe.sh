# Sourced by the egs/*/run.sh recipes: the helpers they share. They read the recipe's variables
# ($seed; $nas_launcher, default $nas_python from path.sh; $num_workers, default 1), as Kaldi recipes do.
#
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
