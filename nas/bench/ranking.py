"""How well a super-network's shared weights rank the exhaustive table (issue 28 part 3).

local/run_searches.sh scores every architecture of the table with each warm-up's and each
search's final weights (nas.bin.score: held-out loss on dev, the random search's criterion) into
<dir>/warmup_seed<W>/score/scores.json and <dir>/runs/<method>_run<R>/score/scores.json. Per
weights: Kendall's tau and Spearman's rho of those losses with the table's mean test WER, over
every architecture and over the better half (the architectures at or below the table's median),
where a search has to tell good from good. Per method (and for the warm-ups): the mean over its
runs with a bootstrap interval over the runs.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np

from nas.bench.compare import ExhaustiveTable, mean_interval
from nas.bench.search_runs import RUN_DIR
from nas.files import write_text_atomic

COLUMNS = ("kind", "run", "archs", "kendall", "spearman", "kendall_better_half", "spearman_better_half")
WARMUP = "warm-up"


def _correlations(losses: Dict[str, float], table: ExhaustiveTable) -> Dict[str, float]:
    from scipy.stats import kendalltau, spearmanr
    common = sorted(h for h in losses if h in table.means)
    out: Dict[str, float] = {"archs": len(common)}
    median = float(np.median([table.means[h] for h in common])) if common else np.nan
    for suffix, hs in (("", common), ("_better_half", [h for h in common if table.means[h] <= median])):
        if len(hs) < 3:
            out[f"kendall{suffix}"] = out[f"spearman{suffix}"] = float("nan")
            continue
        x, y = [losses[h] for h in hs], [table.means[h] for h in hs]
        out[f"kendall{suffix}"] = float(kendalltau(x, y).statistic)
        out[f"spearman{suffix}"] = float(spearmanr(x, y).statistic)
    return out


def _scores(path: Path, ids: Dict[str, str]) -> Dict[str, float]:
    """scores.json's losses by model hash (its ids are the bench plan's)."""
    try:
        rows = json.loads(path.read_text())["scores"]
    except (OSError, ValueError, KeyError) as e:
        raise ValueError(f"{path}: not a scores.json ({e})") from None
    return {ids[r["id"]]: float(r["loss"]) for r in rows if r["id"] in ids}


def ranking_rows(runs_dir: Path, table: ExhaustiveTable, ids: Dict[str, str]) -> List[Dict[str, object]]:
    """One row per scored warm-up and search of a runs dir (`ids`: table id -> model hash)."""
    found = []
    for f in sorted(runs_dir.glob("warmup_seed*/score/scores.json")):
        found.append((WARMUP, int(f.parent.parent.name[len("warmup_seed"):]), f))
    for f in sorted(runs_dir.glob("runs/*_run*/score/scores.json")):
        m = RUN_DIR.match(f.parent.parent.name)
        if m:
            found.append((m["method"], int(m["run"]), f))
    return sorted_rows([{"kind": kind, "run": run, **_correlations(_scores(f, ids), table)} for kind, run, f in found])


def sorted_rows(rows: Sequence[Dict[str, object]]) -> List[Dict[str, object]]:
    """The warm-ups first, then by method and run (rows read back from a CSV hold strings)."""
    return sorted(rows, key=lambda r: (r["kind"] != WARMUP, r["kind"], int(r["run"])))


def write_csv(rows: Sequence[Dict[str, object]], out: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})
    write_text_atomic(out, buf.getvalue())


def ranking_lines(rows: Sequence[Dict[str, str]]) -> List[str]:
    """Per kind (the warm-ups, each method): runs, mean tau and rho over all and over the better
    half of the architectures, with bootstrap intervals over the runs, as markdown."""
    by: Dict[str, List[Dict[str, str]]] = {}
    for r in rows:
        by.setdefault(str(r["kind"]), []).append(r)

    def cell(rs: List[Dict[str, str]], col: str) -> str:
        x = np.array([float(r[col]) for r in rs if str(r[col]) not in ("", "nan")])
        if not len(x):
            return "-"
        lo, hi = mean_interval(x)
        return f"{x.mean():+.2f}" + ("" if np.isnan(lo) else f" [{lo:+.2f}, {hi:+.2f}]")

    lines = ["Held-out loss with the shared weights against the table's mean test WER (positive: the weights "
             "rank like the table); mean over runs [95% bootstrap over runs]; the better half: the "
             "architectures at or below the table's median.", "",
             "| weights | runs | archs | Kendall tau | Spearman rho | tau, better half | rho, better half |",
             "|---|---|---|---|---|---|---|"]
    for kind, rs in by.items():
        lines.append(f"| {kind} | {len(rs)} | {rs[0]['archs']} | {cell(rs, 'kendall')} | {cell(rs, 'spearman')} | "
                     f"{cell(rs, 'kendall_better_half')} | {cell(rs, 'spearman_better_half')} |")
    return lines
