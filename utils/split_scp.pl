#!/usr/bin/env perl
# Split a table (scp, utt2spk, text, ...) into pieces, optionally keeping each
# speaker's lines together (Kaldi's split_scp.pl interface).
use strict;
use warnings;

my $me = "split_scp.pl";
my $usage = <<"EOF_USAGE";
Usage: utils/split_scp.pl [options] <in.scp> <out1.scp> [<out2.scp> ...]
   or: utils/split_scp.pl [options] -j <N> <k> <in.scp> [<out.scp>]
 e.g.: utils/split_scp.pl --utt2spk=data/train/utt2spk data/train/wav.scp wav.1.scp wav.2.scp
Splits the lines of <in.scp> into consecutive pieces, one per output file,
sizes as equal as possible (the earlier pieces get the extra lines).  Every
piece must get at least one line (or speaker).
Options:
  --utt2spk=<file>  keep all lines of a speaker in one piece (keys of <in.scp>
                    are looked up in <file>; a speaker's lines must be
                    consecutive); pieces are balanced by number of lines
                    (also: --utt2spk <file>)
  -j <N> <k>        compute the N-way split but write only piece k
                    (0-based, 0 <= k < N) to <out.scp>, or to stdout if no
                    output is given
  --help            print this message
EOF_USAGE

sub fail { print STDERR "$me: $_[0]\n"; exit 1; }
sub usage_fail { print STDERR "$me: $_[0]\n"; print STDERR $usage; exit 1; }

my ($utt2spk_file, $num_jobs, $job_id);
while (@ARGV && $ARGV[0] =~ m/^-./) {
  my $o = shift @ARGV;
  if ($o eq "--help" || $o eq "-h") { print $usage; exit 0; }
  elsif ($o eq "--") { last; }
  elsif ($o =~ m/^--utt2spk=(.+)$/) { $utt2spk_file = $1; }
  elsif ($o eq "--utt2spk") { @ARGV or usage_fail("--utt2spk needs a file"); $utt2spk_file = shift @ARGV; }
  elsif ($o eq "-j") {
    @ARGV >= 2 or usage_fail("-j needs two values: <num-jobs> <job-id>");
    ($num_jobs, $job_id) = splice(@ARGV, 0, 2);
    $num_jobs =~ m/^\d+$/ && $num_jobs >= 1 or usage_fail("-j: bad number of jobs '$num_jobs'");
    $job_id =~ m/^\d+$/ && $job_id < $num_jobs
      or usage_fail("-j: job id '$job_id' must be an integer from 0 to " . ($num_jobs - 1));
  }
  else { usage_fail("unknown option $o"); }
}

my ($in, @outs);
if (defined $num_jobs) {
  @ARGV == 1 || @ARGV == 2 or usage_fail("with -j, expected <in.scp> [<out.scp>]");
  $in = $ARGV[0];
} else {
  @ARGV >= 2 or usage_fail("expected <in.scp> and at least one output file");
  ($in, @outs) = @ARGV;
  $num_jobs = scalar(@outs);
}

my @lines;
{
  my $fh;
  if ($in eq "-") { $fh = \*STDIN; }
  else { open($fh, "<", $in) or fail("cannot open input $in: $!"); }
  @lines = <$fh>;
  close($fh) unless $in eq "-";
  for (@lines) { $_ .= "\n" unless m/\n\z/; }
}
my $name = $in eq "-" ? "standard input" : $in;

# Groups of consecutive lines that must stay together: one line each, or one
# speaker each with --utt2spk.  @sizes holds the number of lines per group.
my @sizes;
if (defined $utt2spk_file) {
  my %u2s;
  open(my $uh, "<", $utt2spk_file) or fail("cannot open utt2spk file $utt2spk_file: $!");
  my $n = 0;
  while (my $l = <$uh>) {
    $n++;
    my @f = split(" ", $l);
    next unless @f;
    @f == 2 or fail("bad line $n of $utt2spk_file (expected '<utt> <spk>')");
    $u2s{$f[0]} = $f[1];
  }
  close($uh);
  my (%done, $cur);
  for my $i (0 .. $#lines) {
    my ($key) = split(" ", $lines[$i]);
    defined $key or fail("empty line " . ($i + 1) . " in $name");
    my $spk = $u2s{$key};
    defined $spk or fail("utterance '$key' (line " . ($i + 1) . " of $name) is not in $utt2spk_file");
    if (defined $cur && $spk eq $cur) {
      $sizes[-1]++;
    } else {
      $done{$spk} and fail("the lines of speaker '$spk' are not consecutive in $name "
                           . "(again at line " . ($i + 1) . ", utterance '$key'); sort it first");
      $done{$spk} = 1;
      $cur = $spk;
      push @sizes, 1;
    }
  }
} else {
  @sizes = (1) x scalar(@lines);
}

my $ngroups = scalar(@sizes);
my $what = defined $utt2spk_file ? "speakers" : "lines";
$ngroups >= $num_jobs
  or fail("cannot split $name into $num_jobs pieces: it has only $ngroups $what");

# Piece boundaries: ends[j] = number of groups in pieces 0..j.
my @ends;
if (!defined $utt2spk_file) {
  my $base = int($ngroups / $num_jobs);
  my $extra = $ngroups % $num_jobs;
  my $e = 0;
  for my $j (0 .. $num_jobs - 1) { $e += $base + ($j < $extra ? 1 : 0); push @ends, $e; }
} else {
  # Cut after the speaker whose cumulative line count is closest to the
  # ideal j/N of the total, leaving at least one speaker for every piece.
  my @cum = (0);
  push @cum, $cum[-1] + $_ for @sizes;
  my $total = $cum[-1];
  my $prev = 0;
  for my $j (0 .. $num_jobs - 2) {
    my $target = $total * ($j + 1) / $num_jobs;
    my ($best, $bestd);
    for my $g ($prev + 1 .. $ngroups - ($num_jobs - 1 - $j)) {
      my $d = abs($cum[$g] - $target);
      if (!defined $bestd || $d < $bestd) { ($best, $bestd) = ($g, $d); }
      last if $cum[$g] > $target;
    }
    push @ends, $best;
    $prev = $best;
  }
  push @ends, $ngroups;
}

# Convert group boundaries to line boundaries.
my @gstart = (0);
push @gstart, $gstart[-1] + $_ for @sizes;
my $start_group = 0;
for my $j (0 .. $num_jobs - 1) {
  my ($la, $lb) = ($gstart[$start_group], $gstart[$ends[$j]]);
  $start_group = $ends[$j];
  my $out;
  if (@outs) { $out = $outs[$j]; }
  elsif ($j == $job_id) { $out = @ARGV == 2 ? $ARGV[1] : "-"; }
  else { next; }
  next if defined $job_id && $j != $job_id;
  my $oh;
  if ($out eq "-") { $oh = \*STDOUT; }
  else { open($oh, ">", $out) or fail("cannot write output $out: $!"); }
  print $oh @lines[$la .. $lb - 1];
  close($oh) or fail("error writing $out: $!") unless $out eq "-";
}
exit 0;
