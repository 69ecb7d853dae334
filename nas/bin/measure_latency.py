"""Measure an arch.json's network in its latency table's setting and record it in the arch.json.

After retraining (stage 7), the retrain dir's arch.json holds what the latency-aware search
predicted ("latency": table, setting, predicted_ms); this times the architecture itself on this
machine, in that setting (device, threads, batch, frames, input dim, outputs: the table's, so
that the figure compares with the prediction), and adds "measured_ms" (the median) and
"measured" (quartiles, fastest sample, repetitions, the machine and its load) to it. Timing as
nas.bench.latency does: warm-up calls, then interleaved rounds of samples of at least
--min-sample-ms each (docs/latency.md). The weights do not matter to the time, so none are
loaded.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Optional

import torch

from nas.bench.latency import LatencyError, LatencyTable, load_latency_table
from nas.bench.latency.timing import machine_info, time_interleaved, torch_threads
from nas.files import write_text_atomic
from nas.models.arch import Arch, read_arch
from nas.models.space import SpaceError
from nas.models.supernet import SuperNet
from nas.options import parse_bool


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nas.bin.measure_latency", description=__doc__.split("\n\n")[0],
                                epilog="example: python -m nas.bin.measure_latency exp/nas_st_seed0/retrain/arch.json")
    p.add_argument("arch", help="arch.json (a retrain dir's, or any)")
    p.add_argument("--table", default="", help="the latency table whose setting to measure in (default: the one "
                                               "the arch.json's \"latency\" names)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls first (default: 3)")
    p.add_argument("--reps", type=int, default=15, help="timed samples; the median is kept (default: 15)")
    p.add_argument("--min-sample-ms", type=float, default=2.0, help="a sample repeats the call until it lasts "
                                                                    "this long (default: 2)")
    p.add_argument("--overwrite", type=parse_bool, default=False, metavar="BOOL",
                   help="measure again when the arch.json has a measured figure (default: false)")
    return p


def measure_arch(arch: Arch, table: LatencyTable, warmup: int = 3, reps: int = 15,
                 min_sample_ms: float = 2.0) -> Dict[str, object]:
    """The timing of `arch`'s network in `table`'s setting: median, quartiles, fastest, machine."""
    s = table.setting
    device = str(s.get("device", "cpu"))
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise LatencyError(f"{table.source}: a table of a CUDA setting, and torch sees no CUDA device here")
    dims = {k: int(s[k]) for k in ("batch", "frames", "input_dim", "num_tokens") if k in s}
    if len(dims) < 4:
        raise LatencyError(f"{table.source}: its setting lacks batch, frames, input_dim or num_tokens: {s}")
    with torch.device(device):
        net = SuperNet(arch.space, dims["input_dim"], dims["num_tokens"], arch=arch.choices).eval()
    x = torch.randn(dims["batch"], dims["frames"], dims["input_dim"], device=device)
    lengths = torch.full((dims["batch"],), dims["frames"], dtype=torch.long, device=device)
    with torch_threads(int(s.get("threads", 1))):
        t = time_interleaved({"arch": lambda: net(x, lengths)}, device, warmup, reps, min_sample_ms)["arch"]
        machine = machine_info(device)
    return {**{k: round(v, 6) if isinstance(v, float) else v for k, v in t.to_dict().items()},
            "setting": s, "table": str(Path(table.source).resolve()), "machine": machine}


def record(path: Path, table: LatencyTable, arch: Arch, timing: Dict[str, object]) -> Dict[str, object]:
    """arch.json's "latency" with the measured figure added (the rest of the file unchanged)."""
    raw = json.loads(path.read_text())
    lat = dict(raw.get("latency") or {})
    if not lat:                 # an arch.json of a search without a table: what this table predicts
        lat = {"table": timing["table"], "space": table.space, "kind": table.kind, "setting": table.setting}
    try:
        table.check_space(arch.space)
        lat.setdefault("predicted_ms", round(table.predict(arch.choices), 6))
    except LatencyError:
        lat["note"] = "the network is not of the table's space (retrained in another macro network): " \
                      "predicted_ms is the searched network's"
    lat["measured_ms"] = timing["median_ms"]
    lat["measured"] = timing
    raw["latency"] = lat
    write_text_atomic(path, json.dumps(raw, indent=2) + "\n")
    return lat


def main(argv: Optional[List[str]] = None) -> int:
    args = _parser().parse_args(argv)
    path = Path(args.arch)
    try:
        arch = read_arch(path)
        if "measured_ms" in arch.latency and not args.overwrite:
            print(f"measure_latency: {path} has a measured latency ({arch.latency['measured_ms']} ms); "
                  f"skipping (--overwrite true to measure again)")
            return 0
        source = args.table or arch.latency.get("table", "")
        if not source:
            raise SystemExit(f"measure_latency: {path} names no latency table (no \"latency\" record): give --table")
        table = load_latency_table(source)
        timing = measure_arch(arch, table, args.warmup, args.reps, args.min_sample_ms)
        lat = record(path, table, arch, timing)
    except (SpaceError, LatencyError) as e:
        raise SystemExit(f"measure_latency: {e}") from None
    predicted = lat.get("predicted_ms")
    print(f"measure_latency: {path}: measured {lat['measured_ms']:.4g} ms (median of {timing['reps']}, "
          f"{table.setting.get('mode', '?')} setting of {table.source})"
          + (f", predicted {predicted:.4g} ms" if predicted is not None else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
