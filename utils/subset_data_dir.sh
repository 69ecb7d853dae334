#!/usr/bin/env bash
# Make a data dir holding a subset of the utterances of another one
# (Kaldi's subset_data_dir.sh interface).
set -euo pipefail

me=subset_data_dir.sh
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<EOF
Usage: utils/$me [--first|--last|--shortest|--per-spk] <src-dir> <n> <dest-dir>
   or: utils/$me --utt-list <file> <src-dir> <dest-dir>
   or: utils/$me --spk-list <file> <src-dir> <dest-dir>
 e.g.: utils/$me data/train 1000 data/train_1k
Selects utterances of <src-dir> and writes <dest-dir> with every file of
<src-dir> restricted to them: utterance-keyed files (utt2spk, text, feats.scp,
segments, utt2dur, utt2num_frames, utt2uniq, utt2lang, utt2warp, vad.scp),
speaker-keyed files (cmvn.scp, spk2gender, spk2warp) restricted to the
speakers left, recording-keyed files (wav.scp, reco2file_and_channel,
reco2dur) restricted to the recordings left when segments exists (keyed by
utterance otherwise); spk2utt is regenerated; frame_shift is copied.
Selection (default: <n> utterances evenly spaced through the sorted list):
  --first           the first <n> utterances
  --last            the last <n> utterances
  --shortest        the <n> shortest utterances (needs utt2dur or utt2num_frames)
  --per-spk         <n> utterances per speaker, evenly spaced in its list
  --utt-list <file> the utterances named (first field) in <file>
  --spk-list <file> all utterances of the speakers named in <file>
The count may also follow the flag: --first <n> <src-dir> <dest-dir>,
or --first=<n> <src-dir> <dest-dir> (likewise --last, --shortest, --per-spk).
  --help            print this message
EOF
}

err() { echo "$me: $*" >&2; exit 1; }
usage_err() { echo "$me: $*" >&2; usage >&2; exit 1; }

mode=even
list=""
n=""
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --first|--last|--shortest|--per-spk) mode=${1#--}; shift ;;
    --first=*|--last=*|--shortest=*|--per-spk=*) mode=${1%%=*}; mode=${mode#--}; n=${1#*=}; shift ;;
    --utt-list|--spk-list)
      [ $# -ge 2 ] || usage_err "$1 needs a file"
      mode=${1#--}; list=$2; shift 2 ;;
    --utt-list=*|--spk-list=*) mode=${1%%=*}; mode=${mode#--}; list=${1#*=}; shift ;;
    --) shift; break ;;
    -*) usage_err "unknown option $1" ;;
    *) break ;;
  esac
done

isint() { [[ $1 =~ ^[0-9]+$ ]]; }

case "$mode" in
  utt-list|spk-list)
    [ $# -eq 2 ] || usage_err "expected <src-dir> <dest-dir> after --$mode <file>"
    src=$1; dest=$2 ;;
  *)
    if [ -n "$n" ]; then
      [ $# -eq 2 ] || usage_err "expected <src-dir> <dest-dir> after --$mode=$n"
      src=$1; dest=$2
    else
      [ $# -eq 3 ] || usage_err "expected <src-dir> <n> <dest-dir>"
      if isint "$2" && [ -d "$1" ]; then src=$1; n=$2
      elif [ "$mode" != even ] && isint "$1" && [ -d "$2" ]; then n=$1; src=$2
      elif isint "$2"; then src=$1; n=$2
      elif [ "$mode" != even ] && isint "$1"; then n=$1; src=$2
      else usage_err "expected a number of utterances, got '$2'"
      fi
      dest=$3
    fi
    isint "$n" && [ "$n" -gt 0 ] || usage_err "the number of utterances must be a positive integer, got '$n'" ;;
esac

[ -d "$src" ] || err "no such data dir: $src"
[ -f "$src/utt2spk" ] || err "no utt2spk in $src"
[ -z "$list" ] || [ -f "$list" ] || err "no such list file: $list (given by --$mode)"
src_abs=$(cd "$src" && pwd)
mkdir -p "$dest"
dest_abs=$(cd "$dest" && pwd)
[ "$src_abs" != "$dest_abs" ] || err "source and destination are the same dir: $src"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sel=$tmp/utts   # the selected utterance ids, one a line

total=$(wc -l < "$src/utt2spk")
if [ "$mode" = even ] || [ "$mode" = first ] || [ "$mode" = last ]; then
  if [ "$n" -gt "$total" ]; then
    echo "$me: warning: $n utterances requested but $src has only $total; taking all" >&2
  fi
fi

case "$mode" in
  even)
    # n indices spread evenly over 0..total-1, starting at the first.
    perl -e '
      my ($n) = @ARGV; shift @ARGV;
      my @k = map { (split(" ", $_))[0] } <STDIN>;
      my $t = @k; $n = $t if $n > $t;
      my %seen;
      for my $i (0 .. $n - 1) { my $j = int($i * $t / $n); print "$k[$j]\n" unless $seen{$j}++; }
    ' "$n" < "$src/utt2spk" > "$sel" ;;
  first)
    head -n "$n" "$src/utt2spk" > "$sel" ;;
  last)
    tail -n "$n" "$src/utt2spk" > "$sel" ;;
  shortest)
    if [ -f "$src/utt2dur" ]; then lens=$src/utt2dur
    elif [ -f "$src/utt2num_frames" ]; then lens=$src/utt2num_frames
    else err "--shortest needs utt2dur or utt2num_frames in $src"
    fi
    perl -e '
      my ($me, $n, $lens, $u2s) = @ARGV;
      my %len; my $ln = 0;
      open(my $f, "<", $lens) or die "$me: cannot open $lens\n";
      while (<$f>) {
        $ln++; my @a = split;
        next unless @a;
        (@a == 2 && $a[1] =~ m/^[0-9.eE+-]+$/) or do { print STDERR "$me: bad line $ln of $lens: $_"; exit 1; };
        $len{$a[0]} = $a[1];
      }
      open(my $g, "<", $u2s) or die "$me: cannot open $u2s\n";
      my @u = map { (split(" ", $_))[0] } <$g>;
      for (@u) { exists $len{$_} or do { print STDERR "$me: utterance $_ has no length in $lens\n"; exit 1; }; }
      my %pos; @pos{@u} = (0 .. $#u);
      my @s = sort { $len{$a} <=> $len{$b} || $pos{$a} <=> $pos{$b} } @u;
      $n = @s if $n > @s;
      print "$_\n" for sort { $pos{$a} <=> $pos{$b} } @s[0 .. $n - 1];
    ' "$me" "$n" "$lens" "$src/utt2spk" > "$sel"
    if [ "$n" -gt "$total" ]; then
      echo "$me: warning: $n utterances requested but $src has only $total; taking all" >&2
    fi ;;
  per-spk)
    "$utils/utt2spk_to_spk2utt.pl" "$src/utt2spk" | perl -ne '
      BEGIN { $n = shift @ARGV; }
      my ($s, @u) = split; my $t = @u; my $m = $n > $t ? $t : $n;
      print "$u[int($_ * $t / $m)]\n" for 0 .. $m - 1;
    ' "$n" > "$tmp/per_spk"
    "$utils/filter_scp.pl" "$tmp/per_spk" "$src/utt2spk" > "$sel" ;;
  utt-list)
    "$utils/filter_scp.pl" "$list" "$src/utt2spk" > "$sel" ;;
  spk-list)
    "$utils/filter_scp.pl" -f 2 "$list" "$src/utt2spk" > "$sel" ;;
esac

[ -s "$sel" ] || err "no utterances of $src were selected (--$mode${list:+ $list})"

# Write the subset.  Remove files of the known kinds that a previous run
# may have left in dest but that the source lacks.
utt_files="text feats.scp utt2dur utt2num_frames segments utt2uniq utt2lang utt2warp vad.scp"
spk_files="cmvn.scp spk2gender spk2warp"
reco_files="wav.scp reco2file_and_channel reco2dur"
for f in utt2spk spk2utt $utt_files $spk_files $reco_files frame_shift; do
  [ -f "$src/$f" ] || rm -f "$dest/$f"
done

"$utils/filter_scp.pl" "$sel" "$src/utt2spk" > "$dest/utt2spk"
"$utils/utt2spk_to_spk2utt.pl" "$dest/utt2spk" | LC_ALL=C sort > "$dest/spk2utt"
for f in $utt_files; do
  if [ -f "$src/$f" ]; then "$utils/filter_scp.pl" "$sel" "$src/$f" > "$dest/$f"; fi
done
for f in $spk_files; do
  if [ -f "$src/$f" ]; then "$utils/filter_scp.pl" "$dest/spk2utt" "$src/$f" > "$dest/$f"; fi
done
if [ -f "$src/segments" ]; then
  perl -lane 'print $F[1] if @F >= 2' "$dest/segments" | LC_ALL=C sort -u > "$tmp/recos"
else
  cp "$sel" "$tmp/recos"
fi
for f in $reco_files; do
  if [ -f "$src/$f" ]; then "$utils/filter_scp.pl" "$tmp/recos" "$src/$f" > "$dest/$f"; fi
done
if [ -f "$src/frame_shift" ]; then cp "$src/frame_shift" "$dest/frame_shift"; fi

kept=$(wc -l < "$dest/utt2spk")
echo "$me: wrote $kept of $total utterances of $src to $dest" >&2
exit 0
