"""nas.bench.latency and `nas.bin.bench latency`: timing, ops in place, the lookup table and its
file, the predictors and their judging, the table-format benchmarking files, the command."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import pytest
import torch

from nas.bench.codec import codec_of_space
from nas.bench.fileformat import read_file, write_training
from nas.bench.latency import LatencyError, LatencyTable, Setting, load_latency_table
from nas.bench.latency.measure import TimingOptions, measure, measure_ops, places
from nas.bench.latency.predictor import errors, fit_onehot, fit_scale, judge, out_of_fold
from nas.bench.latency.survey import choose_archs, survey
from nas.bench.latency.timing import Timing, make_settings, time_interleaved
from nas.bench.table import load_folder
from nas.bin.bench import main as bench_main
from nas.models.space import load_space, parse_space

from conftest import REPO

HEAVY, LIGHT = "tdnn-C8D1", "identity"
# Two searching blocks: a wide convolution (kernel 17) against identity, which costs nothing.
TINY = {"name": "lat_tiny", "hidden": 64, "layer_norm": False, "candidates": [LIGHT, HEAVY],
        "nodes": [{"name": "b1", "search": True}, {"name": "b2", "search": True},
                  {"name": "output", "op": "linear", "out": "tokens"}]}
FAST = TimingOptions(warmup=1, reps=5, min_sample_ms=0.5)
OFFLINE = Setting("cpu", 1, "offline", 2, 400)


@pytest.fixture(scope="module")
def tiny():
    return parse_space(TINY, "lat_tiny.json")


@pytest.fixture(scope="module")
def tiny_table(tiny):
    return measure_ops(tiny, OFFLINE, 64, 10, FAST)


def _table(fixed=1.0):
    return LatencyTable("s", {"device": "cpu"}, fixed, {"a": {"x": 1.0, "y": 3.0}, "b": {"x": 2.0, "y": 5.0, "z": 0.5}})


ALL = [{"a": a, "b": b} for a in ("x", "y") for b in ("x", "y", "z")]


# ------------------------------------------------------------------------------------- timing

def test_time_interleaved_orders_and_calibrates():
    t = time_interleaved({"slow": lambda: time.sleep(0.004), "fast": lambda: None}, warmup=1, reps=5,
                         min_sample_ms=1.0)
    assert t["slow"].median_ms > 3.5 > t["fast"].median_ms
    assert t["slow"].number == 1 and t["fast"].number > 1      # a fast call is repeated within a sample
    assert len(t["fast"].samples_ms) == 5


def test_timing_quantiles_and_spread():
    t = Timing([1.0, 2.0, 3.0, 4.0, 5.0], 1)
    assert (t.median_ms, t.quantile(0.25), t.quantile(0.75)) == (3.0, 2.0, 4.0)
    assert t.spread == pytest.approx(2.0 / 3.0)


def test_settings_names_and_shapes():
    s = make_settings([1, 2], ["stream", "offline"], cuda=True, batch=4, seconds=10, chunk=40)
    assert [x.name("vm") for x in s] == ["vm-cpu-t1-stream", "vm-cpu-t1-offline", "vm-cpu-t2-stream",
                                         "vm-cpu-t2-offline", "vm-cuda-stream", "vm-cuda-offline"]
    assert (s[0].batch, s[0].frames, s[1].batch, s[1].frames) == (1, 40, 4, 1000)
    with pytest.raises(LatencyError, match="--modes"):
        make_settings([1], ["online"], False, 1, 10, 40)


# ------------------------------------------------------------------------------------- ops in place

def test_places_follow_strides():
    space = parse_space({"name": "st", "hidden": 16, "candidates": ["tdnn-C1D1", "tdnn-C1D2"],
                         "nodes": [{"name": "b1", "search": True}, {"name": "sub", "op": "tdnn-C1D1S3"},
                                   {"name": "b2", "search": True}, {"name": "out", "op": "linear", "out": "tokens"}]})
    got = {(p.node, p.block): (p.frames, p.in_dim, p.out_dim) for p in places(space, 40, 7, 100)}
    assert got[("b1", "b1")] == (100, 40, 16)
    assert got[("sub", None)] == (100, 16, 16)
    assert got[("b2", "b2")] == (34, 16, 16)            # ceil(100 / 3): after the subsampling
    assert got[("<head>", None)] == (34, 7, 7)


def test_expensive_op_costs_more(tiny_table):
    for b in ("b1", "b2"):
        assert tiny_table.blocks[b][HEAVY] > 5 * tiny_table.blocks[b][LIGHT]
    assert tiny_table.fixed_ms > 0
    assert tiny_table.meta["machine"]["torch"] == torch.__version__
    assert tiny_table.setting["input_dim"] == 64


def test_tied_block_sums_its_edges():
    space = parse_space({"name": "tied", "hidden": 32, "nodes": [
        {"name": "x1", "edges": [{"search": True, "block": "t", "candidates": [LIGHT, HEAVY]}]},
        {"name": "x2", "edges": [{"search": True, "block": "t", "candidates": [LIGHT, HEAVY]}]},
        {"name": "out", "op": "linear", "out": "tokens"}]})
    table = measure_ops(space, Setting("cpu", 1, "offline", 1, 200), 32, 5, FAST)
    edges = [o["median_ms"] for o in table.ops if o["block"] == "t" and o["op"] == HEAVY]
    assert len(edges) == 2 and table.blocks["t"][HEAVY] == pytest.approx(sum(edges))


# ------------------------------------------------------------------------------------- lookup table

def test_predict_and_expected():
    t = _table()
    assert t.predict({"a": "y", "b": "z"}) == pytest.approx(1.0 + 3.0 + 0.5)
    assert t.expected({"a": [0, 1], "b": [0, 0, 1]}) == pytest.approx(4.5)
    assert t.expected([[0.5, 0.5], [0.0, 1.0, 0.0]]) == pytest.approx(1.0 + 2.0 + 5.0)
    pa = torch.tensor([0.25, 0.75], requires_grad=True)
    pb = torch.tensor([1.0, 0.0, 0.0], requires_grad=True)
    e = t.expected([pa, pb])
    e.backward()
    assert float(e.detach()) == pytest.approx(1.0 + 0.25 + 2.25 + 2.0)
    assert pa.grad.tolist() == [1.0, 3.0] and pb.grad.tolist() == [2.0, 5.0, 0.5]
    with pytest.raises(LatencyError, match="block b has 3 candidates"):
        t.expected([[0.5, 0.5], [1.0, 0.0]])
    with pytest.raises(LatencyError, match="no candidate 'w'"):
        t.predict({"a": "x", "b": "w"})
    with pytest.raises(LatencyError, match="missing blocks"):
        t.predict({"a": "x"})


def test_table_file_round_trip(tmp_path, tiny_table, tiny):
    path = tiny_table.save(tmp_path / "latency.json")
    back = load_latency_table(path)
    assert (back.blocks, back.fixed_ms, back.setting, back.kind) == (tiny_table.blocks, tiny_table.fixed_ms,
                                                                      tiny_table.setting, "sum")
    back.check_space(tiny)
    assert back.predict({"b1": HEAVY, "b2": LIGHT}) == pytest.approx(tiny_table.predict({"b1": HEAVY, "b2": LIGHT}))
    with pytest.raises(LatencyError, match="not of"):
        back.check_space(parse_space(dict(TINY, name="other")))
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "st-nas-latency/1",\n "space": }')
    with pytest.raises(LatencyError, match=r"bad.json: line 2"):
        load_latency_table(bad)
    d = json.loads(path.read_text())
    d["blocks"]["b1"][HEAVY] = "fast"
    bad.write_text(json.dumps(d))
    with pytest.raises(LatencyError, match=f"block b1 candidate {HEAVY}"):
        load_latency_table(bad)


# ------------------------------------------------------------------------------------- predictors

def test_fit_scale_recovers_offset_and_factor():
    t = _table()
    measured = [3.0 + 2.0 * t.predict(a) for a in ALL]
    fitted = fit_scale(t, ALL, measured)
    assert fitted.meta["fit"]["factor"] == pytest.approx(2.0)
    assert fitted.meta["fit"]["offset_ms"] == pytest.approx(3.0)
    assert [fitted.predict(a) for a in ALL] == pytest.approx(measured)
    assert errors([fitted.predict(a) for a in ALL], measured)["worst_rel"] < 1e-9


def test_fit_onehot_learns_what_the_ops_miss():
    """One op is twice as slow in the model as alone: the sum is off, the fit (out of fold) is not."""
    t = _table(fixed=0.0)
    measured = [t.predict(a) + (3.0 if a["a"] == "y" else 0.0) + 0.5 for a in ALL]
    sum_err = errors([t.predict(a) for a in ALL], measured)
    oof = errors(out_of_fold(lambda *x: fit_onehot(*x, ridge=0.01), t, ALL, measured, folds=6), measured)
    assert sum_err["median_rel"] > 0.1
    assert oof["median_rel"] < 0.5 * sum_err["median_rel"]
    assert fit_onehot(t, ALL, measured, ridge=1e-6).predict({"a": "y", "b": "x"}) == pytest.approx(8.5, abs=1e-3)


def test_errors_signed_and_tau():
    e = errors([1.0, 2.0, 4.0], [2.0, 2.0, 4.0])
    assert e["worst_rel"] == pytest.approx(0.5) and e["median_signed_rel"] == pytest.approx(0.0)
    with pytest.raises(LatencyError):
        errors([1.0], [0.0])


def test_predictor_ranks_the_tiny_space(tiny, tiny_table):
    """Whole models on the tiny space: measured and predicted agree on the cheapest and dearest.
    The order is checked on each model's fastest sample: other jobs on the machine only add time."""
    archs = [{"b1": x, "b2": y} for x in (LIGHT, HEAVY) for y in (LIGHT, HEAVY)]
    table, timings = measure(tiny, archs, OFFLINE, 64, 10, TimingOptions(warmup=1, reps=9, min_sample_ms=0.5),
                             group=2)
    assert all(o["reps"] == 18 for o in table.ops)        # the ops are timed again beside each group of 2
    assert table.blocks["b1"][HEAVY] > 5 * table.blocks["b1"][LIGHT]
    fastest = [min(t.samples_ms) for t in timings]
    measured = [t.median_ms for t in timings]
    predicted = [tiny_table.predict(a) for a in archs]
    assert fastest.index(min(fastest)) == predicted.index(min(predicted)) == 0
    assert fastest.index(max(fastest)) == predicted.index(max(predicted)) == 3
    judged = judge(tiny_table, archs, measured, folds=4)
    assert set(judged) == {"sum", "fit-scale", "fit-onehot"}
    assert judged["sum"]["errors"]["n"] == 4


# ------------------------------------------------------------------------------------- files, command

def test_survey_files_load_as_a_table(tmp_path, tiny):
    vecs = choose_archs(tiny)
    assert len(vecs) == 4
    setting = Setting("cpu", 1, "stream", 1, 30)
    summary = survey(tiny, [setting], vecs, tmp_path, 64, 10, FAST, tag="t")
    name = "t-cpu-t1-stream"
    header, rows = read_file(tmp_path / f"nb-asr-bench-{name}.pickle", "benchmarking")
    codec = codec_of_space(tiny)
    assert header["device"] == name and header["search_space"] == codec.search_space and len(rows) == 4
    # beside a training file of the same space, nas.bench.table loads it
    write_training(tmp_path / "nb-asr-e1-0.pickle", [{"arch_vec": v, "val_per": [0.5], "test_per": 0.5}
                                                      for v in vecs], 1, 0, codec=codec)
    table = load_folder(tmp_path, epochs=1)
    with open(tmp_path / "latency.csv") as f:
        got = list(csv.DictReader(f))
    assert len(got) == 4 and set(got[0]) >= {"arch", "device", "threads", "mode", "median_ms", "predicted_ms"}
    for r in got:
        assert table.latency(r["arch"], device=name) == pytest.approx(float(r["median_ms"]) / 1000, rel=1e-3)
    for kind in ("", "-fit-scale", "-fit-onehot"):
        load_latency_table(tmp_path / f"latency-{name}{kind}.json").check_space(tiny)
    assert summary["settings"][0]["predictors"]["sum"]["n"] == 4
    assert summary["settings"][0]["predictors"]["sum-fastest"]["n"] == 4


def test_choose_archs_sample_and_limit():
    space = load_space(REPO / "egs/synth/conf/bench_tdnn.json", verbose=False)
    with pytest.raises(LatencyError, match="4096 architectures"):
        choose_archs(space)
    vecs = choose_archs(space, sample=7, seed=3)
    assert len(vecs) == 7 == len({str(v) for v in vecs}) and vecs == choose_archs(space, sample=7, seed=3)


def test_cli_help_and_run(tmp_path, capsys):
    h = subprocess.run([sys.executable, "-m", "nas.bin.bench", "latency", "--help"], cwd="/", capture_output=True,
                       text=True)
    assert h.returncode == 0 and "--threads" in h.stdout and "stream" in h.stdout
    space = tmp_path / "tiny.json"
    space.write_text(json.dumps(TINY))
    out = tmp_path / "out"
    assert bench_main(["latency", "--space", str(space), "--out", str(out), "--threads", "1", "--modes", "stream",
                       "--chunk", "20", "--cuda", "no", "--reps", "3", "--warmup", "0", "--input-dim", "64"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["architectures"] == 4 and summary["settings"][0]["name"] == "cpu-t1-stream"
    assert (out / "nb-asr-bench-cpu-t1-stream.pickle").exists() and (out / "latency-cpu-t1-stream.json").exists()
    with pytest.raises(SystemExit, match="--modes"):
        bench_main(["latency", "--space", str(space), "--out", str(out), "--modes", "online", "--cuda", "no"])


def test_run_latency_is_one_launcher_job(tmp_path, run):
    """egs/synth/local/run_latency.sh: the survey as one job of nas.bin.launch (its log in run.pl's form,
    the files of the tag). (How the launcher names a failed job: test_slurm.py, test_run_searches.py.)"""
    space = tmp_path / "tiny.json"
    space.write_text(json.dumps(TINY))
    out = tmp_path / "lat"
    args = ["--tag", "box", "--space", space, "--out", out, "--threads", "1", "--modes", "stream", "--cuda", "no",
            "--reps", "2", "--warmup", "0", "--input-dim", "64", "--extra", "--chunk 20 --min-sample-ms 0.2"]
    p = run("egs/synth/local/run_latency.sh", *args)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "1 of 1 jobs finished" in p.stderr and f"wrote {out} and {out}/latency.csv" in p.stdout
    log = (out / "job.log").read_text().splitlines()
    assert "nas.bin.bench latency --space" in log[0] and "--tag box" in log[0] and "--chunk 20 --min-sample-ms 0.2" in log[0]
    assert log[-1].startswith("# Ended (code 0)")
    assert (out / "nb-asr-bench-box-cpu-t1-stream.pickle").exists()
    rows = (out / "latency.csv").read_text().splitlines()
    assert len(rows) == 1 + 4 and all(",cpu,1,stream," in r for r in rows[1:])
    p = run("egs/synth/local/run_latency.sh", "--space", space)
    assert p.returncode == 1 and "Usage: local/run_latency.sh" in p.stderr
