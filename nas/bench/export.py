"""A bench dir's table as one CSV row per architecture and seed, for analysis outside the toolkit.

The table files (nas.bench.fileformat) are NAS-Bench-ASR's pickles, keyed by model hash and
split by seed; a researcher with pandas or R wants one flat file. `export_rows` joins the rows
of tables/<name>/ and tables/<name>_noise/ with plan.json (the architecture's id, its choices
and the hand-picked name), so that the CSV reads without the toolkit.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Dict, List

from nas.bench.ground_truth import read_plan, tabled_runs

COLUMNS = ("id", "arch", "choices", "origin", "hash", "seed", "dev_wer", "test_wer", "test_words",
           "lm_weight", "dev_per", "test_per", "val_per_last", "val_per", "dev_loss", "params", "flops",
           "train_seconds")


def _vector(vec: List[List[int]]) -> str:
    """The space's vector as `info` prints it: JSON without spaces, e.g. [[0],[2],[3]]."""
    return json.dumps(vec, separators=(",", ":"))


def _num_list(xs) -> str:
    """Per-epoch values as one field: space-separated, so that the CSV needs no quoting."""
    return " ".join(f"{float(x):.6g}" for x in xs) if xs is not None else ""


def export_rows(bench: Path, name: str, waiting: bool = False) -> List[Dict[str, object]]:
    """Every (architecture, seed) row the tables of space `name` hold, sorted by id then seed:
    the published table's, with `waiting` also the new seeds' rows tables/<name>_extra holds until
    every architecture has them (a CSV of the published table never mixes seed counts).
    Raises SystemExit naming the bench dir when the tables hold none."""
    plan = read_plan(bench)
    if name not in plan["spaces"]:
        raise SystemExit(f"{bench / 'plan.json'}: no space {name!r} (it has: {', '.join(sorted(plan['spaces']))})")
    by_hash = {e["hash"]: e for e in plan["entries"] if e["space"] == name}
    rows = []
    for (h, seed), r in tabled_runs(bench, name, waiting).items():
        e = by_hash.get(h)
        if e is None:
            raise SystemExit(f"{bench / 'tables' / name}: model hash {h} is in the tables but not in plan.json")
        choices = [e["choices"][k] for k in e["choices"]]
        rows.append({
            "id": e["id"], "arch": _vector(e["vec"]), "choices": "/".join(choices), "origin": e["origin"],
            "hash": h, "seed": seed, "dev_wer": r["dev_wer"], "test_wer": r["test_wer"],
            "test_words": r.get("test_words"), "lm_weight": r["lm_weight"], "dev_per": r["dev_per"],
            "test_per": r["test_per_greedy"], "val_per_last": r["val_per"][-1] if r["val_per"] else None,
            "val_per": _num_list(r["val_per"]), "dev_loss": _num_list(r["dev_loss"]),
            "params": r["params"], "flops": r["flops"], "train_seconds": r["train_time"]})
    if not rows:
        raise SystemExit(f"{bench / 'tables'}: no rows of {name!r} yet (run `python -m nas.bin.bench collect {bench}`)")
    rows.sort(key=lambda x: (x["id"], x["seed"]))
    return rows


def _field(x: object) -> object:
    """None as an empty field, floats to 6 significant digits (the tables' float noise dropped)."""
    if x is None:
        return ""
    return f"{x:.6g}" if isinstance(x, float) else x


def to_csv(rows: List[Dict[str, object]]) -> str:
    """The rows as CSV text with COLUMNS as its header; None becomes an empty field."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: _field(r.get(k)) for k in COLUMNS})
    return buf.getvalue()
