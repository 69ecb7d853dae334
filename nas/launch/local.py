"""The local executor: at most `parallel` jobs at once on this machine (run_bench.sh's --parallel N)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Optional, Sequence

from nas.launch.base import Executor, Job, Outcome, Report, run_logged


class LocalExecutor(Executor):
    def __init__(self, parallel: int = 1, log: Optional[Callable[[str], None]] = None) -> None:
        if parallel < 1:
            raise ValueError(f"parallel must be at least 1, got {parallel}")
        self.parallel = parallel
        self.log = log or (lambda m: None)

    def _one(self, job: Job) -> Outcome:
        self.log(f"started {job.name} (log {job.log})")
        try:
            code = run_logged(job)
        except OSError as e:                 # no bash, an unwritable log dir: the job's failure, not the batch's
            return Outcome(job, None, f"could not start: {e}")
        self.log(f"{'finished' if code == 0 else 'FAILED'} {job.name}")
        return Outcome(job, code)

    def submit(self, jobs: Sequence[Job]) -> Report:
        report = Report()
        # threads suffice: each waits on its own child process
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            for outcome in pool.map(self._one, jobs):
                report.add(outcome)
        return report
