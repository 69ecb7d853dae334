"""Search methods judged on an exhaustive table by lookup: the answer to "does search find anything?".

With every architecture of a space trained with several seeds (egs/synth/results/exhaustive.csv),
an architecture a method picks needs no retraining: its score is its table mean test WER over the
seeds. So each method can be run many times, and what matters is the distribution of its picks:

- one-shot searches come from searches.csv (one row per run: method, run and warm-up seeds, the
  derived architecture, the search's cost; SEARCH_COLUMNS), written by the runs' driver;
- the tabular methods (nas.bench.tabular: random search, regularized evolution, local search, BO)
  run here, on the table, with a budget in stand-alone trainings: each query "trains" one
  architecture once, seeing the dev WER of one seed (a run's queries see the seed `run mod
  seeds`), and the pick is the incumbent, the lowest dev WER found;
- "random pick" draws one architecture uniformly per run (no search at all);
- a proxy-guided method per zero-cost proxy (proxies.csv): train the proxy's top k, keep the best
  on dev; one run per initialization seed;
- the named hand-designed architectures of the plan (origin other than "sampled") are one pick each.

Per method: the picks' mean table WER with a bootstrap interval, the share of picks in the table's
best 10%, the mean regret to the table's best, the cost. Per pair of methods with several runs:
the difference of mean picks with its bootstrap interval, a two-sample permutation test's p, and
the minimal detectable difference at 80% power for these numbers of runs (nas.bench.stats).
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from nas.bench.codec import Codec
from nas.bench.objective import Eval
from nas.bench.points import pts, with_interval
from nas.bench.proxy_report import complete
from nas.bench.stats import bootstrap_ci_difference, minimal_detectable_difference, permutation_test_two_sample

SEARCH_COLUMNS = ("method", "run_seed", "warmup_seed", "arch", "hash", "search_seconds", "warmup_seconds",
                  "trainings", "converged", "max_rel_entropy", "rel_entropies", "epochs", "latency_mode",
                  "latency_bound_ms", "predicted_ms")
RANDOM_PICK = "random pick"
# searches.csv's method -> its name among the picks, where it would be taken for a tabular method's:
# random search with weight sharing (one-shot) is not the tabular random search that trains each query
ONE_SHOT_NAMES = {"random": "random-ws"}


@dataclass(frozen=True)
class Pick:
    """One run of one method: the architecture it returned and what the run cost."""
    method: str
    run: int
    hash: str
    trainings: float                  # cost in stand-alone trainings (search seconds / a training's)
    converged: Optional[bool] = None  # one-shot searches: every block decided (nas.models.decision)


class ExhaustiveTable:
    """A table CSV (nas.bench.export's columns), restricted to the architectures with every seed.
    train_seconds, the unit of cost ("one stand-alone training"), is the mean over its rows, or over
    the rows of `unit_seeds` only: seeds trained alone on the machine, where others shared it with
    more jobs than cores (docs/bench.md, "One-shot searches on the exhaustive table")."""

    def __init__(self, rows: Sequence[Dict[str, str]], codec: Codec, metric: str = "test_wer",
                 unit_seeds: Optional[Sequence[int]] = None):
        rows = complete(rows, metric)
        if not rows:
            raise ValueError(f"the table has no architecture with a {metric}")
        self.codec, self.metric = codec, metric
        acc: Dict[str, List[float]] = {}
        self.dev: Dict[Tuple[str, int], float] = {}
        self.vec: Dict[str, list] = {}
        self.origin: Dict[str, str] = {}
        for r in rows:
            h = r["hash"]
            acc.setdefault(h, []).append(float(r[metric]))
            self.dev[(h, int(r["seed"]))] = float(r["dev_wer"])
            self.vec[h] = codec.parse(r["arch"])
            self.origin[h] = r.get("origin", "sampled") or "sampled"
        self.means = {h: float(np.mean(v)) for h, v in acc.items()}
        self.seeds = sorted({s for _, s in self.dev})
        self.unit_seeds = tuple(sorted(set(unit_seeds))) if unit_seeds else tuple(self.seeds)
        secs = [float(r["train_seconds"]) for r in rows if r.get("train_seconds") and int(r["seed"]) in self.unit_seeds]
        if unit_seeds and not secs:
            raise ValueError(f"no row of seeds {list(self.unit_seeds)} has train_seconds (the table's seeds: "
                             f"{self.seeds})")
        self.train_seconds = float(np.mean(secs)) if secs else math.nan
        values = np.array(sorted(self.means.values()))
        self.best = float(values[0])
        self.top10 = float(np.quantile(values, 0.1))     # a pick at or below this is in the best 10%


class _SeedObjective:
    """The table as a tabular search sees it: dev WER of one training seed, judged by the mean test
    WER; each model costs one stand-alone training (nas.bench.objective's protocol)."""

    def __init__(self, table: ExhaustiveTable, seed: int):
        self.table, self.seed, self.codec = table, seed, table.codec

    def vectors(self) -> List[list]:
        return [self.table.vec[h] for h in sorted(self.table.vec)]

    def evaluate(self, vec) -> Eval:
        h = self.codec.hash(vec)
        if h not in self.table.means:
            raise KeyError(f"{vec!r} is not in the table")
        return Eval(h, self.table.dev[(h, self.seed)], self.table.means[h], self.table.train_seconds)

    def optimum(self) -> Eval:
        hs = sorted(self.table.means)
        best_test = min(hs, key=lambda h: self.table.means[h])
        return Eval(best_test, min(self.table.dev[(h, self.seed)] for h in hs), self.table.means[best_test])


def multi_trial_picks(table: ExhaustiveTable, method: str, budget: int, runs: int) -> List[Pick]:
    """`runs` runs of a tabular method with `budget` queries each; run r sees seed r mod seeds."""
    from nas.bench.tabular import Space, run_method
    space = Space.of(_SeedObjective(table, table.seeds[0]))
    out = []
    for r in range(runs):
        trace = run_method(_SeedObjective(table, table.seeds[r % len(table.seeds)]), method,
                           budget_queries=budget, seed=r, space=space)
        out.append(Pick(method, r, trace.steps[-1].best_hash, float(len(trace.steps))))
    return out


def proxy_picks(table: ExhaustiveTable, proxy_rows: Sequence[Dict[str, str]], name: str, k: int) -> List[Pick]:
    """The proxy-guided method: train only the k architectures the proxy `name` ranks highest, keep
    the one with the lowest dev WER. One run per initialization seed of proxies.csv (its ranking
    is that seed's), seeing the dev WER of table seed (run mod seeds); cost k trainings."""
    by_seed: Dict[str, Dict[str, float]] = {}
    for r in proxy_rows:
        if r["hash"] in table.means and r.get(name, "") not in ("", "nan"):
            by_seed.setdefault(r["seed"], {})[r["hash"]] = float(r[name])
    out = []
    for run, seed in enumerate(sorted(by_seed, key=int)):
        scores = by_seed[seed]
        top = sorted(scores, key=lambda h: (-scores[h], h))[:k]
        dev_seed = table.seeds[run % len(table.seeds)]
        out.append(Pick(f"{name} top-{k}", run, min(top, key=lambda h: (table.dev[(h, dev_seed)], h)), float(len(top))))
    return out


def random_picks(table: ExhaustiveTable, runs: int, seed: int = 0) -> List[Pick]:
    """One architecture drawn uniformly per run, no search and no training."""
    hashes = sorted(table.means)
    rng = np.random.default_rng(seed)
    return [Pick(RANDOM_PICK, r, hashes[int(rng.integers(len(hashes)))], 0.0) for r in range(runs)]


def baseline_picks(table: ExhaustiveTable, names: Dict[str, str]) -> List[Pick]:
    """The hand-designed architectures (hash -> name, e.g. from a plan's origins), one pick each."""
    return [Pick(name, 0, h, 0.0) for h, name in sorted(names.items(), key=lambda kv: kv[1]) if h in table.means]


def all_picks(table: ExhaustiveTable, one_shot: Sequence[Pick], methods: Sequence[str] = ("random", "rea", "ls", "bo"),
              runs: int = 100, budget: int = 0, proxy_rows: Sequence[Dict[str, str]] = (),
              proxy_names: Sequence[str] = (), seed: int = 0) -> Tuple[List[Pick], int]:
    """The one-shot runs and every other method's picks, and the budget the others got: `budget`
    trainings, or (0) the one-shot runs' median cost rounded up, or 10 without them."""
    if not budget:
        costs = sorted(p.trainings for p in one_shot)
        budget = max(1, math.ceil(costs[len(costs) // 2])) if costs else 10
    picks = list(one_shot)
    for m in methods:
        picks += multi_trial_picks(table, m, budget, runs)
    for name in proxy_names if proxy_rows else ():
        picks += proxy_picks(table, proxy_rows, name, budget)
    picks += random_picks(table, runs, seed)
    picks += baseline_picks(table, {h: o for h, o in table.origin.items() if o != "sampled"})
    return picks, budget


def read_searches(path: Path, table: ExhaustiveTable) -> List[Pick]:
    """searches.csv's runs as picks (its `random` as random-ws: ONE_SHOT_NAMES); an architecture missing
    from the table is an error naming the row.
    Runs under a latency term or budget are left out: they answer another question (the latency
    section of BENCH.md, nas.bench.latency_searches)."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in ("method", "run_seed", "hash", "trainings") if rows and c not in rows[0]]
    if missing:
        raise ValueError(f"{path}: no column(s) {missing}; expected {','.join(SEARCH_COLUMNS)}")
    out = []
    for i, r in enumerate(rows, start=2):
        if r.get("latency_mode"):
            continue
        if r["hash"] not in table.means:
            raise ValueError(f"{path}, line {i}: {r['method']} run {r['run_seed']} picked {r.get('arch', r['hash'])}, "
                             f"which the table does not hold with every seed")
        conv = r.get("converged", "")
        out.append(Pick(ONE_SHOT_NAMES.get(r["method"], r["method"]), int(r["run_seed"]), r["hash"],
                        float(r["trainings"]), None if conv == "" else conv.lower() in ("1", "true", "yes")))
    return out


def mean_interval(x: np.ndarray) -> Tuple[float, float]:
    """95% percentile-bootstrap interval of a mean (nan with fewer than 2 distinct values)."""
    if len(x) < 2 or np.ptp(x) == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(0)
    means = rng.choice(x, size=(4000, len(x)), replace=True).mean(axis=1)
    return float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def summarize(picks: Sequence[Pick], table: ExhaustiveTable) -> Dict[str, dict]:
    """Per method: runs, mean pick and its interval, share in the best 10%, mean regret, cost."""
    by: Dict[str, List[Pick]] = {}
    for p in picks:
        by.setdefault(p.method, []).append(p)
    out = {}
    for m, ps in by.items():
        x = np.array([table.means[p.hash] for p in ps])
        lo, hi = mean_interval(x)
        conv = [p.converged for p in ps if p.converged is not None]
        out[m] = {"runs": len(ps), "mean": float(x.mean()), "low": lo, "high": hi,
                  "top10_share": float(np.mean(x <= table.top10)), "regret": float(x.mean() - table.best),
                  "trainings": float(np.median([p.trainings for p in ps])),
                  "converged": sum(conv) if conv else None, "picks": x.tolist()}
    return out


def pairwise(summary: Dict[str, dict], min_runs: int = 3) -> List[dict]:
    """Every pair of methods with at least `min_runs` runs: mean difference (a - b), its bootstrap
    interval, the permutation test's p and the minimal detectable difference at 80% power."""
    names = [m for m, s in summary.items() if s["runs"] >= min_runs]
    return [{"a": a, "b": b, **difference(np.array(summary[a]["picks"]), np.array(summary[b]["picks"]))}
            for i, a in enumerate(names) for b in names[i + 1:]]


def difference(x: np.ndarray, y: np.ndarray) -> dict:
    """mean(x) - mean(y) of two methods' picks: its bootstrap interval, the permutation test's p and
    the minimal detectable difference at 80% power (pooled sd; nan when both samples are constant)."""
    ci = bootstrap_ci_difference(x, y, n_resamples=2000)
    test = permutation_test_two_sample(x, y, n_resamples=4999)
    sd = math.sqrt(((len(x) - 1) * x.var(ddof=1) + (len(y) - 1) * y.var(ddof=1)) / (len(x) + len(y) - 2))
    mdd = minimal_detectable_difference(sd, len(x), n2=len(y)) if sd > 0 else math.nan
    return {"diff": ci.value, "low": ci.low, "high": ci.high, "p": test.p, "mdd": mdd}


def _unit_note(table: ExhaustiveTable) -> str:
    """Which seeds' trainings the unit is the mean of, where not all of them."""
    if table.unit_seeds == tuple(table.seeds):
        return ""
    return f" (the mean over the trainings of seeds {', '.join(map(str, table.unit_seeds))})"


def report_lines(table: ExhaustiveTable, summary: Dict[str, dict], pairs: Sequence[dict], budget: int) -> List[str]:
    """The comparison as markdown: the table's spread, one row per method, one row per pair."""
    values = sorted(table.means.values())
    lines = [f"{len(values)} architectures with {len(table.seeds)} seeds each: best {pts(values[0])}%, median "
             f"{pts(float(np.median(values)))}%, worst {pts(values[-1])}% (mean test WER over seeds); the best 10% "
             f"are at or below {pts(table.top10)}%. One stand-alone training: {table.train_seconds:.0f} s"
             f"{_unit_note(table)}. "
             f"Tabular methods: {budget} trainings per run, each seeing one seed's dev WER; a pick is scored by "
             f"its table mean.", "",
             "| method | runs | mean pick, WER % [95%] | in best 10% | mean regret | cost (trainings) | converged |",
             "|---|---|---|---|---|---|---|"]
    for m, s in sorted(summary.items(), key=lambda kv: kv[1]["mean"]):
        conv = "-" if s["converged"] is None else f"{s['converged']} of {s['runs']}"
        lines.append(f"| {m} | {s['runs']} | {with_interval(s['mean'], s['low'], s['high'])} | "
                     f"{100 * s['top10_share']:.0f}% | {pts(s['regret'])} | {s['trainings']:.3g} | {conv} |")
    if pairs:
        lines += ["", "Pairs (a - b in WER points; p of a two-sample permutation test; MDD: the smallest true "
                      "difference these numbers of runs detect with 80% power at the 5% level):", "",
                  "| a | b | a - b [95%] | p | MDD |", "|---|---|---|---|---|"]
        for p in pairs:
            diff = with_interval(p["diff"], p["low"], p["high"], signed=True)
            lines.append(f"| {p['a']} | {p['b']} | {diff} | {p['p']:.3g} | {pts(p['mdd'])} |")
    return lines
