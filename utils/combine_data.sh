#!/usr/bin/env bash
# Combine several data dirs into one (Kaldi's combine_data.sh interface).
set -euo pipefail

me=combine_data.sh
utils=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

extra_files=

help_message="Usage: utils/$me [options] <dest-dir> <src-dir1> <src-dir2> ...
 e.g.: utils/$me data/train_all data/train_a data/train_b
Concatenates each data-dir file that every <src-dir> has (utt2spk, text,
feats.scp, segments, wav.scp, utt2dur, utt2num_frames, utt2uniq, utt2lang,
utt2warp, vad.scp, cmvn.scp, spk2gender, spk2warp, reco2file_and_channel,
reco2dur), sorted with LC_ALL=C sort, and regenerates spk2utt.  A file that
only some sources have is skipped with a warning naming it.  When only some
sources have segments, the others get one segment per utterance
(<utt> <utt> 0 <dur>, from their utt2dur) so wav.scp can be combined.
An utterance id in more than one source is an error naming it; speaker- and
recording-keyed lines that repeat identically are kept once, differing ones
are an error.  frame_shift is copied when all sources agree on it.
Options:
  --extra-files '<f1> <f2> ...'   more files to combine the same way
                                  (keyed by utterance; an error if a source lacks one)
  --help                          print this message"

err() { echo "$me: $*" >&2; exit 1; }

. "$utils/parse_options.sh"

if [ $# -lt 2 ]; then
  echo "$me: expected <dest-dir> <src-dir1> [<src-dir2> ...], got $# arguments" >&2
  echo "$help_message" >&2
  exit 1
fi
dest=${1%/}
shift
srcs=()
for s in "$@"; do srcs+=("${s%/}"); done

mkdir -p "$dest"
dest_abs=$(cd "$dest" && pwd)
for s in "${srcs[@]}"; do
  [ -d "$s" ] || err "no such data dir: $s"
  [ -f "$s/utt2spk" ] || err "no utt2spk in $s"
  [ "$(cd "$s" && pwd)" != "$dest_abs" ] || err "the destination $dest is also a source"
done
for f in $extra_files; do
  for s in "${srcs[@]}"; do [ -f "$s/$f" ] || err "extra file $f is missing from $s"; done
done

export LC_ALL=C
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Utterance ids must be unique across the sources.
perl -e '
  my $me = shift @ARGV; my %from;
  for my $d (@ARGV) {
    open(my $f, "<", "$d/utt2spk") or do { print STDERR "$me: cannot open $d/utt2spk\n"; exit 1; };
    while (<$f>) {
      my @a = split; next unless @a;
      @a == 2 or do { print STDERR "$me: bad line $. of $d/utt2spk: $_"; exit 1; };
      if (exists $from{$a[0]}) {
        print STDERR "$me: duplicate utterance id $a[0]: it is in $from{$a[0]}/utt2spk and $d/utt2spk\n";
        exit 1;
      }
      $from{$a[0]} = $d;
    }
  }
' "$me" "${srcs[@]}"

utt_files="text feats.scp utt2dur utt2num_frames utt2uniq utt2lang utt2warp vad.scp $extra_files"
spk_files="cmvn.scp spk2gender spk2warp"
reco_files="wav.scp reco2file_and_channel reco2dur"

have_all() { local s; for s in "${srcs[@]}"; do [ -f "$s/$1" ] || return 1; done; }
missing_from() { local s m=(); for s in "${srcs[@]}"; do [ -f "$s/$1" ] || m+=("$s"); done; echo "${m[*]}"; }
have_any() { local s; for s in "${srcs[@]}"; do [ -f "$s/$1" ] && return 0; done; return 1; }

# Concatenate <file> of every source (through <getter> for sources that need
# a stand-in), sort, and for speaker/recording tables drop identical repeats
# and reject differing lines with one key.
check_unique_keys() {  # <sorted-file> <name>
  perl -e '
    my ($me, $file, $name) = @ARGV; my %seen;
    open(my $f, "<", $file) or exit 1;
    while (<$f>) { my ($k) = split; next unless defined $k;
      if ($seen{$k}++) { print STDERR "$me: conflicting lines for $k in $name of the sources\n"; exit 1; } }
  ' "$me" "$1" "$2"
}

combined=()
skipped=()
for f in segments $utt_files $spk_files $reco_files frame_shift; do rm -f "$dest/$f"; done

cat "${srcs[@]/%//utt2spk}" | sort > "$tmp/utt2spk"
mv "$tmp/utt2spk" "$dest/utt2spk"
"$utils/utt2spk_to_spk2utt.pl" "$dest/utt2spk" | sort > "$dest/spk2utt"

segmented=false
if have_all segments; then
  segmented=true
  cat "${srcs[@]/%//segments}" | sort > "$dest/segments"
  combined+=(segments)
elif have_any segments; then
  segmented=true
  for s in "${srcs[@]}"; do
    if [ -f "$s/segments" ]; then
      cat "$s/segments"
    else
      [ -f "$s/utt2dur" ] || err "$s has no segments (others do) and no utt2dur to make one from"
      echo "$me: $s has no segments file; using one segment per utterance (from its utt2dur)" >&2
      perl -lane 'print "$F[0] $F[0] 0 $F[1]" if @F >= 2' "$s/utt2dur"
    fi
  done | sort > "$dest/segments"
  combined+=(segments)
fi

for f in $utt_files $spk_files $reco_files; do
  if have_all "$f"; then
    case " $spk_files $reco_files " in
      *" $f "*)
        cat "${srcs[@]/%//$f}" | sort -u > "$dest/$f"
        check_unique_keys "$dest/$f" "$f" ;;
      *)
        cat "${srcs[@]/%//$f}" | sort > "$dest/$f" ;;
    esac
    combined+=("$f")
  elif have_any "$f"; then
    echo "$me: warning: not combining $f: it is missing from $(missing_from "$f")" >&2
    skipped+=("$f")
  fi
done

if have_all frame_shift; then
  if [ "$(cat "${srcs[@]/%//frame_shift}" | sort -u | wc -l)" -eq 1 ]; then
    cp "${srcs[0]}/frame_shift" "$dest/frame_shift"
    combined+=(frame_shift)
  else
    echo "$me: warning: not combining frame_shift: the sources differ" >&2
  fi
elif have_any frame_shift; then
  echo "$me: warning: not combining frame_shift: it is missing from $(missing_from frame_shift)" >&2
fi

echo "$me: combined ${#srcs[@]} dirs into $dest ($(wc -l < "$dest/utt2spk") utterances):" \
     "utt2spk spk2utt ${combined[*]}" >&2
exit 0
