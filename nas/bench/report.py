"""Scoring search methods against a ground-truth table: ranks, regrets, rank correlations with
bootstrap intervals, and the scatter of one-shot scores against stand-alone results.

The figures BENCH.md reports: where an architecture a method derived falls among the table's
(the share of the table's models that are better, and its regret to the best); how well a
super-network's scores (held-out loss with inherited weights, `nas.bin.score`) rank the
table's models (Kendall's tau and Spearman's rho, with percentile-bootstrap 95% intervals
over the architectures); and the table's own noise floor (the spread of one architecture over
seeds), against which every difference is to be read.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np


@dataclass(frozen=True)
class Correlation:
    """A rank correlation with its bootstrap interval."""
    name: str                     # "kendall" or "spearman"
    value: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if np.isnan(self.low) or np.isnan(self.high):
            return f"{self.value:+.2f} (n={self.n}: no interval, resamples of so few tie)"
        return f"{self.value:+.2f} [{self.low:+.2f}, {self.high:+.2f}] (n={self.n})"


def rank_correlations(x: Sequence[float], y: Sequence[float], resamples: int = 2000,
                      seed: int = 0) -> Tuple[Correlation, Correlation]:
    """Kendall's tau and Spearman's rho of paired scores (lower is better in both), each with a
    95% percentile-bootstrap interval over the pairs (scipy.stats.bootstrap, paired). With a
    handful of pairs some resamples repeat one pair throughout, their statistic is undefined and
    the interval is nan: printed as "no interval", not as bounds."""
    from scipy import stats
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"rank correlations need two equal-length score lists, got {x.shape} and {y.shape}")
    if len(x) < 3:
        raise ValueError(f"rank correlations need at least 3 architectures, got {len(x)}")
    out = []
    for name, fn in (("kendall", lambda a, b: stats.kendalltau(a, b).statistic),
                     ("spearman", lambda a, b: stats.spearmanr(a, b).statistic)):
        value = float(fn(x, y))
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")      # scipy warns of the undefined statistic of a tied resample
            res = stats.bootstrap((x, y), fn, paired=True, vectorized=False, n_resamples=resamples,
                                  confidence_level=0.95, method="percentile", random_state=seed)
        low, high = res.confidence_interval
        out.append(Correlation(name, value, float(low), float(high), len(x)))
    return out[0], out[1]


def standing(value: float, table: Sequence[float]) -> Dict[str, float]:
    """Where `value` (an error rate, lower is better) falls in a table's values: the share of the
    table strictly better (0: as good as the best), its rank among them (1-based, ties share the
    better rank) and its regret to the table's best."""
    t = np.asarray(table, dtype=float)
    t = t[~np.isnan(t)]
    if not len(t):
        raise ValueError("the table has no values to compare with")
    better = int(np.sum(t < value))
    return {"better_share": better / len(t), "rank": better + 1, "of": int(len(t)),
            "regret": float(value - t.min())}


def noise_floor(values_by_seed: Dict[str, Sequence[float]]) -> Dict[str, float]:
    """The spread of architectures trained with several seeds: the mean over architectures of
    the standard deviation over seeds (ddof 1), and the largest range, in the values' units."""
    stds, ranges = [], []
    for vals in values_by_seed.values():
        v = np.asarray(vals, dtype=float)
        if len(v) >= 2:
            stds.append(float(np.std(v, ddof=1)))
            ranges.append(float(v.max() - v.min()))
    if not stds:
        raise ValueError("the noise floor needs architectures with at least 2 seeds")
    return {"mean_std": float(np.mean(stds)), "max_range": float(np.max(ranges)), "architectures": len(stds)}


def scatter(path, points: Dict[str, Tuple[Sequence[float], Sequence[float]]], xlabel: str, ylabel: str,
            title: str, marks: Optional[Dict[str, Tuple[float, float]]] = None) -> None:
    """A PNG of one-shot scores (x) against stand-alone results (y), one colour per series;
    `marks` adds labelled single points (a derived architecture, TDNN-D)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6.5, 4.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, (x, y) in points.items():
        ax.scatter(x, y, s=14, alpha=0.75, label=name)
    for name, (x, y) in (marks or {}).items():
        ax.scatter([x], [y], marker="*", s=120, edgecolors="black", zorder=3)
        ax.annotate(name, (x, y), textcoords="offset points", xytext=(5, 5), fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if points:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def markdown_table(header: Sequence[str], rows: List[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
