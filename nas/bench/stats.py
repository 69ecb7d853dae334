"""Statistics that can fail: is a benchmark table's signal above its seed noise, and is one
search method better than another?

A NAS benchmark table holds a metric (test WER, say) per architecture and seed. It can rank
architectures only if the spread between architectures is large against the spread over seeds:
`anova_oneway` tests that (F, p), `icc` says how much of the total variance is architecture
(with a bootstrap interval over architectures), `table_power` puts both together with the
best-versus-median gap in standard errors. Comparing search methods (each run k times, each
run's pick scored by its table mean) uses the permutation tests, the bootstrap interval of the
difference, and `minimal_detectable_difference` for how many runs a claim needs.

Every function checks its inputs: fewer than 2 values where a spread is needed, no variation
at all, or non-finite values raise ValueError; where a number exists but an interval does not
(a bootstrap of constant data), the interval is nan and said so. Everything random takes a
seed and is deterministic under it. scipy does the tests; this module states the formulas.
"""
from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Dict, Hashable, Iterable, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy import optimize, stats

ALTERNATIVES = ("two-sided", "less", "greater")


class Anova(NamedTuple):
    f: float
    p: float
    df_between: int
    df_within: int


class Interval(NamedTuple):
    value: float
    low: float        # nan: no interval (see the function's docstring)
    high: float


class TestResult(NamedTuple):
    difference: float  # mean(a) - mean(b), or mean(a - b) when paired
    p: float


def _sample(x: Sequence[float], name: str, min_n: int = 2) -> np.ndarray:
    a = np.asarray(x, dtype=float)
    if a.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
    if len(a) < min_n:
        raise ValueError(f"{name} needs at least {min_n} values, got {len(a)}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has non-finite values")
    return a


def _groups(groups: Sequence[Sequence[float]], min_size: int = 1) -> List[np.ndarray]:
    gs = [_sample(g, f"group {i}", min_size) for i, g in enumerate(groups)]
    if len(gs) < 2:
        raise ValueError(f"need at least 2 groups (architectures), got {len(gs)}")
    if sum(len(g) for g in gs) - len(gs) < 1:
        raise ValueError("no within-group degrees of freedom: every group has a single value")
    return gs


def mean_squares(groups: Sequence[Sequence[float]]) -> Tuple[float, float, float]:
    """(MSB, MSW, k0) of a one-way layout: MSB = sum_i n_i (m_i - m)^2 / (a - 1),
    MSW = sum_i sum_j (x_ij - m_i)^2 / (N - a), and the effective group size
    k0 = (N - sum_i n_i^2 / N) / (a - 1), which is k for balanced data (k values per group)."""
    gs = _groups(groups)
    n = np.array([len(g) for g in gs], dtype=float)
    means = np.array([g.mean() for g in gs])
    big_n, a = n.sum(), len(gs)
    grand = sum(g.sum() for g in gs) / big_n
    msb = float(np.sum(n * (means - grand) ** 2) / (a - 1))
    msw = float(sum(np.sum((g - g.mean()) ** 2) for g in gs) / (big_n - a))
    k0 = float((big_n - np.sum(n ** 2) / big_n) / (a - 1))
    return msb, msw, k0


def anova_oneway(groups: Sequence[Sequence[float]]) -> Anova:
    """One-way analysis of variance of a metric on architecture (one group per architecture,
    its values over seeds): F = MSB / MSW on (a - 1, N - a) degrees of freedom, p from the F
    distribution (scipy.stats.f_oneway). Unequal group sizes are fine. If the seeds never vary
    (MSW = 0) F is infinite: returned as F = inf, p = 0 when the architectures differ; a table
    with no variation at all raises ValueError."""
    gs = _groups(groups)
    msb, msw, _ = mean_squares(gs)
    dfb, dfw = len(gs) - 1, sum(len(g) for g in gs) - len(gs)
    if msw == 0.0:
        if msb == 0.0:
            raise ValueError("ANOVA undefined: every value is the same")
        return Anova(math.inf, 0.0, dfb, dfw)
    res = stats.f_oneway(*gs)
    return Anova(float(res.statistic), float(res.pvalue), dfb, dfw)


class Blocked(NamedTuple):
    seed: Anova                    # the seed effect: F = MS_seed / MS_res on (b - 1, (a - 1)(b - 1))
    ms_res: float                  # the architecture-by-seed mean square
    seed_means: Tuple[float, ...]  # per seed, its mean over the architectures


def seed_blocks(values: Sequence[Sequence[float]]) -> Blocked:
    """Two-way analysis without replication of a complete table: row i is architecture i's values
    over the same b seeds, in one order. A seed fixes the data order and the initial RNG state of
    every architecture it trains, so it can shift them all alike (a block effect); the seed F says
    whether it does, and MS_res = sum (x_ij - m_i. - m_.j + m)^2 / ((a - 1)(b - 1)) is the noise
    left once it is removed: a difference of two architectures' means over the same seeds has
    variance 2 MS_res / b, where the one-way layout charges it 2 MSW / b (MSW holds the seed
    effect too)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[0] < 2 or x.shape[1] < 2:
        raise ValueError(f"need a 2-D table of at least 2 architectures x 2 seeds, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("the table has non-finite values")
    a, b = x.shape
    grand, rows, cols = x.mean(), x.mean(1, keepdims=True), x.mean(0, keepdims=True)
    df_res = (a - 1) * (b - 1)
    ms_res = float(np.sum((x - rows - cols + grand) ** 2) / df_res)
    ms_seed = float(a * np.sum((cols - grand) ** 2) / (b - 1))
    if ms_res == 0.0:
        f, p = (math.inf, 0.0) if ms_seed > 0 else (math.nan, math.nan)
    else:
        f = ms_seed / ms_res
        p = float(stats.f.sf(f, b - 1, df_res))
    return Blocked(Anova(f, p, b - 1, df_res), ms_res, tuple(float(c) for c in cols.ravel()))


def _icc_point(gs: Sequence[np.ndarray]) -> float:
    msb, msw, k0 = mean_squares(gs)
    den = msb + (k0 - 1.0) * msw
    return float((msb - msw) / den) if den > 0 else math.nan


def _icc_of_summaries(n: np.ndarray, m: np.ndarray, ss: np.ndarray) -> np.ndarray:
    """ICC(1) along the last axis from per-group sizes, means and within sums of squares: the
    same formula as `mean_squares`, vectorized over bootstrap resamples of whole groups."""
    a, big_n = n.shape[-1], n.sum(axis=-1)
    grand = (n * m).sum(axis=-1) / big_n
    msb = (n * (m - grand[..., None]) ** 2).sum(axis=-1) / (a - 1)
    msw = ss.sum(axis=-1) / (big_n - a)
    k0 = (big_n - (n ** 2).sum(axis=-1) / big_n) / (a - 1)
    den = msb + (k0 - 1.0) * msw
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, (msb - msw) / den, np.nan)


def icc(groups: Sequence[Sequence[float]], n_boot: int = 2000, seed: int = 0,
        confidence: float = 0.95) -> Interval:
    """Intra-class correlation ICC(1) = (MSB - MSW) / (MSB + (k0 - 1) MSW): the share of a
    metric's variance that is between architectures rather than between seeds of one (k0: see
    `mean_squares`; k seeds per architecture when balanced). It can be negative (down to
    -1/(k0 - 1)) when architectures differ less than seeds do; it is not clipped to 0.
    The interval is a percentile bootstrap over architectures (whole groups are resampled, so
    that seed noise and architecture spread are both in it; scipy.stats.bootstrap). Percentile,
    not BCa: it stays inside the statistic's bounds and does not fail when resamples tie. Needs
    at least 2 values per architecture; a table with no variation at all raises ValueError."""
    gs = _groups(groups, min_size=2)
    value = _icc_point(gs)
    if math.isnan(value):
        raise ValueError("ICC undefined: every value is the same")
    if all(np.ptp(g) == 0 for g in gs):         # no seed noise: ICC is 1 in every resample
        return Interval(value, math.nan, math.nan)
    n = np.array([len(g) for g in gs], dtype=float)
    m = np.array([g.mean() for g in gs])
    ss = np.array([np.sum((g - g.mean()) ** 2) for g in gs])

    def stat(idx: np.ndarray, axis: int = -1) -> np.ndarray:
        idx = np.moveaxis(idx, axis, -1).astype(int)
        return _icc_of_summaries(n[idx], m[idx], ss[idx])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = stats.bootstrap((np.arange(len(gs)),), stat, vectorized=True, n_resamples=n_boot,
                              batch=max(1, 2_000_000 // len(gs)), confidence_level=confidence,
                              method="percentile", rng=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return Interval(value, float(lo), float(hi))


def sem_of_mean(values: Sequence[float]) -> float:
    """Standard error of a mean, s / sqrt(n) with s the sample standard deviation (ddof 1):
    how far an architecture's mean over n seeds is likely to be from its true mean. Needs n >= 2.
    0.0 when all values are equal: the sample shows no spread (which does not prove there is none)."""
    v = _sample(values, "values")
    return float(np.std(v, ddof=1) / math.sqrt(len(v)))


def se_of_difference(a: Sequence[float], b: Sequence[float], paired: bool = False,
                     within_var: Optional[float] = None) -> float:
    """Standard error of mean(a) - mean(b). Unpaired: sqrt(s_a^2 / n_a + s_b^2 / n_b) (Welch);
    with `within_var` (e.g. the ANOVA's MSW, a better estimate of seed noise than 2-3 seeds give)
    sqrt(within_var (1/n_a + 1/n_b)). Paired (same seeds, same order): the SE of the mean of
    the differences, s_d / sqrt(n)."""
    x, y = _sample(a, "a"), _sample(b, "b")
    if paired:
        if len(x) != len(y):
            raise ValueError(f"paired samples need equal lengths, got {len(x)} and {len(y)}")
        return sem_of_mean(x - y)
    if within_var is not None:
        if not within_var >= 0:
            raise ValueError(f"within_var must be >= 0, got {within_var}")
        return float(math.sqrt(within_var * (1 / len(x) + 1 / len(y))))
    return float(math.sqrt(np.var(x, ddof=1) / len(x) + np.var(y, ddof=1) / len(y)))


def _alternative(alternative: str) -> str:
    if alternative not in ALTERNATIVES:
        raise ValueError(f"alternative must be one of {ALTERNATIVES}, got {alternative!r}")
    return alternative


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x, axis=axis) - np.mean(y, axis=axis)


def _mean_paired_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def permutation_test_two_sample(a: Sequence[float], b: Sequence[float], n_resamples: int = 9999,
                                seed: int = 0, alternative: str = "two-sided") -> TestResult:
    """Permutation test of mean(a) - mean(b) for independent samples (e.g. k runs of two search
    methods): the labels are reshuffled; p is the share of relabellings at least as extreme
    (scipy.stats.permutation_test, 'independent'). Exact (all C(n_a + n_b, n_a) splits) when
    there are no more than n_resamples of them, else Monte Carlo with p >= 1/(n_resamples + 1).
    alternative 'less' means mean(a) < mean(b); two-sided p is twice the smaller one-sided p
    (at most 1). All values tied: difference 0, p = 1."""
    x, y = _sample(a, "a"), _sample(b, "b")
    res = stats.permutation_test((x, y), _mean_diff, permutation_type="independent",
                                 vectorized=True, n_resamples=n_resamples,
                                 alternative=_alternative(alternative),
                                 rng=np.random.default_rng(seed))
    return TestResult(float(res.statistic), float(res.pvalue))


def permutation_test_paired(a: Sequence[float], b: Sequence[float], n_resamples: int = 9999,
                            seed: int = 0, alternative: str = "two-sided") -> TestResult:
    """Permutation test of mean(a - b) for paired samples (e.g. two methods run with the same
    seeds, a[i] and b[i] with seed i): a and b are swapped within each pair, i.e. the sign of
    each difference is flipped (scipy.stats.permutation_test, 'samples'). Exact over the 2^n
    sign patterns when 2^n <= n_resamples. All differences zero: difference 0, p = 1."""
    x, y = _sample(a, "a"), _sample(b, "b")
    if len(x) != len(y):
        raise ValueError(f"paired samples need equal lengths, got {len(x)} and {len(y)}")
    res = stats.permutation_test((x, y), _mean_paired_diff, permutation_type="samples",
                                 vectorized=True, n_resamples=n_resamples,
                                 alternative=_alternative(alternative),
                                 rng=np.random.default_rng(seed))
    return TestResult(float(res.statistic), float(res.pvalue))


def bootstrap_ci_difference(a: Sequence[float], b: Sequence[float], paired: bool = False,
                            confidence: float = 0.95, n_resamples: int = 9999, seed: int = 0,
                            method: str = "BCa") -> Interval:
    """Bootstrap interval of mean(a) - mean(b) (paired: of mean(a - b), pairs resampled
    together; unpaired: each sample resampled on its own), scipy.stats.bootstrap, BCa by
    default. With few values (n < 10) the interval is too narrow: a bootstrap cannot see
    spread the sample does not show. No interval (nan bounds) when the resampled difference
    cannot vary (constant samples / constant differences) or scipy finds BCa degenerate."""
    x, y = _sample(a, "a"), _sample(b, "b")
    if paired:
        if len(x) != len(y):
            raise ValueError(f"paired samples need equal lengths, got {len(x)} and {len(y)}")
        diff, constant = float(np.mean(x - y)), bool(np.ptp(x - y) == 0)
        stat = _mean_paired_diff
    else:
        diff, constant = float(x.mean() - y.mean()), bool(np.ptp(x) == 0 and np.ptp(y) == 0)
        stat = _mean_diff
    if constant:
        return Interval(diff, math.nan, math.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # scipy warns before returning nan (degenerate BCa)
        res = stats.bootstrap((x, y), stat, paired=paired, vectorized=True, n_resamples=n_resamples,
                              confidence_level=confidence, method=method,
                              rng=np.random.default_rng(seed))
    lo, hi = res.confidence_interval
    return Interval(diff, float(lo), float(hi))


def _t_design(sd: float, n: int, n2: Optional[int], paired: bool) -> Tuple[float, int]:
    """(standard error of the difference, t degrees of freedom) of a t-test design."""
    if not sd > 0 or not math.isfinite(sd):
        raise ValueError(f"sd must be a positive number, got {sd}")
    if paired:
        if n2 is not None and n2 != n:
            raise ValueError("a paired design has one n")
        if n < 2:
            raise ValueError(f"a paired t-test needs n >= 2, got {n}")
        return sd / math.sqrt(n), n - 1
    m = n if n2 is None else n2
    if n < 2 or m < 2:
        raise ValueError(f"a two-sample t-test needs n >= 2 per group, got {n} and {m}")
    return sd * math.sqrt(1 / n + 1 / m), n + m - 2


def t_test_power(diff: float, sd: float, n: int, alpha: float = 0.05, paired: bool = False,
                 n2: Optional[int] = None, alternative: str = "two-sided") -> float:
    """Power of a t-test to detect a true difference `diff`, exactly from the noncentral t:
    with t* the critical value of t(df) and delta = diff / SE, power = P(T' > t*) + P(T' < -t*)
    (two-sided; one-sided 'greater': P(T' > t*)), T' ~ noncentral t(df, delta).
    Two-sample: SE = sd sqrt(1/n + 1/n2), df = n + n2 - 2 (n2 = n if not given; sd the common
    standard deviation over seeds). Paired: sd of the differences, SE = sd / sqrt(n), df = n - 1."""
    se, df = _t_design(sd, n, n2, paired)
    if _alternative(alternative) == "less":
        diff, alternative = -diff, "greater"
    delta = diff / se
    if alternative == "greater":
        return float(stats.nct.sf(stats.t.ppf(1 - alpha, df), df, delta))
    tc = stats.t.ppf(1 - alpha / 2, df)   # P(T' < -t*; delta) = P(T' > t*; -delta): nct.cdf can be nan there
    power = float(stats.nct.sf(tc, df, delta) + stats.nct.sf(tc, df, -delta))
    if not math.isfinite(power):
        raise ValueError(f"noncentral t power undefined for df={df}, delta={delta}")
    return power


def minimal_detectable_difference(sd: float, n: int, power: float = 0.8, alpha: float = 0.05,
                                  paired: bool = False, n2: Optional[int] = None,
                                  alternative: str = "two-sided") -> float:
    """The smallest true difference of means a t-test at level alpha detects with the given
    power, for n seeds per architecture (or n runs per search method): the root in d of
    t_test_power(d, ...) = power, solved exactly on the noncentral t (brentq), not with the
    normal approximation (z_{1-alpha/2} + z_power) SE, which it approaches for large n and
    exceeds for few seeds (two-sample: by 34% at n = 3 per group, 14% at n = 5, 6% at n = 10).
    In the metric's units (those of sd)."""
    if not 0 < alpha < 1 or not alpha < power < 1:
        raise ValueError(f"need 0 < alpha < power < 1, got alpha={alpha}, power={power}")
    alt = "greater" if _alternative(alternative) != "two-sided" else alternative
    se, df = _t_design(sd, n, n2, paired)

    def gap(d: float) -> float:
        return t_test_power(d, sd, n, alpha, paired, n2, alt) - power

    hi = se
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-12 * se, rtol=1e-12))


@dataclass(frozen=True)
class TablePower:
    """Whether a benchmark table's signal stands above its seed noise (see `table_power`)."""
    n_architectures: int
    n_filtered_out: int            # architectures the metric filter dropped
    n_too_few_seeds: int           # architectures dropped for fewer than min_seeds seeds
    seeds_per_arch: Tuple[int, int]  # (min, max)
    anova: Anova
    icc: Interval
    best: Hashable
    median: Hashable
    best_gap: float                # |mean(best) - mean(median)|, in the metric's units
    se_gap: float                  # sqrt(MSW (1/n_best + 1/n_median))
    gap_in_se: float               # best_gap / se_gap (inf when MSW = 0)
    passes: bool
    criterion: str
    seed_effect: Optional[Anova] = None   # where every architecture has the same seeds (seed_blocks) ...
    gap_in_se_blocked: float = math.nan   # ... the gap in SEs of the seed-paired difference, sqrt(2 MS_res / k)

    def summary(self) -> str:
        lo, hi = self.icc.low, self.icc.high
        ci = "no interval" if math.isnan(lo) else f"[{lo:.2f}, {hi:.2f}]"
        s0, s1 = self.seeds_per_arch
        seeds = str(s0) if s0 == s1 else f"{s0}-{s1}"
        p = "p < 1e-300" if self.anova.p == 0 else f"p = {self.anova.p:.2g}"
        return (f"{self.n_architectures} architectures x {seeds} seeds: "
                f"F({self.anova.df_between}, {self.anova.df_within}) = {self.anova.f:.2f}, "
                f"{p}; ICC = {self.icc.value:.2f} {ci}; best beats median by "
                f"{self.best_gap:.4g} = {self.gap_in_se:.1f} SE. {self.criterion}: "
                f"{'holds' if self.passes else 'fails'}" + self._blocked())

    def _blocked(self) -> str:
        if self.seed_effect is None:
            return ""
        e = self.seed_effect
        return (f"\nseeds as blocks (not the criterion): seed effect F({e.df_between}, {e.df_within}) = {e.f:.2f}, "
                f"p = {e.p:.2g}; best beats median by {self.gap_in_se_blocked:.1f} SE of the seed-paired difference")


def table_power(rows: Iterable[Tuple[Hashable, Hashable, float]],
                metric_filter: Optional[Callable[[float], bool]] = None,
                lower_is_better: bool = True, min_seeds: int = 2, p_max: float = 1e-3,
                icc_min: float = 0.5, se_min: float = 3.0, n_boot: int = 2000,
                seed: int = 0) -> TablePower:
    """The summary a benchmark's doc needs from rows (architecture, seed, value): the ANOVA of
    value on architecture, the ICC with its bootstrap interval, and how far the best
    architecture's mean is from the median architecture's (the one at rank (a - 1) // 2 of the
    sorted means) in SEs of that difference, the SE from the pooled seed noise MSW (2-3 seeds
    give a poor per-architecture variance). `metric_filter` keeps the architectures whose mean
    it accepts (e.g. `lambda m: m < 0.5`: drop those that did not train). The criterion:
    p < p_max and ICC >= icc_min and the gap > se_min SE. Note that the best of many noisy
    means is biased towards better (winner's curse), so the gap is optimistic.
    Duplicate (arch, seed) rows and non-finite values raise ValueError."""
    by_arch: Dict[Hashable, Dict[Hashable, float]] = defaultdict(dict)
    for arch, s, value in rows:
        if s in by_arch[arch]:
            raise ValueError(f"duplicate row for architecture {arch!r} seed {s!r}")
        if not math.isfinite(value):
            raise ValueError(f"non-finite value for architecture {arch!r} seed {s!r}")
        by_arch[arch][s] = float(value)
    kept = {k: np.array(list(v.values())) for k, v in by_arch.items()
            if metric_filter is None or metric_filter(float(np.mean(list(v.values()))))}
    n_filtered = len(by_arch) - len(kept)
    groups = {k: v for k, v in kept.items() if len(v) >= min_seeds}
    if len(groups) < 2:
        raise ValueError(f"need at least 2 architectures with >= {min_seeds} seeds after "
                         f"filtering, got {len(groups)}")
    names, gs = list(groups), list(groups.values())
    anova, interval = anova_oneway(gs), icc(gs, n_boot=n_boot, seed=seed)
    sign = 1.0 if lower_is_better else -1.0
    order = sorted(range(len(gs)), key=lambda i: sign * gs[i].mean())
    ib, im = order[0], order[(len(order) - 1) // 2]
    gap = float(abs(gs[im].mean() - gs[ib].mean()))
    _, msw, _ = mean_squares(gs)
    se = se_of_difference(gs[ib], gs[im], within_var=msw)
    z = gap / se if se > 0 else (math.inf if gap > 0 else 0.0)
    criterion = f"p < {p_max:g} and ICC >= {icc_min:g} and best beats median by > {se_min:g} SE"
    passes = bool(anova.p < p_max and interval.value >= icc_min and z > se_min)
    sizes = [len(g) for g in gs]
    blocked: Tuple[Optional[Anova], float] = (None, math.nan)
    seed_sets = {tuple(sorted(by_arch[n])) for n in names}
    if len(seed_sets) == 1 and sizes[0] >= 2:
        order_s = seed_sets.pop()
        b = seed_blocks([[by_arch[n][k] for k in order_s] for n in names])
        se_b = math.sqrt(2 * b.ms_res / len(order_s))
        blocked = (b.seed, gap / se_b if se_b > 0 else (math.inf if gap > 0 else 0.0))
    return TablePower(len(gs), n_filtered, len(kept) - len(groups), (min(sizes), max(sizes)),
                      anova, interval, names[ib], names[im], gap, se, z, passes, criterion, *blocked)
