#!/usr/bin/env perl
# Convert an utt2spk table to spk2utt (Kaldi's utt2spk_to_spk2utt.pl interface).
use strict;
use warnings;

my $me = "utt2spk_to_spk2utt.pl";
my $usage = <<"EOF_USAGE";
Usage: utils/utt2spk_to_spk2utt.pl [utt2spk ...] > spk2utt
Reads lines '<utt> <spk>' (stdin when no file or '-') and writes one line
'<spk> <utt1> <utt2> ...' per speaker, speakers in order of first appearance,
utterances in input order (sorted input gives sorted output).
Options:
  --help   print this message
EOF_USAGE

if (@ARGV && ($ARGV[0] eq "--help" || $ARGV[0] eq "-h")) { print $usage; exit 0; }
if (@ARGV && $ARGV[0] =~ m/^-./) { print STDERR "$me: unknown option $ARGV[0]\n$usage"; exit 1; }

my (@spks, %utts);
@ARGV = ("-") unless @ARGV;
for my $in (@ARGV) {
  my $fh;
  if ($in eq "-") { $fh = \*STDIN; }
  elsif (!open($fh, "<", $in)) { print STDERR "$me: cannot open $in: $!\n"; exit 1; }
  my $name = $in eq "-" ? "standard input" : $in;
  my $n = 0;
  while (my $line = <$fh>) {
    $n++;
    my @f = split(" ", $line);
    if (@f != 2) {
      chomp $line;
      print STDERR "$me: bad line $n of $name (expected '<utt> <spk>'): $line\n";
      exit 1;
    }
    push @spks, $f[1] unless exists $utts{$f[1]};
    push @{$utts{$f[1]}}, $f[0];
  }
  close($fh) unless $in eq "-";
}
print "$_ ", join(" ", @{$utts{$_}}), "\n" for @spks;
exit 0;
