"""Repeated runs of the tabular methods and their regret curves (CSV, PNG, summary.json).

The regret of a run at x (queries, or simulated seconds) is the test error of its incumbent (the
lowest validation error queried by then) minus the table's best test error, optimum().test; the
val-regret uses the validation errors. Between queries the incumbent carries forward (a step
function); before a run's first query it has no point, and a point's `runs` counts the runs that
have one. The band is the 95% t-interval of the mean over runs (scipy.stats.t, n - 1 degrees of
freedom; empty for fewer than 2 runs).

regret.csv has one row per (method, x), in this column order:
  method           the METHODS name
  x                the grid point: queries 1..budget, or seconds (budget/points .. budget)
  x_unit           "queries" or "seconds"
  runs             the runs with a point at x
  mean_regret      mean test regret over those runs
  ci_low, ci_high  its 95% t-interval
  mean_val_regret  mean validation regret
  median_regret    median test regret
Cells without a value (no run has a point yet, or one run for the interval) are empty.
"""
from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np

from nas.bench.objective import Eval, Objective
from nas.bench.tabular import Space, Trace, check_budget, make_options, run_method

CI_NOTE = "95% t-interval of the mean over runs (scipy.stats.t)"
COLUMNS = ["method", "x", "x_unit", "runs", "mean_regret", "ci_low", "ci_high",
           "mean_val_regret", "median_regret"]


def run_many(objective: Objective, method: str, runs: int, budget_queries: Optional[int] = None,
             budget_time: Optional[float] = None, seed: int = 0, space: Optional[Space] = None,
             **opts: Any) -> List[Trace]:
    """`runs` independent runs with seeds seed .. seed + runs - 1 (one Space shared by all)."""
    check_budget(budget_queries, budget_time)
    make_options(method, **opts)                      # bad options fail before any run
    space = Space.of(objective) if space is None else space
    if budget_time is not None and objective.evaluate(space.vectors[0]).cost is None:
        raise ValueError("a time budget needs costs, and the objective's Evals have cost None: "
                         "give budget_queries instead")
    return [run_method(objective, method, budget_queries, budget_time, s, space, **opts)
            for s in range(seed, seed + runs)]


@dataclass
class Curve:
    """One method's regret statistics on the common grid (arrays aligned with x)."""
    method: str
    x_unit: str
    x: np.ndarray
    runs: np.ndarray
    mean: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    mean_val: np.ndarray
    median: np.ndarray


def grid(budget_queries: Optional[int] = None, budget_time: Optional[float] = None,
         points: int = 100) -> np.ndarray:
    """Queries 1..budget, or `points` evenly spaced seconds ending at the budget."""
    check_budget(budget_queries, budget_time)
    if budget_queries is not None:
        return np.arange(1, budget_queries + 1, dtype=float)
    return np.linspace(budget_time / points, budget_time, points)


def regret_matrix(traces: Sequence[Trace], optimum: Eval, x: np.ndarray, x_unit: str,
                  val: bool = False) -> np.ndarray:
    """runs x len(x): the incumbent's regret at each x, NaN before a run's first query."""
    out = np.full((len(traces), len(x)), np.nan)
    for r, trace in enumerate(traces):
        if not trace.steps:
            continue
        if x_unit == "seconds" and trace.steps[0].time is None:
            raise ValueError("a time grid needs traces with simulated times (an objective with costs)")
        keys = np.array([s.queries if x_unit == "queries" else s.time for s in trace.steps], dtype=float)
        best = np.array([s.best_val - optimum.val if val else s.best_test - optimum.test for s in trace.steps])
        at = np.searchsorted(keys, x, side="right") - 1
        out[r] = np.where(at >= 0, best[np.maximum(at, 0)], np.nan)
    return out


def mean_interval(values: np.ndarray) -> tuple:
    """Per column of a runs x points matrix (NaN = no point): count, mean, 95% t-interval, median."""
    from scipy.stats import t

    ok = ~np.isnan(values)
    n = ok.sum(axis=0)
    filled = np.where(ok, values, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, filled.sum(axis=0) / n, np.nan)
        var = np.where(n > 1, (np.where(ok, values - mean, 0.0) ** 2).sum(axis=0) / (n - 1), np.nan)
        half = t.ppf(0.975, np.maximum(n - 1, 1)) * np.sqrt(var / n)
    median = np.array([np.median(values[ok[:, j], j]) if n[j] else np.nan for j in range(values.shape[1])])
    return n, mean, mean - half, mean + half, median


def regret_curve(method: str, traces: Sequence[Trace], optimum: Eval, budget_queries: Optional[int] = None,
                 budget_time: Optional[float] = None, points: int = 100) -> Curve:
    """The mean regret curve of `traces` and its band, on the budget's grid."""
    x = grid(budget_queries, budget_time, points)
    unit = "queries" if budget_queries is not None else "seconds"
    n, mean, lo, hi, median = mean_interval(regret_matrix(traces, optimum, x, unit))
    mean_val = mean_interval(regret_matrix(traces, optimum, x, unit, val=True))[1]
    return Curve(method, unit, x, n, mean, lo, hi, mean_val, median)


def _cell(v: float) -> str:
    return "" if v is None or not math.isfinite(v) else format(float(v), ".8g")


def write_csv(path: Union[str, Path], curves: Sequence[Curve]) -> None:
    """The curves in the layout of the module doc."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for c in curves:
            for j, x in enumerate(c.x):
                w.writerow([c.method, int(x) if c.x_unit == "queries" else _cell(x), c.x_unit, int(c.runs[j]),
                            _cell(c.mean[j]), _cell(c.ci_low[j]), _cell(c.ci_high[j]),
                            _cell(c.mean_val[j]), _cell(c.median[j])])


def plot(path: Union[str, Path], curves: Sequence[Curve], title: Optional[str] = None) -> None:
    """Mean regret with its shaded 95% band per method; log-y when every mean is positive."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg   # Agg, no pyplot or global backend
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    means = np.concatenate([c.mean[np.isfinite(c.mean)] for c in curves]) if curves else np.array([])
    log = len(means) > 0 and bool((means > 0).all())
    for c in curves:
        line, = ax.plot(c.x, c.mean, label=f"{c.method} (n={int(c.runs.max()) if len(c.runs) else 0})")
        lo = np.maximum(c.ci_low, means.min() / 10) if log else c.ci_low
        ax.fill_between(c.x, lo, c.ci_high, color=line.get_color(), alpha=0.2, linewidth=0)
    if log:
        ax.set_yscale("log")
    unit = curves[0].x_unit if curves else "queries"
    ax.set_xlabel("queries (models evaluated)" if unit == "queries" else "simulated time (s)")
    ax.set_ylabel("test regret of the incumbent")
    ax.set_title(title or "Regret vs " + ("queries" if unit == "queries" else "simulated time")
                 + " (mean, 95% t-interval)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def _num(v: Any) -> Any:
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def summarize(traces: Sequence[Trace], curve: Curve, optimum: Eval, wall_s: float) -> Dict[str, Any]:
    """Final regret and interval, and how often and how soon the best-val model was found."""
    found = [next((s for s in t.steps if s.best_val <= optimum.val), None) for t in traces]
    hits = [s for s in found if s is not None]
    return {
        "runs": len(traces),
        "final_mean_regret": _num(float(curve.mean[-1])),
        "final_ci": [_num(float(curve.ci_low[-1])), _num(float(curve.ci_high[-1]))],
        "final_median_regret": _num(float(curve.median[-1])),
        "final_mean_val_regret": _num(float(curve.mean_val[-1])),
        "found_optimum_fraction": len(hits) / len(traces) if traces else 0.0,
        "mean_queries_to_optimum": float(np.mean([s.queries for s in hits])) if hits else None,
        "mean_time_to_optimum": (float(np.mean([s.time for s in hits]))
                                 if hits and all(s.time is not None for s in hits) else None),
        "mean_queries": float(np.mean([len(t.steps) for t in traces])) if traces else 0.0,
        "wall_s": round(wall_s, 3),
    }


def compare(objective: Objective, methods: Union[Sequence[str], Mapping[str, Mapping[str, Any]]],
            runs: int, budget_queries: Optional[int] = None, budget_time: Optional[float] = None,
            out_dir: Union[str, Path] = ".", seed: int = 0, points: int = 100,
            space: Optional[Space] = None) -> Dict[str, Any]:
    """Run each method `runs` times and write out_dir/regret.csv, regret.png and summary.json
    (methods: names, or names -> options); returns the summary."""
    check_budget(budget_queries, budget_time)
    methods = dict(methods) if isinstance(methods, Mapping) else {m: {} for m in methods}
    for name, opts in methods.items():
        make_options(name, **opts)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    space = Space.of(objective) if space is None else space
    optimum = objective.optimum()
    curves, summary = [], {}
    for name, opts in methods.items():
        start = time.perf_counter()
        traces = run_many(objective, name, runs, budget_queries, budget_time, seed, space, **opts)
        wall = time.perf_counter() - start
        curves.append(regret_curve(name, traces, optimum, budget_queries, budget_time, points))
        summary[name] = summarize(traces, curves[-1], optimum, wall)
        summary[name]["options"] = asdict(make_options(name, **opts))
    write_csv(out / "regret.csv", curves)
    plot(out / "regret.png", curves)
    result = {"budget_queries": budget_queries, "budget_time": budget_time, "runs": runs, "seed": seed,
              "interval": CI_NOTE, "space": space.codec.name, "models": space.n_models,
              "vectors": space.n_vectors,
              "optimum": {"val": optimum.val, "test": optimum.test, "model_hash": optimum.model_hash},
              "methods": summary}
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
