"""Zero-cost proxies of every architecture of a space, for several initialization seeds: proxies.csv.

One minibatch serves every architecture: `batch_size` utterances of a data dir drawn with
`data_seed` (variable lengths, padded). Each (architecture, seed) is a network built after
torch.manual_seed(seed), in eval mode, scored by every proxy of nas.proxies.scores; its row
gives the seconds each proxy took and all of them together. Rows are written as they come (atomically), and
a rerun computes only the (architecture, seed) pairs the CSV lacks, so an interrupted survey
loses at most one architecture. A survey can be split into shards (every n-th architecture of the
space's order), each its own job and CSV (egs/synth/local/run_proxies.sh: here or on SLURM), and
`merge` puts the shards' rows back together in the order one survey would have written them.
"""
from __future__ import annotations

import csv
import io
import random
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch

from nas.bench.codec import codec_of_space
from nas.features.pipeline import FeaturePipeline
from nas.files import write_text_atomic
from nas.models.space import SearchSpace
from nas.models.supernet import SuperNet
from nas.proxies.scores import PROXIES
from nas.train.data import Batch, SpeechData, collate

Log = Callable[[str], None]
KEYS = ("id", "arch", "choices", "hash", "seed")


def columns(names: Sequence[str]) -> List[str]:
    """proxies.csv's header for the proxies `names`."""
    return [*KEYS, *names, "seconds", *(f"{n}_seconds" for n in names)]


def proxy_batch(data_dir: Path, lang_dir: Path, space: SearchSpace, pipeline: FeaturePipeline,
                batch_size: int, data_seed: int) -> Tuple[Batch, int]:
    """`batch_size` utterances of the data dir drawn with `data_seed` (of those long enough for
    their labels after the space's subsampling), collated with padding, in the drawn order; and
    the number of output tokens (blank included) of the lang dir."""
    data = SpeechData(data_dir, lang_dir, pipeline, space.out_frames)
    picks = random.Random(data_seed).sample(range(len(data)), min(batch_size, len(data)))
    if len(picks) < 2:
        raise ValueError(f"{data_dir}: the proxies need at least 2 usable utterances, found {len(data)}")
    return collate([data.load(i) for i in picks]), data.num_outputs


def read_rows(path: Path) -> List[Dict[str, str]]:
    """The rows of an existing proxies.csv (none when it does not exist)."""
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: List[Dict[str, object]], names: Sequence[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns(names), lineterminator="\n", extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})
    write_text_atomic(path, buf.getvalue())


def score_arch(space: SearchSpace, choices: Dict[str, str], seed: int, batch: Batch, num_tokens: int,
               names: Sequence[str]) -> Dict[str, float]:
    """Every proxy of `names` for the architecture `choices` initialized with `seed`, the seconds
    each took (`<name>_seconds`) and the seconds of the whole, the network's construction included."""
    t0 = time.perf_counter()
    torch.manual_seed(seed)
    net = SuperNet(space, batch.feats.shape[-1], num_tokens, arch=choices)
    net.eval()
    out: Dict[str, float] = {}
    for name in names:
        t = time.perf_counter()
        out[name] = PROXIES[name](net, batch)
        out[f"{name}_seconds"] = time.perf_counter() - t
    out["seconds"] = time.perf_counter() - t0
    return out


def _models(space: SearchSpace) -> list:
    """The space's codec and its vectors, one per model hash (vectors of one hash are one network)."""
    codec = codec_of_space(space)
    vecs, seen = [], set()
    for v in codec.vectors() or []:
        if codec.hash(v) not in seen:
            seen.add(codec.hash(v))
            vecs.append(v)
    if not vecs:
        raise ValueError(f"space {space.name}: its architectures cannot be listed (a cell space too large)")
    return [codec, vecs]


def _read_checked(path: Path, names: Sequence[str]) -> List[Dict[str, str]]:
    rows = read_rows(path)
    if rows and list(rows[0].keys()) != columns(names):
        raise ValueError(f"{path}: its columns are not {','.join(columns(names))}; give another --csv or the "
                         f"same proxies")
    return rows


def survey(space: SearchSpace, batch: Batch, num_tokens: int, seeds: Sequence[int], out: Path,
           names: Sequence[str] = tuple(PROXIES), ids: Optional[Dict[str, str]] = None,
           log: Log = lambda m: None, shard: Tuple[int, int] = (1, 1),
           skip: Sequence[Path] = ()) -> List[Dict[str, object]]:
    """Score every architecture of `space` (its codec's vectors, one per model hash) with every seed into `out`,
    keeping the rows it already holds. `ids` maps model hashes to table ids (a bench plan's).
    `shard` (k, n): only the k-th of every n architectures (k = 1..n); `skip`: CSVs whose (architecture,
    seed) rows are not scored again (a merged survey's, when shards are rerun)."""
    unknown = [n for n in names if n not in PROXIES]
    if unknown:
        raise ValueError(f"unknown proxies {unknown}; known: {', '.join(PROXIES)}")
    k, n = shard
    if not 1 <= k <= n:
        raise ValueError(f"shard {k}/{n}: give K/N with 1 <= K <= N")
    codec, vecs = _models(space)
    vecs = vecs[k - 1::n]
    rows: List[Dict[str, object]] = list(_read_checked(out, names))
    done = {(r["hash"], int(r["seed"])) for r in rows}
    for other in skip:
        done |= {(r["hash"], int(r["seed"])) for r in _read_checked(Path(other), names)}
    todo = [(v, s) for v in vecs for s in seeds if (codec.hash(v), s) not in done]
    log(f"proxies: {len(vecs)} architectures{f' (shard {k}/{n})' if n > 1 else ''} x {len(seeds)} seeds, "
        f"{len(todo)} to score ({len(rows)} rows already in {out})")
    for i, (v, s) in enumerate(todo):
        h = codec.hash(v)
        choices = codec.to_choices(v)
        row: Dict[str, object] = {"id": (ids or {}).get(h, ""), "arch": codec.string(v),
                                  "choices": "/".join(choices[b] for b in space.blocks), "hash": h, "seed": s}
        row.update(score_arch(space, choices, s, batch, num_tokens, names))
        rows.append(row)
        _write(out, rows, names)
        if (i + 1) % 16 == 0 or i + 1 == len(todo):
            log(f"proxies: {i + 1}/{len(todo)} scored, last {row['seconds']:.2f} s")
    return rows


def merge(space: SearchSpace, out: Path, parts: Sequence[Path], names: Sequence[str] = tuple(PROXIES),
          log: Log = lambda m: None) -> List[Dict[str, str]]:
    """`out`'s rows and the shards' `parts` in one CSV at `out`, in the order of one survey (the space's
    architectures, then seeds); a row `out` already holds is kept over a part's. A row of an
    architecture outside the space is an error naming its file."""
    codec, vecs = _models(space)
    order = {codec.hash(v): i for i, v in enumerate(vecs)}
    rows: Dict[Tuple[str, int], Dict[str, str]] = {}
    for path in [out, *parts]:
        new = 0
        for r in _read_checked(Path(path), names):
            if r["hash"] not in order:
                raise ValueError(f"{path}: architecture {r['arch']} (hash {r['hash']}) is not in space {space.name}")
            if (r["hash"], int(r["seed"])) not in rows:
                rows[(r["hash"], int(r["seed"]))] = r
                new += 1
        if path != out:
            log(f"proxies: {path}: {new} new rows")
    merged = [rows[key] for key in sorted(rows, key=lambda hs: (order[hs[0]], hs[1]))]
    _write(out, merged, names)
    return merged
