"""Cluster jobs (issue 33): utils/slurm.pl, the launcher's executors (nas.launch, python -m
nas.bin.launch) and utils/srun_torchrun.sh, against a real single-node SLURM started here
(tests/slurm_cluster.py). The tests marked `cluster` skip, saying why, only where the daemons
cannot run; the others need no cluster."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from conftest import REPO, make_data_dir, script_env
from slurm_cluster import ClusterUnavailable, start_cluster, stop_cluster

STUB = REPO / "tests" / "bench_stub_job.py"


@pytest.fixture(scope="module")
def cluster():
    root = Path(tempfile.mkdtemp(prefix="nas-slurm-"))      # short: munge's socket path has a length limit
    old = os.environ.get("SLURM_CONF")
    try:
        c = start_cluster(root)
    except ClusterUnavailable as e:
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip(f"no SLURM cluster here: {e}")
    os.environ.update(c.env)                  # client commands of this test process and its children
    try:
        yield c
    finally:
        stop_cluster(c)
        if old is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = old
        shutil.rmtree(root, ignore_errors=True)


def launch(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nas.bin.launch", *args], cwd=str(cwd), env=script_env(),
                          capture_output=True, text=True, timeout=120)


# ---- without a cluster ----

def test_slurm_pl_help_and_option_errors(run, tmp_path):
    p = run("utils/slurm.pl", "--help")
    assert p.returncode == 0 and "Usage: utils/slurm.pl" in p.stdout and "option gpu=* --gres=gpu:$0" in p.stdout
    p = run("utils/slurm.pl", "--foo", "1", "JOB=1:2", "l.JOB.log", "true", cwd=tmp_path)
    assert p.returncode == 1 and "option --foo 1: the built-in config has no 'option foo=*'" in p.stderr, p.stderr
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "slurm.conf").write_text("command sbatch\noption mem=* --mem=$0\nbogus line\n")
    p = run("utils/slurm.pl", "--mem", "2G", "l.log", "true", cwd=tmp_path)
    assert p.returncode == 1 and "conf/slurm.conf: line 3: cannot parse 'bogus line'" in p.stderr, p.stderr
    p = run("utils/slurm.pl", "JOB=1:2", "same.log", "true", cwd=tmp_path)
    assert p.returncode == 1 and "does not contain 'JOB'" in p.stderr


def test_local_executor_lists_failures_with_logs(tmp_path):
    jobs = tmp_path / "jobs.tsv"
    jobs.write_text("a\tlogs/a.log\techo A > a.out\nb\tlogs/b.log\techo B; exit 3\nc\tlogs/c.log\techo C | cat > c.out\n")
    p = launch("--jobs", str(jobs), "--parallel", "2", cwd=tmp_path)
    assert p.returncode == 1, p.stderr
    assert f"b: failed (exit code 3), log is in {tmp_path}/logs/b.log" in p.stderr
    assert "2 of 3 jobs finished" in p.stderr and (tmp_path / "c.out").read_text() == "C\n"
    log = (tmp_path / "logs" / "b.log").read_text().splitlines()
    assert log[0] == "# echo B; exit 3" and log[-1].startswith("# Ended (code 3)") and "B" in log
    jobs.write_text("a\tlogs/a.log\ttrue\nbroken line\n")
    p = launch("--jobs", str(jobs), cwd=tmp_path)
    assert p.returncode != 0 and f"{jobs}: line 2: expected" in p.stderr


def test_gpu_and_memory_requests_reach_sbatch(run, tmp_path, monkeypatch):
    """The option mapping, by a stand-in sbatch that records its arguments (no GPU in the test cluster)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "sbatch").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/sbatch.args\necho 77\n')
    (bin_dir / "squeue").write_text("#!/bin/sh\nexit 0\n")               # the job has left the queue
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "slurm.conf").write_text(
        "command sbatch --export=ALL --partition=cpu --account=asr\noption gpu=* --partition=gpu --gres=gpu:$0\n"
        "option gpu=0\noption mem=* --mem=$0\ndefault gpu=0\n")
    p = run("utils/slurm.pl", "--gpu", "2", "--mem", "6G", "--max-jobs-run", "1", "JOB=1:2", "l.JOB.log", "true",
            cwd=tmp_path)
    args = (tmp_path / "sbatch.args").read_text().split()
    assert args[:3] == ["--export=ALL", "--partition=cpu", "--account=asr"]
    assert args[3:7] == ["--partition=gpu", "--gres=gpu:2", "--mem=6G", "--parsable"] and "--array=1-2%1" in args
    # nothing ran: both jobs are reported with SLURM's output file, and the exit status is 1
    assert p.returncode == 1 and "JOB 2 of SLURM job 77 ended without finishing its log l.2.log" in p.stderr
    from nas.launch.base import Resources
    from nas.launch.slurm import SlurmExecutor
    ex = SlurmExecutor(tmp_path / "s", Resources(cpus=4, gpus=1, mem_gb=2, time_min=90), partition="gpu",
                       account="asr")._executor(3)
    assert {k: ex.parameters[k] for k in ("gpus_per_node", "mem", "time", "cpus_per_task", "partition", "account")} \
        == {"gpus_per_node": 1, "mem": "2048M", "time": 90, "cpus_per_task": 4, "partition": "gpu", "account": "asr"}


# ---- against the cluster ----

def test_slurm_pl_job_array_logs_and_failures(cluster, run, tmp_path):
    t0 = time.time()
    p = run("utils/slurm.pl", "--num-threads", "2", "--max-jobs-run", "2", "JOB=1:3", "exp/log/t.JOB.log",
            "echo", "cpus=$SLURM_CPUS_PER_TASK", "job", "JOB", ";", "test", "JOB", "-ne", "2", cwd=tmp_path)
    assert p.returncode == 1, p.stdout + p.stderr
    assert f"JOB 2 failed (code 1), log is in exp/log/t.2.log" in p.stderr
    assert "1 / 3 failed" in p.stderr and "JOB 1 failed" not in p.stderr and "JOB 3" not in p.stderr
    for j in (1, 2, 3):
        lines = (tmp_path / "exp" / "log" / f"t.{j}.log").read_text().splitlines()
        assert lines[0] == f"# echo cpus=$SLURM_CPUS_PER_TASK job {j} ; test {j} -ne 2"
        assert lines[1].startswith("# Started at ") and f"cpus=2 job {j}" in lines
        assert re.fullmatch(r"# Accounting: time=\d+ threads=2", lines[-2])
        assert lines[-1].startswith(f"# Ended (code {1 if j == 2 else 0}) at ")
    p = run("utils/slurm.pl", "exp/log/one.log", "echo", "alone", cwd=tmp_path)
    assert p.returncode == 0 and "alone" in (tmp_path / "exp" / "log" / "one.log").read_text()
    assert time.time() - t0 < 40


def test_steps_script_through_slurm_pl(cluster, run, tmp_path):
    import numpy as np
    import soundfile
    import kaldiio
    rng = np.random.default_rng(0)
    (tmp_path / "wav").mkdir()
    utts = {}
    for i, spk in enumerate("aabb"):
        wav = tmp_path / "wav" / f"{spk}-{i}.wav"
        soundfile.write(wav, (rng.standard_normal(8000 + 1000 * i) * 3000).astype(np.int16), 16000)
        utts[f"{spk}-{i}"] = {"spk": spk, "text": "X", "wav": str(wav)}
    (tmp_path / "fbank.conf").write_text("--num-mel-bins=23\n--dither=0\n")
    for name, cmd in (("local", REPO / "utils" / "run.pl"), ("slurm", REPO / "utils" / "slurm.pl")):
        make_data_dir(tmp_path / name, utts)
        p = run("steps/make_fbank.sh", "--nj", "2", "--cmd", str(cmd), "--fbank-config", "fbank.conf", name,
                f"exp/{name}", f"fbank_{name}", cwd=tmp_path)
        assert p.returncode == 0, p.stdout + p.stderr
    assert sorted(p.name for p in (tmp_path / "exp" / "slurm" / "q").glob("*.out")) == \
        ["make_fbank_slurm-1.out", "make_fbank_slurm-2.out"]        # a 2-task array ran
    local, slurm = (kaldiio.load_scp(str(tmp_path / n / "feats.scp")) for n in ("local", "slurm"))
    assert sorted(slurm) == sorted(utts)
    for u in utts:
        np.testing.assert_array_equal(local[u], slurm[u])


def _bench_plan(bench: Path) -> None:
    """run_bench.sh's stage 0 at its tiny size (nas.bin.bench plan), in this process."""
    from nas.bin.bench import main
    assert main(["plan", "--out", str(bench), "--cells", "2", "--tdnn", "1", "--noise", "0", "--seeds", "0",
                 "--extra", "false", "--tdnn-space", str(REPO / "egs/synth/conf/bench_tdnn.json"),
                 "--cell-space", "nb_asr_small"]) == 0


def _jobs_file(bench: Path, hold: Path) -> list:
    """run_bench.sh's stage 1 in small: the pending trainings (nas.bin.bench pending) as launcher jobs
    of the stub trainer."""
    from nas.bench.ground_truth import pending_jobs
    ids = [(i, s) for i, s, _ in pending_jobs(bench)]
    (bench / "launch.tsv").write_text("".join(
        f"{i}_seed{s}\t{bench}/runs/{i}_seed{s}.log\t{sys.executable} {STUB} {bench} {i} {s} --hold {hold}\n"
        for i, s in ids))
    return ids


def _tables(bench: Path) -> dict:
    """run_bench.sh's stage 2 (nas.bin.bench collect), in this process: each file's rows."""
    from nas.bench.fileformat import read_file
    from nas.bench.ground_truth import collect
    collect(bench, log=lambda m: None)
    return {str(f.relative_to(bench)): read_file(f, "static" if "info" in f.name else "training")[1]
            for f in sorted((bench / "tables").rglob("*.pickle"))}


def test_table_build_on_slurm_survives_a_cancelled_job(cluster, tmp_path):
    bench = tmp_path / "slurm_bench"
    _bench_plan(bench)
    hold = tmp_path / "hold"
    hold.touch()
    ids = _jobs_file(bench, tmp_path / "no-hold")
    assert len(ids) == 3
    victim = f"{ids[1][0]}_seed{ids[1][1]}"
    lines = (bench / "launch.tsv").read_text().splitlines()     # the second job waits until cancelled
    lines[1] = lines[1].replace(str(tmp_path / "no-hold"), str(hold))
    (bench / "launch.tsv").write_text("\n".join(lines) + "\n")
    proc = subprocess.Popen([sys.executable, "-m", "nas.bin.launch", "--jobs", str(bench / "launch.tsv"),
                             "--executor", "slurm", "--parallel", "0", "--time-min", "10"], cwd=str(tmp_path),
                            env=script_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = bench / "runs" / f"{victim}.log"
    deadline = time.time() + 60
    while not (log.is_file() and "stub training" in log.read_text()):
        assert time.time() < deadline and proc.poll() is None, f"the job never started: {proc.communicate()}"
        time.sleep(0.3)
    slurm_id = re.search(r"SLURM job (\d+_\d+)", log.read_text()).group(1)
    cluster.run("scancel", slurm_id)                                # killed mid-way
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 1, err
    # the job's shell dies of SLURM's SIGTERM; submitit's process, which traps it, reports that
    assert f"{victim}: failed (exit code 143; SLURM job {slurm_id}, killed by SIGTERM (cancelled" in err, err
    assert (bench / "runs" / f"{victim}.log").read_text().splitlines()[-1].startswith("# Ended (code 143)")
    assert f"log is in {log}" in err and "2 of 3 jobs finished" in err
    # the rerun submits only what is not finished: the cancelled job
    assert _jobs_file(bench, tmp_path / "no-hold") == [ids[1]]
    p = launch("--jobs", str(bench / "launch.tsv"), "--executor", "slurm", "--time-min", "10", cwd=tmp_path)
    assert p.returncode == 0 and "1 of 1 jobs finished" in p.stderr, p.stderr
    # the same table as the local executor's
    local = tmp_path / "local_bench"
    local.mkdir()
    for f in ("plan.json", "jobs.txt", "archs"):              # the same plan, not yet trained
        (shutil.copytree if f == "archs" else shutil.copy)(bench / f, local / f)
    _jobs_file(local, tmp_path / "no-hold")
    p = launch("--jobs", str(local / "launch.tsv"), "--parallel", "2", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    on_slurm, here = _tables(bench), _tables(local)
    assert set(on_slurm) == {"tables/cell/nb-asr-e1-0.pickle", "tables/cell/nb-asr-info.pickle",
                             "tables/tdnn/nb-asr-e1-0.pickle", "tables/tdnn/nb-asr-info.pickle"}
    assert on_slurm == here


def test_searches_on_slurm(cluster, tmp_path):
    """local/run_searches.sh --executor slurm: warm-ups, then searches, one SLURM job each; a failed
    search named with its log and resubmitted alone by the rerun (the stand-in run.sh of
    tests/test_run_searches.py)."""
    from test_run_searches import check_finished, fake_recipe, run_searches
    recipe = fake_recipe(tmp_path)
    opts = ("--executor", "slurm", "--launch-opts", "--time-min 10")
    p = run_searches(recipe, *opts, fail="exp/searches/runs/st_run2")
    assert p.returncode == 1, p.stdout + p.stderr
    log = recipe / "exp" / "searches" / "runs" / "st_run2.log"
    assert re.search(rf"st_run2: failed \(exit code 3; SLURM job \d+_\d+\), log is in {re.escape(str(log))}",
                     p.stderr) and "5 of 6 jobs finished" in p.stderr, p.stderr
    assert "SLURM job" in log.read_text().splitlines()[2]          # run.pl's header, written on the node
    p = run_searches(recipe, *opts)
    assert p.returncode == 0 and "1 search(es) to run" in p.stdout, p.stdout + p.stderr
    check_finished(recipe, ["st_run0", "darts_run0", "st_run1", "darts_run1", "st_run2", "darts_run2"])


def test_ddp_step_through_srun(cluster, run, tmp_path, monkeypatch):
    from slurm_cluster import free_ports
    monkeypatch.setenv("MASTER_PORT", str(free_ports(1)[0]))   # not 29500 + job id: other tests' torchrun
    out = tmp_path / "ddp.json"
    p = run("utils/srun_torchrun.sh", "--nodes", "1", "--tasks-per-node", "2", "--nproc-per-node", "1",
            str(REPO / "tests" / "ddp_step.py"), str(out), cwd=tmp_path)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[:3000] + "\n...\n" + p.stderr[-3000:]
    assert p.stderr.count("rendezvous at ") == 2               # two agents, as on two nodes
    r = json.loads(out.read_text())
    assert r["world"] == 2 and r["rank_sum"] == 1.0
    assert r["step_size"] > 1e-3 and r["max_diff"] < 1e-6      # the step moved, and as one process on all data
