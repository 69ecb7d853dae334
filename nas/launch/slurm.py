"""The SLURM executor: every job one task of a SLURM array, submitted and collected through submitit.

Waiting uses squeue and submitit's result files, not submitit's sacct polling: a cluster without
accounting storage (a test's single-node cluster, some small sites) has no sacct, and there a
cancelled task would look unfinished for ever. A task that left the queue without a result is a
failure whose detail names SLURM's own output of it.
"""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from nas.launch.base import Executor, Job, Outcome, Report, Resources, run_logged

DEFAULT_TIME_MIN = 24 * 60          # submitit would ask for 5 minutes; a training needs hours


class SlurmError(RuntimeError):
    pass


# the states of a task that has ended: squeue may still list it for a while (SLURM's MinJobAge)
ENDED = {"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL", "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL",
         "DEADLINE", "REVOKED", "SPECIAL_EXIT"}


def _in_queue(array_ids: Sequence[str]) -> set:
    """The job ids (<array>_<task>) of these arrays still pending, running or completing."""
    for attempt in range(5):
        proc = subprocess.run(["squeue", "-h", "-r", "-o", "%i %T", "-j", ",".join(array_ids)],
                              capture_output=True, text=True)
        if proc.returncode == 0:
            rows = [line.split() for line in proc.stdout.splitlines()]
            return {r[0] for r in rows if len(r) == 2 and r[1] not in ENDED}
        if "invalid job id" in proc.stderr.lower():   # purged already: nothing of it is queued
            return set()
        time.sleep(2)
    raise SlurmError(f"squeue failed 5 times: {proc.stderr.strip()}")


class SlurmExecutor(Executor):
    """One SLURM array per submit(); `folder` keeps submitit's pickles and SLURM's output per task."""

    def __init__(self, folder: Path, resources: Optional[Resources] = None, partition: Optional[str] = None,
                 account: Optional[str] = None, parallel: Optional[int] = None, poll_s: float = 1.0,
                 extra: Optional[Dict[str, str]] = None, log: Optional[Callable[[str], None]] = None) -> None:
        self.folder = Path(folder)
        self.resources = resources or Resources()
        self.partition, self.account, self.parallel = partition, account, parallel
        self.poll_s = poll_s
        self.extra = dict(extra or {})
        self.log = log or (lambda m: None)

    def _executor(self, n: int):
        try:
            import submitit
        except ImportError as e:
            raise SlurmError(f"the SLURM executor needs submitit ({e}); pip install submitit") from None
        ex = submitit.SlurmExecutor(folder=str(self.folder / "%j"))
        r = self.resources
        params = dict(job_name="nas-launch", time=r.time_min or DEFAULT_TIME_MIN, cpus_per_task=r.cpus,
                      ntasks_per_node=1, array_parallelism=self.parallel or n, stderr_to_stdout=True)
        if r.gpus:
            params["gpus_per_node"] = r.gpus
        if r.mem_gb:
            params["mem"] = f"{int(r.mem_gb * 1024)}M"
        if self.partition:
            params["partition"] = self.partition
        if self.account:
            params["account"] = self.account
        if self.extra:
            params["additional_parameters"] = self.extra
        ex.update_parameters(**params)
        return ex

    def submit(self, jobs: Sequence[Job]) -> Report:
        report = Report()
        if not jobs:
            return report
        self.folder.mkdir(parents=True, exist_ok=True)
        try:
            handles = self._executor(len(jobs)).map_array(run_logged, list(jobs))
        except Exception as e:            # submitit wraps sbatch's refusal (bad partition, account) in its own types
            raise SlurmError(f"submitting the jobs failed: {e}") from None
        arrays = sorted({h.job_id.split("_")[0] for h in handles})
        self.log(f"submitted {len(handles)} jobs as SLURM array(s) {' '.join(arrays)}; output in {self.folder}")
        try:
            self._wait(handles, arrays)
        except KeyboardInterrupt:               # Ctrl-C: leave nothing running on the cluster
            subprocess.run(["scancel", *arrays], capture_output=True)
            self.log(f"cancelled SLURM array(s) {' '.join(arrays)}")
            raise
        for job, h in zip(jobs, handles):
            report.add(self._outcome(job, h))
        return report

    def _wait(self, handles: List, arrays: List[str]) -> None:
        pending = {h.job_id: h for h in handles}
        delay = self.poll_s
        while pending:
            queued = _in_queue(arrays)
            for jid in [j for j, h in pending.items() if h.paths.result_pickle.exists() or j not in queued]:
                del pending[jid]
            if pending:
                time.sleep(delay)
                delay = min(delay * 1.5, 10.0)
        # a task that has just left the queue may still be flushing its result to a shared disk
        for _ in range(5):
            if all(h.paths.result_pickle.exists() for h in handles):
                break
            time.sleep(1)

    def _outcome(self, job: Job, handle) -> Outcome:
        out = handle.paths.stdout
        if not handle.paths.result_pickle.exists():
            return Outcome(job, None, f"SLURM job {handle.job_id} ended without a result (cancelled, killed, out "
                                      f"of time or memory?); SLURM's output: {out}")
        try:
            code = handle.result()
        except Exception as e:              # the task raised: run_logged could not start the command
            first = str(e).strip().splitlines()
            return Outcome(job, None, f"SLURM job {handle.job_id}: {first[-1] if first else type(e).__name__}; "
                                      f"SLURM's output: {out}")
        if code == 0:
            return Outcome(job, code)
        return Outcome(job, code, f"SLURM job {handle.job_id}{signal_note(code)}")


def signal_note(code: int) -> str:
    """What an exit code above 128 means: the command was killed by a signal (SLURM's scancel and time
    limit send SIGTERM, then SIGKILL)."""
    if code <= 128:
        return ""
    try:
        name = signal.Signals(code - 128).name
    except ValueError:
        name = f"signal {code - 128}"
    return f", killed by {name} (cancelled, or out of time or memory?)"
