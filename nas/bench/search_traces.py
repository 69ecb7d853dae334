"""What each one-shot run would have derived at every epoch end, and its picks at equal wall-clock cost.

A search's probs.jsonl (nas.train.observe) holds every block's probabilities after every
architecture step and the search's wall seconds up to it. The architecture a derivation would
return after epoch e is the top-1 candidate of every block there (nas.strategies: argmax of
alpha; runs under a latency budget derive otherwise and are left out). One row per run and epoch
end (TRACE_COLUMNS) goes to search_traces.csv beside searches.csv, so that every method can be
judged at one wall-clock budget C as well as at its own (issue 28, part 1): a run's pick at C is
its last epoch-end architecture within C seconds of search, or its final one if it stopped earlier.
Random search (no training, no trace) keeps its pick: it costs less than any trained method.
"""
from __future__ import annotations

import csv
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from nas.bench.codec import Codec
from nas.bench.compare import Pick
from nas.bench.search_runs import RUN_DIR, write_csv
from nas.models.decision import DECIDED_ENTROPY, relative_entropy

TRACE_COLUMNS = ("method", "run_seed", "epoch", "step", "seconds", "arch", "hash", "max_rel_entropy")


def run_trace(run_dir: Path, codec: Codec) -> List[Dict[str, object]]:
    """The epoch-end rows of one finished run; [] for an unfinished run, one that trained nothing,
    one under a latency budget or term, or one whose probs.jsonl predates its seconds."""
    m, search = RUN_DIR.match(run_dir.name), run_dir / "search"
    arch_file, probs_file, conv_file = run_dir / "derive" / "arch.json", search / "probs.jsonl", \
        search / "convergence.json"
    if m is None or not (arch_file.is_file() and probs_file.is_file() and conv_file.is_file()):
        return []
    try:
        arch, conv = json.loads(arch_file.read_text()), json.loads(conv_file.read_text())
        steps = {r["step"]: r for r in map(json.loads, probs_file.read_text().splitlines()) if r}
    except (OSError, ValueError) as e:
        raise ValueError(f"{run_dir}: unreadable search record ({e})") from None
    epochs, total = int(conv.get("epochs") or 0), int(conv.get("steps") or 0)
    if arch.get("latency") or not epochs or not arch.get("probs") or total % epochs:
        return []
    names = {b: list(p) for b, p in arch["probs"].items()}          # candidate order of the network
    rows = []
    for e in range(1, epochs + 1):
        rec = steps.get(e * total // epochs)
        if rec is None or "seconds" not in rec:
            return []
        pick = {b: names[b][int(np.argmax(p))] for b, p in rec["probs"].items()}
        vec = codec.from_choices(pick)
        rows.append({"method": m["method"], "run_seed": int(m["run"]), "epoch": e, "step": rec["step"],
                     "seconds": rec["seconds"], "arch": codec.string(vec), "hash": codec.hash(vec),
                     "max_rel_entropy": round(max(relative_entropy(p) for p in rec["probs"].values()), 4)})
    return rows


def collect_traces(runs_dir: Path, codec: Codec) -> List[Dict[str, object]]:
    """Every finished run's rows, sorted by method, run seed and epoch."""
    rows = [r for d in sorted((runs_dir / "runs").glob("*_run*")) if d.is_dir() for r in run_trace(d, codec)]
    return sorted(rows, key=lambda r: (r["method"], r["run_seed"], r["epoch"]))


def write_traces(rows: Sequence[Dict[str, object]], out: Path) -> None:
    write_csv(rows, out, TRACE_COLUMNS)


Traces = Dict[Tuple[str, int], List[Tuple[float, str, float]]]


def read_traces(path: Path) -> Traces:
    """search_traces.csv as (method, run) -> [(seconds, hash, max_rel_entropy)] in epoch order."""
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and not set(TRACE_COLUMNS) <= set(rows[0]):
        raise ValueError(f"{path}: expected the columns {','.join(TRACE_COLUMNS)}")
    out: Traces = {}
    for r in sorted(rows, key=lambda r: (r["method"], int(r["run_seed"]), int(r["epoch"]))):
        point = (float(r["seconds"]), r["hash"], float(r["max_rel_entropy"]))
        out.setdefault((r["method"], int(r["run_seed"])), []).append(point)
    return out


def equal_budget(traces: Traces) -> float:
    """The default C: the smallest, over the methods with traces, of a method's median search seconds."""
    by: Dict[str, List[float]] = {}
    for (method, _), tr in traces.items():
        by.setdefault(method, []).append(tr[-1][0])
    if not by:
        raise ValueError("no run has a trace (search_traces.csv is empty)")
    return min(float(np.median(v)) for v in by.values())


def picks_at(picks: Sequence[Pick], traces: Traces, seconds: float, train_seconds: float,
             threshold: float = DECIDED_ENTROPY) -> Tuple[List[Pick], int]:
    """Each one-shot pick as its run's architecture after `seconds` of search, its cost lowered by
    the seconds it no longer spends, converged if every block was decided there (relative entropy
    below `threshold`); and how many runs had not ended one epoch by then (their first
    epoch's pick stands, over the budget). Runs without a trace keep their pick."""
    out, over = [], 0
    for p in picks:
        tr = traces.get((p.method, p.run))
        if not tr or tr[-1][0] <= seconds:
            out.append(p)
            continue
        within = [t for t in tr if t[0] <= seconds]
        over += not within
        secs, h, ent = within[-1] if within else tr[0]
        saved = (tr[-1][0] - secs) / train_seconds if train_seconds and not math.isnan(train_seconds) else 0.0
        out.append(replace(p, hash=h, trainings=round(p.trainings - saved, 3), converged=ent < threshold))
    return out, over


def traces_beside(searches: Path) -> Path:
    """Where `bench searches` writes the traces of a searches.csv: <name>_traces.csv beside it."""
    return searches.with_name(searches.stem + "_traces.csv")


def traces_for(searches: Path) -> Traces:
    """The traces `bench searches` wrote beside `searches` ({} where there are none)."""
    f = traces_beside(searches)
    return read_traces(f) if f.is_file() else {}


def equal_cost(table, one_shot: Sequence[Pick], traces: Traces, seconds: float = 0.0,
               methods: Sequence[str] = ("random", "rea", "ls", "bo"), runs: int = 100,
               proxy_rows: Sequence[Dict[str, str]] = (), proxy_names: Sequence[str] = (),
               seed: int = 0) -> Dict[str, object]:
    """The comparison again with every one-shot run cut at C = `seconds` of search (default:
    equal_budget), the tabular methods at the cut runs' median cost."""
    from nas.bench.compare import all_picks, pairwise, summarize
    c = seconds or equal_budget(traces)
    cut, over = picks_at(one_shot, traces, c, table.train_seconds)
    picks, budget = all_picks(table, cut, methods, runs, 0, proxy_rows, proxy_names, seed)
    summary = summarize(picks, table)
    same: Dict[str, List[int]] = {}
    for a, b in zip(one_shot, cut):
        same.setdefault(a.method, [0, 0])[0] += a.hash == b.hash
        same[a.method][1] += 1
    return {"seconds": c, "chosen": bool(seconds), "over": over, "traced": sorted({m for m, _ in traces}), "budget_trainings": budget,
            "summary": summary, "pairs": pairwise(summary), "same_pick": same}


def equal_cost_lines(table, result: Dict[str, object]) -> List[str]:
    """equal_cost's result as markdown (nas.bench.compare.report_lines after a note on the cut)."""
    from nas.bench.compare import report_lines
    over = result["over"]
    note = (f" {over} run(s) had not ended their first epoch by then: their first epoch's pick is used, over "
            f"the budget." if over else "")
    why = "as asked" if result["chosen"] else "the smallest median over the methods with epoch-end traces"
    return [f"Every one-shot run cut at C = {result['seconds']:.0f} s of search ({why}; traced: "
            f"{', '.join(result['traced'])}): a run's pick is the top-1 "
            f"architecture of its last epoch end within C, or its final one if it stopped earlier (random search "
            f"trains nothing and keeps its pick); converged: every block decided at that epoch end.{note} The pick "
            f"at C is the run's final pick in " + ", ".join(f"{n} of {t} {m} runs" for m, (n, t) in
                                                        sorted(result["same_pick"].items())) + ".", "",
            *report_lines(table, result["summary"], result["pairs"], result["budget_trainings"])]
