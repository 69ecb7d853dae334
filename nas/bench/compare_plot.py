"""BENCH.md's one plot of the method comparison: every method's picks against its cost, over the
distribution of the exhaustive table (nas.bench.compare's picks and summary).

Left: one point per run (its pick's table mean against its cost in stand-alone trainings; the
tabular methods' and random pick's many runs jittered sideways), each method's mean with its 95%
interval, the hand designs as horizontal lines, the table's best 10% shaded. Right, on the same
WER axis: the histogram of the table's architecture means, so that a pick reads as a quantile."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Dict, Sequence, Tuple

import numpy as np

from nas.bench.compare import ExhaustiveTable, Pick


def plot_points(picks: Sequence[Pick], table: ExhaustiveTable) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """Per method: its runs' costs (trainings) and picks' table means (WER %), as plotted."""
    out: Dict[str, Tuple[list, list]] = {}
    for p in picks:
        xs, ys = out.setdefault(p.method, ([], []))
        xs.append(p.trainings)
        ys.append(100 * table.means[p.hash])
    return {m: (np.array(x), np.array(y)) for m, (x, y) in out.items()}


def _dodge(centers: Dict[str, float], step: float) -> Dict[str, float]:
    """Sideways offsets that keep methods of (nearly) the same cost from hiding one another."""
    groups: Dict[float, list] = {}
    for m, c in sorted(centers.items()):
        groups.setdefault(round(c, 1), []).append(m)
    return {m: (i - (len(ms) - 1) / 2) * step for ms in groups.values() for i, m in enumerate(ms)}


def plot_picks(path: Path, picks: Sequence[Pick], summary: Dict[str, dict], table: ExhaustiveTable) -> Dict[str, tuple]:
    """Write the plot to `path`; returns plot_points' coordinates (before jitter)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg   # Agg, no pyplot or global backend
    from matplotlib.figure import Figure

    points = plot_points(picks, table)
    fig = Figure(figsize=(10, 6))
    FigureCanvasAgg(fig)
    ax, hx = fig.subplots(1, 2, sharey=True, gridspec_kw={"width_ratios": [4, 1]})
    rng = np.random.default_rng(0)
    span = max(1.0, max(float(x.max()) for x, _ in points.values()))
    ax.axhspan(100 * min(table.means.values()), 100 * table.top10, color="0.9", label="the table's best 10%")
    markers = itertools.cycle("os^Dv<>ph*")
    colors = itertools.cycle([f"tab:{c}" for c in ("blue", "orange", "green", "red", "purple", "brown", "pink",
                                                    "gray", "olive", "cyan")] + ["k", "gold", "navy", "lime"])
    designs = {m for m in points if summary[m]["runs"] == 1 and summary[m]["trainings"] == 0}
    # methods whose runs all cost the same (tabular, proxy-guided) are spread sideways; a one-shot
    # method's runs stay at their own costs
    fixed = {m: float(x[0]) for m, (x, _) in points.items() if m not in designs and np.ptp(x) == 0}
    shift = {m: 0.0 for m in points} | _dodge(fixed, 0.02 * span)
    for m, (x, y) in sorted(points.items(), key=lambda kv: summary[kv[0]]["mean"]):
        s = summary[m]
        if m in designs:                                     # a hand design: a line, not a run
            ax.axhline(y[0], color="0.4", linestyle=":", linewidth=1)
            ax.annotate(m, (span * 1.02, y[0]), fontsize=7, va="center", color="0.3", annotation_clip=False)
            continue
        jitter = rng.uniform(-0.01, 0.01, len(x)) * span if len(x) > 20 else 0.0
        color = next(colors)
        ax.scatter(x + shift[m] + jitter, y, s=10 if len(x) > 20 else 22, alpha=0.25 if len(x) > 20 else 0.7,
                   marker=next(markers), color=color)
        cx = float(np.median(x)) + shift[m]
        err = None
        if not np.isnan(s["low"]):
            err = [[100 * (s["mean"] - s["low"])], [100 * (s["high"] - s["mean"])]]
        ax.errorbar([cx], [100 * s["mean"]], yerr=err, fmt="o", color=color, markersize=7,
                    markeredgecolor="k", capsize=4, label=f"{m} (n={s['runs']})")
    ax.set_xlabel("cost of a run (stand-alone trainings)")
    ax.set_ylabel("pick's table mean test WER (%)")
    ax.set_title("Picks against cost (large markers: mean and 95% interval)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=6, frameon=False)
    values = 100 * np.array(sorted(table.means.values()))
    hx.hist(values, bins=min(30, max(5, len(values) // 3)), orientation="horizontal", color="0.6")
    hx.axhline(float(np.median(values)), color="k", linewidth=1, label="median")
    hx.set_xlabel(f"architectures (of {len(values)})")
    hx.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return points
