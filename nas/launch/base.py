"""The launcher's data: a job, its resources, its outcome, and the interface every executor keeps."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence


@dataclass
class Resources:
    """What one job asks for; a local executor has nothing to reserve and only reads `cpus` (threads)."""
    cpus: int = 1
    gpus: int = 0
    mem_gb: Optional[float] = None
    time_min: Optional[int] = None


@dataclass
class Job:
    """A shell command (run by bash with pipefail, as utils/run.pl runs one) writing `log`."""
    name: str
    command: str
    log: Path
    cwd: Optional[Path] = None
    env: Dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    """How a job ended: its exit code (None when it never reported one: cancelled, killed) and why."""
    job: Job
    code: Optional[int]
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.code == 0


@dataclass
class Report:
    finished: List[Outcome] = field(default_factory=list)
    failed: List[Outcome] = field(default_factory=list)

    def add(self, outcome: Outcome) -> None:
        (self.finished if outcome.ok else self.failed).append(outcome)

    def lines(self) -> List[str]:
        """One line per failed job naming its log, so the user knows what to read before rerunning."""
        out = []
        for o in self.failed:
            why = f"exit code {o.code}" if o.code is not None else "no exit code"
            out.append(f"{o.job.name}: failed ({why}{'; ' + o.detail if o.detail else ''}), log is in {o.job.log}")
        return out


class Executor(ABC):
    """Runs a batch of jobs to their end and says which finished."""

    @abstractmethod
    def submit(self, jobs: Sequence[Job]) -> Report:
        """Run every job (waiting for all); a failure does not stop the others."""


def run_logged(job: Job) -> int:
    """Run a job's command, its output into its log between run.pl's header and footer lines, so a
    log reads the same whichever executor ran it; returns the exit code."""
    log = Path(job.log)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    with open(log, "w") as f:
        f.write(f"# {job.command}\n# Started at {time.ctime(start)}\n"
                f"# on {socket.gethostname()}{_slurm_id()}\n")
        f.flush()
        env = {**os.environ, **job.env}
        proc = subprocess.run(["bash", "-c", "set -o pipefail\n" + job.command], stdout=f, stderr=subprocess.STDOUT,
                              cwd=str(job.cwd) if job.cwd else None, env=env)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    end = time.time()
    with open(log, "a") as f:
        f.write(f"# Accounting: time={int(end - start)} threads=1\n# Ended (code {code}) at {time.ctime(end)}\n")
    return code


def _slurm_id() -> str:
    job = os.environ.get("SLURM_ARRAY_JOB_ID")
    if job:
        return f", SLURM job {job}_{os.environ.get('SLURM_ARRAY_TASK_ID', '?')}"
    job = os.environ.get("SLURM_JOB_ID")
    return f", SLURM job {job}" if job else ""
