#!/usr/bin/env bash
# utils/parse_options.sh: command-line options for bash scripts, Kaldi style.
# Source it (do not run it) after giving every option variable its default:
#
#   nj=4
#   use_gpu=false
#   help_message="Usage: $0 [options] <data-dir>"
#   . utils/parse_options.sh        # no arguments: it edits the script's "$@"
#
# For each leading `--foo-bar value` or `--foo-bar=value`, the already defined
# shell variable foo_bar is set to value; the consumed words are shifted off,
# so the positional arguments remain in "$@".  Parsing stops at the first word
# that does not start with `--`, or after a lone `--`.
#  - an option whose variable is not defined: "<script>: invalid option --foo-bar", exit 1
#  - a variable whose default is true or false accepts only true or false
#  - `--config <file>` sources <file> (shell `var=value` lines) before the other
#    options are applied, so the command line overrides the config file
#  - `--help` / `-h` prints $help_message (or a stub) to stdout and exits 0
# It sets no shell options of its own (it runs inside the calling script).

if [ -z "${BASH_VERSION:-}" ] || [ "${BASH_SOURCE[0]}" = "$0" ]; then
  echo "utils/parse_options.sh: source it from a bash script after setting the options' defaults" \
       "(. utils/parse_options.sh); it cannot be run by itself" >&2
  exit 1
fi

__po_fail() {
  echo "$0: $*" >&2
  exit 1
}

# Pass 1: --config files, read before anything else so the command line wins.
__po_i=1
while [ "$__po_i" -le "$#" ]; do
  __po_arg="${!__po_i}"
  case "$__po_arg" in
    --) break ;;
    --config=*)
      __po_cfg="${__po_arg#--config=}" ;;
    --config)
      __po_i=$((__po_i + 1))
      [ "$__po_i" -le "$#" ] || __po_fail "option --config needs a value (a config file)"
      __po_cfg="${!__po_i}" ;;
    --help|-h)
      if [ -n "${help_message:-}" ]; then
        printf '%s\n' "$help_message"
      else
        echo "Usage: $0 [options] ... (this script has no help message)"
      fi
      exit 0 ;;
    --*=*) __po_i=$((__po_i + 1)); continue ;;
    --*) __po_i=$((__po_i + 2)); continue ;;
    *) break ;;
  esac
  [ -f "$__po_cfg" ] && [ -r "$__po_cfg" ] || __po_fail "cannot read config file $__po_cfg (given by --config)"
  # shellcheck disable=SC1090
  . "$__po_cfg" || __po_fail "error in config file $__po_cfg"
  __po_i=$((__po_i + 1))
done

# Pass 2: the options themselves.
while [ "$#" -gt 0 ]; do
  case "$1" in
    --)
      shift; break ;;
    --config=*)
      shift; continue ;;
    --config)
      shift 2; continue ;;
    --*=*)
      __po_opt="${1%%=*}"
      __po_val="${1#*=}"
      __po_n=1 ;;
    --*)
      __po_opt="$1"
      [ "$#" -ge 2 ] || __po_fail "option $__po_opt needs a value"
      __po_val="$2"
      __po_n=2 ;;
    *)
      break ;;
  esac
  __po_name="${__po_opt#--}"
  __po_name="${__po_name//-/_}"
  case "$__po_name" in
    ''|[0-9]*|*[!A-Za-z0-9_]*) __po_fail "invalid option $__po_opt" ;;
  esac
  # Defined (even if empty) in the calling script?
  [ -n "${!__po_name+set}" ] || __po_fail "invalid option $__po_opt"
  case "${!__po_name}" in
    true|false)
      case "$__po_val" in
        true|false) ;;
        *) __po_fail "option $__po_opt takes true or false, got '$__po_val'" ;;
      esac ;;
  esac
  printf -v "$__po_name" '%s' "$__po_val"
  shift "$__po_n"
done

unset -f __po_fail
unset __po_i __po_arg __po_cfg __po_opt __po_val __po_n __po_name
true
