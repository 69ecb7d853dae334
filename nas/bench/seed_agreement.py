"""Whether a table's added seeds agree with its first ones, in accuracy and in cost.

Seeds 3-5 of the exhaustive table were trained a day after seeds 0-2, on a checkout whose corpus
was rebuilt (the same by construction) and on a machine that was less busy. Before their rows
join the published table two things are checked over the architectures that have every seed of
both groups:
- accuracy: per architecture, mean(new seeds) - mean(old seeds) of the metric, with a paired
  t-test, its 95% interval, the shift it could detect (nas.bench.stats.minimal_detectable_difference)
  and the Pearson correlation of the two groups' means (do they rank the architectures alike).
  A seed shifts every architecture it trains alike (nas.bench.stats.seed_blocks: each seed's mean
  over the architectures and the seed effect's F), so two groups of 3 seeds can differ by seed
  effects alone; a shift means another experiment only where the new seeds' means leave the old
  seeds' range;
- cost: per architecture, mean train seconds of the new seeds / of the old ones; the median and
  range of that ratio say whether the old unit of cost ("one stand-alone training") was measured
  on a contended machine.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Hashable, Mapping, Sequence, Tuple

import numpy as np
from scipy import stats as sps

from nas.bench.stats import Anova, minimal_detectable_difference, seed_blocks


@dataclass(frozen=True)
class SeedAgreement:
    """The comparison over `n` architectures; shift and its interval in the metric's units."""
    n: int
    old_seeds: Tuple[int, ...]
    new_seeds: Tuple[int, ...]
    shift: float
    shift_low: float
    shift_high: float
    shift_sd: float
    p: float
    detectable: float
    r: float
    seconds_ratio: Tuple[float, float, float]   # median, min, max of new / old train seconds
    seed_means: Tuple[float, ...]               # per seed of old + new, its mean over the architectures
    seed_effect: Anova                          # and whether the seeds differ (nas.bench.stats.seed_blocks)

    def summary(self, scale: float = 1.0, unit: str = "") -> str:
        """Three lines for a log; `scale` multiplies the metric (100: fractions to points)."""
        s = scale
        med, lo, hi = self.seconds_ratio
        return (f"over {self.n} architectures with seeds {list(self.old_seeds)} and {list(self.new_seeds)}: "
                f"new - old = {s * self.shift:+.2f}{unit} [{s * self.shift_low:+.2f}, {s * self.shift_high:+.2f}] "
                f"(sd {s * self.shift_sd:.2f}, paired t p = {self.p:.2g}; detectable at 80% power: "
                f"{s * self.detectable:.2f}{unit}), r of the means {self.r:.2f}\n"
                f"seed means {', '.join(f'{s * m:.2f}' for m in self.seed_means)} (seeds "
                f"{', '.join(map(str, self.old_seeds + self.new_seeds))}; seed effect "
                f"F({self.seed_effect.df_between}, {self.seed_effect.df_within}) = {self.seed_effect.f:.2f}, "
                f"p = {self.seed_effect.p:.2g})\n"
                f"train seconds, new / old: median {med:.2f}x (range {lo:.2f}-{hi:.2f})")


def seed_agreement(runs: Mapping[Tuple[Hashable, int], Mapping[str, object]], old: Sequence[int],
                   new: Sequence[int], metric: str = "test_wer") -> SeedAgreement:
    """Compare `new` seeds with `old` over the architectures of `runs` ((hash, seed) -> row with
    `metric` and train_time) that have every seed of both. Needs 3 such architectures."""
    old_t, new_t = tuple(sorted(set(old))), tuple(sorted(set(new)))
    if not old_t or not new_t or set(old_t) & set(new_t):
        raise ValueError(f"need two disjoint, non-empty seed groups, got {list(old)} and {list(new)}")
    by: Dict[Hashable, Dict[int, Mapping[str, object]]] = {}
    for (h, seed), row in runs.items():
        if row.get(metric) is not None:
            by.setdefault(h, {})[int(seed)] = row
    both = sorted(h for h, rows in by.items() if all(s in rows for s in old_t + new_t))
    if len(both) < 3:
        raise ValueError(f"{len(both)} architectures have every seed of {list(old_t)} and {list(new_t)} "
                         f"with a {metric}; need 3")

    def mean(h, seeds, key):
        return float(np.mean([float(by[h][s][key]) for s in seeds]))

    m_old = np.array([mean(h, old_t, metric) for h in both])
    m_new = np.array([mean(h, new_t, metric) for h in both])
    d = m_new - m_old
    t = sps.ttest_rel(m_new, m_old)
    ci = t.confidence_interval(0.95)
    sd = float(np.std(d, ddof=1))
    detectable = minimal_detectable_difference(sd, len(both), paired=True) if sd > 0 else 0.0
    r = float(np.corrcoef(m_old, m_new)[0, 1]) if m_old.std() > 0 and m_new.std() > 0 else math.nan
    ratios = np.array([mean(h, new_t, "train_time") / mean(h, old_t, "train_time") for h in both
                       if mean(h, old_t, "train_time") > 0])
    sec = ((float(np.median(ratios)), float(ratios.min()), float(ratios.max())) if len(ratios)
           else (math.nan,) * 3)
    blocks = seed_blocks([[float(by[h][s][metric]) for s in old_t + new_t] for h in both])
    return SeedAgreement(len(both), old_t, new_t, float(d.mean()), float(ci.low), float(ci.high), sd,
                         float(t.pvalue), detectable, r, sec, blocks.seed_means, blocks.seed)
