"""One-shot search runs on the exhaustive space, collected into searches.csv (nas.bench.compare reads it).

egs/synth/local/run_searches.sh leaves a runs dir laid out as:

    <dir>/warmup_seed<W>/warmup/...        a shared warm-up (stage 4), and warmup_seed<W>/seconds
    <dir>/runs/<method>_run<R>/derive/arch.json   the derived architecture (stage 6)
    <dir>/runs/<method>-<tag>_run<R>/...   a variant of the method (run_searches.sh --tag): its
                                           name is the method column's, e.g. st-p25 for ST-NAS
                                           under the 25th-percentile latency budget
    <dir>/runs/<method>_run<R>/seconds     the search's wall seconds (stages 5 and 6), summed over
                                           the attempts that recorded theirs; at least the clock
                                           of search/probs.jsonl (an attempt killed with its
                                           job records none)
    <dir>/runs/<method>_run<R>/warmup_seed the warm-up it started from

Each finished run (one with an arch.json and its seconds) becomes one row of SEARCH_COLUMNS: the
derived architecture as the table's vector and hash, the convergence record of the search
(nas.models.decision: per block relative entropy) and its cost, in seconds and in stand-alone
trainings: (search seconds + its warm-up's seconds) / the table's mean training seconds, the cost
of one run from scratch (the warm-up is shared by several runs, which the cost does not credit).
A search under a latency term or budget (arch.json's "latency") also fills latency_mode (hard or
soft), latency_bound_ms (the budget or the soft target) and predicted_ms (its lookup table's).
The runs dir is scratch and searches.csv is committed: kept_rows gives the rows of an existing CSV
whose runs a collection lacks, so that `bench searches` adds to it rather than dropping them, and
reprice gives them the price of the dir's warm-up where it has theirs (one warm-up, one price).
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from nas.bench.codec import Codec
from nas.bench.compare import SEARCH_COLUMNS
from nas.files import write_text_atomic

# a run dir's name: <method>_run<R>, or <method>-<tag>_run<R> for a variant (run_searches.sh --tag)
RUN_DIR = re.compile(r"^(?P<method>[a-z_]+(-[a-z0-9.]+)?)_run(?P<run>\d+)$")


def _seconds(path: Path) -> Optional[float]:
    try:
        return float(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _trace_seconds(probs: Path) -> Optional[float]:
    """The search's own clock at its last architecture step (probs.jsonl, nas.train.observe: counted
    across resumes, without the work a kill lost), None without a trace."""
    try:
        with open(probs, "rb") as f:
            f.seek(max(0, f.seek(0, 2) - 4096))
            last = f.read().decode(errors="replace").strip().splitlines()[-1]
        return float(json.loads(last)["seconds"])
    except (OSError, ValueError, IndexError, KeyError, TypeError):
        return None


def run_row(run_dir: Path, codec: Codec, train_seconds: float, warmups: Path) -> Optional[Dict[str, object]]:
    """The searches.csv row of one run dir; None while the run is unfinished."""
    m = RUN_DIR.match(run_dir.name)
    arch_file, secs = run_dir / "derive" / "arch.json", _seconds(run_dir / "seconds")
    if m is None or not arch_file.is_file() or secs is None:
        return None
    # an attempt killed with its job (e.g. the session's end) never wrote its seconds: the search's
    # own clock still counts the work it kept, so a resumed run costs at least that
    secs = max(secs, _trace_seconds(run_dir / "search" / "probs.jsonl") or 0.0)
    try:
        arch = json.loads(arch_file.read_text())
        warmup_seed = int((run_dir / "warmup_seed").read_text().split()[0])
    except (OSError, ValueError, IndexError) as e:
        raise ValueError(f"{run_dir}: unreadable run record ({e})") from None
    vec = codec.from_choices(arch["choices"])
    conv = arch.get("source", {}).get("convergence", {})
    dec = arch.get("decisions", {})
    ents = [float(dec[b]["rel_entropy"]) for b in dec] if dec else []
    warm = _seconds(warmups / f"warmup_seed{warmup_seed}" / "seconds") or 0.0
    lat = arch.get("latency") or {}
    bound = lat.get("budget_ms", lat.get("target_ms", ""))
    return {"method": m["method"], "run_seed": int(m["run"]), "warmup_seed": warmup_seed, "arch": codec.string(vec),
            "hash": codec.hash(vec), "search_seconds": round(secs, 1), "warmup_seconds": round(warm, 1),
            "trainings": round((secs + warm) / train_seconds, 3),
            "converged": "" if conv.get("converged") is None else str(bool(conv["converged"])).lower(),
            "max_rel_entropy": max(ents) if ents else "", "rel_entropies": " ".join(f"{e:.4f}" for e in ents),
            "epochs": conv.get("epochs", ""), "latency_mode": ("hard" if "budget_ms" in lat else "soft") if lat else "",
            "latency_bound_ms": bound, "predicted_ms": lat.get("predicted_ms", "")}


def collect(runs_dir: Path, codec: Codec, train_seconds: float) -> List[Dict[str, object]]:
    """Every finished run under runs_dir/runs, sorted by method then run seed."""
    rows = [r for d in sorted((runs_dir / "runs").glob("*_run*")) if d.is_dir()
            for r in [run_row(d, codec, train_seconds, runs_dir)] if r is not None]
    return sorted(rows, key=lambda r: (r["method"], r["run_seed"]))


def kept_rows(rows: Sequence[Dict[str, object]], existing: Path, key: Sequence[str]) -> List[Dict[str, object]]:
    """The rows of an existing CSV whose `key` (e.g. method and run seed) none of `rows` has.

    A runs dir is scratch (exp/) and the CSVs are committed results: a checkout whose runs dir lost
    the runs of an earlier machine or session must add its runs to theirs, not drop them."""
    if not existing.is_file():
        return []
    with open(existing, newline="") as f:
        old = list(csv.DictReader(f))
    if old and not set(key) <= set(old[0]):
        raise ValueError(f"{existing}: no column {', '.join(k for k in key if k not in old[0])} "
                         "to merge on (collect with --replace to overwrite it)")
    have = {tuple(str(r[k]) for k in key) for r in rows}
    return [r for r in old if tuple(r[k] for k in key) not in have]


def reprice(rows: Sequence[Dict[str, object]], runs_dir: Path, train_seconds: float) -> List[Dict[str, object]]:
    """Kept rows priced by the runs dir's warm-ups where it has them: one warm-up serves many runs,
    so every run from it must carry one price, the latest measurement (a warm-up rebuilt by a new
    checkout is the same work: same seed, same held-out losses)."""
    out = []
    for r in rows:
        warm = _seconds(runs_dir / f"warmup_seed{r['warmup_seed']}" / "seconds")
        if warm is not None:
            r = {**r, "warmup_seconds": round(warm, 1),
                 "trainings": round((float(r["search_seconds"]) + warm) / train_seconds, 3)}
        out.append(r)
    return out


def write_csv(rows: Sequence[Dict[str, object]], out: Path, columns: Sequence[str] = SEARCH_COLUMNS) -> None:
    """`rows` as a CSV of `columns` (searches.csv's by default), written atomically."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    write_text_atomic(out, buf.getvalue())
