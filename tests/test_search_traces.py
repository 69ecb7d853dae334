"""Each one-shot run's epoch-end picks and the comparison at equal wall-clock cost (nas.bench.search_traces)."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from nas.bench.codec import codec_of_space
from nas.bench.compare import ExhaustiveTable, read_searches
from nas.bench.search_traces import collect_traces, equal_budget, picks_at, read_traces, traces_beside
from nas.models.space import load_space
from tests.test_bench_compare import SPACE, _rows, _write_table

CANDS = ["identity", "tdnn-C0D1", "tdnn-C1D1", "tdnn-C1D3"]
BLOCKS = ("block1", "block2", "block3")


@pytest.fixture(scope="module")
def codec():
    return codec_of_space(load_space(SPACE, verbose=False))


def _one_hot(i: int, p: float = 0.7):
    return [p if k == i else (1 - p) / 3 for k in range(4)]


def _run(bench: Path, method: str, run: int, tops, step_seconds: float, steps_per_epoch: int = 4,
         seconds: bool = True, latency: bool = False) -> None:
    """A finished run as run_searches.sh leaves it; `tops` gives per epoch the top-1 index of each block."""
    from nas.models.arch import Arch
    d = bench / "runs" / f"{method}_run{run}"
    (d / "search").mkdir(parents=True)
    (d / "derive").mkdir()
    recs, step = [], 0
    for top in tops:
        for _ in range(steps_per_epoch):
            step += 1
            r = {"step": step, "probs": {b: _one_hot(i) for b, i in zip(BLOCKS, top)}}
            if seconds:
                r["seconds"] = round(step * step_seconds, 2)
            recs.append(r)
    (d / "search" / "probs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    (d / "search" / "convergence.json").write_text(json.dumps({"epochs": len(tops), "steps": step}))
    final = {b: dict(zip(CANDS, _one_hot(i))) for b, i in zip(BLOCKS, tops[-1])}
    arch = Arch(load_space(SPACE, verbose=False), {b: CANDS[i] for b, i in zip(BLOCKS, tops[-1])}, probs=final,
                source={"method": method, "convergence": {"converged": True, "epochs": len(tops)}})
    arch.write(d / "derive" / "arch.json")
    if latency:
        a = json.loads((d / "derive" / "arch.json").read_text())
        a["latency"] = {"budget_ms": 60.0, "predicted_ms": 55.0}
        (d / "derive" / "arch.json").write_text(json.dumps(a))
    (d / "seconds").write_text(f"{step * step_seconds + 30}\n")
    (d / "warmup_seed").write_text("0\n")


def test_a_runs_trace_is_its_top1_pick_at_every_epoch_end(codec, tmp_path):
    bench = tmp_path / "searches"
    _run(bench, "st", 0, [(0, 1, 2), (3, 1, 2), (3, 3, 2)], step_seconds=10.0)
    _run(bench, "st", 1, [(0, 0, 0)], step_seconds=10.0, seconds=False)        # older probs.jsonl: no trace
    _run(bench, "st-p25", 0, [(1, 1, 1)], step_seconds=10.0, latency=True)     # a latency budget: no trace
    rows = collect_traces(bench, codec)
    assert [(r["method"], r["run_seed"], r["epoch"], r["step"], r["seconds"]) for r in rows] == \
        [("st", 0, 1, 4, 40.0), ("st", 0, 2, 8, 80.0), ("st", 0, 3, 12, 120.0)]
    assert [r["arch"] for r in rows] == ["[[0],[1],[2]]", "[[3],[1],[2]]", "[[3],[3],[2]]"]
    final = json.loads((bench / "runs" / "st_run0" / "derive" / "arch.json").read_text())["choices"]
    assert rows[-1]["hash"] == codec.hash(codec.from_choices(final))          # the last epoch end is the derivation
    assert 0 < rows[0]["max_rel_entropy"] < 1


def test_picks_at_a_wall_clock_budget(codec, tmp_path):
    bench = tmp_path / "searches"
    (bench / "warmup_seed0").mkdir(parents=True)
    (bench / "warmup_seed0" / "seconds").write_text("100\n")
    _run(bench, "st", 0, [(0, 0, 0), (3, 0, 0), (3, 3, 3)], step_seconds=10.0)     # epoch ends at 40, 80, 120 s
    _run(bench, "st", 1, [(1, 1, 1), (2, 2, 2)], step_seconds=30.0)               # 120, 240 s
    _run(bench, "darts", 0, [(2, 0, 0)], step_seconds=5.0)                         # 20 s: within any budget
    table_csv = _write_table(tmp_path / "exhaustive.csv", _rows(codec))
    out = tmp_path / "searches.csv"
    from nas.bin.bench import main
    assert main(["searches", str(bench), "--space", str(SPACE), "--table-csv", str(table_csv), "--csv", str(out)]) == 0
    assert traces_beside(out).is_file()
    with open(table_csv, newline="") as f:
        table = ExhaustiveTable(list(csv.DictReader(f)), codec)
    picks, traces = read_searches(out, table), read_traces(traces_beside(out))
    assert equal_budget(traces) == 20.0                       # darts' median, the smaller one
    by = {(p.method, p.run): p for p in picks}
    cut, over = picks_at(picks, traces, 90.0, table.train_seconds)
    got = {(p.method, p.run): p for p in cut}
    assert got[("st", 0)].hash == codec.hash([[3], [0], [0]])          # epoch 2 (80 s), not the final [3,3,3]
    assert got[("st", 0)].trainings == pytest.approx(by[("st", 0)].trainings - 40.0 / 100)
    assert got[("st", 1)].hash == codec.hash([[1], [1], [1]]) and over == 1   # not one epoch by 90 s
    assert got[("darts", 0)] == by[("darts", 0)]
    assert picks_at(picks, traces, 1e9, table.train_seconds)[0] == picks


def test_the_comparison_at_equal_cost_in_the_command_and_bench_md(codec, tmp_path, capsys):
    bench = tmp_path / "searches"
    (bench / "warmup_seed0").mkdir(parents=True)
    (bench / "warmup_seed0" / "seconds").write_text("100\n")
    for r in range(2):                 # st finds the table's best at its third epoch end; cut at 60 s, it has not
        _run(bench, "st", r, [(0, 0, 0), (0, 0, 0), (3, 0, 0)], step_seconds=10.0)
        _run(bench, "darts", r, [(1, 1, 1)], step_seconds=15.0)
    table_csv = _write_table(tmp_path / "exhaustive.csv", _rows(codec))
    out = tmp_path / "searches.csv"
    from nas.bin.bench import main
    assert main(["searches", str(bench), "--space", str(SPACE), "--table-csv", str(table_csv), "--csv", str(out)]) == 0
    capsys.readouterr()
    md = tmp_path / "compare.md"
    assert main(["compare", "--table-csv", str(table_csv), "--space", str(SPACE), "--searches", str(out),
                 "--runs", "5", "--methods", "random", "--markdown", str(md)]) == 0
    res = json.loads(capsys.readouterr().out)
    eq = res["equal_cost"]
    assert eq["seconds"] == 60.0 and eq["over"] == 0
    assert res["methods"]["st"]["regret"] < res["methods"]["darts"]["regret"]
    assert eq["methods"]["st"]["regret"] > eq["methods"]["darts"]["regret"]      # cut before its last epoch
    assert "At equal wall-clock cost" in md.read_text() and "C = 60 s" in md.read_text()
    assert eq["same_pick"] == {"darts": [2, 2], "st": [0, 2]}
    assert "final pick in 2 of 2 darts runs, 0 of 2 st runs" in md.read_text()
    assert "the smallest median over the methods with epoch-end traces" in md.read_text()
    assert main(["compare", "--table-csv", str(table_csv), "--space", str(SPACE), "--searches", str(out),
                 "--runs", "5", "--methods", "random", "--equal-seconds", "130", "--markdown", str(md)]) == 0
    eq = json.loads(capsys.readouterr().out)["equal_cost"]      # past every run's end: the final picks
    assert eq["seconds"] == 130.0 and eq["same_pick"] == {"darts": [2, 2], "st": [2, 2]}
    assert "C = 130 s of search (as asked" in md.read_text()
    from nas.bench.exhaustive_report import methods_section
    assert "### At equal wall-clock cost" in methods_section(table_csv, str(SPACE), out, runs=5)
