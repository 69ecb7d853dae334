"""Latency in one-shot search (issue 30, part 3): the exact constrained argmax against brute force,
sampling within a budget, a hard-budget ST search that never derives over its budget, the soft
term moving the search towards the cheap op, the options through config, arch.json and the
recipe's shared stages, and the measured latency after retraining."""
import argparse
import itertools
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nas.bench.latency import LatencyError, load_latency_table
from nas.models.arch import read_arch
from nas.models.space import parse_space
from nas.options import build_config
from nas.strategies.latency import LatencyModel, LatencyOptions, best_within
from nas.strategies.update import Update
from nas.train.checkpoint import load_checkpoint
from nas.train.search import SearchConfig, SearchPlan
from test_train_stages import run_stage
from train_fixtures import TINY_SPACE

REPO = Path(__file__).resolve().parent.parent
CANDS = TINY_SPACE["candidates"]
SETTING = {"device": "cpu", "threads": 1, "mode": "stream", "batch": 1, "frames": 40, "input_dim": 40,
           "num_tokens": 6}


def write_table(path: Path, costs: dict, fixed: float = 2.0, space: str = "tiny") -> Path:
    """A hand-written lookup table of the tiny space: block -> [ms per candidate]."""
    path.write_text(json.dumps({"format": "st-nas-latency/1", "space": space, "kind": "sum", "unit": "ms",
                                "setting": SETTING, "fixed_ms": fixed,
                                "blocks": {b: dict(zip(CANDS, c)) for b, c in costs.items()}}))
    return path


def brute_force(costs, scores, budget, fixed):
    best = None
    for z in itertools.product(*[range(len(c)) for c in costs]):
        lat = fixed
        for c, k in zip(costs, z):
            lat += c[k]
        s = sum(sc[k] for sc, k in zip(scores, z))
        if lat <= budget and (best is None or s > best):
            best = s
    return best


@pytest.mark.parametrize("seed", range(300))
def test_best_within_is_the_brute_force_optimum(seed):
    """Random tables (integer costs half the time, so that sums tie with the budget exactly)."""
    rng = random.Random(seed)
    n = rng.randint(1, 5)
    sizes = [rng.randint(1, 4) for _ in range(n)]
    whole = seed % 2 == 0
    costs = [[float(rng.randint(1, 9)) if whole else rng.uniform(0.1, 10) for _ in range(k)] for k in sizes]
    scores = [[math.log(rng.uniform(0.01, 1)) for _ in range(k)] for k in sizes]
    fixed = rng.uniform(0, 3)
    lo, hi = fixed + sum(map(min, costs)), fixed + sum(map(max, costs))
    budget = rng.choice([rng.uniform(lo - 1, hi), fixed + sum(rng.choice(c) for c in costs)])
    expected = brute_force(costs, scores, budget, fixed)
    found = best_within(costs, scores, budget, fixed)
    if expected is None:
        assert found is None
        return
    choice, lat, score = found
    check = fixed
    for c, k in zip(costs, choice):
        check += c[k]
    assert lat == check <= budget
    assert score == pytest.approx(expected, abs=1e-12)


def _model(tmp_path, costs, budget, mode="hard", **over) -> LatencyModel:
    table = load_latency_table(write_table(tmp_path / "t.json", costs))
    opts = LatencyOptions(str(tmp_path / "t.json"), mode, budget, **{f"latency_{k}": v for k, v in over.items()})
    return LatencyModel(opts, table, list(costs))


def test_sampling_within_the_budget_is_the_conditional_distribution(tmp_path):
    m = _model(tmp_path, {"b1": [1, 3, 6], "b2": [1, 2, 5]}, budget=9.0)      # fixed 2
    probs = [torch.tensor([0.1, 0.3, 0.6]), torch.tensor([0.2, 0.2, 0.6])]
    g = torch.Generator().manual_seed(0)
    counts = {}
    n = 6000
    for _ in range(n):
        z = tuple(m.sample(probs, g))
        assert m.predict(z) <= 9.0
        counts[z] = counts.get(z, 0) + 1
    feasible = {z: float(probs[0][z[0]] * probs[1][z[1]]) for z in itertools.product(range(3), range(3))
                if m.predict(z) <= 9.0}
    mass = sum(feasible.values())
    for z, p in feasible.items():
        assert counts.get(z, 0) / n == pytest.approx(p / mass, abs=0.025), z
    assert m.stats["fallbacks"] == 0 and m.stats["rejected"] > 0
    tight = _model(tmp_path, {"b1": [1, 3, 6], "b2": [1, 2, 5]}, budget=4.0, tries=1)
    skewed = [torch.tensor([1e-6, 0.5, 0.5]), torch.tensor([1e-6, 0.5, 0.5])]
    assert all(tight.predict(tight.sample(skewed, g)) <= 4.0 for _ in range(50))
    assert tight.stats["fallbacks"] > 0


def test_no_architecture_within_the_budget_names_the_cheapest(tmp_path):
    with pytest.raises(LatencyError, match="cheapest possible one takes 4 ms"):
        _model(tmp_path, {"b1": [1, 3, 6], "b2": [1, 2, 5]}, budget=3.5)


def _plan(tmp_path, costs, **lat) -> SearchPlan:
    space = tmp_path / "space.json"
    space.write_text(json.dumps(TINY_SPACE))
    table = write_table(tmp_path / "table.json", costs)
    cfg = SearchConfig(data="d", lang="l", space=str(space), method=lat.pop("method", "st"), latency_table=str(table),
                       **{f"latency_{k}": v for k, v in lat.items()})
    plan = SearchPlan(cfg)
    plan.build(40, 6)
    return plan


@pytest.mark.parametrize("method", ["st", "proxyless", "random", "darts", "snas"])
def test_every_method_samples_and_derives_within_the_budget(tmp_path, method):
    """Alpha favours the expensive op of every block; the budget (14 ms, fixed 2) allows one expensive
    block beside a C1D2 (exactly 14: within) or a C1D1."""
    plan = _plan(tmp_path, {"b1": [1, 2, 10], "b2": [1, 2, 10]}, mode="hard", target=14.0, method=method)
    s = plan.strategy
    with torch.no_grad():
        for a in s.alpha:
            a.copy_(torch.tensor([0.0, 0.5, 3.0]))
    m = s.latency
    if method == "random":
        assert all(m.predict([CANDS.index(c) for c in s.derive().values()]) <= 14.0 for _ in range(20))
    elif method in ("st", "proxyless"):
        for _ in range(100):
            next(s.updates())
            z = s.sampled[1] if method == "proxyless" else s.sample()
            assert m.predict(z) <= 14.0
    arch = s.derive(lambda a: 0.0)
    assert m.predict([CANDS.index(arch[b]) for b in ("b1", "b2")]) <= 14.0
    if method != "random":         # the most probable within the budget: one block expensive, one at C1D2
        assert sorted(arch.values()) == ["tdnn-C1D2", "tdnn-C2D1"]


def test_soft_term_forms_and_their_gradient(tmp_path):
    costs = {"b1": [1, 2, 10], "b2": [1, 2, 10]}
    probs = [torch.softmax(torch.tensor([0.2, -0.1, 0.4], requires_grad=True), 0) for _ in range(2)]
    e = 2.0 + 2 * float((probs[0].detach() * torch.tensor([1.0, 2.0, 10.0])).sum())
    loss = torch.tensor(3.0)
    expect = {"mul-log": 3.0 * 0.2 * (math.log(e) / math.log(8.0)) ** 0.3, "fbnet": 3.0 * 0.2 * math.log(e) ** 0.6,
              "mul": 3.0 * (e / 8.0) ** 0.07}
    for form, value in expect.items():
        m = _model(tmp_path, costs, 8.0, mode="soft", form=form)
        u = Update("arch_loss", None, objective=m.objective(lambda: probs))
        assert float(u.total(loss).detach()) == pytest.approx(value, rel=1e-6), form
        assert not m.objective_pending
    m = _model(tmp_path, costs, 8.0, mode="soft", weight=0.5)
    assert float(m.additive(lambda: probs)().detach()) == pytest.approx(0.5 * (e - 8.0) / 8.0, rel=1e-6)
    alpha = torch.zeros(3, requires_grad=True)
    p = torch.softmax(alpha, 0)
    m.expected([p, p.detach()]).backward()
    c = torch.tensor([1.0, 2.0, 10.0])
    assert torch.allclose(alpha.grad, (1 / 3) * (c - c.mean()), atol=1e-6)       # dE/dalpha_k = p_k (c_k - E_b)


def test_an_unapplied_objective_is_an_error(tmp_path):
    plan = _plan(tmp_path, {"b1": [1, 2, 10], "b2": [1, 2, 10]}, mode="soft", form="fbnet")
    u = next(plan.strategy.updates())
    assert u.objective is not None and u.extra is None
    with pytest.raises(RuntimeError, match="update.total"):
        next(plan.strategy.updates())


def test_options_and_their_checks(tmp_path):
    cfg_file = tmp_path / "search.yaml"
    table = write_table(tmp_path / "table.json", {"b1": [1, 2, 10], "b2": [1, 2, 10]})
    cfg_file.write_text(f"latency-table: {table}\nlatency_mode: hard\nlatency_target: 7.5\n")
    args = argparse.Namespace(config=str(cfg_file), data="d", lang="l", latency_form="fbnet")
    cfg = build_config(SearchConfig, args)
    assert (cfg.latency_table, cfg.latency_mode, cfg.latency_target, cfg.latency_form) == (str(table), "hard", 7.5,
                                                                                           "fbnet")
    with pytest.raises(SystemExit, match="hard needs --latency-target"):
        build_config(SearchConfig, argparse.Namespace(config=None, data="d", lang="l", latency_table=str(table),
                                                      latency_mode="hard"))
    with pytest.raises(SystemExit, match="random has no architecture weights"):
        _plan(tmp_path, {"b1": [1, 2, 10], "b2": [1, 2, 10]}, method="random", target=5.0)
    write_table(tmp_path / "other.json", {"b1": [1, 2, 10], "b2": [1, 2, 10]}, space="wsj")
    space = tmp_path / "space.json"
    space.write_text(json.dumps(TINY_SPACE))
    with pytest.raises(SystemExit, match="other.json: a latency table of space wsj"):
        SearchPlan(SearchConfig(data="d", lang="l", space=str(space), latency_table=str(tmp_path / "other.json"),
                                latency_target=5.0))


@pytest.fixture(scope="module")
def warm(corpus, tmp_path_factory):
    """A warm-up and an unconstrained ST search from it (1 epoch each)."""
    d = tmp_path_factory.mktemp("lat")
    run_stage("warmup", corpus, d / "warmup", max_epochs=1)
    run_stage("search", corpus, d / "free", init=d / "warmup", max_epochs=1)
    return d


def test_hard_budget_search_never_derives_over_its_budget(corpus, warm, tmp_path, capsys):
    """The table makes the unconstrained search's picks expensive (10 ms); the budget (5 ms with the
    fixed 2) fits only cheap ones: a search that ignored the budget would derive the free pick."""
    free = load_checkpoint(warm / "free" / "final.pt")["choice"]
    costs = {b: [10.0 if c == free[b] else 1.0 for c in CANDS] for b in ("b1", "b2")}
    table = write_table(tmp_path / "table.json", costs)
    run_stage("search", corpus, tmp_path / "search", init=warm / "warmup", max_epochs=1, latency_table=table,
              latency_mode="hard", latency_target=5)
    state = load_checkpoint(tmp_path / "search" / "final.pt")
    assert all(state["choice"][b] != free[b] for b in ("b1", "b2"))
    lat = state["latency"]
    assert lat["predicted_ms"] <= 5.0 and lat["budget_ms"] == 5.0 and lat["sampling"]["samples"] > 0
    assert state["config"]["latency_mode"] == "hard" and state["config"]["latency_target"] == 5.0
    from nas.bin.derive import main as derive
    assert derive([str(tmp_path / "search"), str(tmp_path / "derive")]) == 0
    assert "predicted 4 ms (budget 5 ms" in capsys.readouterr().out
    arch = read_arch(tmp_path / "derive" / "arch.json")
    assert arch.latency["table"] == str(table.resolve()) and arch.latency["setting"] == SETTING
    assert load_latency_table(table).predict(arch.choices) <= 5.0


FORMS = [("add", {"latency_weight": 5}), ("mul", {"latency_beta": 2})]    # additive and multiplicative terms


@pytest.fixture(scope="module")
def free_fast(corpus, warm):
    """The unconstrained search at the arch lr of the soft searches below."""
    run_stage("search", corpus, warm / "free_fast", init=warm / "warmup", max_epochs=1, arch_lr=0.1)
    return load_checkpoint(warm / "free_fast" / "final.pt")


@pytest.mark.parametrize("form,extra", FORMS)
def test_soft_term_moves_the_search_to_the_cheap_op(corpus, warm, free_fast, tmp_path, form, extra):
    """tdnn-C1D1 is 20 times cheaper in both blocks: with the term its probability ends higher in
    every block than without it (the same seed and data), and both blocks derive it."""
    table = write_table(tmp_path / "table.json", {"b1": [1.0, 20.0, 20.0], "b2": [1.0, 20.0, 20.0]})
    run_stage("search", corpus, tmp_path / "soft", init=warm / "warmup", max_epochs=1, arch_lr=0.1,
              latency_table=table, latency_target=4, latency_form=form, **extra)
    soft = load_checkpoint(tmp_path / "soft" / "final.pt")
    for b in ("b1", "b2"):
        assert soft["probs"][b]["tdnn-C1D1"] > free_fast["probs"][b]["tdnn-C1D1"] + 0.05, b
    assert set(soft["choice"].values()) == {"tdnn-C1D1"}
    lat = soft["latency"]
    assert lat["predicted_ms"] == 4.0 and lat["form"] == form and lat["target_ms"] == 4.0
    free_ms = load_latency_table(table).predict(free_fast["choice"])
    assert lat["predicted_ms"] <= free_ms and lat["expected_ms"] < 2 + 2 * (1 + 20 + 20) / 3


def test_measured_latency_is_recorded_in_arch_json(tmp_path):
    from nas.bin.measure_latency import main as measure
    from nas.models.arch import Arch
    table = write_table(tmp_path / "table.json", {"b1": [1, 2, 10], "b2": [1, 2, 10]})
    path = tmp_path / "arch.json"
    Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C2D1"},
         latency={"table": str(table), "predicted_ms": 13.0, "budget_ms": 14.0}).write(path)
    assert measure([str(path), "--reps", "3", "--warmup", "1", "--min-sample-ms", "0.5"]) == 0
    lat = read_arch(path).latency
    assert lat["measured_ms"] > 0 and lat["measured"]["reps"] == 3 and lat["predicted_ms"] == 13.0
    assert lat["measured"]["setting"] == SETTING and "machine" in lat["measured"]
    assert measure([str(path)]) == 0                       # measured already: skipped
    plain = tmp_path / "plain.json"
    Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C1D1"}).write(plain)
    with pytest.raises(SystemExit, match="names no latency table"):
        measure([str(plain)])
    assert measure([str(plain), "--table", str(table), "--reps", "2", "--warmup", "0"]) == 0
    assert read_arch(plain).latency["predicted_ms"] == 4.0


def test_shared_stages_pass_the_latency_options(corpus, warm, tmp_path):
    """steps/nas_stages.sh stages 5-6 (the recipes' call) with a hard budget, from any directory."""
    table = write_table(tmp_path / "table.json", {"b1": [1.0, 2.0, 10.0], "b2": [1.0, 2.0, 10.0]})
    conf = tmp_path / "search.yaml"
    conf.write_text("batch_size: 4\nmax_epochs: 1\nheldout_ratio: 0.25\ntensorboard: false\nplots: false\n")
    out = subprocess.run([str(REPO / "steps" / "nas_stages.sh"), "--stage", "5", "--stop-stage", "6",
                          "--data", str(corpus["train"]), "--space", str(corpus["space"]), "--search-config",
                          str(conf), "--warmup-dir", str(warm / "warmup"), "--latency-table", str(table),
                          "--latency-mode", "hard", "--latency-target", "6", str(corpus["lang"]),
                          str(tmp_path / "exp")],
                         cwd=tmp_path, capture_output=True, text=True, env=dict(os.environ, NAS_PYTHON=sys.executable))
    assert out.returncode == 0, out.stderr[-3000:]
    arch = json.loads((tmp_path / "exp" / "derive" / "arch.json").read_text())
    assert arch["latency"]["budget_ms"] == 6.0 and arch["latency"]["predicted_ms"] <= 6.0
    assert "budget 6 ms" in out.stdout
    help_text = subprocess.run([str(REPO / "steps" / "nas_stages.sh"), "--help"], capture_output=True, text=True)
    assert "--latency-mode" in help_text.stdout + help_text.stderr
    recipe = subprocess.run([str(REPO / "egs" / "synth" / "run.sh"), "--help"], capture_output=True, text=True)
    for opt in ("--latency-table", "--latency-target", "--latency-mode", "--measure-latency"):
        assert opt in recipe.stdout, opt
