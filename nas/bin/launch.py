"""Run a list of independent jobs on this machine or on SLURM, and say which failed, with their logs.

  python -m nas.bin.launch --jobs jobs.tsv [--executor local --parallel N]
  python -m nas.bin.launch --jobs jobs.tsv --executor slurm --partition P --account A [--gpus 1 ...]

jobs.tsv has one job a line, three tab-separated fields: a name, its log file, and a shell command
(run by bash with pipefail from the current directory, its output into the log between utils/run.pl's
header and footer lines). Every job runs even when another fails; the exit status is 1 when any
failed, each named on stderr with its log. The drivers that write jobs.tsv list only the work still
to do (egs/synth/local/run_bench.sh: the trainings no run dir or table holds), so rerunning the same
command resubmits exactly the failed and unfinished jobs.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

from nas.launch.base import Executor, Job, Resources


def read_jobs(path: Path) -> List[Job]:
    """jobs.tsv's jobs; a malformed line is an error naming its file and line."""
    try:
        text = path.read_text()
    except OSError as e:
        raise SystemExit(f"{path}: cannot read the job list ({e})") from None
    jobs, names = [], set()
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t", 2)
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise SystemExit(f"{path}: line {n}: expected '<name>\\t<log>\\t<command>', got {line!r}")
        if parts[0] in names:
            raise SystemExit(f"{path}: line {n}: job name {parts[0]!r} given twice")
        names.add(parts[0])
        jobs.append(Job(parts[0], parts[2], Path(parts[1]).absolute(), cwd=Path.cwd()))
    return jobs


def _sbatch_pairs(items: List[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--sbatch {item!r}: expected KEY=VALUE (e.g. qos=high), an sbatch option without its --")
        out[key] = value
    return out


def make_executor(args: argparse.Namespace, jobs_file: Path) -> Executor:
    log = (lambda m: print(f"launch: {m}", file=sys.stderr, flush=True))
    if args.executor == "local":
        from nas.launch.local import LocalExecutor
        return LocalExecutor(args.parallel, log=log)
    from nas.launch.slurm import SlurmExecutor
    folder = Path(args.folder) if args.folder else jobs_file.absolute().parent / "slurm"
    res = Resources(cpus=args.cpus, gpus=args.gpus, mem_gb=args.mem_gb, time_min=args.time_min)
    return SlurmExecutor(folder, res, partition=args.partition, account=args.account,
                         parallel=args.parallel if args.parallel > 0 else None, extra=_sbatch_pairs(args.sbatch),
                         log=log)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nas.bin.launch", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--jobs", required=True, help="the job list: '<name>\\t<log>\\t<command>' lines")
    p.add_argument("--executor", choices=("local", "slurm"), default="local")
    p.add_argument("--parallel", type=int, default=1,
                   help="jobs at once: here, or the SLURM array's limit (0 with slurm: no limit) (1)")
    g = p.add_argument_group("slurm")
    g.add_argument("--folder", help="submitit's files and SLURM's output per task (default: slurm/ beside --jobs)")
    g.add_argument("--partition")
    g.add_argument("--account")
    g.add_argument("--cpus", type=int, default=1, help="CPUs per job (1)")
    g.add_argument("--gpus", type=int, default=0, help="GPUs per job (0)")
    g.add_argument("--mem-gb", type=float, help="memory per job in GB (the partition's default)")
    g.add_argument("--time-min", type=int, help="time limit per job in minutes (24 hours)")
    g.add_argument("--sbatch", action="append", default=[], metavar="KEY=VALUE",
                   help="any other sbatch option, e.g. qos=high (repeatable)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    if args.parallel < 0 or (args.parallel == 0 and args.executor == "local"):
        raise SystemExit(f"--parallel {args.parallel}: give a positive number of jobs at once")
    jobs_file = Path(args.jobs)
    jobs = read_jobs(jobs_file)
    if not jobs:
        print(f"launch: {jobs_file}: no jobs to run", file=sys.stderr)
        return 0
    t0 = time.time()
    report = make_executor(args, jobs_file).submit(jobs)
    print(f"launch: {len(report.finished)} of {len(jobs)} jobs finished in {time.time() - t0:.0f} s "
          f"({args.executor})", file=sys.stderr)
    for line in report.lines():
        print(f"launch: {line}", file=sys.stderr)
    if report.failed:
        print(f"launch: {len(report.failed)} failed; rerun the same command to resubmit them", file=sys.stderr)
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
