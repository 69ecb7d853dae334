#!/usr/bin/env perl
# Map symbols to integers through a symbol table (Kaldi's sym2int.pl interface).
use strict;
use warnings;

my $me = "sym2int.pl";
my $usage = <<"EOF_USAGE";
Usage: utils/sym2int.pl [options] <symtab> [input ...] > output
 e.g.: utils/sym2int.pl -f 2- data/lang/words.txt data/train/text > text.int
Replaces each symbol in the chosen fields by its integer from <symtab>
(lines '<symbol> <integer>').  Reads stdin when no input (or '-') is given.
Options:
  -f <field-range>      fields to map, 1-based: '2-' (2 to the end), '1-3',
                        '2', '-3' (1 to 3); default: all fields
  --map-oov <sym|int>   map symbols missing from <symtab> to this symbol's
                        integer (or to this integer); without it, an unknown
                        symbol is an error naming it and its line
  --help                print this message
EOF_USAGE

sub fail { my $m = join("", @_); chomp $m; print STDERR "$me: $m\n"; exit 1; }
sub usage_fail { print STDERR "$me: $_[0]\n" if @_; print STDERR $usage; exit 1; }

my ($map_oov, $range);
while (@ARGV && $ARGV[0] =~ m/^-./) {
  my $o = shift @ARGV;
  if ($o eq "--help" || $o eq "-h") { print $usage; exit 0; }
  elsif ($o eq "--") { last; }
  elsif ($o eq "--map-oov") { @ARGV or usage_fail("--map-oov needs a value"); $map_oov = shift @ARGV; }
  elsif ($o =~ m/^--map-oov=(.*)$/) { $map_oov = $1; }
  elsif ($o eq "-f") { @ARGV or usage_fail("-f needs a field range"); $range = shift @ARGV; }
  elsif ($o =~ m/^-f(\d.*|-\d.*)$/) { $range = $1; }
  else { usage_fail("unknown option $o"); }
}
@ARGV >= 1 or usage_fail("expected a symbol table");

my ($fa, $fb) = (1, undef);    # inclusive 1-based; $fb undef = to the end
if (defined $range) {
  if ($range =~ m/^(\d+)$/) { ($fa, $fb) = ($1, $1); }
  elsif ($range =~ m/^(\d+)-$/) { ($fa, $fb) = ($1, undef); }
  elsif ($range =~ m/^-(\d+)$/) { ($fa, $fb) = (1, $1); }
  elsif ($range =~ m/^(\d+)-(\d+)$/) { ($fa, $fb) = ($1, $2); }
  else { usage_fail("bad field range '$range' (use e.g. 2-, 1-3, 2 or -3)"); }
  $fa >= 1 && (!defined $fb || $fb >= $fa) or usage_fail("bad field range '$range'");
}

my $symtab = shift @ARGV;
my %sym2int;
open(my $st, "<", $symtab) or fail("cannot open symbol table $symtab: $!");
while (my $line = <$st>) {
  my @f = split(" ", $line);
  next unless @f;
  @f == 2 && $f[1] =~ m/^-?\d+$/
    or fail("bad line $. of symbol table $symtab (expected '<symbol> <integer>'): $line");
  $sym2int{$f[0]} = $f[1];
}
close($st);

my $oov_int;
if (defined $map_oov) {
  if ($map_oov =~ m/^-?\d+$/) { $oov_int = $map_oov; }
  elsif (exists $sym2int{$map_oov}) { $oov_int = $sym2int{$map_oov}; }
  else { fail("--map-oov symbol '$map_oov' is not in the symbol table $symtab"); }
}

my $num_oov = 0;
my %oov_seen;
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
    my $b = defined $fb && $fb < @f ? $fb : scalar(@f);
    for (my $i = $fa - 1; $i < $b; $i++) {
      my $s = $f[$i];
      if (exists $sym2int{$s}) { $f[$i] = $sym2int{$s}; }
      elsif (defined $oov_int) {
        $f[$i] = $oov_int;
        $num_oov++;
        $oov_seen{$s}++;
      } else {
        fail("undefined symbol '$s' (field " . ($i + 1) . ") on line $n of $name");
      }
    }
    print join(" ", @f), "\n";
  }
  close($fh) unless $in eq "-";
}
if ($num_oov > 0) {
  my @ex = (sort keys %oov_seen)[0 .. (keys %oov_seen > 5 ? 4 : keys(%oov_seen) - 1)];
  print STDERR "$me: mapped $num_oov OOV token(s) to $oov_int ("
    . scalar(keys %oov_seen) . " distinct, e.g. " . join(" ", @ex) . ")\n";
}
exit 0;
