"""Searches under a latency budget judged on the exhaustive table (issue 30, part 5).

Each run of searches.csv with a latency_mode (egs/synth/local/run_latency_searches.sh) derived one
architecture; the table gives its mean test WER over seeds, and a measured latency table
(latency.csv, one setting) its latency. Its distance from the front is the WER it loses against the
best architecture of the table that is no slower: gap = WER(derived) - min WER over the table's
architectures whose measured latency is at most the derived one's (0 on the front). Beside it, for
each budget, what a random pick among the architectures the budget allows (by the same lookup
table's prediction the search obeyed) gets on average, and the probability that random picks do at
least as well as the runs did (a Monte Carlo test over the runs' mean)."""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from nas.bench.compare import ExhaustiveTable, mean_interval
from nas.bench.points import pts, with_interval


@dataclass
class LatencyRun:
    method: str
    run_seed: int
    hash: str
    bound_ms: float
    predicted_ms: float
    measured_ms: float
    wer: float
    gap: float
    max_rel_entropy: Optional[float]
    converged: Optional[bool]


def measured_latency(rows: Sequence[Dict[str, str]], device: str, threads: int, mode: str) -> Dict[str, float]:
    """Model hash -> median ms of latency.csv's rows of one setting."""
    out = {r["model_hash"]: float(r["median_ms"]) for r in rows
           if r["device"] == device and int(r["threads"]) == threads and r["mode"] == mode}
    if not out:
        raise ValueError(f"latency.csv has no rows for device {device}, {threads} thread(s), mode {mode}")
    return out


def front_wer(table: ExhaustiveTable, latency: Dict[str, float], at_ms: float) -> float:
    """The best mean WER among the table's architectures measured no slower than `at_ms`."""
    values = [w for h, w in table.means.items() if h in latency and latency[h] <= at_ms + 1e-9]
    return min(values) if values else math.nan


def latency_runs(rows: Sequence[Dict[str, str]], table: ExhaustiveTable, latency: Dict[str, float]) -> List[LatencyRun]:
    """searches.csv's runs under a latency term or budget, judged; a pick the table or the latency
    table lacks is an error naming the run."""
    out = []
    for r in rows:
        if not r.get("latency_mode"):
            continue
        h = r["hash"]
        if h not in table.means or h not in latency:
            raise ValueError(f"{r['method']} run {r['run_seed']} picked {r.get('arch', h)}, which the table "
                             f"(every seed) or the latency table lacks")
        ent = r.get("max_rel_entropy", "")
        conv = r.get("converged", "")
        out.append(LatencyRun(r["method"], int(r["run_seed"]), h, float(r["latency_bound_ms"] or "nan"),
                              float(r["predicted_ms"] or "nan"), latency[h], table.means[h],
                              table.means[h] - front_wer(table, latency, latency[h]),
                              float(ent) if ent != "" else None,
                              None if conv == "" else conv.lower() in ("1", "true", "yes")))
    return out


def random_within(table: ExhaustiveTable, predicted: Dict[str, float], bound: float) -> List[float]:
    """The mean WERs of the table's architectures whose predicted latency is within `bound`."""
    return [w for h, w in table.means.items() if h in predicted and predicted[h] <= bound + 1e-9]


def p_random(pool: Sequence[float], observed_mean: float, n: int, draws: int = 20000) -> float:
    """P(mean of n random picks from pool <= observed_mean): how often random picks within the budget
    do at least as well as the runs."""
    if not pool:
        return math.nan
    rng = np.random.default_rng(0)
    means = rng.choice(np.asarray(pool), size=(draws, n), replace=True).mean(axis=1)
    return float((means <= observed_mean + 1e-12).mean())


def section_lines(runs: Sequence[LatencyRun], table: ExhaustiveTable, latency: Dict[str, float],
                  predicted: Dict[str, float]) -> List[str]:
    """BENCH.md's lines: one summary row per method and budget, then one row per run."""
    lines = ["| method | budget (ms) | runs | in budget (measured) | mean WER [95% CI] | gap to front [95% CI] | "
             "random within budget: mean, best | p (random as good) | max rel. entropy | converged |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for m in sorted({r.method for r in runs}, key=lambda m: (min(x.bound_ms for x in runs if x.method == m), m)):
        rs = [r for r in runs if r.method == m]
        wer = np.array([r.wer for r in rs])
        gap = np.array([r.gap for r in rs])
        bound = rs[0].bound_ms
        pool = random_within(table, predicted, bound)
        ci_w, ci_g = mean_interval(wer), mean_interval(gap)
        ents = [r.max_rel_entropy for r in rs if r.max_rel_entropy is not None]
        lines.append(
            f"| {m} | {bound:.1f} | {len(rs)} | {sum(r.measured_ms <= bound for r in rs)} | "
            f"{_with_interval(wer, ci_w)} | {_with_interval(gap, ci_g)} | "
            + (f"{100 * np.mean(pool):.2f}, {100 * min(pool):.2f} ({len(pool)} archs) | " if pool else "none | ") +
            f"{p_random(pool, float(wer.mean()), len(rs)):.3f} | "
            f"{(f'{min(ents):.2f}-{max(ents):.2f}' if ents else '-')} | "
            f"{sum(bool(r.converged) for r in rs)}/{len(rs)} |")
    lines += ["", "| run | budget | predicted ms | measured ms | mean test WER | front at that latency | gap |",
              "|---|---|---|---|---|---|---|"]
    for r in sorted(runs, key=lambda r: (r.bound_ms, r.method, r.run_seed)):
        lines.append(f"| {r.method} run {r.run_seed} | {r.bound_ms:.1f} | {r.predicted_ms:.1f} | {r.measured_ms:.1f} | "
                     f"{100 * r.wer:.2f} | {100 * (r.wer - r.gap):.2f} | {100 * r.gap:.2f} |")
    return lines


def _with_interval(x: np.ndarray, ci: Tuple[float, float]) -> str:
    """A mean in points with its interval; runs that all agree have none to show (not "[nan, nan]")."""
    if np.ptp(x) == 0:
        return pts(float(x.mean())) + (f" (all {len(x)} equal)" if len(x) > 1 else "")
    return with_interval(float(x.mean()), *ci)


def latency_search_section(searches_csv: Path, table: ExhaustiveTable, latency_csv: Path, lut: Path) -> str:
    """BENCH.md's section; empty when searches.csv has no run under a latency budget. Latency is
    measured in latency.csv's rows of the lookup table's setting (device, threads, mode)."""
    from nas.bench.latency import load_latency_table
    lut_table = load_latency_table(lut)
    st = lut_table.setting
    device, threads, mode = st.get("device", "cpu"), int(st.get("threads", 1)), st.get("mode", "offline")
    with open(searches_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(latency_csv, newline="") as f:
        latency = measured_latency(list(csv.DictReader(f)), device, threads, mode)
    runs = latency_runs(rows, table, latency)
    if not runs:
        return ""
    predicted = {h: lut_table.predict(table.codec.to_choices(v)) for h, v in table.vec.items()}
    return "\n".join([
        f"## Searches under a latency budget ({device}, {threads} thread(s), {mode})\n",
        f"Runs of `{searches_csv}` with a latency budget (`local/run_latency_searches.sh`; budgets are "
        f"percentiles of `{lut}`'s predictions over the space), judged by the table's mean test WER and the "
        f"latency measured in `{latency_csv}`. Gap: the WER lost against the best table architecture "
        f"measured no slower (0: on the front). Random within budget: the table's architectures that the "
        f"budget allows by the same prediction; p: how often the mean of as many random picks among them is "
        f"at least as good as the runs' mean.\n", *section_lines(runs, table, latency, predicted)]) + "\n"
