#!/usr/bin/env perl
# Run a command, or an array of jobs, on this machine, each job writing a log.
# Interface follows Kaldi's run.pl so recipes can use it as their $cmd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JobArgs qw(parse_job_args);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use POSIX qw(WNOHANG);

my $me = "run.pl";

sub usage {
  return <<"EOF";
Usage: utils/run.pl [options] [NAME=a:b] <log-file> <command> [args...]
 e.g.: utils/run.pl JOB=1:4 exp/foo/log/job.JOB.log my-prog --part JOB data/split4/JOB

Runs <command> on this machine, writing its stdout and stderr to <log-file>.
With a range NAME=a:b (NAME is any identifier, usually JOB), runs the jobs
a..b in parallel; every occurrence of NAME in <log-file> and in the command
is replaced by the job index.  NAME=a runs the single job a.

The command words are joined with spaces and run by bash (with pipefail):
words without whitespace go in as they are, so a quoted '|', '>' or '2>&1'
acts as shell syntax; a word with whitespace is quoted so it stays one
argument.  A command given as a single word is run exactly as written, e.g.
  utils/run.pl exp/log/x.log "grep foo data/text | wc -l > exp/n"

Each log starts with '# <command>' and '# Started at <date>' and ends with
'# Accounting: time=<secs> threads=1' and '# Ended (code N) at <date>'.
Exit status 0 if every job succeeded, else 1, naming the first failed log.

Options:
  --max-jobs-run N   run at most N jobs at once (default: all at once)
  --num-threads N    accepted for queue.pl compatibility, ignored
  --mem X            accepted for queue.pl compatibility, ignored
  --gpu N            accepted for queue.pl compatibility, ignored
  --config F         accepted for queue.pl compatibility, ignored
  (any other --opt value is likewise accepted and ignored, as in Kaldi)
  --help             print this message
EOF
}

sub die_usage {
  my ($msg) = @_;
  print STDERR "$me: $msg\n" if defined $msg;
  print STDERR usage();
  exit 1;
}

my $max_jobs_run = 0;    # 0 = unlimited
while (@ARGV && $ARGV[0] =~ m/^-/) {
  my $opt = shift @ARGV;
  if ($opt eq "--help" || $opt eq "-h") { print usage(); exit 0; }
  last if $opt eq "--";
  my $val;
  if ($opt =~ m/^(--[^=]+)=(.*)$/s) {
    ($opt, $val) = ($1, $2);
  } else {
    @ARGV or die_usage("option $opt needs a value");
    $val = shift @ARGV;
  }
  if ($opt eq "--max-jobs-run" || $opt eq "-tc") {
    $val =~ m/^\d+$/ && $val > 0
      or die_usage("--max-jobs-run needs a positive integer, got '$val'");
    $max_jobs_run = $val;
  } elsif ($opt =~ m/^--[A-Za-z][-A-Za-z0-9_]*$/) {
    # --num-threads, --mem, --gpu, --config and other queue options: ignored.
  } else {
    die_usage("unknown option $opt");
  }
}

my ($jobvar, $first, $last, $logtmpl, $cmdtmpl) = parse_job_args(\@ARGV, $me, \&die_usage);

sub subst {
  my ($s, $job) = @_;
  return $s unless defined $jobvar;
  my $v = quotemeta($jobvar);
  $s =~ s/$v/$job/g;
  return $s;
}

sub run_job {    # runs in a child process; never returns
  my ($job) = @_;
  my $log = subst($logtmpl, $job);
  my $cmd = subst($cmdtmpl, $job);
  my $dir = dirname($log);
  eval { make_path($dir) unless -d $dir; 1 } or do {
    print STDERR "$me: cannot create log directory $dir: $@";
    POSIX::_exit(1);
  };
  my $fh;
  unless (open($fh, ">", $log)) {
    print STDERR "$me: cannot write log file $log: $!\n";
    POSIX::_exit(1);
  }
  my $start = time();
  print $fh "# $cmd\n# Started at " . scalar(localtime($start)) . "\n";
  close($fh);
  open(STDOUT, ">>", $log) or POSIX::_exit(1);
  open(STDERR, ">&", \*STDOUT) or POSIX::_exit(1);
  system("bash", "-c", "set -o pipefail\n$cmd");
  my $status = $?;
  my $code;
  if ($status == -1) { print STDERR "$me: could not run bash: $!\n"; $code = 127; }
  elsif ($status & 127) { $code = 128 + ($status & 127); }
  else { $code = $status >> 8; }
  my $end = time();
  if (open($fh, ">>", $log)) {
    print $fh "# Accounting: time=" . ($end - $start) . " threads=1\n";
    print $fh "# Ended (code $code) at " . scalar(localtime($end)) . "\n";
    close($fh);
  }
  POSIX::_exit($code > 255 ? 255 : $code);
}

my %pid2job;
my %code;
my $running = 0;
$| = 1;

sub reap_one {
  my $pid = waitpid(-1, 0);
  return if $pid <= 0;
  my $job = delete $pid2job{$pid};
  return unless defined $job;
  $code{$job} = ($? & 127) ? 128 + ($? & 127) : ($? >> 8);
  $running--;
}

for my $job ($first .. $last) {
  reap_one() while $max_jobs_run > 0 && $running >= $max_jobs_run;
  my $pid = fork();
  defined $pid or die "$me: fork failed: $!\n";
  if ($pid == 0) { run_job($job); }
  $pid2job{$pid} = $job;
  $running++;
}
reap_one() while $running > 0;

my @failed = grep { $code{$_} != 0 } ($first .. $last);
exit 0 unless @failed;
my $num = $last - $first + 1;
my $faillog = subst($logtmpl, $failed[0]);
if ($num == 1) {
  print STDERR "$me: job failed, log is in $faillog\n";
} else {
  print STDERR "$me: " . scalar(@failed) . " / $num failed, log is in $faillog\n";
}
exit 1;
