"""NAS-Bench-ASR from the command line: an architecture's hash and sizes, the space's counts,
and tabular search methods compared on a benchmark table.

  info    one architecture (--arch-vec "[[1,0],[1,0,0],[1,0,0,0]]" or --arch arch.json): its model
          hash, its parameter counts (the benchmark's published convention and this toolkit's
          model), its arch.json choices; with --table DIR, its entry there; --write-arch FILE
          writes an arch.json that `nas.bin.retrain --arch` trains (--features: its input
          pipeline); --brief prints one line (vector, hash, the table's PERs) instead.
  space   the vector and model counts of the cell space and the space's blocks and params.
  search  repeated runs of tabular search methods on a table: regret curves (mean, 95% interval)
          to regret.png and regret.csv, and summary.json, in --out.
  plan    a ground-truth bench dir: architectures of the cell space (nb_asr_small) and of a block
          space (the TDNN space) to train stand-alone, their arch.json files and the job list.
  collect the finished trainings of a bench dir as benchmark tables (nas.bench.ground_truth).
  archs   the arch.json files of a bench dir's plan that archs/ lacks; --seeds adds seeds.
  pending the jobs of a bench dir still to train, one "<id> <seed> <space>" line each (what
          local/run_bench.sh trains next).
  report  BENCH.md from a bench dir after egs/synth/local/score_search.sh (nas.bench.summary).
  power   whether a bench dir's table tells its architectures apart (nas.bench.stats.table_power):
          the ANOVA of --metric on architecture over seeds, the ICC with its interval, and the best
          architecture against the median one in standard errors of the difference.
  seeds   whether seeds added later agree with the first ones: the accuracy shift (paired t, its
          interval) and the train-seconds ratio, over the architectures that have both.
  latency measured latency of a space: every candidate op in its place and whole architectures, on
          CPU (1 and 2 threads) and CUDA, streaming-style and offline; lookup tables per op,
          benchmarking files, latency.csv, the sum predictor's error (nas.bin.bench_latency).
  pareto  multi-objective search on a table, error against latency or params: the true front and
          each method's hypervolume ratio found/true over runs (nas.bin.bench_pareto).
  compare search methods judged on an exhaustive table by lookup: one-shot runs (searches.csv),
          tabular methods at a matched budget, random pick, hand designs (nas.bin.bench_compare).
  searches the finished one-shot runs of egs/synth/local/run_searches.sh -> searches.csv.
  proxies zero-cost proxies of every architecture of a space at initialization, several seeds, on
          one CTC minibatch, into proxies.csv; with --table-csv their rank correlations with a
          table and the proxy-guided top-k picks (nas.bin.bench_proxies, docs/proxies.md).
Every command but pending (and info --brief) prints one JSON object on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional

from nas.bench.archvec import OPS, ArchVecError, all_vectors, from_choices, parse_vector, to_choices, vector_string
from nas.bench.model import param_counts
from nas.bench.model_hash import model_graph, model_hash
from nas.bin.bench_compare import add_parser as add_compare_parser, unit_seeds, unit_seeds_arg
from nas.bin.bench_latency import add_budgets_parser, add_parser as add_latency_parser
from nas.bin.bench_pareto import add_parser as add_pareto_parser
from nas.bin.bench_power import add_parser as add_power_parser, waiting_arg
from nas.bin.bench_proxies import add_parser as add_proxies_parser
from nas.models.space import SpaceError, load_space
from nas.options import parse_bool


_LABELS = {-1: "input", -2: "output"}


def _space(args):
    try:
        return load_space(args.space, verbose=False, params=args.space_params or None)
    except SpaceError as e:
        raise SystemExit(f"--space {args.space}: {e}") from None


def _vector(args, space) -> List[List[int]]:
    if bool(args.arch_vec) == bool(args.arch):
        raise SystemExit("give one of --arch-vec \"[[op1,s1_0],[op2,s2_0,s2_1],[op3,s3_0,s3_1,s3_2]]\" or --arch FILE")
    try:
        if args.arch_vec:
            return parse_vector(args.arch_vec)
        from nas.models.arch import read_arch
        return from_choices(read_arch(args.arch).choices, space.blocks)
    except (ArchVecError, SpaceError) as e:
        raise SystemExit(f"{args.arch or '--arch-vec'}: {e}") from None


def cmd_info(args) -> Optional[dict]:
    space = _space(args)
    vec = _vector(args, space)
    h = model_hash(vec)
    mat, labels = model_graph(vec)
    try:
        choices = to_choices(vec, space.blocks)
        counts = param_counts(vec, space)
    except ArchVecError as e:
        raise SystemExit(f"--space {args.space}: {e}") from None
    out = {"arch_vec": vector_string(vec), "hash": h, "space": space.name, "params_tf": counts["tf"],
           "params_torch": counts["torch"], "arch_json": choices,
           "graph": {"vertices": " ".join(_LABELS.get(x, OPS[x] if 0 <= x < len(OPS) else str(x)) for x in labels),
                     "edges": " ".join(f"{i}-{j}" for i, j in zip(*mat.nonzero()))},
           "equivalent_vectors": sum(1 for v in all_vectors() if model_hash(v) == h)}
    if args.table:
        from nas.bench.errors import BenchFileError
        from nas.bench.table import load_folder
        try:
            table = load_folder(args.table, epochs=args.epochs)
            out["table"] = table.query(h) if h in table else None
        except BenchFileError as e:
            raise SystemExit(str(e)) from None
    if args.write_arch:
        from nas.features.pipeline import FeaturePipeline
        from nas.models.arch import Arch
        try:
            features = json.loads(args.features) if args.features else None
            FeaturePipeline(**(features or {}))
        except (ValueError, TypeError) as e:
            raise SystemExit(f"--features {args.features}: {e} (a JSON object of feature options, "
                             f"e.g. '{{\"delta_order\": 0}}')") from None
        Arch(space, choices, features, description=f"NAS-Bench-ASR cell {vector_string(vec)} (model hash {h})",
             source={"arch_vec": vector_string(vec), "model_hash": h}).write(args.write_arch)
        out["written"] = args.write_arch
    if args.brief:
        line = f"{args.arch or 'arch'}: NAS-Bench-ASR vector {out['arch_vec']}, model hash {h}"
        if args.table:
            t = out["table"]
            line += (f"; {args.table}: not in the table" if t is None else
                     f"; {args.table}: test PER {100 * t['test_per']:.2f}%, best dev PER {100 * t['val_per']:.2f}% "
                     f"({t['seed']}, {t['epoch']} epochs)")
        print(line)
        return None
    return out


def cmd_space(args) -> dict:
    space = _space(args)
    sizes = sorted(Counter(model_hash(v) for v in all_vectors()).values(), reverse=True)
    return {"space": space.name, "vectors": sum(sizes), "unique": len(sizes), "largest_classes": sizes[:3],
            "singletons": sum(1 for s in sizes if s == 1), "sub_graphs": space.size,
            "blocks": space.blocks, "tied_edges": space.uses, "params": space.params}


def cmd_search(args) -> dict:
    from nas.bench.regret import compare
    from nas.bench.errors import BenchFileError
    from nas.bench.table import load_folder
    from nas.bench.tabular import METHODS
    methods = [m.strip() for m in args.method.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise SystemExit(f"--method: unknown {unknown}; known: {', '.join(METHODS)}")
    if (args.budget_queries is None) == (args.budget_time is None):
        raise SystemExit("give one budget: --budget-queries N or --budget-time SECONDS")
    try:
        table = load_folder(args.table, epochs=args.epochs)
    except BenchFileError as e:
        raise SystemExit(str(e)) from None
    seed = None if args.table_seed is None else args.table_seed
    try:
        objective = table.objective(epoch=args.val_epoch, seed=seed, val=args.val, test=args.test)
    except BenchFileError as e:
        raise SystemExit(f"search: {e}") from None
    t0 = time.time()
    try:
        summary = compare(objective, methods, runs=args.runs, budget_queries=args.budget_queries,
                          budget_time=args.budget_time, seed=args.seed, out_dir=args.out)
    except ValueError as e:
        raise SystemExit(f"search: {e}") from None
    return {"table": args.table, "out": args.out, "wall_s": round(time.time() - t0, 2), "summary": summary}


def cmd_plan(args) -> dict:
    import random

    from nas.bench.codec import codec_of_space
    from nas.bench.ground_truth import number, sample_blocks, sample_cell, write_plan
    from nas.features.pipeline import FeaturePipeline
    from nas.models.arch import read_arch
    seeds = [int(s) for s in args.seeds.split()]
    features = FeaturePipeline().to_dict()
    groups = {}
    try:
        if args.cells:
            cell = load_space(args.cell_space, verbose=False)
            entries = sample_cell(cell, args.cells, random.Random(args.plan_seed))
            if not args.extra:
                entries = [e for e in entries if e.origin == "sampled"]
            groups["cell"] = (cell, number(entries, "cell", args.noise, seeds), features)
        if args.tdnn or (args.extra and args.tdnn_extra):
            tdnn = load_space(args.tdnn_space, verbose=False)
            extra = [read_arch(p) for p in args.tdnn_extra.split(",") if p] if args.extra else []
            entries = sample_blocks(tdnn, codec_of_space(tdnn), args.tdnn, random.Random(args.plan_seed + 1), extra)
            groups["tdnn"] = (tdnn, number(entries, "tdnn", args.noise, seeds), features)
    except SpaceError as e:
        raise SystemExit(f"plan: {e}") from None
    entries = write_plan(Path(args.out), groups, order=args.job_order)
    jobs = sum(len(e.seeds) for e in entries)
    return {"out": args.out, "architectures": {k: len(g[1]) for k, g in groups.items()}, "jobs": jobs}


def cmd_collect(args) -> dict:
    from nas.bench.ground_truth import collect
    written = collect(Path(args.bench), log=lambda m: print(m, file=sys.stderr))
    return {"tables": {k: [str(p) for p in v] for k, v in written.items()}}


def cmd_archs(args) -> dict:
    from nas.bench.ground_truth import add_seeds, write_archs
    added = add_seeds(Path(args.bench), [int(s) for s in args.seeds.split()]) if args.seeds else 0
    return {"written": write_archs(Path(args.bench), only_missing=True), "jobs_added": added}


def cmd_pending(args) -> None:
    from nas.bench.ground_truth import pending_jobs
    for i, seed, space in pending_jobs(Path(args.bench)):
        print(i, seed, space)


def cmd_export(args) -> Optional[dict]:
    """One CSV row per architecture and seed of a bench dir's table (nas.bench.export)."""
    from nas.bench.export import export_rows, to_csv
    from nas.files import write_text_atomic
    rows = export_rows(Path(args.bench), args.table, args.waiting)
    text = to_csv(rows)
    if args.csv in ("", "-"):
        sys.stdout.write(text)
        return None
    write_text_atomic(Path(args.csv), text)
    return {"csv": args.csv, "rows": len(rows), "architectures": len({r["id"] for r in rows}),
            "seeds": sorted({r["seed"] for r in rows})}


def cmd_report(args) -> dict:
    from nas.bench.summary import write_bench_md
    if bool(args.table_csv) != bool(args.exhaustive_space) or \
            (any((args.proxies, args.searches, args.ranking, args.latency, args.unit_seeds)) and not args.table_csv) or \
            bool(args.latency) != bool(args.table_dir) or bool(args.latency_csv) != bool(args.latency_lut):
        raise SystemExit("report: --table-csv and --exhaustive-space go together, --proxies, --searches, --ranking, "
                         "--latency and --unit-seeds need them (the table they are judged on), --latency needs "
                         "--table-dir, and "
                         "--latency-csv and --latency-lut go together")
    exhaustive = None
    if args.table_csv:
        exhaustive = {"table_csv": Path(args.table_csv), "space": args.exhaustive_space,
                      "searches": Path(args.searches) if args.searches else None,
                      "ranking": Path(args.ranking) if args.ranking else None,
                      "latency": Path(args.latency) if args.latency else None,
                      "table_dir": Path(args.table_dir) if args.table_dir else None,
                      "proxies": Path(args.proxies) if args.proxies else None,
                      "latency_csv": Path(args.latency_csv) if args.latency_csv else None,
                      "lut": Path(args.latency_lut) if args.latency_lut else None, "unit_seeds": unit_seeds(args)}
    out = write_bench_md(Path(args.bench), Path(args.out), args.spaces.split(), args.methods.split(),
                         [int(s) for s in args.seeds.split()], exhaustive)
    return {"written": str(out)}


def _space_args(q: argparse.ArgumentParser) -> None:
    """--space and --space-params, for the subcommands that take a cell space."""
    q.add_argument("--space", default="nb_asr", help="an nb_asr cell space: nb_asr (default), nb_asr_small, "
                                                     "or a JSON file extending one")
    q.add_argument("--space-params", default="", help="override its params, e.g. width=0.5,cells=[1,1,1,1]")


def _add_search(sub) -> None:
    """The search subcommand's options."""
    q = sub.add_parser("search", help="tabular search methods on a benchmark table: regret curves")
    q.add_argument("--table", required=True, help="folder of nb-asr-e{E}-{seed}.pickle files (and optional "
                                                  "nb-asr-bench-*.pickle, nb-asr-info.pickle)")
    q.add_argument("--epochs", type=int, default=40, help="which training files: nb-asr-e{EPOCHS}-*.pickle")
    q.add_argument("--method", default="random,rea,ls,bo", help="comma-separated methods (default: all four)")
    q.add_argument("--runs", type=int, default=100, help="independent runs per method")
    q.add_argument("--budget-queries", type=int, default=None, help="distinct models each run may query")
    q.add_argument("--budget-time", type=float, default=None,
                   help="or simulated seconds of training (needs the table's train_time column)")
    q.add_argument("--val-epoch", type=int, default=None,
                   help="the search sees the best validation error within this many epochs (default: all)")
    q.add_argument("--table-seed", type=int, default=None,
                   help="use one training seed's entries (default: the mean over the table's seeds)")
    q.add_argument("--val", default="val_per", help="the column the search sees: val_per (the best validation "
                                                     "PER within --val-epoch) or a numeric extra column (dev_wer)")
    q.add_argument("--test", default="test_per", help="the column it is judged by (test_per, or e.g. test_wer)")
    q.add_argument("--seed", type=int, default=0, help="seed of the first run (run r uses seed + r)")
    q.add_argument("--out", default="exp/bench_search", help="output folder")
    q.set_defaults(run=cmd_search)


def _add_plan(sub) -> None:
    """The plan subcommand's options."""
    q = sub.add_parser("plan", help="architectures to train stand-alone for ground-truth tables")
    q.add_argument("--out", required=True, help="the bench dir to write")
    q.add_argument("--cells", type=int, default=60, help="cell models drawn uniformly over the model hashes")
    q.add_argument("--cell-space", default="nb_asr_small", help="the cell space to train them in")
    q.add_argument("--tdnn", type=int, default=30, help="choice vectors of the block space drawn uniformly")
    q.add_argument("--tdnn-space", default="wsj", help="the block space (a shipped name or a JSON file)")
    q.add_argument("--tdnn-extra", default="", help="comma-separated arch.json files added to the block space's")
    q.add_argument("--extra", type=parse_bool, default=True, metavar="BOOL",
                   help="add the hand-picked architectures (all-linear, all-conv7 cells; --tdnn-extra)")
    q.add_argument("--noise", type=int, default=10, help="the first N architectures of each space get every seed")
    q.add_argument("--seeds", default="0 1 2", help="training seeds of the noise floor (the first: every architecture)")
    q.add_argument("--plan-seed", type=int, default=0, help="seed of the sampling")
    q.add_argument("--job-order", choices=("seed", "arch"), default="seed",
                   help="jobs.txt's order: seed (every architecture's first seed, then the other seeds) or arch "
                        "(the hand-picked architectures first, each architecture with all its seeds in a row)")
    q.set_defaults(run=cmd_plan)


def _add_report(sub) -> None:
    """The report subcommand: BENCH.md, the exhaustive table's sections first when given."""
    q = sub.add_parser("report", help="BENCH.md from a scored bench dir")
    q.add_argument("bench", help="the bench dir")
    q.add_argument("--out", default="BENCH.md")
    q.add_argument("--spaces", default="cell tdnn")
    q.add_argument("--methods", default="st darts snas proxyless random")
    q.add_argument("--seeds", default="0 1 2")
    q.add_argument("--table-csv", default="", help="the exhaustive table's CSV (bench export): BENCH.md opens with "
                   "the methods judged on it (bench compare)")
    q.add_argument("--exhaustive-space", default="", help="that table's space (e.g. conf/exhaustive/space.json)")
    q.add_argument("--searches", default="", help="searches.csv: the one-shot runs judged on --table-csv")
    q.add_argument("--proxies", default="", help="proxies.csv (bench proxies): its section, judged on --table-csv")
    q.add_argument("--ranking", default="", help="ranking.csv (bench searches --ranking-csv): the shared weights' "
                   "ranking of --table-csv")
    q.add_argument("--latency", default="", help="a latency benchmarking file (nb-asr-bench-<device>.pickle, bench "
                   "latency): with --table-dir, the Pareto section of test WER against it")
    q.add_argument("--table-dir", default="", help="the exhaustive table's folder with every seed (e.g. "
                   "results/exhaustive/tables/tdnn_noise)")
    q.add_argument("--latency-csv", default="", help="latency.csv (bench latency): with --latency-lut and --searches, "
                   "the section on the searches under a latency budget")
    q.add_argument("--latency-lut", default="", help="the lookup table those searches used (its setting picks "
                   "latency.csv's rows)")
    unit_seeds_arg(q)
    q.set_defaults(run=cmd_report)


def parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per task."""
    p = argparse.ArgumentParser(prog="python -m nas.bin.bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    sub = p.add_subparsers(dest="command", required=True)

    q = sub.add_parser("info", help="one architecture: hash, parameter counts, arch.json choices")
    _space_args(q)
    q.add_argument("--arch-vec", default="", help='e.g. "[[1,0],[1,0,0],[1,0,0,0]]"')
    q.add_argument("--arch", default="", help="an arch.json of an nb_asr space (e.g. stage 6's) instead")
    q.add_argument("--table", default="", help="a benchmark folder: add the architecture's entry")
    q.add_argument("--epochs", type=int, default=40, help="the table's training length (its files' e{E})")
    q.add_argument("--write-arch", default="", metavar="FILE", help="write the architecture as an arch.json")
    q.add_argument("--features", default="", help='with --write-arch: its input pipeline as JSON, e.g. \'{"delta_order": 0}\'')
    q.add_argument("--brief", action="store_true", help="one line: the vector, the hash, the table's PERs")
    q.set_defaults(run=cmd_info)

    q = sub.add_parser("space", help="vectors and unique models of the cell space")
    _space_args(q)
    q.set_defaults(run=cmd_space)

    _add_search(sub)
    _add_plan(sub)

    q = sub.add_parser("collect", help="finished trainings of a bench dir -> benchmark tables")
    q.add_argument("bench", help="the bench dir (plan.json, runs/)")
    q.set_defaults(run=cmd_collect)

    q = sub.add_parser("archs", help="the arch.json files of plan.json that archs/ lacks (a bench dir kept "
                       "without them, such as the committed export, trains again)")
    q.add_argument("bench", help="the bench dir (plan.json)")
    q.add_argument("--seeds", default="", help='"0 1 2 3 4 5": add the seeds the noise floor lacks (add_seeds)')
    q.set_defaults(run=cmd_archs)

    q = sub.add_parser("pending", help="the jobs of a bench dir still to train, as jobs.txt lines: neither "
                       "a finished run dir nor a table row has them")
    q.add_argument("bench", help="the bench dir (plan.json, jobs.txt, runs/, tables/)")
    q.set_defaults(run=cmd_pending)

    q = sub.add_parser("export", help="a bench dir's table as CSV: one row per architecture and seed (id, arch "
                       "vector, choices, dev/test WER, test words, PERs, per-epoch held-out PER and loss, params, "
                       "FLOPs, training seconds)")
    q.add_argument("bench", help="the bench dir (plan.json, tables/)")
    q.add_argument("--table", default="tdnn", help="the space's name in plan.json (its tables/NAME and NAME_noise)")
    q.add_argument("--csv", default="-", help="the file to write (default -: stdout)")
    waiting_arg(q)
    q.set_defaults(run=cmd_export)

    _add_report(sub)

    add_power_parser(sub)
    add_latency_parser(sub)
    add_budgets_parser(sub)
    add_pareto_parser(sub)
    add_proxies_parser(sub)
    add_compare_parser(sub)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "budget_queries", None) is None and getattr(args, "command") == "search" \
            and args.budget_time is None:
        args.budget_queries = 100
    result = args.run(args)
    if result is not None:             # pending prints its own lines
        print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
