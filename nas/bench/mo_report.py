"""Repeated multi-objective runs (nas.bench.mo_search) against a table's true front: the files
of `python -m nas.bin.bench pareto`.

Written to the output folder:
  true_front.csv    the table's front of (test, cost): model_hash, arch, test, cost, val
  hypervolume.csv   per method and query count 1..budget: runs, mean_ratio, ci_low, ci_high,
                    median_ratio, mean_val_ratio (the ratio of hypervolumes found/true; the
                    interval a 95% bootstrap of the mean over runs, nas.bench.stats)
  pareto.png        left: every model, the true front and each method's found set of its median
                    run at the budget; right: the mean ratio against queries with its interval
  summary.json      the setting, the true front's hypervolume and reference point, the ratio of a
                    run that queried every model (all_queried_ratio: the validation front's test
                    points; below 1 where validation and test fronts differ), and per method and
                    listed budget the mean ratio with its interval
A ratio's interval is empty (NaN in the CSV, null in the JSON) when every run has the same
ratio: a bootstrap cannot vary then.
"""
from __future__ import annotations

import csv
import itertools
import json
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np

from nas.bench.mo_search import MOProblem, MOTrace, found_set, make_mo_options, ratio_curves, run_many_mo
from nas.bench.stats import Interval, bootstrap_ci_difference

HV_COLUMNS = ["method", "queries", "runs", "mean_ratio", "ci_low", "ci_high", "median_ratio", "mean_val_ratio"]
CI_NOTE = "95% BCa bootstrap interval of the mean over runs (nas.bench.stats)"


def mean_interval(values: Sequence[float], n_boot: int = 2000, seed: int = 0) -> Interval:
    """The mean of `values` with its 95% bootstrap interval. nas.bench.stats bootstraps
    differences of means; paired against zeros, the difference is the mean itself."""
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return Interval(float(v.mean()) if len(v) else math.nan, math.nan, math.nan)
    return bootstrap_ci_difference(v, np.zeros_like(v), paired=True, n_resamples=n_boot, seed=seed)


def ratio_matrix(problem: MOProblem, traces: Sequence[MOTrace], budget: int) -> np.ndarray:
    """(2, runs, budget): ratio_curves of each run (test first, val second)."""
    return np.stack([ratio_curves(problem, t.models, budget) for t in traces], axis=1)


def _cell(v: float) -> str:
    return "" if v is None or not math.isfinite(v) else format(float(v), ".6g")


def _num(v: float) -> Any:
    return None if not math.isfinite(v) else round(float(v), 6)


def write_true_front(path: Path, problem: MOProblem) -> None:
    """The true (test, cost) front, cheapest last (sorted by test error)."""
    codec = problem.space.codec
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["model_hash", "arch", "test", problem.cost_name, "val"])
        for m in problem.front.index.tolist():
            vec = problem.space.vectors[problem.space.members[m][0]]
            w.writerow([problem.hashes[m], codec.string(vec), _cell(problem.test[m]), _cell(problem.cost[m]),
                        _cell(problem.val[m])])


def curve_stats(ratios: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """(5, budget) from ratio_matrix's (2, runs, budget): per query count the mean test ratio, its
    interval (low, high), the median, and the mean val ratio."""
    out = np.empty((5, ratios.shape[2]))
    for k in range(ratios.shape[2]):
        out[:3, k] = mean_interval(ratios[0, :, k], n_boot, seed)
    out[3] = np.median(ratios[0], axis=0)
    out[4] = ratios[1].mean(axis=0)
    return out


def plot(path: Path, problem: MOProblem, found: Mapping[str, List[int]], curves: Mapping[str, np.ndarray],
         runs: int) -> None:
    """The fronts (cost on x, test error on y) and the mean ratio against queries."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg   # Agg, no pyplot or global backend
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4.5))
    FigureCanvasAgg(fig)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    ax.scatter(problem.cost, problem.test, s=6, color="0.75", label=f"all {problem.n_models} models")
    order = np.argsort(problem.front.points[:, 1])
    ax.step(problem.front.points[order, 1], problem.front.points[order, 0], where="post", color="k",
            label="true front")
    for (name, models), marker in zip(found.items(), itertools.cycle("x+1234")):
        ax.scatter(problem.cost[models], problem.test[models], s=40, marker=marker, label=f"{name}: median run's set")
    if problem.cost.min() > 0 and problem.cost.max() > 10 * problem.cost.min():
        ax.set_xscale("log")
    else:
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 4))
    ax.set_xlabel(problem.cost_name)
    ax.set_ylabel("test error")
    ax.legend(fontsize=8)
    for name, c in curves.items():
        x = np.arange(1, c.shape[1] + 1)
        line, = bx.plot(x, c[0], label=f"{name} (n={runs})")
        bx.fill_between(x, c[1], c[2], color=line.get_color(), alpha=0.2, linewidth=0)
    bx.set_xlabel("queries (models evaluated)")
    bx.set_ylabel("hypervolume found / true")
    bx.set_title("mean over runs, 95% bootstrap interval")
    bx.grid(True, alpha=0.3)
    bx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def median_run(ratios: np.ndarray) -> int:
    """The run whose final test ratio is the median (the lower one of an even count)."""
    final = ratios[0, :, -1]
    return int(np.argsort(final, kind="stable")[(len(final) - 1) // 2])


def compare_mo(problem: MOProblem, methods: Union[Sequence[str], Mapping[str, Mapping[str, Any]]], runs: int,
               budgets: Sequence[int], out_dir: Union[str, Path], seed: int = 0, n_boot: int = 2000,
               setting: Mapping[str, Any] = ()) -> Dict[str, Any]:
    """Run each method `runs` times up to max(budgets) queries and write the module's files;
    returns the summary (also summary.json). `setting` is copied into the summary."""
    methods = dict(methods) if isinstance(methods, Mapping) else {m: {} for m in methods}
    for name, opts in methods.items():
        make_mo_options(name, **opts)
    budgets = sorted(set(int(b) for b in budgets))
    if not budgets or budgets[0] < 1:
        raise ValueError(f"budgets must be positive query counts, not {budgets}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    budget = budgets[-1]
    curves, found, summary, rows = {}, {}, {}, []
    for name, opts in methods.items():
        start = time.perf_counter()
        traces = run_many_mo(problem, name, runs, budget, seed, **opts)
        wall = time.perf_counter() - start
        r = ratio_matrix(problem, traces, budget)
        found[name] = found_set(problem, traces[median_run(r)].models)
        curves[name] = c = curve_stats(r, n_boot, seed)
        rows += [[name, k + 1, runs] + [_cell(v) for v in c[:, k]] for k in range(budget)]
        at = {str(b): {"mean_ratio": _num(c[0, b - 1]), "ci": [_num(c[1, b - 1]), _num(c[2, b - 1])],
                       "median_ratio": _num(c[3, b - 1]), "mean_val_ratio": _num(c[4, b - 1]),
                       "found_whole_front": float(np.mean(r[0, :, b - 1] >= 1 - 1e-12))} for b in budgets}
        summary[name] = {"options": dict(vars(make_mo_options(name, **opts))), "wall_s": round(wall, 3),
                         "mean_queries": float(np.mean([len(t.models) for t in traces])),
                         "stops": sorted({t.stop for t in traces}), "budgets": at}
    write_true_front(out / "true_front.csv", problem)
    with open(out / "hypervolume.csv", "w", newline="") as f:
        csv.writer(f).writerows([HV_COLUMNS] + rows)
    plot(out / "pareto.png", problem, found, curves, runs)
    result = {**dict(setting), "cost": problem.cost_name, "models": problem.n_models, "runs": runs,
              "budgets": budgets, "seed": seed, "interval": CI_NOTE, "bootstrap_resamples": n_boot,
              "reference_point": problem.front.ref.tolist(), "true_hypervolume": problem.front.hypervolume,
              "true_front_size": len(problem.front.index), "all_queried_ratio": round(problem.ceiling, 6),
              "val_reference_point": problem.val_front.ref.tolist(), "methods": summary}
    (out / "summary.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
