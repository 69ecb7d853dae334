"""A latency survey of a space: which architectures, every setting measured, the files written.

For each setting (device, threads, mode; nas.bench.latency.timing.Setting) it writes, in one
folder:

- latency-{name}.json: the lookup table (every op in its place, the fixed part; nas.bench.latency.lut),
- latency-{name}-fit-scale.json, latency-{name}-fit-onehot.json: the fitted tables
  (nas.bench.latency.predictor), fitted on every measured architecture,
- nb-asr-bench-{name}.pickle: a benchmarking file of the table format (nas.bench.fileformat):
  model_hash, latency in seconds (the median), search_space the space's codec,

and over all settings latency.csv (one row per architecture and setting) and summary.json (the
machine, and per setting the predictors' errors).
"""
from __future__ import annotations

import csv
import json
import random
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

from nas.bench.codec import Codec, codec_of_space
from nas.bench.fileformat import BENCHMARKING_NAME, write_benchmarking
from nas.bench.latency.lut import LatencyTable
from nas.bench.latency.measure import TimingOptions, aggregate, measure
from nas.bench.latency.predictor import FITS, best_fit, errors, judge
from nas.bench.latency.timing import LatencyError, Setting, machine_info
from nas.files import write_text_atomic
from nas.models.space import SearchSpace

CSV_COLUMNS = ("arch", "model_hash", "device", "threads", "mode", "batch", "frames", "median_ms", "q25_ms",
               "q75_ms", "min_ms", "predicted_ms", "fit_ms", "fit")
Log = Callable[[str], None]


def _vector_at(codec: Codec, index: int) -> List[List[int]]:
    """The index-th vector in codec.vectors()' order (mixed radix over the flattened positions)."""
    flat = []
    for n in reversed(codec.sizes):
        index, r = divmod(index, n)
        flat.append(r)
    return codec.unflatten(list(reversed(flat)))


def choose_archs(space: SearchSpace, table_dir: Optional[str] = None, epochs: int = 40, sample: int = 0,
                 seed: int = 0, max_archs: int = 512) -> List[List[List[int]]]:
    """The architectures to time, as vectors of the space's codec, one per model hash: a table's
    (table_dir), `sample` drawn uniformly, or every one (at most max_archs)."""
    codec = codec_of_space(space)
    if table_dir:
        from nas.bench.table import load_folder
        table = load_folder(table_dir, epochs=epochs, static=False)
        if table.codec != codec:
            raise LatencyError(f"--table {table_dir}: its space {table.codec!r} is not {space.name}'s {codec!r}")
        vecs = table.arch_vecs()
    elif sample:
        picks = random.Random(seed).sample(range(codec.size), min(sample, codec.size))
        vecs = [_vector_at(codec, i) for i in picks]
    else:
        if codec.size > max_archs:
            raise LatencyError(f"space {space.name} has {codec.size} architectures, more than --max-archs "
                               f"{max_archs}: give --sample N or --table DIR")
        vecs = list(codec.vectors())
    out, seen = [], set()
    for v in vecs:
        h = codec.hash(v)
        if h not in seen:
            seen.add(h)
            out.append(v)
    return out


def _setting_rows(setting: Setting, codec: Codec, vecs: Sequence, timings: Sequence, judged: Dict[str, Any],
                  fit: str) -> List[Dict[str, Any]]:
    rows = []
    for i, (v, t) in enumerate(zip(vecs, timings)):
        d = t.to_dict()
        rows.append({"arch": codec.string(v), "model_hash": codec.hash(v), "device": setting.device,
                     "threads": setting.threads, "mode": setting.mode, "batch": setting.batch,
                     "frames": setting.frames, "median_ms": d["median_ms"], "q25_ms": d["q25_ms"],
                     "q75_ms": d["q75_ms"], "min_ms": d["min_ms"], "predicted_ms": judged["sum"]["predicted"][i],
                     "fit_ms": judged[fit]["predicted"][i], "fit": fit})
    return rows


def _median_spread(ops: Sequence[Dict[str, float]]) -> float:
    """The median over ops of (q75 - q25) / median."""
    spreads = sorted((o["q75_ms"] - o["q25_ms"]) / o["median_ms"] for o in ops if o["median_ms"] > 0)
    return spreads[len(spreads) // 2] if spreads else 0.0


def survey_setting(space: SearchSpace, setting: Setting, vecs: Sequence, out: Path, input_dim: int,
                   num_tokens: int, opts: TimingOptions, tag: str = "", group: int = 64, folds: int = 10,
                   log: Optional[Log] = None) -> Dict[str, Any]:
    """Measure one setting and write its files (see the module doc); its summary and CSV rows."""
    codec = codec_of_space(space)
    name = setting.name(tag)
    archs = [codec.to_choices(v) for v in vecs]
    table, timings = measure(space, archs, setting, input_dim, num_tokens, opts, group, log)
    table.save(out / f"latency-{name}.json")
    measured = [t.median_ms for t in timings]
    judged = judge(table, archs, measured, folds, opts.seed)
    for kind, fit in FITS.items():
        if len(archs) >= 3:
            fit(table, archs, measured).save(out / f"latency-{name}-{kind}.json")
    write_benchmarking(out / BENCHMARKING_NAME.format(device=name),
                       [{"arch_vec": v, "latency": m / 1000.0} for v, m in zip(vecs, measured)], name, codec=codec)
    fit = best_fit(judged)
    predictors = {k: v["errors"] for k, v in judged.items()}
    fastest = LatencyTable(table.space, table.setting, *aggregate(table.ops, space.blocks, "min_ms"))
    predictors["sum-fastest"] = errors([fastest.predict(a) for a in archs], [min(t.samples_ms) for t in timings])
    spreads = sorted(t.spread for t in timings)
    summary = {"setting": setting.to_dict(), "name": name, "architectures": len(vecs),
               "fixed_ms": table.fixed_ms, "measured_ms": {"min": min(measured), "max": max(measured)},
               "spread_median": spreads[len(spreads) // 2], "spread_worst": spreads[-1],
               "op_spread_median": _median_spread(table.ops),
               "predictors": predictors, "best": fit,
               "machine_after": machine_info(setting.device)}
    if log:
        e = judged["sum"]["errors"]
        log(f"{name}: sum predictor median error {100 * e['median_rel']:.1f}%, worst {100 * e['worst_rel']:.1f}% "
            f"over {len(vecs)} architectures; best: {fit} ({100 * judged[fit]['errors']['median_rel']:.1f}%)")
    return {"summary": summary, "rows": _setting_rows(setting, codec, vecs, timings, judged, fit)}


def survey(space: SearchSpace, settings: Sequence[Setting], vecs: Sequence, out: Path, input_dim: int,
           num_tokens: int, opts: TimingOptions, tag: str = "", group: int = 64, folds: int = 10,
           log: Optional[Log] = None, csv_path: Optional[Path] = None) -> Dict[str, Any]:
    """Every setting of `settings` (survey_setting), then latency.csv and summary.json."""
    if not vecs:
        raise LatencyError(f"space {space.name}: no architectures to time")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    before = machine_info()
    results = [survey_setting(space, s, vecs, out, input_dim, num_tokens, opts, tag, group, folds, log)
               for s in settings]
    rows = [r for res in results for r in res["rows"]]
    csv_path = Path(csv_path) if csv_path else out / "latency.csv"
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    lines: List[str] = []

    class _Sink:
        def write(self, s: str) -> None:
            lines.append(s)
    w = csv.DictWriter(_Sink(), fieldnames=CSV_COLUMNS, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()})
    write_text_atomic(csv_path, "".join(lines))
    summary = {"space": space.name, "architectures": len(vecs), "input_dim": input_dim, "num_tokens": num_tokens,
               "timing": vars(opts).copy(), "machine": before, "settings": [r["summary"] for r in results],
               "csv": str(csv_path)}
    write_text_atomic(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary
