"""tools/gpu_check.sh without a GPU: --prepare, then --dry-run in another copy of the recipe (as on
a GPU machine, which gets the data carried), every step that needs no CUDA run and the rest named."""
import json
import sys

import torch

from conftest import REPO
from test_recipe_synth import recipe_copy


def test_prepare_then_dry_run(run, tmp_path):
    work, out = tmp_path / "work", tmp_path / "out"
    r = run("tools/gpu_check.sh", "--prepare", "--recipe", recipe_copy(tmp_path / "here"), "--work", work,
            "--wheels", "false")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert (work / "synth" / "data_tiny" / "train_sp" / "feats.scp").is_file()
    there = recipe_copy(tmp_path / "there")          # no data of its own, another path
    r = run("tools/gpu_check.sh", "--dry-run", "--recipe", there, "--work", work, "--out", out)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "unpacked the tiny data" in r.stdout
    scp = (there / "data_tiny" / "train_sp" / "feats.scp").read_text()
    assert str(there / "fbank_tiny") in scp and str(tmp_path / "here") not in scp
    doc = json.loads((out / "gpu_check.json").read_text())
    steps = doc["steps"]
    assert doc["dry_run"] and list(steps) == ["build", "env", "kernel", "throughput", "recipe", "memory"]
    assert steps["build"]["status"] == "skipped" and "dry run" in steps["build"]["why"]
    assert all(steps[s]["status"] == "ok" for s in ("env", "kernel", "throughput", "recipe", "memory")), steps
    assert "reference" in steps["kernel"]["compared"] and all(c["ok"] for c in steps["kernel"]["cases"])
    assert {c["graph"] for c in steps["kernel"]["cases"]} == {"small", "wsj"}
    assert steps["throughput"]["rows"][0]["cpu_kernel"] > 0
    cpu = steps["recipe"]["runs"]["cpu"]
    assert cpu["rc"] == 0 and cpu["test_wer"] is not None and cpu["arch"]
    assert all(cpu[f"{s}_valid_loss"] > 0 for s in ("warmup", "search", "retrain"))
    assert steps["memory"]["summary"]["st_arch_mb"] > 0
    for s in ("kernel", "throughput", "recipe", "memory"):        # what a GPU would add, said
        assert "no CUDA device" in steps[s]["not_run"]


def test_a_step_past_the_budget_is_skipped_and_a_mismatch_fails(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(REPO / "tools"))
    import gpu_check
    assert gpu_check.main(["--dry-run", "--steps", "env kernel", "--budget-s", "0", "--out", str(tmp_path)]) == 0
    steps = json.loads((tmp_path / "gpu_check.json").read_text())["steps"]
    assert all(s["status"] == "skipped" and "out of time" in s["why"] for s in steps.values())
    from ctc_crf import den_log_partition
    graph = gpu_check._small_graph()
    exact = lambda g, x, n: den_log_partition(g, x, n)                 # noqa: E731
    off = lambda g, x, n: den_log_partition(g, x, n) * (1 + 1e-6)      # noqa: E731
    assert gpu_check._compare(graph, 3, 20, torch.float64, exact, exact, seed=0)["ok"]
    assert not gpu_check._compare(graph, 3, 20, torch.float64, exact, off, seed=0)["ok"]     # 1e-6 > 1e-9
    assert gpu_check._compare(graph, 3, 20, torch.float32, exact, off, seed=0)["ok"]         # 1e-6 < 1e-4
    del sys.modules["gpu_check"]
