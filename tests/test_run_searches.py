"""egs/synth/local/run_searches.sh on the launcher (issue 33): every warm-up and search one job of
local/search_job.sh through python -m nas.bin.launch; a failed job named with its log, a rerun
submitting only what is unfinished. The recipe's ./run.sh is a stand-in that writes what stages 4-6
leave, so the driver's logic runs in seconds; tests/test_slurm.py runs the same on SLURM."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

import pytest
from conftest import REPO, script_env

SYNTH = REPO / "egs" / "synth"

# stages 4 (warm-up) and 5-6 (search, derivation) in small: the files the driver checks, the
# arguments it was called with, and a failure while $FAIL_RUN names the run's exp dir
STUB_RUN = r"""#!/usr/bin/env bash
set -euo pipefail
args="$*"
while [ $# -gt 0 ]; do
  case $1 in
    --stage) stage=$2 ;; --warmup-dir) warmup_dir=$2 ;; --exp-dir) exp_dir=$2 ;;
    --method) method=$2 ;; --seed) seed=$2 ;;
  esac
  shift 2
done
echo "stub run.sh: $args"
if [ $stage = 4 ]; then
  mkdir -p $warmup_dir && touch $warmup_dir/done
else
  [ "${FAIL_RUN:-}" != "$exp_dir" ] || { echo "stub run.sh: failing as asked" >&2; sleep 0.3; exit 3; }
  mkdir -p $exp_dir/derive
  printf '{"method": "%s", "seed": %s, "warmup_dir": "%s", "omp": "%s"}\n' $method $seed $warmup_dir \
    "${OMP_NUM_THREADS:-}" > $exp_dir/derive/arch.json
fi
"""


def fake_recipe(root: Path) -> Path:
    """A copy of egs/synth's driver, job script, settings and environment with the stand-in run.sh."""
    r = root / "recipe"
    (r / "local").mkdir(parents=True)
    (r / "conf").mkdir()
    for f in ("local/run_searches.sh", "local/search_job.sh", "conf/bench.conf", "path.sh"):
        shutil.copy2(SYNTH / f, r / f)
    (r / "utils").symlink_to(REPO / "utils")
    (r / "run.sh").write_text(STUB_RUN)
    (r / "run.sh").chmod(0o755)
    (r / "data" / "train_bench").mkdir(parents=True)
    (r / "data" / "train_bench" / "feats.scp").write_text("u1 x.ark:1\n")
    (r / "results").mkdir()
    (r / "results" / "exhaustive.csv").write_text("id\n")
    return r


def run_searches(recipe: Path, *args: str, fail: str = "", timeout: int = 120) -> subprocess.CompletedProcess:
    env = script_env()
    env.pop("OMP_NUM_THREADS", None)
    if fail:
        env["FAIL_RUN"] = fail
    return subprocess.run(["local/run_searches.sh", "--score", "false", "--export", "", "--methods", "st darts",
                           "--runs", "3", "--warmups", "2", *args], cwd=str(recipe), env=env,
                          capture_output=True, text=True, timeout=timeout)


def check_finished(recipe: Path, names: Sequence[str]) -> None:
    """Each run dir searched from warm-up (seed mod 2), with its seconds and warm-up seed."""
    for name in names:
        seed = int(name.rsplit("run", 1)[1])
        d = recipe / "exp" / "searches" / "runs" / name
        arch = json.loads((d / "derive" / "arch.json").read_text())
        assert arch["seed"] == seed and arch["warmup_dir"] == f"exp/searches/warmup_seed{seed % 2}/warmup"
        assert float((d / "seconds").read_text()) >= 0 and (d / "warmup_seed").read_text() == f"{seed % 2}\n"


def test_failed_search_is_named_and_rerun_alone(tmp_path):
    recipe = fake_recipe(tmp_path)
    p = run_searches(recipe, "--parallel", "2", fail="exp/searches/runs/darts_run1")
    assert p.returncode == 1, p.stdout + p.stderr
    log = recipe / "exp" / "searches" / "runs" / "darts_run1.log"
    assert f"darts_run1: failed (exit code 3), log is in {log}" in p.stderr
    assert "5 of 6 jobs finished" in p.stderr and "search(es) failed" in p.stderr
    lines = log.read_text().splitlines()
    assert lines[0].startswith("# local/search_job.sh --bench exp/searches --warmups 2") and lines[0].endswith(
        "run darts 1 ")
    assert "stub run.sh: failing as asked" in lines and lines[-1].startswith("# Ended (code 3)")
    assert not (recipe / "exp/searches/runs/darts_run1/seconds").exists()
    for w in (0, 1):                            # the warm-ups ran before any search, each logged
        assert (recipe / f"exp/searches/warmup_seed{w}/warmup/done").is_file()
        assert "--stage 4" in (recipe / f"exp/searches/warmup_seed{w}.log").read_text()
    check_finished(recipe, ["st_run0", "darts_run0", "st_run1", "st_run2", "darts_run2"])
    # 2 at once on this machine: one thread each
    assert json.loads((recipe / "exp/searches/runs/st_run0/derive/arch.json").read_text())["omp"] == "1"
    p = run_searches(recipe, "--parallel", "1")                 # the rerun: only the failed search
    assert p.returncode == 0, p.stdout + p.stderr
    assert "0 of 2 warm-up(s) to run" in p.stdout and "1 search(es) to run" in p.stdout
    assert [l.split("\t")[0] for l in (recipe / "exp/searches/launch_runs.tsv").read_text().splitlines()] \
        == ["darts_run1"]
    check_finished(recipe, ["darts_run1"])
    d = recipe / "exp/searches/runs/darts_run1"           # the cost counts the failed attempt too
    attempts = [float(x) for x in (d / "seconds.attempts").read_text().split()]
    assert len(attempts) == 2 and attempts[0] >= 0.3
    assert float((d / "seconds").read_text()) == pytest.approx(sum(attempts), abs=0.11)
    assert json.loads((recipe / "exp/searches/runs/darts_run1/derive/arch.json").read_text())["omp"] == ""
    p = run_searches(recipe)
    assert p.returncode == 0 and "0 search(es) to run" in p.stdout


def test_max_runs_and_job_script_errors(tmp_path, run):
    recipe = fake_recipe(tmp_path)
    p = run_searches(recipe, "--max-runs", "2")
    assert p.returncode == 0 and "2 search(es) to run" in p.stdout, p.stdout + p.stderr
    assert sorted(d.name for d in (recipe / "exp/searches/runs").iterdir() if d.is_dir()) == ["darts_run0", "st_run0"]
    env = script_env()
    p = subprocess.run(["local/search_job.sh", "--warmups", "3", "run", "st", "2"], cwd=str(recipe), env=env,
                       capture_output=True, text=True)
    assert p.returncode == 1 and "no finished warm-up in exp/searches/warmup_seed2" in p.stderr
    assert "local/search_job.sh warmup 2" in p.stderr
    p = subprocess.run(["local/search_job.sh", "search", "st"], cwd=str(recipe), env=env, capture_output=True,
                       text=True)
    assert p.returncode == 1 and "Usage: local/search_job.sh [options] warmup <seed>" in p.stderr
    p = run(str(SYNTH / "local" / "search_job.sh"), "--help", cwd=Path("/"))
    assert "Usage: local/search_job.sh" in p.stdout + p.stderr


def test_a_tagged_variant_passes_its_search_options(tmp_path):
    """--tag and --search-opts (local/run_latency_searches.sh's budgets): run dirs <method>-<tag>_run<r>,
    the options on the search's command line, the unconstrained runs untouched."""
    recipe = fake_recipe(tmp_path)
    p = run_searches(recipe, "--runs", "1", "--tag", "p50", "--search-opts",
                     "--latency-table t.json --latency-target 12.5 --latency-mode hard")
    assert p.returncode == 0, p.stdout + p.stderr
    runs = recipe / "exp" / "searches" / "runs"
    assert sorted(d.name for d in runs.iterdir() if d.is_dir()) == ["darts-p50_run0", "st-p50_run0"]
    log = (runs / "st-p50_run0.log").read_text()
    assert "--latency-target 12.5 --latency-mode hard" in log and "=== st (p50) run 0" in log
    assert (recipe / "exp/searches/launch_runs_p50.tsv").is_file()
    p = run_searches(recipe, "--runs", "1")
    assert p.returncode == 0 and "2 search(es) to run" in p.stdout          # the plain runs are separate
    assert "--latency" not in (runs / "st_run0.log").read_text()
    p = run_searches(recipe, "--tag", "P50")
    assert p.returncode == 1 and "--tag 'P50': use lowercase letters, digits and dots" in p.stderr


def test_soft_latency_runs_are_kept_apart_from_the_hard_ones(tmp_path):
    """local/run_latency_searches.sh: a soft budget's runs get their own tag (softp50), so that a
    finished hard run of the same budget is not taken for them and BENCH.md does not pool the two."""
    recipe = fake_recipe(tmp_path)
    shutil.copy2(SYNTH / "local" / "run_latency_searches.sh", recipe / "local")
    lut = "results/latency/latency-vm2-cpu-t1-offline-fit-onehot.json"
    (recipe / lut).parent.mkdir(parents=True)
    shutil.copy2(SYNTH / lut, recipe / lut)
    env = script_env()
    env.pop("OMP_NUM_THREADS", None)

    def latency(mode: str) -> subprocess.CompletedProcess:
        return subprocess.run(["local/run_latency_searches.sh", "--methods", "st", "--runs", "1", "--warmups", "1",
                               "--percentiles", "50", "--latency-mode", mode,
                               "--searches-opts", "--score false --export="],
                              cwd=str(recipe), env=env, capture_output=True, text=True, timeout=120)
    for mode in ("hard", "soft"):
        p = latency(mode)
        assert p.returncode == 0, p.stdout + p.stderr
    runs = recipe / "exp" / "searches" / "runs"
    assert sorted(d.name for d in runs.iterdir() if d.is_dir()) == ["st-p50_run0", "st-softp50_run0"]
    assert "--latency-mode soft" in (runs / "st-softp50_run0.log").read_text()
    assert "--latency-mode hard" in (runs / "st-p50_run0.log").read_text()
    p = latency("medium")
    assert p.returncode == 1 and "--latency-mode 'medium': hard or soft" in p.stderr


def test_the_searches_use_the_tables_loss():
    """The warm-ups and searches of the exhaustive space train with the loss the table's architectures
    were trained with (conf/exhaustive/retrain.yaml): with CTC alone a warm-up stays on the blank
    plateau, and scores would rank architectures by another objective. (A commit once said both had
    changed to CTC-CRF while the warm-up's file still said CTC.)"""
    import yaml
    conf = SYNTH / "conf" / "exhaustive"
    table = yaml.safe_load((conf / "retrain.yaml").read_text())
    for stage in ("warmup.yaml", "search.yaml"):
        cfg = yaml.safe_load((conf / stage).read_text())
        assert (cfg["loss"], cfg.get("lamb")) == (table["loss"], table.get("lamb")), stage
        if cfg["loss"] == "ctc-crf":
            assert cfg["den_dir"] == "data/den_meta", stage


def test_the_exhaustive_configs_are_valid_stage_configs():
    """Every option of the runs' configs is one its stage knows (a typo would stop 50 runs at their start)."""
    import argparse
    from nas.options import build_config
    from nas.train.retrain import RetrainConfig
    from nas.train.search import SearchConfig
    from nas.train.warmup import WarmupConfig
    conf = SYNTH / "conf" / "exhaustive"
    pilots = [(f.name, SearchConfig) for f in sorted(conf.glob("pilot_search*.yaml"))]
    assert len(pilots) >= 3
    for name, cls in [("warmup.yaml", WarmupConfig), ("search.yaml", SearchConfig), ("retrain.yaml", RetrainConfig),
                      *pilots]:
        cfg = build_config(cls, argparse.Namespace(config=str(conf / name), data="d", lang="l", arch="a.json"))
        assert cfg.data == "d", name
    search = build_config(SearchConfig, argparse.Namespace(config=str(conf / "search.yaml"), data="d", lang="l"))
    assert (search.arch_lr, search.arch_lr_scale, search.until_converged, search.max_epochs) == (0.01, 1.0, True, 12)
