#!/usr/bin/env perl
# Keep (or drop) the lines of a table whose key is in an id list
# (Kaldi's filter_scp.pl interface).
use strict;
use warnings;

my $me = "filter_scp.pl";
my $usage = <<"EOF_USAGE";
Usage: utils/filter_scp.pl [--exclude] [-f <n>] <id-list> [in.scp ...] > out.scp
 e.g.: utils/filter_scp.pl data/dev/utt2spk data/all/text > data/dev/text
Prints the lines of the input (stdin when none or '-') whose field <n>
(default 1, the key) is the first field of some line of <id-list>; input
order is kept.
Options:
  --exclude   print the lines whose key is NOT in <id-list> instead
  -f <n>      compare field <n> (1-based; negative counts from the end,
              -1 = the last field)
  --help      print this message
EOF_USAGE

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }
sub usage_fail { print STDERR "$me: $_[0]\n"; print STDERR $usage; exit 1; }

my $exclude = 0;
my $field = 1;
while (@ARGV && $ARGV[0] =~ m/^-./) {
  my $o = shift @ARGV;
  if ($o eq "--help" || $o eq "-h") { print $usage; exit 0; }
  elsif ($o eq "--") { last; }
  elsif ($o eq "--exclude") { $exclude = 1; }
  elsif ($o eq "-f") { @ARGV or usage_fail("-f needs a field number"); $field = shift @ARGV; }
  elsif ($o =~ m/^-f(-?\d+)$/) { $field = $1; }
  else { usage_fail("unknown option $o"); }
}
$field =~ m/^-?[1-9]\d*$/ or usage_fail("bad field number '$field' for -f");
@ARGV >= 1 or usage_fail("expected an id list");

my $idlist = shift @ARGV;
my %keep;
open(my $ih, "<", $idlist) or fail("cannot open id list $idlist: $!");
while (my $line = <$ih>) {
  my ($id) = split(" ", $line);
  $keep{$id} = 1 if defined $id;
}
close($ih);

@ARGV = ("-") unless @ARGV;
for my $in (@ARGV) {
  my $fh;
  if ($in eq "-") { $fh = \*STDIN; }
  else { open($fh, "<", $in) or fail("cannot open input $in: $!"); }
  my $name = $in eq "-" ? "standard input" : $in;
  my $n = 0;
  while (my $line = <$fh>) {
    $n++;
    my @f = split(" ", $line);
    if (@f < abs($field)) {
      chomp $line;
      fail("line $n of $name has fewer than " . abs($field) . " fields: '$line'");
    }
    $line .= "\n" unless $line =~ m/\n\z/;
    my $key = $field > 0 ? $f[$field - 1] : $f[$field];
    print $line if ($keep{$key} ? 1 : 0) != $exclude;
  }
  close($fh) unless $in eq "-";
}
exit 0;
