"""The tabular search methods (nas/bench/tabular.py) and their regret curves (nas/bench/regret.py),
on a fake objective whose errors are a smooth function of the model's graph plus hash noise.
(tools/bench_tabular.py times the 100-run comparison of the four methods.)
"""
from __future__ import annotations

import csv
import json
from typing import Dict, List, Optional, Sequence

import numpy as np
import pytest

from nas.bench.archvec import all_vectors, check_vector, flatten
from nas.bench.model_hash import graph_hash, model_graph
from nas.bench.objective import Eval
from nas.bench.regret import COLUMNS, compare, regret_curve, regret_matrix, run_many
from nas.bench.tabular import METHODS, SIZES, Driver, Space, Step, Trace, mutate, run_method

QUALITY = [0.0, 0.03, 0.04, 0.05, 0.06]     # per live op: linear < conv5 < conv5d2 < conv7 < conv7d2


def _unit(h: str, k: int) -> float:
    return int(h[8 * k:8 * k + 8], 16) / 2 ** 32


class FakeObjective:
    """val = 0.40 - (quality of the live ops) - 0.01 * (live edges) + noise * u(hash): the same for
    every vector of a model, with structure a search can climb; test = val + 0.01 (+ test_noise)."""

    def __init__(self, vectors: Optional[Sequence] = None, costs: bool = True,
                 noise: float = 0.02, test_noise: float = 0.01):
        self._vectors = [check_vector(v) for v in (all_vectors() if vectors is None else vectors)]
        self._model: Dict[tuple, str] = {}
        self._evals: Dict[str, Eval] = {}
        self.calls = 0
        for v in self._vectors:
            mat, labels = model_graph(v)
            h = graph_hash((mat, labels))
            self._model[tuple(flatten(v))] = h
            if h in self._evals:
                continue
            live = [lab for lab in labels if lab >= 0]
            val = (0.9 if not labels else 0.40 - sum(QUALITY[lab] for lab in live) - 0.01 * mat.sum()) \
                + noise * _unit(h, 0)
            test = val + 0.01 + test_noise * (_unit(h, 1) - 0.5)
            cost = 3600.0 * (1 + len(live)) * (0.5 + _unit(h, 2)) if costs else None
            self._evals[h] = Eval(h, float(val), float(test), cost)

    def vectors(self) -> List[List[List[int]]]:
        return [list(map(list, v)) for v in self._vectors]

    def evaluate(self, vec) -> Eval:
        self.calls += 1
        key = tuple(flatten(vec))
        if key not in self._model:
            raise KeyError(f"no entry for {vec}")
        return self._evals[self._model[key]]

    def optimum(self) -> Eval:
        best_val = min(self._evals.values(), key=lambda e: e.val)
        best_test = min(self._evals.values(), key=lambda e: e.test)
        return Eval(best_test.model_hash, best_val.val, best_test.test, None)


def small_vectors() -> List[List[List[int]]]:
    """op1 in {linear, conv5}, op2 in {conv5d2, zero}, op3 in {conv7, conv7d2}, every skip: 512 vectors."""
    return [check_vector(v) for v in all_vectors() if v[0][0] in (0, 1) and v[1][0] in (2, 5) and v[2][0] in (3, 4)]


@pytest.fixture(scope="module")
def full():
    obj = FakeObjective()
    return obj, Space.of(obj)


@pytest.fixture(scope="module")
def small():
    obj = FakeObjective(small_vectors(), test_noise=0.0)     # best val is best test: regret can reach 0
    return obj, Space.of(obj)


def test_space_groups_vectors_into_models(full):
    obj, space = full
    assert space.n_vectors == 13824 and space.n_models == 8242
    assert space.features.shape == (13824, 3 * 6 + 6)
    for members in space.members[:200]:
        assert len({obj.evaluate(space.vectors[i]) for i in members}) == 1


@pytest.mark.parametrize("method", sorted(METHODS))
def test_query_budget_is_exact_and_every_query_a_new_model(full, method):
    obj, space = full
    trace = run_method(obj, method, budget_queries=37, seed=1, space=space)
    assert trace.stop == "queries"
    assert [s.queries for s in trace.steps] == list(range(1, 38))
    assert len({s.model_hash for s in trace.steps}) == 37


@pytest.mark.parametrize("method", sorted(METHODS))
def test_time_budget_is_never_exceeded(full, method):
    obj, space = full
    budget = 150 * 3600.0
    trace = run_method(obj, method, budget_time=budget, seed=2, space=space)
    costs = np.cumsum([obj.evaluate(space.vectors[s.index]).cost for s in trace.steps])
    assert trace.stop == "time" and len(trace.steps) > 5
    assert np.allclose([s.time for s in trace.steps], costs)
    assert costs[-1] <= budget < costs[-1] + 4 * 1.5 * 3600   # stopped at the first model that would not fit


def test_cached_requeries_cost_nothing(full):
    obj, space = full
    twins = next(m for m in space.members if len(m) >= 3)
    drv = Driver(obj, space, budget_time=1e9)
    first = drv.query(twins[0])
    calls = obj.calls
    for i in twins * 3:
        assert drv.query(i) is first
        assert drv.query(space.vectors[i]) is first
    assert obj.calls == calls and drv.queries == 1 and len(drv.steps) == 1
    assert drv.time == first.cost


def test_time_budget_refused_without_costs():
    obj = FakeObjective(small_vectors(), costs=False)
    with pytest.raises(ValueError, match="cost"):
        run_many(obj, "random", runs=2, budget_time=1000.0)
    with pytest.raises(ValueError, match="cost"):
        run_method(obj, "rea", budget_time=1000.0)
    assert len(run_method(obj, "rea", budget_queries=5).steps) == 5


def test_budget_and_options_are_checked(small):
    obj, space = small
    for kw in ({}, {"budget_queries": 5, "budget_time": 10.0}, {"budget_queries": 0}):
        with pytest.raises(ValueError, match="budget"):
            run_method(obj, "random", space=space, **kw)
    with pytest.raises(TypeError, match="population"):
        run_method(obj, "rea", budget_queries=5, space=space, pop=3)
    with pytest.raises(ValueError, match="unknown method"):
        run_many(obj, "sa", runs=1, budget_queries=5, space=space)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_runs_are_deterministic_given_the_seed(full, method):
    obj, space = full
    a, b, c = (run_method(obj, method, budget_queries=30, seed=s, space=space) for s in (5, 5, 6))
    assert a.steps == b.steps
    assert [s.index for s in a.steps] != [s.index for s in c.steps]


@pytest.mark.parametrize("method", sorted(METHODS))
def test_incumbent_is_the_lowest_val_so_far(full, method):
    obj, space = full
    steps = run_method(obj, method, budget_queries=60, seed=7, space=space).steps
    for k, s in enumerate(steps):
        best = min(steps[:k + 1], key=lambda t: t.val)          # min keeps the first of ties
        assert (s.best_val, s.best_test, s.best_hash) == (best.val, best.test, best.model_hash)
    assert all(a.best_val >= b.best_val for a, b in zip(steps, steps[1:]))


@pytest.mark.parametrize("method", sorted(METHODS))
def test_regret_reaches_zero_when_the_budget_covers_the_space(small, method):
    obj, space = small
    trace = run_method(obj, method, budget_queries=10 ** 6, seed=3, space=space)
    assert trace.stop == "space" and len(trace.steps) == space.n_models
    curve = regret_curve(method, [trace], obj.optimum(), budget_queries=space.n_models)
    assert curve.mean[-1] == 0 and curve.mean_val[-1] == 0
    assert curve.mean[0] > 0


def test_mutation_changes_one_position_to_another_model(full):
    obj, space = full
    rng = np.random.default_rng(0)
    positions = set()
    for i in range(0, space.n_vectors, 7):
        j = mutate(space, i, rng)
        diff = np.flatnonzero(space.flat[i] != space.flat[j])
        assert len(diff) == 1
        positions.add(int(diff[0]))
        assert check_vector(space.vectors[j]) == space.vectors[j]
        assert space.model[j] != space.model[i]
    assert positions == set(range(len(SIZES)))


def test_mutation_stays_in_a_partial_space(small):
    obj, space = small
    rng = np.random.default_rng(1)
    for i in range(space.n_vectors):
        j = mutate(space, i, rng)
        assert (space.flat[i] != space.flat[j]).sum() == 1 and space.model[j] != space.model[i]


@pytest.mark.parametrize("which", ["full", "small"])
def test_neighbours_are_exactly_the_one_position_changes(request, which):
    obj, space = request.getfixturevalue(which)
    for i in np.random.default_rng(2).choice(space.n_vectors, 60, replace=False).tolist():
        hamming = (space.flat != space.flat[i]).sum(axis=1)
        assert sorted(space.neighbours(i).tolist()) == np.flatnonzero(hamming == 1).tolist()
    if which == "full":
        assert len(space.neighbours(0)) == sum(n - 1 for n in SIZES) == 21


def test_local_search_queries_the_start_neighbourhood_first(full):
    obj, space = full
    for seed in range(5):
        steps = run_method(obj, "ls", budget_queries=40, seed=seed, space=space).steps
        start = steps[0].index
        models = {int(space.model[j]) for j in space.neighbours(start)} - {int(space.model[start])}
        nxt = steps[1:1 + len(models)]
        assert all(s.index in set(space.neighbours(start).tolist()) for s in nxt)
        assert {int(space.model[s.index]) for s in nxt} == models
        if len(steps) > 1 + len(models):                 # then it moved to the best neighbour or restarted
            best = min([steps[0]] + nxt, key=lambda s: s.val)
            after = steps[1 + len(models)].index
            assert after in set(space.neighbours(best.index).tolist()) or best is steps[0]


def test_search_beats_random_search(full):
    obj, space = full
    opt = obj.optimum()
    final = {}
    for m in sorted(METHODS):
        traces = run_many(obj, m, runs=30, budget_queries=100, seed=100, space=space)
        final[m] = regret_curve(m, traces, opt, budget_queries=100).mean[-1]
    print({m: round(v, 4) for m, v in final.items()})
    for m in ("rea", "ls", "bo"):
        assert final[m] < 0.6 * final["random"], final


def test_curves_carry_the_incumbent_forward_with_a_t_interval():
    from scipy import stats

    def trace(*points):
        steps = [Step(k + 1, t, k, f"h{k}", v, v + 0.1, min(p[1] for p in points[:k + 1]),
                      min(p[1] for p in points[:k + 1]) + 0.1, "") for k, (t, v) in enumerate(points)]
        return Trace("x", 0, steps)

    opt = Eval("h", 0.0, 0.1)
    traces = [trace((5.0, 0.5), (10.0, 0.3)), trace((2.0, 0.4), (20.0, 0.2)), trace((7.0, 0.6))]
    x = np.array([1.0, 5.0, 8.0, 10.0, 30.0])
    got = regret_matrix(traces, opt, x, "seconds")
    want = np.array([[np.nan, 0.5, 0.5, 0.3, 0.3], [np.nan, 0.4, 0.4, 0.4, 0.2], [np.nan, np.nan, 0.6, 0.6, 0.6]])
    assert np.allclose(got, want, equal_nan=True)
    by_queries = regret_matrix(traces, opt, np.array([1.0, 2.0, 3.0]), "queries")
    assert np.allclose(by_queries, [[0.5, 0.3, 0.3], [0.4, 0.2, 0.2], [0.6, 0.6, 0.6]])

    curve = regret_curve("x", traces, opt, budget_time=30.0, points=6)      # x = 5, 10, ..., 30
    assert curve.runs.tolist() == [2, 3, 3, 3, 3, 3]
    col = want[:, 4]
    lo, hi = stats.t.interval(0.95, len(col) - 1, loc=col.mean(), scale=stats.sem(col))
    assert np.allclose([curve.mean[-1], curve.ci_low[-1], curve.ci_high[-1]], [col.mean(), lo, hi])
    assert np.isclose(curve.median[-1], 0.3)


def test_compare_writes_csv_png_and_summary(small, tmp_path):
    obj, space = small
    summary = compare(obj, ["random", "rea", "ls", "bo"], runs=4, budget_queries=25, out_dir=tmp_path,
                      space=space)
    with open(tmp_path / "regret.csv") as f:
        rows = list(csv.reader(f))
    assert rows[0] == COLUMNS and len(rows) == 1 + 4 * 25
    assert [r[1] for r in rows[1:26]] == [str(x) for x in range(1, 26)]
    assert {r[0] for r in rows[1:]} == set(METHODS) and {r[2] for r in rows[1:]} == {"queries"}
    assert all(r[3] == "4" and float(r[5]) <= float(r[4]) <= float(r[6]) for r in rows[1:])
    assert (tmp_path / "regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved == json.loads(json.dumps(summary))
    for m in METHODS:
        s = saved["methods"][m]
        assert s["runs"] == 4 and 0 <= s["found_optimum_fraction"] <= 1 and s["wall_s"] >= 0
        assert s["final_ci"][0] <= s["final_mean_regret"] <= s["final_ci"][1]

    compare(obj, {"random": {}, "rea": {"population": 8, "sample": 3}}, runs=3, budget_time=40 * 3600.0,
            out_dir=tmp_path / "t", points=30, space=space)
    with open(tmp_path / "t" / "regret.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 30 and {r["x_unit"] for r in rows} == {"seconds"}
    assert float(rows[-1]["x"]) == 40 * 3600.0
    assert json.loads((tmp_path / "t" / "summary.json").read_text())["methods"]["rea"]["options"] == \
        {"population": 8, "sample": 3, "immigrant_after": 100}
