"""Searches under a latency budget on the exhaustive table (issue 30, part 5): the budgets as
percentiles of a lookup table, the runs' records in searches.csv, and their judgment against the
table's front at their measured latency (nas.bench.latency_searches)."""
from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

from nas.bench.compare import ExhaustiveTable, read_searches
from nas.bench.latency import LatencyTable
from nas.bench.latency_searches import front_wer, latency_runs, latency_search_section, p_random
from nas.models.space import load_space
from test_bench_compare import SPACE, _fake_run, _rows, _write_table, codec  # noqa: F401 (fixture)

CANDS = ["identity", "tdnn-C0D1", "tdnn-C1D1", "tdnn-C1D3"]
BLOCKS = ("block1", "block2", "block3")


def _lut(tmp_path: Path) -> Path:
    """A lookup table of the exhaustive space: each block's candidates cost 0, 1, 2, 4 ms, plus 10."""
    space = load_space(SPACE, verbose=False)
    cost = dict(zip(CANDS, (0.0, 1.0, 2.0, 4.0)))
    t = LatencyTable(space.name, {"device": "cpu", "threads": 1, "mode": "offline"}, 10.0,
                     {b: {c: cost[c] for c in space.blocks[b]} for b in BLOCKS}, kind="sum")
    return t.save(tmp_path / "latency-test-cpu-t1-offline.json")


def _latency_csv(tmp_path: Path, codec, scale: float = 1.0) -> Path:
    """latency.csv with every architecture measured at `scale` times the lookup table's prediction, one
    setting, plus rows of another setting that must be ignored."""
    cost = dict(zip(range(4), (0.0, 1.0, 2.0, 4.0)))
    path = tmp_path / "latency.csv"
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["arch", "model_hash", "device", "threads", "mode", "median_ms"])
        for v in codec.vectors():
            ms = scale * (10.0 + sum(cost[b[0]] for b in v))
            w.writerow([codec.string(v), codec.hash(v), "cpu", 1, "offline", ms])
            w.writerow([codec.string(v), codec.hash(v), "cpu", 2, "offline", 1.0])
    return path


def test_percentile_budgets_enumerate_the_space(tmp_path):
    from nas.bench.latency import load_latency_table
    lut = load_latency_table(_lut(tmp_path))
    values = [10.0 + a + b + c for a, b, c in itertools.product((0.0, 1.0, 2.0, 4.0), repeat=3)]
    got = lut.percentiles([25, 50, 75])
    assert got == {q: pytest.approx(float(np.percentile(values, q))) for q in (25, 50, 75)}
    assert got[50] == pytest.approx(15.0)


def test_budget_command_prints_one_line_per_percentile(tmp_path, capsys):
    from nas.bin.bench import main
    lut = _lut(tmp_path)
    assert main(["latency-budgets", "--table", str(lut), "--percentiles", "50,100"]) == 0
    assert capsys.readouterr().out.splitlines() == ["p50 15.0000", "p100 22.0000"]
    with pytest.raises(SystemExit, match="give numbers in 0-100"):
        main(["latency-budgets", "--table", str(lut), "--percentiles", "-5"])


def test_runs_under_a_budget_are_judged_against_the_front(codec, tmp_path, capsys):
    """Two ST-NAS runs under a 15 ms budget and one unconstrained run: searches.csv records the
    budget; the comparison of methods leaves the budgeted runs out; the section gives each its gap."""
    rows = _rows(codec)                            # WER falls with block1's index, then block2's, block3's
    table_csv = _write_table(tmp_path / "exhaustive.csv", rows)
    lut = _lut(tmp_path)
    bench = tmp_path / "searches"
    (bench / "warmup_seed0").mkdir(parents=True)
    (bench / "warmup_seed0" / "seconds").write_text("100\n")
    sharp = {b: {c: (0.97 if c == "tdnn-C1D3" else 0.01) for c in CANDS} for b in BLOCKS}
    on_front = {"block1": "tdnn-C1D3", "block2": "identity", "block3": "identity"}     # 14 ms, best at <= 14
    off_front = {"block1": "tdnn-C0D1", "block2": "tdnn-C1D1", "block3": "identity"}   # 13 ms: 12 ms does better
    for run, choices in ((0, on_front), (1, off_front)):
        _fake_run(bench, "st-p50", run, choices, sharp, True, 200, 0)
        arch = json.loads((bench / "runs" / f"st-p50_run{run}" / "derive" / "arch.json").read_text())
        arch["latency"] = {"table": str(lut), "predicted_ms": 10.0 + sum(
            dict(zip(CANDS, (0, 1, 2, 4)))[c] for c in choices.values()), "budget_ms": 15.5}
        (bench / "runs" / f"st-p50_run{run}" / "derive" / "arch.json").write_text(json.dumps(arch))
    _fake_run(bench, "st", 0, on_front, sharp, True, 200, 0)
    out = tmp_path / "searches.csv"
    from nas.bin.bench import main
    assert main(["searches", str(bench), "--space", str(SPACE), "--table-csv", str(table_csv), "--csv", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == {"st": 1, "st-p50": 2}
    got = {(r["method"], r["run_seed"]): r for r in csv.DictReader(open(out))}
    assert (got[("st-p50", "1")]["latency_mode"], got[("st-p50", "1")]["latency_bound_ms"],
            got[("st-p50", "1")]["predicted_ms"]) == ("hard", "15.5", "13.0")
    assert got[("st", "0")]["latency_mode"] == ""
    table = ExhaustiveTable(rows, codec)
    assert [p.method for p in read_searches(out, table)] == ["st"]

    latency = {r["model_hash"]: float(r["median_ms"]) for r in csv.DictReader(open(_latency_csv(tmp_path, codec)))
               if r["threads"] == "1"}
    runs = latency_runs(list(csv.DictReader(open(out))), table, latency)
    assert [(r.method, r.run_seed) for r in runs] == [("st-p50", 0), ("st-p50", 1)]
    h_on, h_off = (codec.hash(codec.from_choices(c)) for c in (on_front, off_front))
    assert runs[0].gap == 0.0 and runs[0].measured_ms == 14.0
    assert runs[1].gap == pytest.approx(table.means[h_off] - front_wer(table, latency, 13.0)) and runs[1].gap > 0
    # the front at 13 ms is no worse than any architecture measured no slower, and one of them
    no_slower = [w for h, w in table.means.items() if latency[h] <= 13.0]
    assert front_wer(table, latency, 13.0) == min(no_slower)

    section = latency_search_section(out, table, _latency_csv(tmp_path, codec), lut)
    assert section.startswith("## Searches under a latency budget (cpu, 1 thread(s), offline)")
    row = next(line for line in section.splitlines() if line.startswith("| st-p50 | 15.5 |"))
    assert "| 2 | 2 |" in row and "| 2/2 |" in row
    assert "| st-p50 run 1 | 15.5 | 13.0 | 13.0 |" in section
    slow = latency_search_section(out, table, _latency_csv(tmp_path, codec, scale=2.0), lut)
    assert "| st-p50 | 15.5 | 2 | 0 |" in slow                   # measured twice the prediction: over budget


def test_random_within_budget_probability():
    pool = [0.30, 0.32, 0.34, 0.36]
    assert p_random(pool, 0.30 - 1e-9, 3) == 0.0                 # no draw of 3 beats the best
    assert p_random(pool, 0.36, 3) == 1.0
    assert 0.4 < p_random(pool, 0.33, 5) < 0.6                    # the pool's mean: about half


def test_runs_that_all_derive_one_architecture_show_no_nan_interval():
    """The five p50 runs all derived one architecture: the bootstrap has no spread to show, and the
    section says so instead of printing "[nan, nan]"."""
    from nas.bench.compare import mean_interval
    from nas.bench.latency_searches import _with_interval
    same = np.full(5, 0.3204)
    assert _with_interval(same, mean_interval(same)) == "32.04 (all 5 equal)"
    spread = np.array([0.3188, 0.3197, 0.3197, 0.3150, 0.3197])
    text = _with_interval(spread, mean_interval(spread))
    assert text.startswith("31.86 [") and "nan" not in text
