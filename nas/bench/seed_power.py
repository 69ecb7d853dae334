"""How many seeds per architecture a table needs to pass its criterion (nas.bench.stats.table_power),
by parametric bootstrap from the table itself.

A table that fails "the best architecture beats the median one by more than 3 SE" with 3 seeds
asks what more seeds would give. Scaling today's z by sqrt(k / 3) overstates it: the best of many
noisy means is partly the best by luck (winner's curse), and more seeds take that luck away. Here
the truth is the table's architecture means shrunk toward the grand mean by the empirical-Bayes
factor B = max(0, 1 - (MSW / k0) / s^2) (s^2: the variance of the means, which holds k0-seed noise
besides the architectures' spread; k0 as in nas.bench.stats.mean_squares), and the seed noise is
normal with variance MSW. Each simulated table of k seeds per architecture is judged exactly as
table_power judges a real one (ANOVA p, ICC, best against median in SEs of MSW (2 / k)).
"""
from __future__ import annotations

from typing import Dict, Sequence

import numpy as np
from scipy import stats as sps

from nas.bench.stats import mean_squares


def simulate_seeds(groups: Sequence[Sequence[float]], seeds: Sequence[int] = (3, 4, 6, 8), n_sim: int = 2000,
                   p_max: float = 1e-3, icc_min: float = 0.5, se_min: float = 3.0, lower_is_better: bool = True,
                   seed: int = 0) -> Dict[int, Dict[str, float]]:
    """Per k in `seeds`: the share of simulated k-seed tables that pass the criterion (`passes`), that
    pass its best-against-median part alone (`gap_passes`), and the median z of that part."""
    if n_sim < 1:
        raise ValueError(f"n_sim must be >= 1, got {n_sim}")
    gs = [np.asarray(g, dtype=float) for g in groups]
    if len(gs) < 3 or any(len(g) < 2 for g in gs):
        raise ValueError("need at least 3 architectures with at least 2 seeds each")
    _, msw, k0 = mean_squares(gs)
    means = np.array([g.mean() for g in gs])
    grand, spread = means.mean(), means.var(ddof=1)
    shrink = max(0.0, 1.0 - (msw / k0) / spread) if spread > 0 else 0.0
    truth = grand + shrink * (means - grand)
    rng, a, sign = np.random.default_rng(seed), len(gs), (1.0 if lower_is_better else -1.0)
    out: Dict[int, Dict[str, float]] = {}
    for k in seeds:
        if k < 2:
            raise ValueError(f"seeds per architecture must be >= 2, got {k}")
        x = truth[None, :, None] + rng.normal(0.0, np.sqrt(msw), size=(n_sim, a, k))
        m = x.mean(axis=2)
        w = ((x - m[:, :, None]) ** 2).sum(axis=(1, 2)) / (a * (k - 1))
        b = k * ((m - m.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / (a - 1)
        p = sps.f.sf(b / w, a - 1, a * (k - 1))
        icc = (b - w) / (b + (k - 1) * w)
        order = np.argsort(sign * m, axis=1)
        rows = np.arange(n_sim)
        gap = np.abs(m[rows, order[:, (a - 1) // 2]] - m[rows, order[:, 0]])
        z = gap / np.sqrt(w * 2.0 / k)
        gap_ok = z > se_min
        out[int(k)] = {"passes": float(np.mean((p < p_max) & (icc >= icc_min) & gap_ok)),
                       "gap_passes": float(np.mean(gap_ok)), "median_z": float(np.median(z))}
    return out
