#!/usr/bin/env bash
# Install the Debian packages the recipes need, only those missing.
#   tools/install_deb_deps.sh [--check]
# --check: report what is missing and exit 1 if anything is, install nothing.
set -euo pipefail

# package          why
pkgs=(
  sox            # speed perturbation and resampling in wav.scp pipes
  libsox-fmt-base # flac and other formats for sox
  espeak-ng      # voices of the synthetic default corpus (egs/synth)
  flite          # more voices for egs/synth
  festival       # egs/synth's harder corpus (make_corpus.py --voices v2): Debian's English festival voices,
  festvox-kallpc16k   #   kal (diphone) ...
  festvox-kdlpc16k    #   ked (diphone), a speaker no other engine has ...
  festvox-us-slt-hts  #   and slt (HTS)
  sctk           # sclite, the reference scorer
  libfst-tools   # fstinfo, fstprint, ... for inspecting graphs
  slurm-wlm      # SLURM (slurmctld, slurmd, sbatch, srun): tests/test_slurm.py starts a one-node cluster
  munge          #   and the authentication its daemons need
)

check_only=false
case "${1:-}" in
  --check) check_only=true ;;
  -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; printf 'packages: %s\n' "${pkgs[*]}"; exit 0 ;;
  "") ;;
  *) echo "$0: unknown option $1" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ $status == "install ok installed" ]] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "$0: Debian packages present: ${pkgs[*]}"
  exit 0
fi
echo "$0: missing Debian packages: ${missing[*]}"
$check_only && exit 1

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "$0: not root and no sudo: install ${missing[*]} by hand" >&2; exit 1; }
  sudo=sudo
fi
echo "$0: running apt-get update and apt-get install -y --no-install-recommends ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "$0: installed ${missing[*]}"
