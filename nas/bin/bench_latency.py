"""The `latency` subcommand of nas.bin.bench: time a space's ops in place and its architectures
whole, on CPU with each thread count and on CUDA when there is one, streaming-style (batch 1,
a chunk) and offline (a batch of 10 s utterances); write the lookup tables, the benchmarking
files, latency.csv and summary.json (nas.bench.latency.survey; docs/latency.md)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

from nas.bench.errors import BenchFileError
from nas.bench.latency.timing import LatencyError, make_settings
from nas.models.space import SpaceError, load_space


def _ints(text: str, what: str) -> List[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SystemExit(f"{what} {text!r}: give comma-separated whole numbers, e.g. 1,2") from None


def _cuda(flag: str) -> bool:
    import torch
    if flag == "auto":
        return torch.cuda.is_available()
    if flag == "yes" and not torch.cuda.is_available():
        raise SystemExit("--cuda yes: torch sees no CUDA device here")
    return flag == "yes"


def cmd_latency(args: argparse.Namespace) -> dict:
    """Run the survey the options describe; its summary (summary.json) is the command's output."""
    from nas.bench.latency.measure import TimingOptions       # here: --help need not load scipy
    from nas.bench.latency.survey import choose_archs, survey
    try:
        space = load_space(args.space, verbose=False, params=args.space_params or None)
        settings = make_settings(_ints(args.threads, "--threads"), [m for m in args.modes.split(",") if m],
                                 _cuda(args.cuda), args.batch, args.seconds, args.chunk, args.frame_shift_ms)
        vecs = choose_archs(space, args.table, args.epochs, args.sample, args.seed, args.max_archs)
        opts = TimingOptions(args.warmup, args.reps, args.min_sample_ms, args.seed)
        return survey(space, settings, vecs, Path(args.out), args.input_dim, args.num_tokens, opts, args.tag,
                      args.group, args.folds, log=lambda m: print(m, file=sys.stderr, flush=True),
                      csv_path=Path(args.csv) if args.csv else None)
    except (SpaceError, LatencyError, BenchFileError) as e:
        raise SystemExit(f"latency: {e}") from None


def add_parser(sub: "argparse._SubParsersAction") -> None:
    """The latency subcommand's options."""
    q = sub.add_parser("latency", help="measured latency of a space's ops and architectures: lookup tables, "
                       "benchmarking files, latency.csv, the sum predictor's error (docs/latency.md)")
    q.add_argument("--space", required=True, help="a shipped space (nb_asr_small, wsj, ...) or a space JSON file")
    q.add_argument("--space-params", default="", help="override its params, e.g. width=0.5")
    q.add_argument("--out", required=True, help="folder for the files (created)")
    q.add_argument("--csv", default="", help="latency.csv's path (default: OUT/latency.csv)")
    q.add_argument("--table", default="", help="time the architectures of this benchmark table folder")
    q.add_argument("--epochs", type=int, default=40, help="with --table: its training files' e{E}")
    q.add_argument("--sample", type=int, default=0, help="or N architectures drawn uniformly (--seed)")
    q.add_argument("--max-archs", type=int, default=512, help="else every architecture, if at most this many")
    q.add_argument("--threads", default="1,2", help="CPU thread counts, comma-separated")
    q.add_argument("--modes", default="stream,offline", help="stream (batch 1, one chunk), offline (a batch)")
    q.add_argument("--cuda", choices=("auto", "yes", "no"), default="auto", help="also time on CUDA (auto: if any)")
    q.add_argument("--chunk", type=int, default=40, help="stream mode: input frames per chunk")
    q.add_argument("--batch", type=int, default=8, help="offline mode: utterances per batch")
    q.add_argument("--seconds", type=float, default=10.0, help="offline mode: seconds of audio per utterance")
    q.add_argument("--frame-shift-ms", type=float, default=10.0, help="input frame shift, to turn seconds into frames")
    q.add_argument("--input-dim", type=int, default=120, help="feature size (egs/synth: 40 fbank + deltas)")
    q.add_argument("--num-tokens", type=int, default=50, help="output units")
    q.add_argument("--warmup", type=int, default=3, help="untimed calls of each op and model first")
    q.add_argument("--reps", type=int, default=15, help="timed rounds (medians and quartiles over them)")
    q.add_argument("--min-sample-ms", type=float, default=2.0, help="a sample repeats a call until it lasts this long")
    q.add_argument("--group", type=int, default=64, help="architectures interleaved (and in memory) at once")
    q.add_argument("--folds", type=int, default=10, help="folds of the fits' out-of-fold errors")
    q.add_argument("--tag", default="", help="prefix of the device names, e.g. the machine: vm2-cpu-t1-stream")
    q.add_argument("--seed", type=int, default=0, help="seed of the sampling and of the timing order")
    q.set_defaults(run=cmd_latency)


def cmd_budgets(args: argparse.Namespace) -> None:
    """Print `p<Q> <ms>` per percentile: the budgets local/run_latency_searches.sh searches under."""
    from nas.bench.latency import load_latency_table
    try:
        qs = [float(q) for q in args.percentiles.split(",") if q.strip()]
    except ValueError:
        raise SystemExit(f"--percentiles {args.percentiles!r}: give numbers in 0-100, e.g. 25,50,75") from None
    if not qs or not all(0 <= q <= 100 for q in qs):
        raise SystemExit(f"--percentiles {args.percentiles!r}: give numbers in 0-100, e.g. 25,50,75")
    try:
        values = load_latency_table(args.table).percentiles(qs)
    except LatencyError as e:
        raise SystemExit(f"latency-budgets: {e}") from None
    for q, ms in values.items():
        print(f"p{q:g} {ms:.4f}")


def add_budgets_parser(sub: "argparse._SubParsersAction") -> None:
    """The latency-budgets subcommand's options."""
    q = sub.add_parser("latency-budgets", help="percentiles of a latency lookup table's predictions over every "
                       "architecture of its space: latency budgets, one 'p<Q> <ms>' line each")
    q.add_argument("--table", required=True, help="a latency lookup table (latency-<device>[-fit-*].json)")
    q.add_argument("--percentiles", default="25,50,75", help="comma-separated, 0-100 (25,50,75)")
    q.set_defaults(run=cmd_budgets)
