#!/usr/bin/env python3
"""Wall time of the tabular search comparison: the four methods (random, rea, ls, bo), 100 runs of
100 queries each, on a synthetic benchmark table of all 8,242 models in the released format
(nas.bench.synthetic.synthetic_table), through what `python -m nas.bin.bench search` runs.

Prints the time to load the table, to build the search space's index (hashes of the 13,824
vectors) and per method, and each method's final mean regret with its 95% interval. The
regrets describe the synthetic table only; they say nothing about the real benchmark.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from nas.bench.regret import compare
from nas.bench.synthetic import synthetic_table
from nas.bench.table import load_folder
from nas.bench.tabular import METHODS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=100)
    ap.add_argument("--budget-queries", type=int, default=100)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="", help="keep the table and the outputs here (default: a temporary dir)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.out or tmp)
        t0 = time.perf_counter()
        synthetic_table(root / "table")
        t1 = time.perf_counter()
        objective = load_folder(root / "table").objective()
        t2 = time.perf_counter()
        summary = compare(objective, args.methods.split(","), runs=args.runs, budget_queries=args.budget_queries,
                          out_dir=root / "search")
        t3 = time.perf_counter()
    print(f"synthetic table written in {t1 - t0:.1f} s, loaded in {t2 - t1:.1f} s; "
          f"comparison ({args.runs} runs x {args.budget_queries} queries per method) {t3 - t2:.1f} s")
    for m, s in summary["methods"].items():
        print(f"  {m:6s} {s['wall_s']:6.2f} s   final mean regret {s['final_mean_regret']:.4f} "
              f"[{s['final_ci'][0]:.4f}, {s['final_ci'][1]:.4f}]   found the optimum in "
              f"{100 * s['found_optimum_fraction']:.0f}% of runs")
    print(f"load + comparison: {t3 - t1:.1f} s")


if __name__ == "__main__":
    main()
