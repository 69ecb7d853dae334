"""Pareto fronts of two objectives to minimize (an error rate and a cost), their hypervolume,
and a benchmark table's true front.

A point a dominates b when a is no worse in both objectives and better in at least one. Equal
points do not dominate each other, so duplicates on the front all stay on it. The 2-D front is a
sweep over the points sorted by the first objective (O(n log n)); the hypervolume of a set is
the area it dominates inside the box bounded by a reference point (the sum of the rectangles
between consecutive front points, also O(n log n)); points not strictly better than the
reference in both objectives add nothing. The hypervolume of any subset of a table is at most
that of the table's front, so found/true is a ratio in [0, 1] when both use one reference point.

Costs come from the table's other files (nas.bench.table): `latency:DEVICE` (a benchmarking file
nb-asr-bench-DEVICE.pickle, seconds), `params` or `flops` (nb-asr-info.pickle).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import numpy as np

COST_KINDS = ("latency", "params", "flops")


def as_points(points: Any, name: str = "points") -> np.ndarray:
    """An (n, 2) float array of finite values; ValueError naming `name` otherwise."""
    a = np.asarray(points, dtype=float)
    if a.size == 0:
        return a.reshape(0, 2)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"{name}: expected an (n, 2) array of (objective 1, objective 2), got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        bad = int(np.flatnonzero(~np.isfinite(a).all(axis=1))[0])
        raise ValueError(f"{name}: point {bad} is not finite: {a[bad].tolist()}")
    return a


def dominates(a: Sequence[float], b: Sequence[float]) -> bool:
    """a is no worse than b in both objectives and better in one (minimizing both)."""
    return bool(a[0] <= b[0] and a[1] <= b[1] and (a[0] < b[0] or a[1] < b[1]))


def pareto_mask(points: Any) -> np.ndarray:
    """True for each point no other point dominates (duplicates of a front point are kept).

    Sorted by the first objective, then the second, a point is on the front iff its second
    objective is below every earlier point's, or it repeats the last front point exactly."""
    p = as_points(points)
    mask = np.zeros(len(p), dtype=bool)
    best_y, last = np.inf, None
    for i in np.lexsort((p[:, 1], p[:, 0])).tolist():
        x, y = p[i]
        if y < best_y or (last is not None and x == last[0] and y == last[1]):
            mask[i] = True
            best_y, last = y, (x, y)
    return mask


def pareto_front(points: Any) -> np.ndarray:
    """Indices of the non-dominated points, sorted by the first objective (then the second)."""
    p = as_points(points)
    idx = np.flatnonzero(pareto_mask(p))
    return idx[np.lexsort((p[idx, 1], p[idx, 0]))]


def dominance_matrix(p: np.ndarray) -> np.ndarray:
    """d[i, j]: point i dominates point j (an (n, n) array: for populations, not whole tables)."""
    le = (p[:, None, :] <= p[None, :, :]).all(axis=2)
    lt = (p[:, None, :] < p[None, :, :]).any(axis=2)
    return le & lt


def _ranks(p: np.ndarray) -> np.ndarray:
    dom = dominance_matrix(p)
    ranks = np.full(len(p), -1, dtype=int)
    alive = np.ones(len(p), dtype=bool)
    r = 0
    while alive.any():
        front = alive & ~dom[alive].any(axis=0)       # dominated by no point still unranked
        ranks[front] = r
        alive &= ~front
        r += 1
    return ranks


def nondominated_ranks(points: Any) -> np.ndarray:
    """Each point's front number (0: the Pareto front, 1: the front once that is removed, ...):
    NSGA-II's non-dominated sorting, on the dominance matrix (O(n^2) time and memory: for the
    searches' populations of tens, not whole tables, whose front is pareto_mask's)."""
    return _ranks(as_points(points))


def _crowding(p: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    dist = np.zeros(len(p))
    for r in range(int(ranks.max()) + 1 if len(p) else 0):
        members = np.flatnonzero(ranks == r)
        for k in range(p.shape[1]):
            order = members[np.argsort(p[members, k], kind="stable")]
            span = p[order[-1], k] - p[order[0], k]
            dist[order[0]] = dist[order[-1]] = np.inf
            if span > 0 and len(order) > 2:
                dist[order[1:-1]] += (p[order[2:], k] - p[order[:-2], k]) / span
    return dist


def crowding_distance(points: Any, ranks: Optional[np.ndarray] = None) -> np.ndarray:
    """NSGA-II's crowding distance (Deb et al. 2002, section III-B), within each front: per
    objective, the front's two extreme points get infinity and the others the gap between their
    neighbours along that objective divided by the front's range of it; summed over objectives.
    An objective with no range in a front adds nothing there."""
    p = as_points(points)
    return _crowding(p, _ranks(p) if ranks is None else np.asarray(ranks))


def crowded_order(p: np.ndarray) -> np.ndarray:
    """(rank, -crowding distance) of each point of a checked (n, 2) array, for the crowded
    comparison of NSGA-II (section III-C): lower rank first, then the larger distance."""
    ranks = _ranks(p)
    return np.column_stack([ranks, -_crowding(p, ranks)])


def hypervolume(points: Any, ref: Sequence[float]) -> float:
    """The area dominated by `points` and bounded by `ref` (exact, O(n log n)); 0 for no point
    strictly better than ref in both objectives."""
    p = as_points(points)
    ref = as_points([ref], "ref")[0]
    p = p[(p[:, 0] < ref[0]) & (p[:, 1] < ref[1])]
    if not len(p):
        return 0.0
    f = p[pareto_front(p)]                       # x ascending, y descending
    widths = np.diff(np.append(f[:, 0], ref[0]))
    return float(np.sum(widths * (ref[1] - f[:, 1])))


def reference_point(points: Any, margin: float = 0.1) -> np.ndarray:
    """The worst value of each objective plus `margin` times its range (times |worst|, or 1, when
    it has no range), so that the extreme points of the front add some area."""
    p = as_points(points)
    if not len(p):
        raise ValueError("reference_point: no points")
    hi, lo = p.max(axis=0), p.min(axis=0)
    span = np.where(hi > lo, hi - lo, np.where(hi != 0, np.abs(hi), 1.0))
    return hi + margin * span


@dataclass(frozen=True)
class CostSpec:
    """Which cost: kind latency (of `device`), params or flops."""
    kind: str
    device: Optional[str] = None

    @property
    def name(self) -> str:
        return f"latency:{self.device}" if self.kind == "latency" else self.kind

    @property
    def unit(self) -> str:
        return {"latency": "s", "params": "parameters", "flops": "FLOPs"}[self.kind]


def parse_cost(text: str) -> CostSpec:
    """`latency:DEVICE`, `params` or `flops`; ValueError naming the forms otherwise."""
    kind, _, device = text.strip().partition(":")
    if kind == "latency" and device:
        return CostSpec("latency", device)
    if kind in ("params", "flops") and not device:
        return CostSpec(kind)
    raise ValueError(f"cost {text!r}: give latency:DEVICE (a benchmarking file nb-asr-bench-DEVICE.pickle), "
                     f"params or flops")


def cost_values(table: Any, spec: CostSpec, hashes: Sequence[str]) -> np.ndarray:
    """The cost of each model hash from a nas.bench.table.BenchTable (BenchFileError when the
    file it needs is not loaded, naming what is)."""
    if spec.kind == "latency":
        return np.array([table.latency(h, device=spec.device) for h in hashes], dtype=float)
    if spec.kind == "params":
        return np.array([table.params(h) for h in hashes], dtype=float)
    return np.array([table.flops(h) for h in hashes], dtype=float)


@dataclass(frozen=True)
class Front:
    """A set's Pareto front: the front points' indices into the set (sorted by the first
    objective), their values, the reference point and the hypervolume."""
    index: np.ndarray
    points: np.ndarray
    ref: np.ndarray
    hypervolume: float


REF_FROM = ("front", "table")


def true_front(metric: Sequence[float], cost: Sequence[float], ref: Optional[Sequence[float]] = None,
               margin: float = 0.1, ref_from: str = "front") -> Front:
    """The front of every model's (metric, cost), e.g. a whole table's (test WER, latency), with
    its hypervolume against `ref`. Without one, reference_point with `margin` of the front's
    points (ref_from "front": the front's nadir plus 10% of its range, which confines the
    hypervolume to the front's region) or of every model's ("table": the worst models', such as
    a 100%-WER cell, make most of the area, which any fair model covers). ValueError when the
    hypervolume is 0 (nothing to compare with)."""
    if ref_from not in REF_FROM:
        raise ValueError(f"ref_from {ref_from!r}: one of {', '.join(REF_FROM)}")
    pts = as_points(np.column_stack([np.asarray(metric, dtype=float), np.asarray(cost, dtype=float)]),
                    "(metric, cost)")
    if not len(pts):
        raise ValueError("true_front: no models")
    idx = pareto_front(pts)
    if ref is not None:
        r = as_points([ref], "ref")[0]
    else:
        r = reference_point(pts[idx] if ref_from == "front" else pts, margin)
    hv = hypervolume(pts[idx], r)
    if not hv > 0:
        raise ValueError(f"true_front: no model is better than the reference point {r.tolist()} in both "
                         f"objectives, so the front has no hypervolume")
    return Front(idx, pts[idx], r, hv)
