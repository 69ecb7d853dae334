# Sourced by steps/ scripts and recipes: records of what a stage was made from (nas.stamps).
# Needs $nas_python (utils/lib/nas_python.sh).
#
#   inputs_current <message> <record> NAME=PATH... NAME:=VALUE...
#       true when <record> holds the digests of these inputs: prints <message> (when not empty);
#       otherwise prints "<record's dir>: redoing: <what changed>" and is false
#   inputs_record <record> NAME=PATH... NAME:=VALUE...
#       writes <record>, once the stage has made its outputs
# A stage is skipped only when its outputs exist and inputs_current says so; it then writes the
# record after its work, so a kill midway leaves the old record (or none) and the stage redoes.

inputs_current() {
  local message=$1 record=$2 why
  shift 2
  if why=$("$nas_python" -m nas.bin.stamp check "$record" "$@"); then
    [ -z "$message" ] || echo "$message"
    return 0
  fi
  echo "$(dirname "$record"): redoing: $why"
  return 1
}

inputs_record() {
  "$nas_python" -m nas.bin.stamp write "$@"
}
