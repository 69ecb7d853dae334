#!/usr/bin/env perl
# Convert a spk2utt table to utt2spk (Kaldi's spk2utt_to_utt2spk.pl interface).
use strict;
use warnings;

my $me = "spk2utt_to_utt2spk.pl";
my $usage = <<"EOF_USAGE";
Usage: utils/spk2utt_to_utt2spk.pl [spk2utt ...] > utt2spk
Reads lines '<spk> <utt1> <utt2> ...' (stdin when no file or '-') and writes
'<utt> <spk>' for each utterance, in input order.
Options:
  --help   print this message
EOF_USAGE

if (@ARGV && ($ARGV[0] eq "--help" || $ARGV[0] eq "-h")) { print $usage; exit 0; }
if (@ARGV && $ARGV[0] =~ m/^-./) { print STDERR "$me: unknown option $ARGV[0]\n$usage"; exit 1; }

@ARGV = ("-") unless @ARGV;
for my $in (@ARGV) {
  my $fh;
  if ($in eq "-") { $fh = \*STDIN; }
  elsif (!open($fh, "<", $in)) { print STDERR "$me: cannot open $in: $!\n"; exit 1; }
  my $name = $in eq "-" ? "standard input" : $in;
  my $n = 0;
  while (my $line = <$fh>) {
    $n++;
    my ($spk, @utts) = split(" ", $line);
    if (!@utts) {
      chomp $line;
      print STDERR "$me: bad line $n of $name (expected '<spk> <utt1> [<utt2> ...]'): $line\n";
      exit 1;
    }
    print "$_ $spk\n" for @utts;
  }
  close($fh) unless $in eq "-";
}
exit 0;
