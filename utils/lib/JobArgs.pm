package JobArgs;
# What run.pl and slurm.pl (Kaldi's $cmd convention) read after their options, written once:
#   [NAME=a[:b]] LOG CMD...     the job range (one job when absent), the log file template, the command
# (one word as it is, several words each quoted for the shell unless plain).
use strict;
use warnings;
use Exporter qw(import);
our @EXPORT_OK = qw(parse_job_args);

# parse_job_args(\@ARGV, $me, \&die_usage) -> ($jobvar, $first, $last, $logtmpl, $cmdtmpl); consumes the words.
# A range of several jobs whose log template lacks NAME is refused: every job would write one log.
sub parse_job_args {
  my ($args, $me, $fail) = @_;
  my ($jobvar, $first, $last) = (undef, 1, 1);
  if (@$args && $args->[0] =~ m/^([A-Za-z_][A-Za-z0-9_]*)=(\d+)(?::(\d+))?$/) {
    ($jobvar, $first, $last) = ($1, $2, defined $3 ? $3 : $2);
    shift @$args;
    $first <= $last or $fail->("empty job range $jobvar=$first:$last");
  } elsif (@$args && $args->[0] =~ m/^[A-Za-z_][A-Za-z0-9_]*=\S*:/) {
    $fail->("bad job range '$args->[0]' (expected NAME=a:b with integers a <= b)");
  }
  @$args >= 2 or $fail->("expected a log file and a command");
  my $logtmpl = shift @$args;
  my $cmdtmpl;
  if (@$args == 1) {
    $cmdtmpl = $args->[0];
  } else {
    my @words;
    for my $w (@$args) {
      if ($w ne "" && $w !~ m/\s/) { push @words, $w; }
      else { (my $q = $w) =~ s/'/'\\''/g; push @words, "'$q'"; }
    }
    $cmdtmpl = join(" ", @words);
  }
  if (defined $jobvar && $last > $first && index($logtmpl, $jobvar) < 0) {
    print STDERR "$me: running jobs $jobvar=$first:$last but the log file '$logtmpl' does not contain "
      . "'$jobvar': all jobs would write one log\n";
    exit 1;
  }
  return ($jobvar, $first, $last, $logtmpl, $cmdtmpl);
}

1;
