"""`python -m nas.bin.bench power`: whether a bench dir's table tells its architectures apart
(nas.bench.stats.table_power), and how often it would with other seed counts (nas.bench.seed_power);
`bench seeds`: whether seeds added later agree with the first ones (nas.bench.seed_agreement)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path


def waiting_arg(q: argparse.ArgumentParser) -> None:
    """--waiting, for power and export."""
    q.add_argument("--waiting", action="store_true", help="also the new seeds' rows that tables/NAME_extra holds "
                   "until every architecture has them (an interim look: seed counts then differ)")


def cmd_power(args) -> dict:
    """Whether a bench dir's table tells architectures apart (nas.bench.stats.table_power)."""
    from nas.bench.ground_truth import tabled_runs
    from nas.bench.stats import table_power
    runs = tabled_runs(Path(args.bench), args.table, args.waiting)
    rows = [(h, seed, r[args.metric]) for (h, seed), r in runs.items() if r.get(args.metric) is not None]
    if not rows:
        raise SystemExit(f"{args.bench}: tables/{args.table} holds no {args.metric} rows")
    if args.only_seeds:
        from nas.bin.bench_compare import seed_list
        only = set(seed_list(args.only_seeds, "--only-seeds"))
        rows = [r for r in rows if r[1] in only]
        if not rows:
            raise SystemExit(f"{args.bench}: tables/{args.table} has no {args.metric} rows of seeds "
                             f"{args.only_seeds} (it has seeds {sorted({s for _, s in runs})})")
    if args.distinct:
        rows = _distinct(rows, runs)
    tp = table_power(rows, metric_filter=(lambda m: m < args.max_mean) if args.max_mean > 0 else None,
                     n_boot=args.n_boot, seed=args.seed)
    print(tp.summary(), file=sys.stderr)
    return {"table": args.table, "metric": args.metric, "architectures": tp.n_architectures,
            "filtered_out": tp.n_filtered_out, "too_few_seeds": tp.n_too_few_seeds,
            "seeds_per_arch": list(tp.seeds_per_arch), "F": tp.anova.f, "p": tp.anova.p,
            "df": [tp.anova.df_between, tp.anova.df_within], "icc": [tp.icc.value, tp.icc.low, tp.icc.high],
            "best": tp.best, "median": tp.median, "best_gap": tp.best_gap, "gap_in_se": tp.gap_in_se,
            "criterion": tp.criterion, "passes": tp.passes, **_blocked(tp), **_simulated(args, rows)}


def _distinct(rows: list, runs: dict) -> list:
    """One architecture per set of identical runs: two choice vectors that build the same network
    (an identity beside a fixed layer equal to its neighbour) train bit for bit alike with a seed,
    and counting both would count one network twice. Identical means every recorded figure of every
    seed but the training's seconds (held-out loss per epoch, dev and test WER, ...), so that two
    networks that merely tie on the metric stay apart."""
    import json
    from collections import defaultdict
    by: dict = defaultdict(list)
    for h, seed, _ in rows:
        record = {k: v for k, v in runs[(h, seed)].items() if k != "train_time"}
        by[h].append((seed, json.dumps(record, sort_keys=True, default=str)))
    first: dict = {}
    for h in sorted(by, key=str):
        first.setdefault(tuple(sorted(by[h])), h)
    keep = set(first.values())
    print(f"--distinct: {len(by)} architectures, {len(keep)} distinct (the rest repeat another's every run)",
          file=sys.stderr)
    return [r for r in rows if r[0] in keep]


def _blocked(tp) -> dict:
    """The seed-blocked figures, where every architecture has the same seeds (nas.bench.stats.seed_blocks)."""
    if tp.seed_effect is None:
        return {}
    e = tp.seed_effect
    return {"seed_effect": {"F": e.f, "p": e.p, "df": [e.df_between, e.df_within]},
            "gap_in_se_blocked": tp.gap_in_se_blocked}


def _simulated(args, rows) -> dict:
    """With --simulate-seeds: the criterion's pass rate at other seed counts (nas.bench.seed_power)."""
    if not args.simulate_seeds:
        return {}
    from collections import defaultdict
    from nas.bench.seed_power import simulate_seeds
    by: dict = defaultdict(list)
    for h, _, v in rows:
        by[h].append(float(v))
    groups = [v for v in by.values() if len(v) >= 2 and (args.max_mean <= 0 or sum(v) / len(v) < args.max_mean)]
    try:
        ks = [int(k) for k in args.simulate_seeds.split(",") if k.strip()]
    except ValueError:
        raise SystemExit(f"--simulate-seeds {args.simulate_seeds!r}: expected seed counts separated by commas, "
                         f"e.g. 3,6,8") from None
    try:
        sim = simulate_seeds(groups, ks, n_sim=args.n_sim, seed=args.seed)
    except ValueError as e:
        raise SystemExit(f"--simulate-seeds {args.simulate_seeds}: {e}") from None
    for k, s in sim.items():
        print(f"simulated from this table at {k} seeds per architecture: the criterion holds in "
              f"{100 * s['passes']:.0f}% of {args.n_sim} tables (best beats median by > 3 SE in "
              f"{100 * s['gap_passes']:.0f}%; median {s['median_z']:.1f} SE)", file=sys.stderr)
    return {"simulated": {str(k): s for k, s in sim.items()}}


def cmd_seeds(args) -> dict:
    """Whether the new seeds agree with the old ones (nas.bench.seed_agreement), published and waiting rows."""
    from nas.bench.ground_truth import tabled_runs
    from nas.bench.seed_agreement import seed_agreement
    from nas.bin.bench_compare import seed_list
    if not (Path(args.bench) / "tables" / args.table).is_dir():
        raise SystemExit(f"{args.bench}: no tables/{args.table} (a bench dir of local/run_bench.sh or "
                         f"local/run_exhaustive.sh, e.g. results/exhaustive in egs/synth)")
    runs = tabled_runs(Path(args.bench), args.table, waiting=True)
    try:
        a = seed_agreement(runs, seed_list(args.old, "--old"), seed_list(args.new, "--new"), args.metric)
    except ValueError as e:
        raise SystemExit(f"{args.bench}: tables/{args.table}*: {e}") from None
    print(a.summary(100.0, " points") if args.metric.endswith(("_wer", "_per")) else a.summary(), file=sys.stderr)
    return {"table": args.table, "metric": args.metric, "architectures": a.n, "old_seeds": list(a.old_seeds),
            "new_seeds": list(a.new_seeds), "shift": a.shift, "shift_ci": [a.shift_low, a.shift_high],
            "shift_sd": a.shift_sd, "p": a.p, "detectable": a.detectable, "r": a.r,
            "seconds_ratio": dict(zip(("median", "min", "max"), a.seconds_ratio)), "seed_means": list(a.seed_means),
            "seed_effect": {"F": a.seed_effect.f, "p": a.seed_effect.p,
                            "df": [a.seed_effect.df_between, a.seed_effect.df_within]}}


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """The power subcommand's options."""
    q = sub.add_parser("power", help="does a bench dir's table tell its architectures apart: ANOVA over seeds, "
                       "ICC, best against median in SEs (nas.bench.stats)")
    q.add_argument("bench", help="the bench dir (tables/<table> and tables/<table>_noise)")
    q.add_argument("--table", default="tdnn", help="the table's name under tables/")
    q.add_argument("--metric", default="test_wer")
    q.add_argument("--max-mean", type=float, default=0.5, help="keep architectures whose mean is under this "
                                                                  "(0: all)")
    q.add_argument("--n-boot", type=int, default=2000, help="bootstrap resamples of the ICC's interval")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--simulate-seeds", default="", help="e.g. 3,6,8: how often the criterion would hold with that "
                   "many seeds per architecture, by parametric bootstrap from this table (nas.bench.seed_power)")
    q.add_argument("--n-sim", type=int, default=2000, help="simulated tables per seed count")
    q.add_argument("--only-seeds", default="", help='e.g. "3 4 5": judge the table on these seeds\' rows only '
                   "(a replication: seeds added later as a table of their own)")
    q.add_argument("--distinct", action="store_true", help="count once the architectures whose every run equals "
                   "another's in every figure but its seconds (two choice vectors of one network, trained alike)")
    waiting_arg(q)
    q.set_defaults(run=cmd_power)
    q = sub.add_parser("seeds", help="do a table's added seeds agree with its first ones: accuracy shift "
                       "(paired t) and train-seconds ratio, over the architectures with both (nas.bench.seed_agreement)")
    q.add_argument("bench", help="the bench dir (tables/<table>, <table>_noise and <table>_extra)")
    q.add_argument("--table", default="tdnn", help="the table's name under tables/")
    q.add_argument("--metric", default="test_wer")
    q.add_argument("--old", default="0 1 2", help="the first seeds")
    q.add_argument("--new", default="3 4 5", help="the added seeds")
    q.set_defaults(run=cmd_seeds)
