"""The `pareto` subcommand of nas.bin.bench: multi-objective search on a benchmark table, an error
rate against a cost (latency on a device, parameters or FLOPs). Writes the table's true front,
each method's hypervolume ratio (found/true) with bootstrap intervals per query count, a plot
and summary.json (nas.bench.mo_search, nas.bench.mo_report; docs/bench.md)."""
from __future__ import annotations

import argparse
import time
from typing import Dict, List

from nas.bench.errors import BenchFileError


def _budgets(text: str) -> List[int]:
    try:
        out = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        out = []
    if not out or min(out) < 1:
        raise SystemExit(f"--budget {text!r}: give query counts, e.g. 50 or 10,25,50 (runs go to the largest)")
    return out


def _method_options(args: argparse.Namespace, methods: List[str]) -> Dict[str, dict]:
    evo = {"population": args.population, "sample": args.sample}
    return {m: (evo if m.startswith("rea") else {}) for m in methods}


def cmd_pareto(args: argparse.Namespace) -> dict:
    """Load the table, build the problem, run the methods; the summary is the command's output."""
    from nas.bench.mo_report import compare_mo          # here: --help need not load scipy or matplotlib
    from nas.bench.mo_search import MO_METHODS, MOProblem
    from nas.bench.pareto import cost_values, parse_cost
    from nas.bench.table import load_folder
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in MO_METHODS]
    if unknown or not methods:
        raise SystemExit(f"--methods {args.methods!r}: unknown {unknown}; known: {', '.join(MO_METHODS)}")
    budgets = _budgets(args.budget)
    ref = None
    if args.ref:
        try:
            ref = [float(x) for x in args.ref.split(",")]
        except ValueError:
            ref = []
        if len(ref) != 2:
            raise SystemExit(f"--ref {args.ref!r}: give ERROR,COST, e.g. 1.0,5e6")
    t0 = time.time()
    try:
        spec = parse_cost(args.cost)
        table = load_folder(args.table, epochs=args.epochs)
        objective = table.objective(epoch=args.val_epoch, seed=args.table_seed, val=args.val, test=args.test)
        costs = dict(zip(table.hashes(), cost_values(table, spec, table.hashes())))
        problem = MOProblem(objective, costs, spec.name, ref=ref, ref_from=args.ref_from)
        setting = {"table": args.table, "epochs": args.epochs, "val": args.val, "test": args.test,
                   "ref_from": "--ref" if ref else args.ref_from,
                   "table_seed": args.table_seed, "val_epoch": args.val_epoch}
        summary = compare_mo(problem, _method_options(args, methods), args.runs, budgets, args.out, args.seed,
                             args.n_boot, setting)
    except (BenchFileError, ValueError) as e:
        raise SystemExit(f"pareto: {e}") from None
    summary["wall_s"] = round(time.time() - t0, 2)
    summary["out"] = args.out
    return summary


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """The pareto subcommand's options."""
    q = sub.add_parser("pareto", help="multi-objective search on a table: error against latency or params; "
                       "true front, hypervolume ratios, plot (docs/bench.md)")
    q.add_argument("--table", required=True, help="folder of nb-asr-e{E}-{seed}.pickle files with the cost's file "
                                                  "(nb-asr-bench-DEVICE.pickle or nb-asr-info.pickle)")
    q.add_argument("--epochs", type=int, default=40, help="which training files: nb-asr-e{EPOCHS}-*.pickle")
    q.add_argument("--cost", required=True, help="latency:DEVICE, params or flops")
    q.add_argument("--methods", default="random,rea", help="comma-separated: random, rea (NSGA-II tournaments), "
                                                          "rea-cheb (random Chebyshev scalarization)")
    q.add_argument("--runs", type=int, default=100, help="independent runs per method (run r: seed + r)")
    q.add_argument("--budget", default="100", help="queries per run; a list (10,25,50) reports at each, "
                                                   "runs go to the largest")
    q.add_argument("--val", default="val_per", help="what the search sees: val_per or an extra column (dev_wer)")
    q.add_argument("--test", default="test_per", help="what the found set is judged by (test_per, test_wer)")
    q.add_argument("--val-epoch", type=int, default=None, help="the best validation error within this many epochs")
    q.add_argument("--table-seed", type=int, default=None, help="one training seed's entries (default: the mean)")
    q.add_argument("--ref", default="", help="reference point ERROR,COST of the test hypervolumes (default: "
                                             "from --ref-from)")
    q.add_argument("--ref-from", choices=("front", "table"), default="front",
                   help="reference point: each objective's worst on the true front (front) or over every model "
                        "(table), plus 10%% of that range")
    q.add_argument("--population", type=int, default=20, help="rea: population size")
    q.add_argument("--sample", type=int, default=5, help="rea: tournament size")
    q.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of each interval")
    q.add_argument("--seed", type=int, default=0, help="seed of the first run")
    q.add_argument("--out", default="exp/bench_pareto", help="output folder")
    q.set_defaults(run=cmd_pareto)
