"""Predicting whole-model latency from the lookup table, and judging the prediction.

The sum predictor is LatencyTable.predict: the fixed part plus the chosen ops' latencies as
measured alone. It misses what only the whole model runs (node sums, the padding mask, module
call overhead) and how ops differ inside a model from alone (caches, thread start-up), so two
fits on measured architectures correct it, each again a LatencyTable of the same form:

- fit-scale: measured = a + b * sum (two numbers: an overhead and a common factor);
- fit-onehot: measured - sum = c + sum over blocks of d[block][choice], a ridge fit (the d
  shrink to 0, i.e. to the measured ops, when few architectures are measured).

A fit is judged on architectures it was not fitted on (k-fold, out-of-fold predictions), never
on its own training set.
"""
from __future__ import annotations

import random
from typing import Callable, Dict, List, Mapping, Sequence

import numpy as np
from scipy.stats import kendalltau

from nas.bench.latency.lut import LatencyTable
from nas.bench.latency.timing import LatencyError

Choices = Mapping[str, str]
Fit = Callable[[LatencyTable, Sequence[Choices], Sequence[float]], LatencyTable]


def errors(predicted: Sequence[float], measured: Sequence[float]) -> Dict[str, float]:
    """Relative errors |p - m| / m: median, worst, mean; the median signed error (p - m) / m
    (negative: the prediction is too low); Kendall's tau between the two orders."""
    p, m = np.asarray(predicted, dtype=float), np.asarray(measured, dtype=float)
    if p.shape != m.shape or not len(m):
        raise LatencyError(f"errors(): {len(p)} predictions for {len(m)} measurements")
    if (m <= 0).any():
        raise LatencyError("errors(): a measured latency is not positive")
    rel = (p - m) / m
    tau = float(kendalltau(p, m).statistic) if len(m) > 1 else float("nan")
    return {"n": int(len(m)), "median_rel": float(np.median(np.abs(rel))), "worst_rel": float(np.abs(rel).max()),
            "mean_rel": float(np.abs(rel).mean()), "median_signed_rel": float(np.median(rel)), "kendall_tau": tau}


def _derived(table: LatencyTable, kind: str, fixed: float, blocks: Dict[str, Dict[str, float]],
             n: int, extra: Dict[str, float]) -> LatencyTable:
    meta = {k: v for k, v in table.meta.items() if k != "space_config"}
    meta["fit"] = {"from": table.kind, "architectures": n, **extra}
    if "space_config" in table.meta:
        meta["space_config"] = table.meta["space_config"]
    return LatencyTable(table.space, dict(table.setting), fixed, blocks, kind, meta, [], table.source)


def fit_scale(table: LatencyTable, archs: Sequence[Choices], measured: Sequence[float]) -> LatencyTable:
    """measured = a + b * sum, least squares; the table scaled by b with a added to its fixed part."""
    s = np.array([table.predict(a) for a in archs])
    m = np.asarray(measured, dtype=float)
    if len(m) < 2 or np.ptp(s) == 0:
        a, b = float(np.mean(m - s)), 1.0        # too little to fit a slope: an offset only
    else:
        b, a = (float(x) for x in np.polyfit(s, m, 1))
    blocks = {blk: {c: b * v for c, v in cands.items()} for blk, cands in table.blocks.items()}
    return _derived(table, "fit-scale", a + b * table.fixed_ms, blocks, len(m), {"offset_ms": a, "factor": b})


def fit_onehot(table: LatencyTable, archs: Sequence[Choices], measured: Sequence[float],
               ridge: float = 1.0) -> LatencyTable:
    """measured - sum = c + sum_b d[b][choice_b], ridge-penalized d (not c); see the module doc."""
    cols = [(b, c) for b, cands in table.blocks.items() for c in cands]
    index = {bc: j for j, bc in enumerate(cols)}
    x = np.zeros((len(archs), len(cols) + 1))
    x[:, 0] = 1.0
    for i, a in enumerate(archs):
        for b, c in a.items():
            x[i, 1 + index[(b, c)]] = 1.0
    r = np.asarray(measured, dtype=float) - np.array([table.predict(a) for a in archs])
    pen = np.eye(len(cols) + 1) * ridge
    pen[0, 0] = 0.0
    w = np.linalg.solve(x.T @ x + pen + 1e-9 * np.eye(len(cols) + 1), x.T @ r)
    blocks = {b: {c: v + float(w[1 + index[(b, c)]]) for c, v in cands.items()} for b, cands in table.blocks.items()}
    return _derived(table, "fit-onehot", table.fixed_ms + float(w[0]), blocks, len(archs),
                    {"ridge": ridge, "offset_ms": float(w[0])})


FITS: Dict[str, Fit] = {"fit-scale": fit_scale, "fit-onehot": fit_onehot}


def out_of_fold(fit: Fit, table: LatencyTable, archs: Sequence[Choices], measured: Sequence[float],
                folds: int = 10, seed: int = 0) -> List[float]:
    """Each architecture's prediction by `fit` fitted on the folds it is not in (k = min(folds, n))."""
    n = len(archs)
    if n < 2:
        raise LatencyError(f"out_of_fold(): need at least 2 measured architectures, got {n}")
    k = min(folds, n)
    order = list(range(n))
    random.Random(seed).shuffle(order)
    fold = {i: j % k for j, i in enumerate(order)}
    out = [0.0] * n
    for f in range(k):
        train = [i for i in range(n) if fold[i] != f]
        fitted = fit(table, [archs[i] for i in train], [measured[i] for i in train])
        for i in range(n):
            if fold[i] == f:
                out[i] = fitted.predict(archs[i])
    return out


def judge(table: LatencyTable, archs: Sequence[Choices], measured: Sequence[float], folds: int = 10,
          seed: int = 0) -> Dict[str, Dict[str, object]]:
    """The sum predictor's errors and each fit's out-of-fold errors on the measured architectures,
    with the predictions ("predicted": one per architecture)."""
    out: Dict[str, Dict[str, object]] = {}
    pred = [table.predict(a) for a in archs]
    out["sum"] = {"errors": errors(pred, measured), "predicted": pred}
    if len(archs) >= 3:
        for name, fit in FITS.items():
            p = out_of_fold(fit, table, archs, measured, folds, seed)
            out[name] = {"errors": errors(p, measured), "predicted": p}
    return out


def best_fit(judged: Mapping[str, Mapping[str, object]]) -> str:
    """The predictor with the lowest median relative error (the sum when it ties)."""
    names = list(judged)
    return min(names, key=lambda n: (judged[n]["errors"]["median_rel"], names.index(n)))
