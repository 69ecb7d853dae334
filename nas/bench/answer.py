"""The answer to "does search find anything?" on an exhaustive table, as BENCH.md states it first.

nas.bench.compare compares every pair of methods; with a dozen methods that is some 80 tests, and a
few p < 0.05 among them are expected by chance alone. The answer asks fewer, fixed questions: each
one-shot method (searches.csv) against three references chosen before the runs,

- random pick (one architecture drawn uniformly: what any method must beat),
- tabular random search at the one-shot runs' median cost (what a method must beat to pay off),
- the best hand design of the space (its table mean, a constant: what a user has without search),

each as the difference of mean picks with its bootstrap interval and a permutation test (against
the hand design, a sign-flip test of the picks about its mean), the p values Holm-adjusted over
the whole family, and the minimal detectable difference at these numbers of runs, so that "not told
apart" says what could have been told apart.
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Sequence

import numpy as np

from nas.bench.compare import RANDOM_PICK, difference
from nas.bench.points import pts, with_interval
from nas.bench.stats import bootstrap_ci_difference, minimal_detectable_difference, permutation_test_paired

TABULAR_RANDOM = "random"


def holm(pvalues: Sequence[float]) -> List[float]:
    """Holm's step-down adjustment: the i-th smallest of m p values times (m - i), made monotone and
    capped at 1; controls the family-wise error rate under any dependence."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p, kind="stable")
    adj = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        adj[i] = running
    return adj.tolist()


def _versus(x: np.ndarray, ref: np.ndarray) -> dict:
    """x's mean minus ref's: two runs' samples, or a constant when ref has one value."""
    if len(ref) == 1:
        const = np.full(len(x), ref[0])
        ci = bootstrap_ci_difference(x, const, paired=True, n_resamples=4000)
        p = permutation_test_paired(x, const, n_resamples=4999).p
        sd = float(x.std(ddof=1))
        mdd = minimal_detectable_difference(sd, len(x), paired=True) if sd > 0 else math.nan
        return {"diff": ci.value, "low": ci.low, "high": ci.high, "p": p, "mdd": mdd}
    return difference(x, ref)                       # as the pair table's (nas.bench.compare)


def hand_design(summary: Dict[str, dict], names: Sequence[str]) -> Optional[str]:
    """The named hand design (one pick) with the lowest table mean, if the summary has any."""
    have = [n for n in names if n in summary and summary[n]["runs"] == 1]
    return min(have, key=lambda n: summary[n]["mean"]) if have else None


def answer(summary: Dict[str, dict], one_shot: Sequence[str], designs: Sequence[str] = (),
           min_runs: int = 3, alpha: float = 0.05) -> List[dict]:
    """One row per (one-shot method with at least `min_runs` runs, reference): the difference in
    WER (fractions; negative: the method picks better), its interval, p, Holm-adjusted p over every
    row, the minimal detectable difference, and the verdict: better, worse or not told apart."""
    refs = [r for r in (RANDOM_PICK, TABULAR_RANDOM) if r in summary and summary[r]["runs"] >= 2]
    design = hand_design(summary, designs)
    refs += [design] if design else []
    rows = []
    for m in one_shot:
        if m not in summary or summary[m]["runs"] < min_runs:
            continue
        x = np.array(summary[m]["picks"])
        for r in refs:
            rows.append({"method": m, "reference": r, **_versus(x, np.array(summary[r]["picks"]))})
    for row, adj in zip(rows, holm([r["p"] for r in rows]) if rows else []):
        row["p_holm"] = adj
        row["verdict"] = ("not told apart" if adj >= alpha else "better" if row["diff"] < 0 else "worse")
    return rows


def answer_lines(rows: Sequence[dict], summary: Dict[str, dict], alpha: float = 0.05) -> List[str]:
    """The answer as markdown: per reference, one sentence of verdicts, then the table."""
    if not rows:
        return []
    lines = [f"**The answer** (each one-shot method against three references fixed in advance; p of a permutation "
             f"test, Holm-adjusted over these {len(rows)} comparisons; verdicts at {alpha:g}):", ""]
    for ref in dict.fromkeys(r["reference"] for r in rows):
        these = [r for r in rows if r["reference"] == ref]
        said = []
        for verdict in ("better", "worse", "not told apart"):
            ms = [r["method"] for r in these if r["verdict"] == verdict]
            if ms:
                extra = ""
                if verdict == "not told apart":
                    mdds = [r["mdd"] for r in these if r["verdict"] == verdict and not math.isnan(r["mdd"])]
                    extra = f" (these runs detect {pts(min(mdds))}-{pts(max(mdds))} points)" if mdds else ""
                said.append(f"{verdict}: {', '.join(ms)}{extra}")
        name = {RANDOM_PICK: "random pick", TABULAR_RANDOM: "tabular random search at the same cost"}.get(
            ref, f"the best hand design, {ref}")
        lines.append(f"- Against {name} ({pts(summary[ref]['mean'])}%): {'; '.join(said)}.")
    lines += ["", "| method | reference | difference, points [95%] | p | Holm p | MDD | verdict |",
              "|---|---|---|---|---|---|---|"]
    for r in rows:
        diff = with_interval(r["diff"], r["low"], r["high"], signed=True)
        lines.append(f"| {r['method']} | {r['reference']} | {diff} | {r['p']:.3g} | {r['p_holm']:.3g} | "
                     f"{pts(r['mdd'])} | {r['verdict']} |")
    return lines
