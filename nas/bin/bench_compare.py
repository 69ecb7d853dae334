"""The `compare` subcommand of nas.bin.bench: search methods judged on an exhaustive table by
lookup (nas.bench.compare): one-shot runs from searches.csv, the tabular methods run on the table
at a matched budget, random pick and the named hand designs; per method the distribution of its
picks' table means, per pair the difference, its interval, p and the minimal detectable difference."""
from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import List, Optional

from nas.models.space import SpaceError, load_space


def unit_seeds_arg(q: argparse.ArgumentParser) -> None:
    """--unit-seeds, for searches, compare and report."""
    q.add_argument("--unit-seeds", default="", help='e.g. "3 4 5": the unit of cost, one stand-alone training, is '
                   "the mean train seconds of these seeds' rows only (default: every row's); for a table whose "
                   "other seeds were trained on a busier machine")


def seed_list(text: str, option: str) -> List[int]:
    """Seeds given as "3 4 5" or "3,4,5"; a clear exit naming `option` otherwise."""
    try:
        return [int(x) for x in text.replace(",", " ").split()]
    except ValueError:
        raise SystemExit(f"{option} {text!r}: expected seeds, e.g. \"3 4 5\"") from None


def unit_seeds(args: argparse.Namespace) -> Optional[List[int]]:
    """--unit-seeds as seeds, None when not given."""
    return seed_list(args.unit_seeds, "--unit-seeds") or None


def cmd_compare(args: argparse.Namespace) -> dict:
    """Build the picks, summarize them, print JSON (and write markdown with --markdown)."""
    from nas.bench.codec import codec_of_space
    from nas.bench.compare import ExhaustiveTable, all_picks, pairwise, read_searches, report_lines, summarize
    try:
        codec = codec_of_space(load_space(args.space, verbose=False))
    except SpaceError as e:
        raise SystemExit(f"--space {args.space}: {e}") from None
    try:
        with open(args.table_csv, newline="") as f:
            table = ExhaustiveTable(list(csv.DictReader(f)), codec, args.metric, unit_seeds(args))
        picks = read_searches(Path(args.searches), table) if args.searches else []
    except (OSError, ValueError) as e:
        raise SystemExit(f"compare: {e}") from None
    proxy_rows = []
    if args.proxies:
        with open(args.proxies, newline="") as f:
            proxy_rows = list(csv.DictReader(f))
    methods, proxy_names = [m for m in args.methods.split(",") if m], [n for n in args.proxy_names.split(",") if n]
    one_shot = picks
    picks, budget = all_picks(table, one_shot, methods, args.runs, args.budget, proxy_rows, proxy_names, args.seed)
    summary = summarize(picks, table)
    pairs = pairwise(summary)
    traced, equal = _traces(args), None
    if traced is not None:
        from nas.bench.search_traces import equal_cost
        equal = equal_cost(table, one_shot, traced, args.equal_seconds, methods, args.runs, proxy_rows, proxy_names,
                           args.seed)
    if args.markdown:
        lines = report_lines(table, summary, pairs, budget)
        if equal is not None:
            from nas.bench.search_traces import equal_cost_lines
            lines += ["", "At equal wall-clock cost:", "", *equal_cost_lines(table, equal)]
        if args.ranking:
            from nas.bench.ranking import ranking_lines
            with open(args.ranking, newline="") as f:
                lines += ["", *ranking_lines(list(csv.DictReader(f)))]
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    out = {"budget_trainings": budget, "architectures": len(table.means), "methods": _public(summary), "pairs": pairs}
    if equal is not None:
        out["equal_cost"] = {**{k: v for k, v in equal.items() if k != "summary"}, "methods": _public(equal["summary"])}
    return out


def _public(summary: dict) -> dict:
    return {m: {k: v for k, v in s.items() if k != "picks"} for m, s in summary.items()}


def _traces(args: argparse.Namespace):
    """The epoch-end traces beside --searches (bench searches writes them), if there are any."""
    from nas.bench.search_traces import traces_for
    try:
        return (traces_for(Path(args.searches)) or None) if args.searches else None
    except (OSError, ValueError) as e:
        raise SystemExit(f"compare: {e}") from None


def cmd_searches(args: argparse.Namespace) -> dict:
    """Collect the finished one-shot runs of a runs dir into searches.csv."""
    from nas.bench.codec import codec_of_space
    from nas.bench.compare import ExhaustiveTable
    from nas.bench import ranking
    from nas.bench.search_runs import collect, kept_rows, reprice, write_csv
    from nas.bench.search_traces import collect_traces, traces_beside, write_traces
    out_csv, traces_csv, rank_csv = Path(args.csv), traces_beside(Path(args.csv)), Path(args.ranking_csv or "-")
    try:
        codec = codec_of_space(load_space(args.space, verbose=False))
        with open(args.table_csv, newline="") as f:
            table_rows = list(csv.DictReader(f))
        table = ExhaustiveTable(table_rows, codec, unit_seeds=unit_seeds(args))
        rows = collect(Path(args.dir), codec, table.train_seconds)
        traces = collect_traces(Path(args.dir), codec)
        ranks = ranking.ranking_rows(Path(args.dir), table, {r["id"]: r["hash"] for r in table_rows})
        kept = ([], [], []) if args.replace else (
            reprice(kept_rows(rows, out_csv, ("method", "run_seed")), Path(args.dir), table.train_seconds),
            kept_rows(traces, traces_csv, ("method", "run_seed")),
            kept_rows(ranks, rank_csv, ("kind", "run")) if args.ranking_csv else [])
    except (SpaceError, OSError, ValueError) as e:
        raise SystemExit(f"searches: {e}") from None
    run_key = lambda r: (r["method"], int(r["run_seed"]))                      # noqa: E731
    rows, ranks = sorted([*rows, *kept[0]], key=run_key), ranking.sorted_rows([*ranks, *kept[2]])
    write_csv(rows, out_csv)
    write_traces(sorted([*traces, *kept[1]], key=lambda r: (*run_key(r), int(r["epoch"]))), traces_csv)
    by: dict = {}
    for r in rows:
        by[r["method"]] = by.get(r["method"], 0) + 1
    out = {"csv": args.csv, "runs": by, "kept_from_csv": len(kept[0]), "traces_csv": str(traces_csv),
           "traced_runs": len({run_key(r) for r in [*traces, *kept[1]]})}
    if args.ranking_csv and ranks:
        ranking.write_csv(ranks, Path(args.ranking_csv))
        out.update(ranking_csv=args.ranking_csv, scored=len(ranks))
    return out


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """The compare and searches subcommands' options."""
    q = sub.add_parser("searches", help="the finished one-shot runs of a runs dir (local/run_searches.sh) -> "
                       "searches.csv (nas.bench.search_runs)")
    q.add_argument("dir", help="the runs dir (warmup_seed<W>/, runs/<method>_run<R>/)")
    q.add_argument("--space", required=True, help="the exhaustive space (its codec gives the vectors and hashes)")
    q.add_argument("--table-csv", required=True, help="the exhaustive table: its mean training seconds price a run")
    q.add_argument("--csv", required=True, help="searches.csv to write, and beside it <name>_traces.csv: every "
                   "run's top-1 architecture and search seconds at each epoch end (nas.bench.search_traces)")
    q.add_argument("--ranking-csv", default="", help="ranking.csv to write: how each scored warm-up's and search's "
                   "weights rank the table (nas.bench.ranking; from their score/scores.json)")
    q.add_argument("--replace", action="store_true", help="write only the runs found in the dir; by default the "
                   "rows of an existing --csv, its traces and --ranking-csv whose runs the dir lacks are kept (a "
                   "kept run priced by the dir's warm-up where it has that run's)")
    unit_seeds_arg(q)
    q.set_defaults(run=cmd_searches)

    q = sub.add_parser("compare", help="search methods judged on an exhaustive table by lookup: picks' table "
                       "means, pairwise differences with intervals, p and detectable differences")
    q.add_argument("--table-csv", required=True, help="the exhaustive table (python -m nas.bin.bench export)")
    q.add_argument("--space", required=True, help="its space (e.g. conf/exhaustive/space.json)")
    q.add_argument("--searches", default="", help="searches.csv: one-shot runs (nas.bench.compare.SEARCH_COLUMNS)")
    q.add_argument("--methods", default="random,rea,ls,bo", help="tabular methods to run on the table")
    q.add_argument("--runs", type=int, default=100, help="runs of each tabular method and of random pick")
    q.add_argument("--budget", type=int, default=0, help="trainings per tabular run (default: the one-shot "
                   "searches' median cost in trainings, else 10)")
    q.add_argument("--metric", default="test_wer", help="the table column picks are scored by")
    q.add_argument("--seed", type=int, default=0, help="seed of the random picks")
    q.add_argument("--proxies", default="", help="proxies.csv (bench proxies): add the proxy-guided methods, the "
                   "best on dev of each proxy's top --budget, one run per initialization seed")
    q.add_argument("--proxy-names", default="synflow,naswot,snip", help="which proxies' guided methods to add")
    q.add_argument("--markdown", default="", help="also write the report as markdown here; where --searches has "
                   "its <name>_traces.csv beside it, the comparison again at equal wall-clock cost")
    q.add_argument("--equal-seconds", type=float, default=0.0, help="the equal cost C in seconds of search (default: "
                   "the smallest median over the traced methods)")
    q.add_argument("--ranking", default="", help="with --markdown: ranking.csv (bench searches --ranking-csv), "
                   "how the super-networks' weights rank the table")
    unit_seeds_arg(q)
    q.set_defaults(run=cmd_compare)
