"""How well zero-cost proxies rank a table: proxies.csv (nas.proxies.survey) against a table's CSV
(nas.bench.export), both joined on the model hash.

Per proxy: Kendall's tau and Spearman's rho of the proxy's mean over initialization seeds with
the table's mean test WER over training seeds, with bootstrap intervals over the architectures,
signed so that a positive value means "a higher proxy, a lower WER"; the proxy's agreement with
itself across initialization seeds (the mean Kendall tau over pairs of seeds); and the
proxy-guided method "train the top k by proxy, keep the best": the table mean of its pick, its
regret to the table's best, against the same for k architectures drawn at random (exact, by
order statistics). Only architectures that are in both files, and in the table with every seed,
count; the figures say how many.
"""
from __future__ import annotations

import csv
import itertools
import math
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from nas.bench.report import markdown_table, rank_correlations

KEY_COLUMNS = {"id", "arch", "choices", "hash", "seed", "seconds"}


def read_csv(path: Path) -> List[Dict[str, str]]:
    """Rows of a CSV file; SystemExit naming the file when it is missing or empty."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
    except OSError as e:
        raise SystemExit(f"{path}: cannot read it ({e})") from None
    if not rows:
        raise SystemExit(f"{path}: no rows")
    return rows


def _means(rows: Sequence[Dict[str, str]], column: str) -> Dict[str, float]:
    """Mean of `column` per model hash over the rows (seeds) that have a value."""
    acc: Dict[str, List[float]] = {}
    for r in rows:
        v = r.get(column, "")
        if v not in ("", None):
            acc.setdefault(r["hash"], []).append(float(v))
    return {h: float(np.mean(v)) for h, v in acc.items()}


def complete(rows: Sequence[Dict[str, str]], column: str) -> List[Dict[str, str]]:
    """The rows of the architectures that have a value of `column` for as many seeds as the most
    complete one: a table being built has architectures with fewer seeds, whose means are noisier."""
    counts: Dict[str, int] = {}
    for r in rows:
        if r.get(column, "") not in ("", None):
            counts[r["hash"]] = counts.get(r["hash"], 0) + 1
    most = max(counts.values(), default=0)
    return [r for r in rows if counts.get(r["hash"]) == most]


def expected_best_of_random(values: Sequence[float], k: int) -> float:
    """The expected minimum of k values drawn without replacement from `values`: the i-th smallest
    (1-based) is the minimum with probability C(n - i, k - 1) / C(n, k)."""
    v = np.sort(np.asarray(values, dtype=float))
    n = len(v)
    k = min(k, n)
    return float(sum(v[i] * math.comb(n - 1 - i, k - 1) for i in range(n)) / math.comb(n, k))


def _seed_agreement(rows: Sequence[Dict[str, str]], name: str) -> float:
    """Mean Kendall tau of the proxy between pairs of initialization seeds (architectures in both)."""
    from scipy.stats import kendalltau
    by_seed: Dict[str, Dict[str, float]] = {}
    for r in rows:
        if r.get(name, "") != "":
            by_seed.setdefault(r["seed"], {})[r["hash"]] = float(r[name])
    taus = []
    for a, b in itertools.combinations(sorted(by_seed), 2):
        common = sorted(set(by_seed[a]) & set(by_seed[b]))
        if len(common) >= 3:
            taus.append(float(kendalltau([by_seed[a][h] for h in common], [by_seed[b][h] for h in common]).statistic))
    return float(np.mean(taus)) if taus else float("nan")


def proxy_report(proxy_rows: Sequence[Dict[str, str]], table_rows: Sequence[Dict[str, str]],
                 metric: str = "test_wer", ks: Sequence[int] = (1, 3, 5, 10), resamples: int = 2000) -> dict:
    """The figures of the module docstring, as a dict (JSON-ready)."""
    names = [c for c in proxy_rows[0] if c not in KEY_COLUMNS and not c.endswith("_seconds")]
    table = _means(complete(table_rows, metric), metric)
    seconds = [float(r["seconds"]) for r in proxy_rows if r.get("seconds")]
    out: dict = {"metric": metric, "table_archs": len(table), "proxies": {},
                 "seconds_per_arch": {"median": float(np.median(seconds)) if seconds else None,
                                      "max": max(seconds) if seconds else None}}
    for name in names:
        prox = _means(proxy_rows, name)
        common = sorted(h for h in table if h in prox and math.isfinite(prox[h]))
        own = [float(r[f"{name}_seconds"]) for r in proxy_rows if r.get(f"{name}_seconds")]
        entry: dict = {"archs": len(common), "seed_agreement_kendall": _seed_agreement(proxy_rows, name),
                       "seconds": {"median": float(np.median(own)), "max": max(own)} if own else None}
        if len(common) >= 3:
            wer = np.array([table[h] for h in common])
            score = np.array([prox[h] for h in common])
            tau, rho = rank_correlations(-score, wer, resamples=resamples)
            entry["kendall"] = {"value": tau.value, "low": tau.low, "high": tau.high}
            entry["spearman"] = {"value": rho.value, "low": rho.low, "high": rho.high}
            order = np.argsort(-score, kind="stable")
            entry["top_k"] = {str(k): {"pick": float(wer[order[:k]].min()),
                                       "regret": float(wer[order[:k]].min() - wer.min()),
                                       "random": expected_best_of_random(wer, k)}
                              for k in ks if k <= len(common)}
        out["proxies"][name] = entry
    return out


def _fmt(c: dict) -> str:
    if any(math.isnan(c[x]) for x in ("low", "high")):
        return f"{c['value']:+.2f}"
    return f"{c['value']:+.2f} [{c['low']:+.2f}, {c['high']:+.2f}]"


def report_lines(rep: dict) -> List[str]:
    """The report as markdown: one row per proxy."""
    ks = sorted({int(k) for e in rep["proxies"].values() for k in e.get("top_k", {})})
    header = ["proxy", "archs", "Kendall tau [95%]", "Spearman rho [95%]", "seed agreement (tau)",
              "seconds (median, max)"] + [f"top-{k} pick (random)" for k in ks]
    rows = []
    for name, e in rep["proxies"].items():
        agree = e["seed_agreement_kendall"]
        sec = e.get("seconds")
        first = [name, str(e["archs"]), _fmt(e["kendall"]) if "kendall" in e else "-",
                 _fmt(e["spearman"]) if "spearman" in e else "-", "-" if math.isnan(agree) else f"{agree:+.2f}",
                 f"{sec['median']:.3f}, {sec['max']:.3f}" if sec else "-"]
        tk = e.get("top_k", {})
        rows.append(first + [f"{tk[str(k)]['pick'] * 100:.2f} ({tk[str(k)]['random'] * 100:.2f})"
                             if str(k) in tk else "-" for k in ks])
    sec = rep["seconds_per_arch"]
    lines = [f"Zero-cost proxies against the table's mean {rep['metric']} over seeds ({rep['table_archs']} "
             f"architectures in the table with every seed). Correlations are signed so that a positive one "
             f"means a higher proxy goes with a lower WER; intervals are percentile bootstraps over the "
             f"architectures. "
             f"Seed agreement: the proxy's Kendall tau between initialization seeds. Top-k pick: the table "
             f"mean (WER %) of the best of the proxy's k highest, against the expected best of k drawn at "
             f"random.", ""]
    lines.append(markdown_table(header, rows).rstrip("\n"))
    if sec["median"] is not None:
        lines += ["", f"All proxies of one architecture and seed took {sec['median']:.2f} s (median; "
                      f"at most {sec['max']:.2f} s)."]
    return lines
