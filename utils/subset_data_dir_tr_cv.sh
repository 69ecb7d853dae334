#!/usr/bin/env bash
# Split a data dir into a training part and a cross-validation part
# (Kaldi's subset_data_dir_tr_cv.sh interface).
set -euo pipefail

me=subset_data_dir_tr_cv.sh
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cv_spk_percent=10
cv_utt_percent=
seed=777

help_message="Usage: utils/$me [options] <src-dir> <train-dir> <cv-dir>
 e.g.: utils/$me --cv-spk-percent 10 data/train data/train_tr90 data/train_cv10
Puts a random (but, given --seed, deterministic) part of the speakers of
<src-dir> in <cv-dir> and the others in <train-dir>, so no speaker is in
both.  With --cv-utt-percent, picks utterances instead of speakers (then a
speaker may be in both).  The cv part has at least one speaker (utterance)
and the train part keeps at least one.
Options:
  --cv-spk-percent <P>   percentage of speakers for cv (default: $cv_spk_percent)
  --cv-utt-percent <P>   percentage of utterances for cv, instead of speakers
  --seed <S>             random seed, an integer (default: $seed)
  --help                 print this message"

err() { echo "$me: $*" >&2; exit 1; }

. "$utils/parse_options.sh"

if [ $# -ne 3 ]; then
  echo "$me: expected <src-dir> <train-dir> <cv-dir>, got $# arguments" >&2
  echo "$help_message" >&2
  exit 1
fi
src=${1%/}
trn=${2%/}
cv=${3%/}
[ -d "$src" ] || err "no such data dir: $src"
[ -f "$src/utt2spk" ] || err "no utt2spk in $src"
[[ $seed =~ ^[0-9]+$ ]] || err "--seed must be a non-negative integer, got '$seed'"
pct_ok() { [[ $1 =~ ^([0-9]+\.?[0-9]*|\.[0-9]+)$ ]] && perl -e 'exit(($ARGV[0] > 0 && $ARGV[0] < 100) ? 0 : 1)' "$1"; }

if [ -n "$cv_utt_percent" ]; then
  pct_ok "$cv_utt_percent" || err "--cv-utt-percent must be a number between 0 and 100 (exclusive), got '$cv_utt_percent'"
  what=utt; pct=$cv_utt_percent
else
  pct_ok "$cv_spk_percent" || err "--cv-spk-percent must be a number between 0 and 100 (exclusive), got '$cv_spk_percent'"
  what=spk; pct=$cv_spk_percent
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Candidate ids: speakers (sorted, unique) or utterances.
if [ "$what" = spk ]; then
  perl -lane 'print $F[1] if @F >= 2' "$src/utt2spk" | LC_ALL=C sort -u > "$tmp/ids"
else
  perl -lane 'print $F[0] if @F' "$src/utt2spk" > "$tmp/ids"
fi
num=$(wc -l < "$tmp/ids")
[ "$num" -ge 2 ] || err "cannot split $src: it has only $num $([ $what = spk ] && echo speaker || echo utterance)(s); need at least 2"

# Deterministic shuffle (Fisher-Yates with perl's seeded generator); the
# first round(P% of num) ids, at least 1 and at most num-1, go to cv.
perl -e '
  my ($seed, $pct, $file) = @ARGV;
  open(my $f, "<", $file) or die; chomp(my @ids = <$f>);
  srand($seed);
  for (my $i = $#ids; $i > 0; $i--) { my $j = int(rand($i + 1)); @ids[$i, $j] = @ids[$j, $i]; }
  my $n = int(@ids * $pct / 100 + 0.5);
  $n = 1 if $n < 1; $n = @ids - 1 if $n > @ids - 1;
  print "$_\n" for @ids[0 .. $n - 1];
' "$seed" "$pct" "$tmp/ids" | LC_ALL=C sort > "$tmp/cv_ids"
"$utils/filter_scp.pl" --exclude "$tmp/cv_ids" "$tmp/ids" > "$tmp/tr_ids"

run_subset() {
  if ! "$utils/subset_data_dir.sh" "$@" 2> "$tmp/log"; then
    cat "$tmp/log" >&2
    err "failed to write ${*: -1}"
  fi
}
run_subset --$what-list "$tmp/tr_ids" "$src" "$trn"
run_subset --$what-list "$tmp/cv_ids" "$src" "$cv"

echo "$me: $src -> $trn ($(wc -l < "$trn/utt2spk") utterances, $(wc -l < "$trn/spk2utt") speakers)," \
     "$cv ($(wc -l < "$cv/utt2spk") utterances, $(wc -l < "$cv/spk2utt") speakers)" >&2
exit 0
