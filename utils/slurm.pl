#!/usr/bin/env perl
# Run a command, or an array of jobs, on a SLURM cluster, each job writing a log.
# The interface is run.pl's (Kaldi's $cmd convention), so a recipe switches to the
# cluster by pointing train_cmd / decode_cmd in cmd.sh at this script.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::RealBin/lib";
use JobArgs qw(parse_job_args);
use Cwd qw(getcwd abs_path);
use File::Basename qw(dirname basename);
use File::Path qw(make_path);

my $me = "slurm.pl";

sub usage {
  return <<"EOF";
Usage: utils/slurm.pl [options] [NAME=a:b] <log-file> <command> [args...]
 e.g.: utils/slurm.pl --mem 4G JOB=1:4 exp/foo/log/job.JOB.log my-prog --part JOB data/split4/JOB

Submits <command> to SLURM with sbatch (one job, or a job array for NAME=a:b), waits
for it, and exits as utils/run.pl does: 0 if every job succeeded, else 1, naming
the failed jobs and their logs.  Every occurrence of NAME in <log-file> and in the
command is replaced by the job's index; the command words are joined and run by
bash with pipefail, exactly as run.pl runs them.  Each log starts with
'# <command>' and '# Started at <date>' and ends with
'# Accounting: time=<secs> threads=<n>' and '# Ended (code N) at <date>'.
A job that never wrote its end (killed, cancelled, out of time or memory) is
reported with SLURM's own output file, <log dir>/q/<name>-<index>.out.

Options:
  --mem X            memory per job (e.g. 4G), through the config's "option mem=*" line
  --num-threads N    CPUs per job ("option num_threads=*")
  --gpu N            GPUs per job ("option gpu=*"; 0: the "option gpu=0" line)
  --time T           wall-clock limit (e.g. 4:00:00; "option time=*")
  --max-jobs-run N   at most N jobs of the array running at once (sbatch --array=a-b%N)
  --config F         the option mapping (default: conf/slurm.conf if it exists, else the
                     built-in one below); any other --name value must have an
                     "option name=..." line there
  --help             print this message

Config file (Kaldi's format): 'command <sbatch and its fixed options>', then lines
'option <name>=* <sbatch options with \$0 for the value>', 'option <name>=<value> <options>'
(an exact value's own line; nothing after the value: add nothing) and
'default <name>=<value>' (used when the option is not given).  Built-in:
EOF
}

my $default_config = <<'EOF';
command sbatch --export=ALL --ntasks=1
option mem=* --mem=$0
option mem=0
option num_threads=* --cpus-per-task=$0
option num_threads=1 --cpus-per-task=1
option gpu=* --gres=gpu:$0
option gpu=0
option time=* --time=$0
default num_threads=1
EOF

sub die_usage {
  my ($msg) = @_;
  print STDERR "$me: $msg\n" if defined $msg;
  print STDERR "Run utils/slurm.pl --help for the usage.\n";
  exit 1;
}

# ---- options ----
my %opts;            # name (with _) => value, from the command line
my $max_jobs_run = 0;
my $config;
while (@ARGV && $ARGV[0] =~ m/^-/) {
  my $opt = shift @ARGV;
  if ($opt eq "--help" || $opt eq "-h") { print usage(), $default_config; exit 0; }
  last if $opt eq "--";
  my $val;
  if ($opt =~ m/^(--[^=]+)=(.*)$/s) {
    ($opt, $val) = ($1, $2);
  } else {
    @ARGV or die_usage("option $opt needs a value");
    $val = shift @ARGV;
  }
  if ($opt eq "--max-jobs-run" || $opt eq "-tc") {
    $val =~ m/^\d+$/ && $val > 0 or die_usage("--max-jobs-run needs a positive integer, got '$val'");
    $max_jobs_run = $val;
  } elsif ($opt eq "--config") {
    $config = $val;
  } elsif ($opt =~ m/^--([A-Za-z][-A-Za-z0-9_]*)$/) {
    (my $name = $1) =~ s/-/_/g;
    $opts{$name} = $val;
  } else {
    die_usage("unknown option $opt");
  }
}

# ---- the job range, log and command (as run.pl) ----
my ($jobvar, $first, $last, $logtmpl, $cmdtmpl) = parse_job_args(\@ARGV, $me, \&die_usage);

sub subst {
  my ($s, $job) = @_;
  return $s unless defined $jobvar;
  my $v = quotemeta($jobvar);
  $s =~ s/$v/$job/g;
  return $s;
}

# ---- the config: option name => sbatch options ----
sub read_config {
  my ($path) = @_;
  my $text = $default_config;
  if (defined $path) {
    open(my $fh, "<", $path) or do { print STDERR "$me: cannot read config $path: $!\n"; exit 1; };
    local $/;
    $text = <$fh>;
    close($fh);
  }
  my $where = defined $path ? $path : "the built-in config";
  my ($command, %any, %exact, %default);
  my $n = 0;
  for my $line (split /\n/, $text) {
    $n++;
    $line =~ s/#.*$//;
    $line =~ s/^\s+|\s+$//g;
    next if $line eq "";
    if ($line =~ m/^command\s+(.+)$/) {
      $command = $1;
    } elsif ($line =~ m/^option\s+([A-Za-z_][A-Za-z0-9_]*)=\*\s*(.*)$/) {
      $any{$1} = $2;
    } elsif ($line =~ m/^option\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)\s*(.*)$/) {
      $exact{"$1=$2"} = $3;
      $any{$1} = undef unless exists $any{$1};
    } elsif ($line =~ m/^default\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+)$/) {
      $default{$1} = $2;
    } else {
      print STDERR "$me: $where: line $n: cannot parse '$line' (expected 'command ...', "
        . "'option name=* ...', 'option name=value ...' or 'default name=value')\n";
      exit 1;
    }
  }
  defined $command or do { print STDERR "$me: $where: no 'command sbatch ...' line\n"; exit 1; };
  return ($command, \%any, \%exact, \%default, $where);
}

$config = "conf/slurm.conf" if !defined $config && -f "conf/slurm.conf";
my ($command, $any, $exact, $default, $where) = read_config($config);
my %value = (%$default, %opts);
my @sbatch_opts;
for my $name (sort keys %value) {
  my $v = $value{$name};
  if (exists $exact->{"$name=$v"}) {
    push @sbatch_opts, $exact->{"$name=$v"};
  } elsif (defined $any->{$name}) {
    (my $o = $any->{$name}) =~ s/\$0/$v/g;
    push @sbatch_opts, $o;
  } else {
    print STDERR "$me: option --" . ($name =~ s/_/-/gr) . " $v: $where has no 'option $name=*' "
      . "or 'option $name=$v' line\n";
    exit 1;
  }
}
my $threads = $value{num_threads} // 1;

# ---- the batch script ----
my $cwd = getcwd();
my $logdir = dirname($logtmpl);
my $qdir = "$logdir/q";
eval { make_path($qdir) unless -d $qdir; 1 } or do { print STDERR "$me: cannot create $qdir: $@"; exit 1; };
(my $base = basename($logtmpl)) =~ s/\.log$//;
if (defined $jobvar) { my $v = quotemeta($jobvar); $base =~ s/\.?$v//g; }
$base = "job" if $base eq "";
my $script = "$qdir/$base.sh";
my $status = "$qdir/$base.status";
opendir(my $qdh, $qdir) or do { print STDERR "$me: cannot read $qdir: $!\n"; exit 1; };
unlink(map { "$qdir/$_" } grep { index($_, "$base.status.") == 0 } readdir($qdh));   # an earlier run's
closedir($qdh);

sub shq { my ($s) = @_; $s =~ s/'/'\\''/g; return "'$s'"; }

my $replace = defined $jobvar ? "//$jobvar/\$task" : "";
open(my $sh, ">", $script) or do { print STDERR "$me: cannot write $script: $!\n"; exit 1; };
print $sh <<"EOF";
#!/usr/bin/env bash
# written by utils/slurm.pl; submitted with sbatch, one array task per job
cd @{[shq($cwd)]} || exit 1
task=\${SLURM_ARRAY_TASK_ID:-$first}
log_tmpl=@{[shq($logtmpl)]}
cmd_tmpl=@{[shq($cmdtmpl)]}
log=\${log_tmpl$replace}
cmd=\${cmd_tmpl$replace}
mkdir -p "\$(dirname "\$log")" || exit 1
printf '# %s\\n# Started at %s\\n' "\$cmd" "\$(date)" > "\$log" || exit 1
echo "# SLURM job \${SLURM_JOB_ID:-?} (task \$task) on \$(hostname)" >> "\$log"
start=\$(date +%s)
bash -c "set -o pipefail
\$cmd" >> "\$log" 2>&1
code=\$?
printf '# Accounting: time=%d threads=%d\\n# Ended (code %d) at %s\\n' \$((\$(date +%s) - start)) $threads \$code "\$(date)" >> "\$log"
echo \$code > @{[shq($status)]}.\$task
exit \$code
EOF
close($sh);
chmod 0755, $script;

# ---- submit, wait, report ----
my $array = defined $jobvar ? "--array=$first-$last" . ($max_jobs_run ? "%$max_jobs_run" : "") : "";
my $out = "$qdir/$base-" . (defined $jobvar ? "%a" : "$first") . ".out";
my $submit = join(" ", $command, @sbatch_opts, "--parsable", "--job-name=" . shq($base),
                  "--chdir=" . shq($cwd), "--output=" . shq($out), $array, shq($script));
my $reply = `$submit 2>&1`;
if ($? != 0 || $reply !~ m/^(\d+)/m) {
  print STDERR "$me: submission failed (exit " . ($? >> 8) . "): $submit\n$reply";
  exit 1;
}
my $jobid = $1;
my $cancel = sub { system("scancel $jobid >/dev/null 2>&1"); print STDERR "$me: cancelled SLURM job $jobid\n"; exit 1; };
$SIG{INT} = $cancel;
$SIG{TERM} = $cancel;

# the states of a task that has ended (squeue may list one for a while after, MinJobAge)
my %ended = map { $_ => 1 } qw(COMPLETED CANCELLED FAILED TIMEOUT NODE_FAIL PREEMPTED OUT_OF_MEMORY
                              BOOT_FAIL DEADLINE REVOKED SPECIAL_EXIT);
sub in_queue {    # whether any task of the job is still pending, running or completing
  for my $try (1 .. 5) {
    my $out = `squeue -h -r -j $jobid -o '%i %T' 2>&1`;
    if ($? == 0) {
      for my $line (split /\n/, $out) {
        my ($id, $state) = split ' ', $line;
        return 1 if defined $state && $id =~ m/^\d/ && !$ended{$state};
      }
      return 0;
    }
    return 0 if $out =~ m/invalid job id/i;
    sleep 2;
  }
  print STDERR "$me: squeue keeps failing for job $jobid; giving up waiting\n";
  return 0;
}

my @jobs = ($first .. $last);
my $wait = 1;
while (1) {
  last if !grep { !-e "$status.$_" } @jobs;
  last unless in_queue();
  sleep $wait;
  $wait = $wait < 10 ? $wait + 1 : 10;
}
# a task that left the queue has written its status; give a shared file system a moment
for (1 .. 5) { last if !grep { !-e "$status.$_" } @jobs; sleep 1; }

my (@failed, @lost);
for my $j (@jobs) {
  if (!-e "$status.$j") { push @lost, $j; next; }
  open(my $fh, "<", "$status.$j") or do { push @lost, $j; next; };
  my $code = <$fh> // "";
  close($fh);
  chomp $code;
  push @failed, [$j, $code] if $code ne "0";
}
exit 0 unless @failed || @lost;
my $name = defined $jobvar ? $jobvar : "job";
for my $f (@failed) {
  print STDERR "$me: $name $f->[0] failed (code $f->[1]), log is in " . subst($logtmpl, $f->[0]) . "\n";
}
for my $j (@lost) {
  (my $o = $out) =~ s/%a/$j/;
  print STDERR "$me: $name $j of SLURM job $jobid ended without finishing its log " . subst($logtmpl, $j)
    . " (killed, cancelled, or out of time or memory?); SLURM's output: $o\n";
}
my $n = @failed + @lost;
print STDERR "$me: $n / " . scalar(@jobs) . " failed (SLURM job $jobid)\n";
exit 1;
