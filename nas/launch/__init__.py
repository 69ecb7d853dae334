"""Running many independent jobs (one per table entry or search) on this machine or on SLURM.

`Executor.submit(jobs)` runs every job and returns which finished and which failed, with their logs:
`LocalExecutor` (N at once here) and `SlurmExecutor` (one SLURM array through submitit). A driver
stays resumable by submitting only what is still to do, as run_bench.sh's `pending` list does.
"""
from nas.launch.base import Executor, Job, Outcome, Report, Resources, run_logged

__all__ = ["Executor", "Job", "Outcome", "Report", "Resources", "run_logged"]
