"""The `proxies` subcommand of nas.bin.bench: zero-cost proxies (grad_norm, snip, grasp, fisher,
synflow, jacob_cov, naswot, params, flops) of every architecture of a space at initialization,
for several seeds, on one CTC minibatch of a data dir, into proxies.csv (nas.proxies); with
--table-csv, their rank correlations with a table's CSV and the proxy-guided top-k picks
(nas.bench.proxy_report). Resumable: a rerun scores only what the CSV lacks. --shard K/N scores
every N-th architecture (one job of egs/synth/local/run_proxies.sh), --merge joins such shards'
CSVs into --csv."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from nas.models.space import SpaceError, load_space


def _ids(plan: str) -> dict:
    """Model hash -> table id from a bench dir's plan.json (empty without one)."""
    if not plan:
        return {}
    try:
        entries = json.loads(Path(plan).read_text())["entries"]
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"--plan {plan}: not a bench plan ({e})") from None
    return {e["hash"]: e["id"] for e in entries}


def _shard(text: str) -> tuple:
    k, sep, n = text.partition("/")
    try:
        return int(k), int(n)
    except ValueError:
        raise SystemExit(f"--shard {text!r}: expected K/N, e.g. 2/4") from None


def _survey(args: argparse.Namespace, names: list, out: Path, log) -> dict:
    """Score (or with --merge, join) into --csv; what the result JSON says of it."""
    from nas.features.pipeline import FeaturePipeline
    from nas.proxies.survey import merge, proxy_batch, survey
    if not args.space:
        raise SystemExit("proxies: give --space (or --report-only with --table-csv)")
    try:
        space = load_space(args.space, verbose=False, params=args.space_params or None)
        if args.merge:
            return {"rows": len(merge(space, out, [Path(p) for p in args.merge], names, log)), "merged": args.merge}
        features = json.loads(args.features) if args.features else {}
        batch, num_tokens = proxy_batch(Path(args.data), Path(args.lang), space, FeaturePipeline(**features),
                                        args.batch_size, args.data_seed)
        seeds = [int(s) for s in args.seeds.replace(",", " ").split()]
        rows = survey(space, batch, num_tokens, seeds, out, names, _ids(args.plan), log, _shard(args.shard),
                      [Path(p) for p in args.skip_csv])
    except (SpaceError, ValueError, FileNotFoundError, TypeError) as e:
        raise SystemExit(f"proxies: {e}") from None
    return {"rows": len(rows), "batch": {"utterances": len(batch), "frames": [int(x) for x in batch.lengths]}}


def cmd_proxies(args: argparse.Namespace) -> dict:
    """Survey the proxies (unless --report-only), then report against --table-csv when given."""
    import torch
    from nas.bench.proxy_report import proxy_report, read_csv, report_lines
    from nas.proxies.scores import PROXIES
    torch.set_num_threads(args.threads)
    names = [n for n in args.proxies.split(",") if n] if args.proxies else list(PROXIES)
    out = Path(args.csv)
    log = (lambda m: print(m, file=sys.stderr, flush=True))
    result: dict = {"csv": str(out)}
    if not args.report_only:
        result.update(_survey(args, names, out, log))
    if args.table_csv:
        rep = proxy_report(read_csv(out), read_csv(Path(args.table_csv)), args.metric)
        result["report"] = rep
        if args.markdown:
            Path(args.markdown).write_text("\n".join(report_lines(rep)) + "\n")
            result["markdown"] = args.markdown
    return result


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """The proxies subcommand's options."""
    q = sub.add_parser("proxies", help="zero-cost proxies of every architecture of a space -> proxies.csv; "
                       "with --table-csv, their rank correlations with a table (docs/proxies.md)")
    q.add_argument("--space", default="", help="a shipped space or a space JSON file (e.g. conf/exhaustive/space.json)")
    q.add_argument("--space-params", default="", help="override its params, e.g. hidden=64")
    q.add_argument("--data", default="data/train", help="the data dir whose utterances make the minibatch")
    q.add_argument("--lang", default="data/lang_phn", help="its lang dir (tokens.txt, lexicon_numbers.txt)")
    q.add_argument("--features", default="", help="the input pipeline as JSON (default: FeaturePipeline's, "
                   "CMVN and deltas, as the recipes train)")
    q.add_argument("--csv", required=True, help="proxies.csv to write (rows it holds are kept)")
    q.add_argument("--seeds", default="0 1 2", help="initialization seeds")
    q.add_argument("--batch-size", type=int, default=16, help="utterances in the minibatch")
    q.add_argument("--data-seed", type=int, default=0, help="seed of the utterances' draw")
    q.add_argument("--proxies", default="", help="comma-separated subset (default: all)")
    q.add_argument("--plan", default="", help="a bench plan.json: its ids go into the CSV's id column")
    q.add_argument("--threads", type=int, default=1, help="torch threads")
    q.add_argument("--table-csv", default="", help="a table's CSV (nas.bin.bench export): report the proxies "
                   "against it")
    q.add_argument("--metric", default="test_wer", help="the table's column to rank by (lower is better)")
    q.add_argument("--markdown", default="", help="with --table-csv: also write the report as markdown here")
    q.add_argument("--report-only", action="store_true", help="only report the existing --csv against --table-csv")
    q.add_argument("--shard", default="1/1", help="K/N: score only the K-th of every N architectures (a job of "
                   "a split survey; its own --csv)")
    q.add_argument("--skip-csv", action="append", default=[], metavar="CSV",
                   help="rows this CSV holds are not scored again (repeatable)")
    q.add_argument("--merge", nargs="+", metavar="CSV", help="join these shards' CSVs into --csv (its rows kept) in "
                   "one survey's order, scoring nothing")
    q.set_defaults(run=cmd_proxies)
