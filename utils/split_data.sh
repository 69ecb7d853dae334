#!/usr/bin/env bash
# Split a data dir into N data dirs for parallel jobs (Kaldi's split_data.sh interface).
set -euo pipefail

me=split_data.sh
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<EOF
Usage: utils/$me [--per-utt] <data-dir> <num-to-split>
 e.g.: utils/$me data/train 4      # -> data/train/split4/{1,2,3,4}
Splits <data-dir> into <num-to-split> data dirs <data-dir>/split<N>/{1..N},
each a data dir with all the files of <data-dir> (utt2spk, spk2utt, text,
wav.scp, segments, feats.scp, cmvn.scp, utt2dur, utt2num_frames,
reco2file_and_channel, spk2gender, ...) restricted to its utterances;
recording-level files keep only the recordings used.  The pieces are
consecutive runs of utt2spk balanced by utterance count, each speaker kept
whole in one piece.  Nothing is redone if the split is newer than the
source files.  It is an error to have fewer speakers (utterances with
--per-utt) than pieces.
Options:
  --per-utt   split by utterance, a speaker may span pieces; the pieces go
              to <data-dir>/split<N>utt/{1..N}
  --help      print this message
EOF
}

err() { echo "$me: $*" >&2; exit 1; }
usage_err() { echo "$me: $*" >&2; usage >&2; exit 1; }

per_utt=false
while [ $# -gt 0 ]; do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --per-utt) per_utt=true; shift ;;
    --) shift; break ;;
    -*) usage_err "unknown option $1" ;;
    *) break ;;
  esac
done
[ $# -eq 2 ] || usage_err "expected <data-dir> <num-to-split>"
data=${1%/}
nj=$2
[[ $nj =~ ^[0-9]+$ ]] && [ "$nj" -gt 0 ] || usage_err "<num-to-split> must be a positive integer, got '$nj'"
[ -d "$data" ] || err "no such data dir: $data"
[ -f "$data/utt2spk" ] || err "no utt2spk in $data"

if $per_utt; then sdir=$data/split${nj}utt; else sdir=$data/split$nj; fi

files="utt2spk spk2utt text feats.scp cmvn.scp segments wav.scp utt2dur utt2num_frames
       reco2file_and_channel reco2dur spk2gender spk2warp utt2warp utt2uniq utt2lang vad.scp frame_shift"

# Up to date?  Every piece has exactly the source's files, none older than its source.
up_to_date=true
for k in $(seq "$nj"); do
  for f in $files; do
    if [ -f "$data/$f" ]; then
      if [ ! -f "$sdir/$k/$f" ] || [ "$data/$f" -nt "$sdir/$k/$f" ]; then up_to_date=false; break 2; fi
    elif [ "$f" != spk2utt ] && [ -e "$sdir/$k/$f" ]; then
      up_to_date=false; break 2
    fi
  done
done
if $up_to_date; then
  echo "$me: $sdir is up to date" >&2
  exit 0
fi

num_utts=$(wc -l < "$data/utt2spk")
num_spks=$(perl -lane '$s{$F[1]} = 1 if @F; END { print scalar(keys %s) }' "$data/utt2spk")
if $per_utt; then
  [ "$num_utts" -ge "$nj" ] || err "cannot split $data into $nj pieces: it has only $num_utts utterances"
else
  [ "$num_spks" -ge "$nj" ] || err "cannot split $data into $nj pieces: it has only $num_spks speakers (use --per-utt to split speakers)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

outs=()
for k in $(seq "$nj"); do outs+=("$tmp/utts.$k"); done
if $per_utt; then
  "$utils/split_scp.pl" "$data/utt2spk" "${outs[@]}"
else
  "$utils/split_scp.pl" --utt2spk="$data/utt2spk" "$data/utt2spk" "${outs[@]}"
fi

for k in $(seq "$nj"); do
  mkdir -p "$sdir/$k"
  for f in $files; do rm -f "$sdir/$k/$f"; done
done

# One pass over each source file sends every line to the piece(s) that use
# its key: utterance-keyed lines to their utterance's piece, speaker-keyed
# lines to every piece holding the speaker, recording-keyed lines to every
# piece using the recording (by segments; by utterance when none).
perl -e '
  use strict; use warnings;
  my ($me, $data, $sdir, $tmp, $n) = @ARGV;
  my (%piece, %spk_pieces, %reco_pieces);
  for my $k (1 .. $n) {
    open(my $f, "<", "$tmp/utts.$k") or die "$me: cannot read $tmp/utts.$k\n";
    while (<$f>) { my ($u, $s) = split; next unless defined $s; $piece{$u} = $k; $spk_pieces{$s}{$k} = 1; }
  }
  my $segmented = -f "$data/segments";
  sub split_file {
    my ($name, $lookup) = @_;
    my $src = "$data/$name";
    return unless -f $src;
    my @out;
    for my $k (1 .. $n) {
      open($out[$k], ">", "$sdir/$k/$name") or do { print STDERR "$me: cannot write $sdir/$k/$name: $!\n"; exit 1; };
    }
    open(my $in, "<", $src) or do { print STDERR "$me: cannot read $src: $!\n"; exit 1; };
    while (my $line = <$in>) {
      my @f = split(" ", $line);
      next unless @f;
      $line .= "\n" unless $line =~ m/\n\z/;
      print { $out[$_] } $line for $lookup->(\@f);
    }
    for my $k (1 .. $n) { close($out[$k]) or do { print STDERR "$me: error writing $sdir/$k/$name\n"; exit 1; }; }
  }
  my $by_utt = sub { my $k = $piece{$_[0][0]}; defined $k ? ($k) : () };
  my $by_spk = sub { my $p = $spk_pieces{$_[0][0]}; $p ? sort { $a <=> $b } keys %$p : () };
  my $by_reco = sub { my $p = $reco_pieces{$_[0][0]}; $p ? sort { $a <=> $b } keys %$p : () };
  if ($segmented) {
    split_file("segments", sub {
      my $f = $_[0]; my $k = $piece{$f->[0]};
      return () unless defined $k;
      @$f >= 2 or do { print STDERR "$me: bad line in $data/segments for utterance $f->[0]\n"; exit 1; };
      $reco_pieces{$f->[1]}{$k} = 1;
      return ($k);
    });
  }
  split_file($_, $by_utt) for qw(utt2spk text feats.scp utt2dur utt2num_frames utt2uniq utt2lang utt2warp vad.scp);
  split_file($_, $by_spk) for qw(cmvn.scp spk2gender spk2warp);
  split_file($_, $segmented ? $by_reco : $by_utt) for qw(wav.scp reco2file_and_channel reco2dur);
' "$me" "$data" "$sdir" "$tmp" "$nj"

for k in $(seq "$nj"); do
  "$utils/utt2spk_to_spk2utt.pl" "$sdir/$k/utt2spk" | LC_ALL=C sort > "$sdir/$k/spk2utt"
  if [ -f "$data/frame_shift" ]; then cp "$data/frame_shift" "$sdir/$k/frame_shift"; fi
done
echo "$me: split $data ($num_utts utterances, $num_spks speakers) into $nj pieces in $sdir" >&2
exit 0
