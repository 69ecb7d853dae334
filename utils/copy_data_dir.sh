#!/usr/bin/env bash
# Copy a data dir, optionally renaming utterances and speakers
# (Kaldi's copy_data_dir.sh interface).
set -euo pipefail

me=copy_data_dir.sh
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

utt_prefix=
spk_prefix=
utt_suffix=
spk_suffix=

help_message="Usage: utils/$me [options] <src-dir> <dest-dir>
 e.g.: utils/$me --utt-prefix sp1.1- --spk-prefix sp1.1- data/train data/train_sp1.1
Copies every file of a data dir that it knows (utt2spk, spk2utt, text,
feats.scp, segments, wav.scp, utt2dur, utt2num_frames, utt2uniq, utt2lang,
utt2warp, vad.scp, cmvn.scp, spk2gender, spk2warp, reco2file_and_channel,
reco2dur, frame_shift), renaming utterance ids as
<utt-prefix><utt><utt-suffix> and speaker ids as <spk-prefix><spk><spk-suffix>
wherever they appear.  With a segments file, recording ids (wav.scp,
reco2file_and_channel, reco2dur, field 2 of segments) stay unchanged;
without one, wav.scp and the other recording files are keyed by utterance
and renamed like utterances.  Outputs are sorted (LC_ALL=C sort) and
spk2utt is regenerated from utt2spk.
Options:
  --utt-prefix <p>   prefix for utterance ids (default: none)
  --utt-suffix <s>   suffix for utterance ids (default: none)
  --spk-prefix <p>   prefix for speaker ids (default: none)
  --spk-suffix <s>   suffix for speaker ids (default: none)
  --help             print this message"

err() { echo "$me: $*" >&2; exit 1; }

. "$utils/parse_options.sh"

if [ $# -ne 2 ]; then
  echo "$me: expected <src-dir> <dest-dir>, got $# arguments" >&2
  echo "$help_message" >&2
  exit 1
fi
src=${1%/}
dest=${2%/}
[ -d "$src" ] || err "no such data dir: $src"
[ -f "$src/utt2spk" ] || err "no utt2spk in $src"
mkdir -p "$dest"
[ "$(cd "$src" && pwd)" != "$(cd "$dest" && pwd)" ] || err "source and destination are the same dir: $src"
for x in "$utt_prefix" "$utt_suffix" "$spk_prefix" "$spk_suffix"; do
  [[ ! $x =~ [[:space:]] ]] || err "prefixes and suffixes may not contain whitespace: '$x'"
done

export LC_ALL=C
export CDD_ME="$me" CDD_UP="$utt_prefix" CDD_US="$utt_suffix" CDD_SP="$spk_prefix" CDD_SS="$spk_suffix"

# Map the key (field 1) only, leaving the rest of the line byte for byte.
remap_key() {  # remap_key <file> utt|spk
  perl -e '
    my ($me, $file, $kind) = @ARGV;
    my ($p, $s) = $kind eq "utt" ? @ENV{qw(CDD_UP CDD_US)} : @ENV{qw(CDD_SP CDD_SS)};
    open(my $fh, "<", $file) or do { print STDERR "$me: cannot open $file: $!\n"; exit 1; };
    while (my $line = <$fh>) {
      next unless $line =~ m/\S/;
      $line .= "\n" unless $line =~ m/\n\z/;
      $line =~ s/^(\s*)(\S+)/$1$p$2$s/;
      $line =~ s/^\s+//;
      print $line;
    }
  ' "$me" "$@"
}

utt_files="text feats.scp utt2dur utt2num_frames utt2uniq utt2lang utt2warp vad.scp"
spk_files="cmvn.scp spk2gender spk2warp"
reco_files="wav.scp reco2file_and_channel reco2dur"
for f in utt2spk spk2utt segments $utt_files $spk_files $reco_files frame_shift; do
  [ -f "$src/$f" ] || rm -f "$dest/$f"
done

perl -lane 'next unless @F; @F == 2 or do { print STDERR "$ENV{CDD_ME}: bad line $. of $ARGV: $_"; exit 1 }; print "$ENV{CDD_UP}$F[0]$ENV{CDD_US} $ENV{CDD_SP}$F[1]$ENV{CDD_SS}"' "$src/utt2spk" | sort > "$dest/utt2spk"
"$utils/utt2spk_to_spk2utt.pl" "$dest/utt2spk" | sort > "$dest/spk2utt"
for f in $utt_files; do
  if [ -f "$src/$f" ]; then remap_key "$src/$f" utt | sort > "$dest/$f"; fi
done
for f in $spk_files; do
  if [ -f "$src/$f" ]; then remap_key "$src/$f" spk | sort > "$dest/$f"; fi
done
if [ -f "$src/segments" ]; then
  remap_key "$src/segments" utt | sort > "$dest/segments"
  for f in $reco_files; do
    if [ -f "$src/$f" ]; then sort "$src/$f" > "$dest/$f"; fi
  done
else
  for f in $reco_files; do
    if [ -f "$src/$f" ]; then remap_key "$src/$f" utt | sort > "$dest/$f"; fi
  done
fi
if [ -f "$src/frame_shift" ]; then cp "$src/frame_shift" "$dest/frame_shift"; fi

echo "$me: copied $src to $dest" >&2
exit 0
