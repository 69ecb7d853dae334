"""utils/run.pl: job arrays, logs, failure reporting, --max-jobs-run."""
from __future__ import annotations

import re


def read(p):
    return p.read_text()


def test_help(run):
    p = run("utils/run.pl", "--help")
    assert p.returncode == 0
    assert "Usage: utils/run.pl" in p.stdout
    assert "--max-jobs-run" in p.stdout and "ignored" in p.stdout


def test_no_args_prints_usage(run):
    p = run("utils/run.pl")
    assert p.returncode != 0
    assert "Usage:" in p.stderr


def test_job_array_substitutes_and_logs(run, tmp_path):
    log = tmp_path / "exp" / "log" / "job.JOB.log"   # log dir does not exist yet
    out = tmp_path / "out.JOB"
    p = run("utils/run.pl", "JOB=1:4", log, "echo", "job", "JOB", "|", "tr", "a-z", "A-Z", ">", out)
    assert p.returncode == 0, p.stderr
    for j in range(1, 5):
        assert (tmp_path / f"out.{j}").read_text() == f"JOB {j}\n"
        lines = read(tmp_path / "exp" / "log" / f"job.{j}.log").splitlines()
        assert lines[0] == f"# echo job {j} | tr a-z A-Z > {tmp_path}/out.{j}"
        assert lines[1].startswith("# Started at ")
        assert re.fullmatch(r"# Accounting: time=\d+ threads=1", lines[-2])
        assert lines[-1].startswith("# Ended (code 0) at ")


def test_other_range_name_and_output_in_log(run, tmp_path):
    p = run("utils/run.pl", "N=2:3", tmp_path / "l.N.log", "echo", "part", "N")
    assert p.returncode == 0, p.stderr
    assert not (tmp_path / "l.1.log").exists()
    lines = read(tmp_path / "l.3.log").splitlines()
    assert lines[0] == "# echo part 3"
    assert lines[2] == "part 3"


def test_one_failed_job_of_four(run, tmp_path):
    p = run("utils/run.pl", "JOB=1:4", tmp_path / "log" / "j.JOB.log", "[ JOB -ne 3 ]")
    assert p.returncode == 1
    assert p.stderr.strip() == f"run.pl: 1 / 4 failed, log is in {tmp_path}/log/j.3.log"
    assert read(tmp_path / "log" / "j.3.log").splitlines()[-1].startswith("# Ended (code 1) at ")
    assert read(tmp_path / "log" / "j.2.log").splitlines()[-1].startswith("# Ended (code 0) at ")


def test_several_failures_name_first(run, tmp_path):
    p = run("utils/run.pl", "JOB=1:4", tmp_path / "j.JOB.log", "exit $(( JOB % 2 ? 0 : 7 ))")
    assert p.returncode == 1
    assert p.stderr.strip() == f"run.pl: 2 / 4 failed, log is in {tmp_path}/j.2.log"
    assert "# Ended (code 7)" in read(tmp_path / "j.4.log")


def test_single_job(run, tmp_path):
    log = tmp_path / "one.log"
    p = run("utils/run.pl", log, "echo 'a b c' | wc -w")   # one word: run as written
    assert p.returncode == 0, p.stderr
    lines = read(log).splitlines()
    assert lines[0] == "# echo 'a b c' | wc -w"
    assert lines[2].strip() == "3"
    p = run("utils/run.pl", log, "false")
    assert p.returncode == 1
    assert p.stderr.strip() == f"run.pl: job failed, log is in {log}"
    assert "# Ended (code 1)" in read(log)


def test_word_with_space_stays_one_argument(run, tmp_path):
    log = tmp_path / "q.log"
    p = run("utils/run.pl", log, "printf", "%s.", "a b", "c")
    assert p.returncode == 0, p.stderr
    assert "a b.c." in read(log)


def test_pipefail(run, tmp_path):
    p = run("utils/run.pl", tmp_path / "p.log", "false", "|", "cat")
    assert p.returncode == 1


def test_queue_options_accepted(run, tmp_path):
    p = run("utils/run.pl", "--num-threads", "4", "--mem", "2G", "--gpu", "1",
            "JOB=1:2", tmp_path / "g.JOB.log", "true")
    assert p.returncode == 0, p.stderr
    assert (tmp_path / "g.2.log").exists()


def test_max_jobs_run_serialises(run, tmp_path):
    # mkdir is atomic: it fails if another job holds the lock at the same time.
    lock = tmp_path / "lock"
    cmd = f"mkdir {lock} && sleep 0.2 && rmdir {lock}"
    p = run("utils/run.pl", "--max-jobs-run", "1", "JOB=1:3", tmp_path / "m.JOB.log", cmd)
    assert p.returncode == 0, p.stderr


def test_jobs_run_in_parallel_by_default(run, tmp_path):
    # Each job waits (up to 10 s) until all three have started: only passes in parallel.
    d = tmp_path / "flags"
    d.mkdir()
    cmd = (f"touch {d}/JOB; for i in $(seq 100); do [ $(ls {d} | wc -l) -eq 3 ] && exit 0; "
           f"sleep 0.1; done; exit 1")
    p = run("utils/run.pl", "JOB=1:3", tmp_path / "w.JOB.log", cmd)
    assert p.returncode == 0, p.stderr


def test_range_needs_job_in_log_name(run, tmp_path):
    p = run("utils/run.pl", "JOB=1:2", tmp_path / "same.log", "true")
    assert p.returncode == 1
    assert "does not contain 'JOB'" in p.stderr


def test_bad_max_jobs(run, tmp_path):
    p = run("utils/run.pl", "--max-jobs-run", "x", tmp_path / "a.log", "true")
    assert p.returncode != 0
    assert "--max-jobs-run" in p.stderr
