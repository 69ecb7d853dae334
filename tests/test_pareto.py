"""Pareto fronts and hypervolume (nas/bench/pareto.py) against brute force, the multi-objective
searches (nas/bench/mo_search.py) on a small synthetic table with a synthetic cost, and
`python -m nas.bin.bench pareto` (nas/bin/bench_pareto.py, nas/bench/mo_report.py)."""
from __future__ import annotations

import csv
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nas.bench.codec import BlockCodec
from nas.bench.fileformat import write_folder
from nas.bench.mo_report import mean_interval
from nas.bench.mo_search import (MO_METHODS, MOProblem, chebyshev_pick, crowded_pick, found_set, make_mo_options,
                                 ratio_curves, run_many_mo, run_mo)
from nas.bench.pareto import (crowding_distance, dominates, hypervolume, nondominated_ranks, pareto_front,
                              pareto_mask, parse_cost, reference_point, true_front)
from nas.bench.table import load_folder
from nas.bin.bench import main as bench_main


# --- brute force -----------------------------------------------------------------------------

def brute_mask(p: np.ndarray) -> np.ndarray:
    return np.array([not any(dominates(q, a) for q in p) for a in p], dtype=bool)


def brute_hypervolume(p: np.ndarray, ref) -> float:
    """The union of the boxes [x, ref_x] x [y, ref_y], cell by cell on the grid of every coordinate:
    a cell inside the reference box is covered when some point is at or below its lower corner."""
    xs = np.unique(np.append(p[:, 0], ref[0]))
    ys = np.unique(np.append(p[:, 1], ref[1]))
    covered = np.zeros((len(xs) - 1, len(ys) - 1), dtype=bool)
    for a, b in p:
        covered |= (xs[:-1] >= a)[:, None] & (ys[:-1] >= b)[None, :]
    inside = (xs[1:] <= ref[0])[:, None] & (ys[1:] <= ref[1])[None, :]
    return float((np.diff(xs)[:, None] * np.diff(ys)[None, :] * (covered & inside)).sum())


def point_sets(n_sets: int = 60):
    """Random sets with many ties and duplicates (small integer grids) and continuous ones."""
    rng = np.random.default_rng(0)
    for k in range(n_sets):
        n = int(rng.integers(1, 40))
        if k % 2:
            yield rng.integers(0, 6, size=(n, 2)).astype(float)
        else:
            yield rng.random((n, 2))


def test_front_matches_brute_force_with_ties_and_duplicates():
    for p in point_sets():
        assert (pareto_mask(p) == brute_mask(p)).all(), p.tolist()
        idx = pareto_front(p)
        assert sorted(idx.tolist()) == np.flatnonzero(brute_mask(p)).tolist()
        assert (np.diff(p[idx, 0]) >= 0).all()
    dup = np.array([[1, 2], [1, 2], [2, 1], [2, 1], [1, 3], [3, 1], [2, 2]], dtype=float)
    assert pareto_mask(dup).tolist() == [True, True, True, True, False, False, False]
    assert pareto_mask(np.zeros((0, 2))).tolist() == []


def test_hypervolume_matches_brute_force():
    assert hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == 6.0
    assert hypervolume([[5, 1]], [4, 4]) == 0.0 == hypervolume(np.zeros((0, 2)), [1, 1])
    for p in point_sets():
        ref = reference_point(p) if p[0, 0] > 0.5 else p.max(axis=0) * 0.8    # some points beyond ref
        assert hypervolume(p, ref) == pytest.approx(brute_hypervolume(p, ref), abs=1e-12)


def test_ranks_and_crowding():
    for p in point_sets(30):
        ranks = nondominated_ranks(p)
        left = np.arange(len(p))
        r = 0
        while len(left):                 # brute: each front is the undominated rest
            on = brute_mask(p[left])
            assert (ranks[left[on]] == r).all() and (ranks[left[~on]] > r).all()
            left, r = left[~on], r + 1
    p = np.array([[0, 4], [1, 2], [3, 1], [4, 0], [2, 3]], dtype=float)   # front of 4, then (2, 3)
    d = crowding_distance(p)
    assert np.isinf(d[[0, 3, 4]]).all()
    assert d[1] == pytest.approx((3 - 0) / 4 + (4 - 1) / 4) and d[2] == pytest.approx((4 - 1) / 4 + (2 - 0) / 4)


def test_true_front_reference_and_errors():
    metric, cost = [0.3, 0.2, 0.4, 0.2, 0.9], [1.0, 3.0, 0.5, 3.0, 5.0]       # the last is dominated
    f = true_front(metric, cost)
    assert f.index.tolist() == [1, 3, 0, 2] and f.ref.tolist() == pytest.approx([0.42, 3.25])
    assert f.hypervolume == pytest.approx(0.1 * 0.25 + 0.1 * 2.25 + 0.02 * 2.75)
    assert true_front(metric, cost, ref_from="table").ref.tolist() == pytest.approx([0.97, 5.45])
    assert true_front(metric, cost, ref=[1, 6]).hypervolume == pytest.approx(0.1 * 3 + 0.1 * 5 + 0.6 * 5.5)
    with pytest.raises(ValueError, match="no hypervolume"):
        true_front([1, 2], [1, 2], ref=[0.5, 5])
    with pytest.raises(ValueError, match="not finite"):
        pareto_mask([[0, np.nan]])
    assert parse_cost("latency:gpu-a").device == "gpu-a" and parse_cost("params").name == "params"
    with pytest.raises(ValueError, match="latency:DEVICE"):
        parse_cost("latency")


# --- a synthetic table: 4 blocks of 4 candidates, better candidates cost more -----------------

CODEC = BlockCodec("mo_test", {f"b{k}": ["c0", "c1", "c2", "c3"] for k in range(4)})
GAIN = [0.0, 0.03, 0.05, 0.06]        # error drop per block, diminishing ...
COST = [1.0, 2.0, 4.0, 8.0]           # ... while the cost doubles


def make_table(folder: Path, test_noise: float = 0.01) -> Path:
    rng = np.random.default_rng(1)
    rows, lat, static = [], [], []
    for vec in itertools.product(range(4), repeat=4):
        arch = [[c] for c in vec]
        err = 0.5 - sum(GAIN[c] for c in vec) + rng.normal(0, 0.01)
        cost = sum(COST[c] for c in vec) * (1 + rng.normal(0, 0.05))
        rows.append({"arch_vec": arch, "val_per": [err + 0.1, err + 0.02, err],
                     "test_per": err + 0.01 + test_noise * rng.normal()})
        h = CODEC.hash(arch)
        lat.append({"model_hash": h, "latency": cost / 1000})
        static.append({"model_hash": h, "params": int(cost * 1e5), "flops": int(cost * 1e7)})
    write_folder(folder, {0: rows}, 3, {"fake-dev": lat}, static, codec=CODEC)
    return folder


def problem_of(folder: Path, cost: str = "latency:fake-dev") -> MOProblem:
    from nas.bench.pareto import cost_values
    table = load_folder(folder, epochs=3)
    spec = parse_cost(cost)
    return MOProblem(table.objective(), dict(zip(table.hashes(), cost_values(table, spec, table.hashes()))),
                     spec.name)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return make_table(tmp_path_factory.mktemp("mo_table"))


@pytest.fixture(scope="module")
def problem(folder):
    return problem_of(folder)


def test_problem_fronts(problem):
    assert problem.n_models == 256
    pts = np.column_stack([problem.test, problem.cost])
    assert sorted(problem.front.index.tolist()) == np.flatnonzero(brute_mask(pts)).tolist()
    assert problem.front.hypervolume == pytest.approx(brute_hypervolume(pts, problem.front.ref))


@pytest.mark.parametrize("method", list(MO_METHODS))
def test_methods_budget_determinism_and_sets(problem, method):
    a = run_mo(problem, method, 30, seed=4)
    assert a.models == run_mo(problem, method, 30, seed=4).models and a.stop == "queries"
    assert len(a.models) == 30 == len(set(a.models))
    found = found_set(problem, a.models)
    pts = [(problem.val[m], problem.cost[m]) for m in a.models]
    assert found == [m for m, on in zip(a.models, brute_mask(np.array(pts))) if on]
    r = ratio_curves(problem, a.models, 40)
    assert ((r >= 0) & (r <= 1 + 1e-12)).all() and (np.diff(r[1]) >= -1e-12).all()   # val side never drops
    assert (r[:, 30:] == r[:, [29]]).all()                                           # carried past the end


@pytest.mark.parametrize("method", list(MO_METHODS))
def test_ratio_rises_with_budget_and_reaches_one(problem, folder, method):
    traces = run_many_mo(problem, method, 12, 60, seed=0)
    r = np.stack([ratio_curves(problem, t.models, 60) for t in traces], axis=1)
    assert r[0, :, 59].mean() > r[0, :, 19].mean() > r[0, :, 4].mean()
    assert r[0].max() <= 1 + 1e-12
    full = run_mo(problem, method, 256, seed=1)               # every model queried: the whole front found
    assert sorted(full.models) == list(range(256))
    final = ratio_curves(problem, full.models, 256)[:, -1]
    assert final[1] == pytest.approx(1.0) and final[0] == pytest.approx(problem.ceiling) and problem.ceiling < 1


def test_whole_table_with_val_equal_test_finds_the_true_front(tmp_path):
    p = problem_of(make_table(tmp_path / "t", test_noise=0.0), "params")
    full = run_mo(p, "random", 256, seed=0)
    assert ratio_curves(p, full.models, 256)[0, -1] == pytest.approx(1.0) == p.ceiling


def test_tournament_winners_are_undominated_among_the_picks():
    rng = np.random.default_rng(3)
    opts = make_mo_options("rea")
    for _ in range(200):
        objs = rng.integers(0, 5, size=(12, 2)).astype(float)
        picks = rng.choice(12, size=5, replace=False)
        for select in (crowded_pick, chebyshev_pick):
            k = select(objs, picks, rng, opts)
            assert k in picks and not any(dominates(objs[j], objs[k]) for j in picks)
    with pytest.raises(ValueError, match="unknown"):
        make_mo_options("bo")
    with pytest.raises(TypeError, match="no options"):
        make_mo_options("random", population=3)


def test_mean_interval():
    iv = mean_interval([0.2, 0.4, 0.5, 0.9, 0.6, 0.3], n_boot=500)
    assert iv.low < iv.value < iv.high and iv.value == pytest.approx(2.9 / 6)
    assert np.isnan(mean_interval([0.5, 0.5, 0.5]).low)


# --- the command ---------------------------------------------------------------------------------

def test_cli_help_from_any_dir():
    h = subprocess.run([sys.executable, "-m", "nas.bin.bench", "pareto", "--help"], cwd="/", capture_output=True,
                       text=True)
    assert h.returncode == 0 and "--cost" in h.stdout and "rea-cheb" in h.stdout


def test_cli_writes_front_ratios_plot_and_summary(folder, tmp_path, capsys):
    out = tmp_path / "out"
    assert bench_main(["pareto", "--table", str(folder), "--epochs", "3", "--cost", "params", "--runs", "6",
                       "--budget", "5,20", "--n-boot", "200", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    printed = json.loads(capsys.readouterr().out)
    assert printed["methods"] == summary["methods"] and printed["cost"] == "params" and printed["runs"] == 6
    for name in ("random", "rea"):
        at = summary["methods"][name]["budgets"]
        assert set(at) == {"5", "20"} and 0 <= at["5"]["mean_ratio"] <= at["20"]["mean_ratio"] <= 1
    rows = list(csv.DictReader(open(out / "hypervolume.csv")))
    assert len(rows) == 40 and {r["method"] for r in rows} == {"random", "rea"}
    front = list(csv.DictReader(open(out / "true_front.csv")))
    problem = problem_of(folder, "params")
    assert [r["model_hash"] for r in front] == [problem.hashes[m] for m in problem.front.index]
    assert (out / "pareto.png").stat().st_size > 10_000
    with pytest.raises(SystemExit, match="nb-asr-bench-gpu-x.pickle|gpu-x"):
        bench_main(["pareto", "--table", str(folder), "--epochs", "3", "--cost", "latency:gpu-x", "--out", str(out)])
    with pytest.raises(SystemExit, match="unknown"):
        bench_main(["pareto", "--table", str(folder), "--epochs", "3", "--cost", "params", "--methods", "ls"])


def test_the_bench_md_section_gives_the_true_front_and_the_ratios(tmp_path):
    """With every architecture queried and validation ordered as test, a method finds the whole front."""
    from nas.bench.exhaustive_report import pareto_section
    table = make_table(tmp_path / "t", test_noise=0.0)
    latency = tmp_path / "nb-asr-bench-fake-dev.pickle"
    (table / latency.name).rename(latency)                      # the latency file kept apart, as committed
    section = pareto_section(table, latency, tmp_path / "fig", budget=256, runs=2, val="val_per", test="test_per")
    front = problem_of(make_table(tmp_path / "again", test_noise=0.0)).front.index
    assert f"The true front has {len(front)} of 256 architectures" in section
    assert "- random: 1.000" in section and "whole front found in 100% of runs" in section
    assert (tmp_path / "fig" / "exhaustive_pareto_fake-dev.png").stat().st_size > 0
