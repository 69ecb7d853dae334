#!/usr/bin/env bash
# Start a recipe for a new corpus: a copy of egs/template (docs/new_corpus.md), without outputs, whose
# steps and utils links point at this repository, so that its run.sh works from any directory.
set -euo pipefail
utils=$(cd -P "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(dirname "$utils")
template=$root/egs/template

help_message="Usage: $0 <name | dir>
 e.g.: $0 mycorpus                  # egs/mycorpus
       $0 /data/recipes/mycorpus    # a recipe outside the repository
Copies $template (run.sh, cmd.sh, path.sh, conf/, local/, README.md; not data/, exp/, fbank/,
corpus/) to egs/<name> (letters, digits, '.', '_', '-'), or to <dir> when the argument holds a '/'.
steps and utils become symlinks: ../../steps and ../../utils inside egs/, absolute paths elsewhere.
Refuses a target that exists. Next: rewrite local/prepare_data.sh for the corpus' layout."
case ${1:-} in --help|-h) echo "$help_message"; exit 0 ;; esac
if [ $# -ne 1 ]; then echo "$help_message" >&2; exit 1; fi

case $1 in
  */*) dest=$1 ;;
  *) dest=$root/egs/$1 ;;
esac
name=$(basename "$dest")
if ! [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || [ "$name" = . ] || [ "$name" = .. ]; then
  echo "$0: bad recipe name '$name': use letters, digits, '.', '_' and '-' (Kaldi paths hold no spaces)" >&2
  exit 1
fi
parent=$(dirname "$dest")
[ -d "$parent" ] || { echo "$0: no such dir: $parent (the new recipe's parent)" >&2; exit 1; }
parent=$(cd -P "$parent" && pwd)
dest=$parent/$name
[ ! -e "$dest" ] && [ ! -L "$dest" ] || { echo "$0: $dest exists; give another name" >&2; exit 1; }
[ -x "$template/run.sh" ] || { echo "$0: no template recipe at $template" >&2; exit 1; }

mkdir "$dest"
for f in "$template"/* "$template"/.[!.]*; do
  [ -e "$f" ] || continue
  case $(basename "$f") in steps|utils|data|exp|fbank|corpus) continue ;; esac
  cp -a "$f" "$dest/"
done
if [ "$parent" = "$(cd -P "$root/egs" && pwd)" ]; then
  ln -s ../../steps "$dest/steps"
  ln -s ../../utils "$dest/utils"
else
  ln -s "$root/steps" "$dest/steps"
  ln -s "$root/utils" "$dest/utils"
fi
sed -i "1s|^# egs/template.*|# $name: a recipe made from egs/template (docs/new_corpus.md)|" "$dest/README.md"
# the mark tools/shared_blocks.py reads: a copy shares its lines with the template until it is edited
sed -i "1a # made from egs/template by utils/new_recipe.sh" "$dest/run.sh"
echo "$0: made $dest"
echo "next: rewrite $dest/local/prepare_data.sh for the corpus, then $dest/run.sh --corpus-dir <dir> --stop-stage 1"
