#!/usr/bin/env perl
# Map integers to symbols through a symbol table (Kaldi's int2sym.pl interface).
use strict;
use warnings;

my $me = "int2sym.pl";
my $usage = <<"EOF_USAGE";
Usage: utils/int2sym.pl [options] <symtab> [input ...] > output
 e.g.: utils/int2sym.pl -f 2- data/lang/words.txt exp/decode/text.int > text
Replaces each integer in the chosen fields by its symbol from <symtab>
(lines '<symbol> <integer>').  Reads stdin when no input (or '-') is given.
An integer missing from <symtab> is an error naming it and its line.
Options:
  -f <field-range>   fields to map, 1-based: '2-' (2 to the end), '1-3', '2',
                     '-3' (1 to 3); default: all fields
  --help             print this message
EOF_USAGE

sub fail { my $m = join("", @_); chomp $m; print STDERR "$me: $m\n"; exit 1; }
sub usage_fail { print STDERR "$me: $_[0]\n" if @_; print STDERR $usage; exit 1; }

my $range;
while (@ARGV && $ARGV[0] =~ m/^-./) {
  my $o = shift @ARGV;
  if ($o eq "--help" || $o eq "-h") { print $usage; exit 0; }
  elsif ($o eq "--") { last; }
  elsif ($o eq "-f") { @ARGV or usage_fail("-f needs a field range"); $range = shift @ARGV; }
  elsif ($o =~ m/^-f(\d.*|-\d.*)$/) { $range = $1; }
  else { usage_fail("unknown option $o"); }
}
@ARGV >= 1 or usage_fail("expected a symbol table");

my ($fa, $fb) = (1, undef);
if (defined $range) {
  if ($range =~ m/^(\d+)$/) { ($fa, $fb) = ($1, $1); }
  elsif ($range =~ m/^(\d+)-$/) { ($fa, $fb) = ($1, undef); }
  elsif ($range =~ m/^-(\d+)$/) { ($fa, $fb) = (1, $1); }
  elsif ($range =~ m/^(\d+)-(\d+)$/) { ($fa, $fb) = ($1, $2); }
  else { usage_fail("bad field range '$range' (use e.g. 2-, 1-3, 2 or -3)"); }
  $fa >= 1 && (!defined $fb || $fb >= $fa) or usage_fail("bad field range '$range'");
}

my $symtab = shift @ARGV;
my %int2sym;
open(my $st, "<", $symtab) or fail("cannot open symbol table $symtab: $!");
while (my $line = <$st>) {
  my @f = split(" ", $line);
  next unless @f;
  @f == 2 && $f[1] =~ m/^-?\d+$/
    or fail("bad line $. of symbol table $symtab (expected '<symbol> <integer>'): $line");
  $int2sym{$f[1] + 0} = $f[0] unless exists $int2sym{$f[1] + 0};
}
close($st);

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
      my $v = $f[$i];
      if ($v =~ m/^-?\d+$/ && exists $int2sym{$v + 0}) { $f[$i] = $int2sym{$v + 0}; }
      elsif ($v !~ m/^-?\d+$/) {
        fail("'$v' (field " . ($i + 1) . ") on line $n of $name is not an integer");
      } else {
        fail("undefined integer '$v' (field " . ($i + 1) . ") on line $n of $name");
      }
    }
    print join(" ", @f), "\n";
  }
  close($fh) unless $in eq "-";
}
exit 0;
