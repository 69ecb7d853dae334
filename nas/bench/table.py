"""NAS-Bench-ASR benchmark tables in the released pickle format: write them, load them, query them.

The format is SamsungLabs/nb-asr's. Each file is two pickles, a header dict and then a list of
rows, each row holding the values of header['columns'] in order, the model hash first:

- training, nb-asr-e{E}-{seed}.pickle: model_hash, val_per (one validation PER per epoch),
  test_per (the test PER at the best validation epoch), arch_vec (a tuple of tuples); the header
  also has epochs and seed. Tables this toolkit writes may add train_time (seconds to train that
  model with that seed). It goes just before arch_vec, because the released reader's validation
  takes each row's last value to be the architecture and requires it to be equal for every seed.
- benchmarking, nb-asr-bench-{device}.pickle: model_hash, latency (seconds); header also device.
- static, nb-asr-info.pickle: model_hash, params, and from version 2 on, flops.

The same files hold tables of any search space of the toolkit: the header's search_space says
which, and picks the codec that checks, prints and hashes its arch vectors (nas.bench.codec):
the released entry {"shape", "ops", "nodes"} for NAS-Bench-ASR's cell (its vectors and graph
hash, NB_ASR), or a block space's {"name", "blocks", "shape"} (BlockCodec: one position per
searching block, arch_vec ((i1,), (i2,), ...), every vector its own model). All files of one
table have the same search_space; the writers take the codec (codec=NB_ASR by default).

Queries are deterministic. The released API picks a random seed for each query that gives none;
here the default is the mean over the loaded seeds of the per-seed values (what the released
query returns on average), and a seed is used only when one is asked for.

A pickle can run code while it loads. The reader only lets through containers, numbers, strings
and numpy scalars or arrays, so a file that holds anything else is refused and never run.
"""
from __future__ import annotations

import copy
import math
import os
import pickle
import random
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from nas.bench.archvec import OPS, ArchVec, ArchVecError, all_vectors, flatten, random_vector
from nas.bench.codec import NB_ASR, Codec, codec_for_header, plain as _plain
from nas.bench.model_hash import Graph, graph_hash, model_graph
from nas.bench.objective import Eval

PathLike = Union[str, "os.PathLike[str]"]
Arch = Union[str, Sequence[Sequence[int]]]      # an arch vector, its printed form, or a model hash

TRAINING_NAME = "nb-asr-e{epochs}-{seed}.pickle"
BENCHMARKING_NAME = "nb-asr-bench-{device}.pickle"
STATIC_NAME = "nb-asr-info.pickle"
TRAINING_RE = re.compile(r"nb-asr-e(\d+)-(\d+)\.pickle")
BENCHMARKING_RE = re.compile(r"nb-asr-bench-([A-Za-z0-9-]+)\.pickle")
DEVICE_RE = re.compile(r"[A-Za-z0-9-]+")       # what the released from_folder matches
HASH_RE = re.compile(r"[0-9a-f]{32}")

FORMAT_VERSION = 2                    # the version written, for every kind of file
KNOWN_VERSIONS = (1, 2)               # the versions read
DATASET_TYPES = ("training", "benchmarking", "static")
SEARCH_SPACE = NB_ASR.search_space     # the released header's entry (nas.bench.codec.NB_ASR)
TRAINING_COLUMNS = ("model_hash", "val_per", "test_per", "arch_vec")
TIMED_TRAINING_COLUMNS = ("model_hash", "val_per", "test_per", "train_time", "arch_vec")
BENCHMARKING_COLUMNS = ("model_hash", "latency")
STATIC_COLUMNS = {1: ("model_hash", "params"), 2: ("model_hash", "params", "flops")}
HEADER_KEYS = {
    "training": ("dataset_type", "version", "columns", "search_space", "epochs", "seed"),
    "benchmarking": ("dataset_type", "version", "columns", "search_space", "device"),
    "static": ("dataset_type", "version", "columns", "search_space"),
}
RELEASED_SEEDS = (1234, 1235, 1236)
RELEASED_EPOCHS = (40, 10, 5)
RELEASED_DEVICES = ("gtx-1080ti-fp32", "jetson-nano-fp32")
PICKLE_PROTOCOL = 4                   # readable by any Python 3 the released code runs on

_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"),
    ("numpy", "dtype"), ("numpy", "ndarray"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
}


class BenchFileError(ValueError):
    """A benchmark file (or set of files) that cannot be used; the message names the file."""


class ArchNotInTable(BenchFileError, KeyError):
    """An architecture the table has no entry for: a KeyError too, as the Objective protocol asks."""

    def __str__(self) -> str:          # KeyError's str() would quote the message
        return str(self.args[0]) if self.args else ""


# ---------------------------------------------------------------------------------------- reading

class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it holds a {module}.{name} object, which no benchmark file "
                                     f"does (refused: unpickling it could run code)")


def _load_one(f: Any, path: Path, what: str) -> Any:
    """The next pickle of `f`. Each needs an unpickler of its own, as pickle.load makes: the
    writer numbered each pickle's memo from 0, and a reused unpickler would keep the old memo."""
    start = f.tell()
    try:
        return _Unpickler(f).load()
    except EOFError:
        if f.seek(0, os.SEEK_END) != start:
            raise BenchFileError(f"{path}: truncated in the middle of the {what} pickle") from None
        if what == "header":
            raise BenchFileError(f"{path}: empty, not a NAS-Bench-ASR pickle") from None
        raise BenchFileError(f"{path}: truncated: it ends after the header, with no rows pickle "
                             f"(a benchmark file is a header pickle, then a rows pickle)") from None
    except Exception as e:          # a corrupt pickle can raise almost anything
        raise BenchFileError(f"{path}: not a NAS-Bench-ASR pickle, or truncated ({what}: "
                             f"{type(e).__name__}: {e})") from None


def required_columns(kind: str, version: int) -> Tuple[str, ...]:
    """The columns a file of `kind` must start with (the released reader's rule), plus arch_vec,
    which a training file must hold somewhere."""
    if kind == "training":
        return TRAINING_COLUMNS[:3]
    if kind == "benchmarking":
        return BENCHMARKING_COLUMNS
    return STATIC_COLUMNS[1] if version < 2 else STATIC_COLUMNS[2]


def check_header(header: Any, path: PathLike, kind: Optional[str] = None) -> Dict[str, Any]:
    """`header` if it is a usable header of a `kind` file (any kind if None), else BenchFileError."""
    if not isinstance(header, dict):
        raise BenchFileError(f"{path}: the first pickle is a {type(header).__name__}, not a header dict")
    dataset_type = header.get("dataset_type")
    if "dataset_type" not in header:
        raise BenchFileError(f"{path}: the header lacks dataset_type (it has {sorted(header)})")
    if dataset_type not in DATASET_TYPES:
        raise BenchFileError(f"{path}: header dataset_type is {dataset_type!r}, not one of {list(DATASET_TYPES)}")
    if kind is not None and dataset_type != kind:
        raise BenchFileError(f"{path}: a {dataset_type!r} file where a {kind!r} file is needed")
    missing = [k for k in HEADER_KEYS[dataset_type] if k not in header]
    if missing:
        raise BenchFileError(f"{path}: the {dataset_type} header lacks {missing} "
                             f"(it has {sorted(header)}; needed: {list(HEADER_KEYS[dataset_type])})")
    version = header["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version not in KNOWN_VERSIONS:
        newer = isinstance(version, int) and version > max(KNOWN_VERSIONS)
        raise BenchFileError(f"{path}: format version {version!r}{' is newer than' if newer else ' is not one of'} "
                             f"the versions this reader knows, {list(KNOWN_VERSIONS)}")
    columns = header["columns"]
    if not isinstance(columns, (list, tuple)) or not all(isinstance(c, str) for c in columns):
        raise BenchFileError(f"{path}: header columns {columns!r} is not a list of names")
    need = required_columns(dataset_type, version)
    if list(columns[:len(need)]) != list(need):
        raise BenchFileError(f"{path}: columns {list(columns)} do not start with {list(need)}, as a "
                             f"version {version} {dataset_type} file's must")
    if dataset_type == "training" and "arch_vec" not in columns:
        raise BenchFileError(f"{path}: columns {list(columns)} have no arch_vec")
    codec_for_header(header["search_space"], path)        # NAS-Bench-ASR's, or a block space's
    if dataset_type == "training":
        for key in ("epochs", "seed"):
            if not isinstance(header[key], int) or isinstance(header[key], bool):
                raise BenchFileError(f"{path}: header {key} {header[key]!r} is not an integer")
        if header["epochs"] < 1:
            raise BenchFileError(f"{path}: header epochs {header['epochs']} is not positive")
    if dataset_type == "benchmarking" and not isinstance(header["device"], str):
        raise BenchFileError(f"{path}: header device {header['device']!r} is not a string")
    return header


def read_file(path: PathLike, kind: Optional[str] = None) -> Tuple[Dict[str, Any], List[list]]:
    """The checked header and rows of one benchmark file (`kind` the dataset_type it must be).

    Rows are checked for shape only (a model hash first, one value per column, no hash twice);
    the values are checked by BenchTable, which knows what each column means."""
    path = Path(path)
    if not path.exists():
        raise BenchFileError(f"{path}: no such file")
    if not path.is_file():
        raise BenchFileError(f"{path}: not a file")
    with open(path, "rb") as f:
        header = check_header(_load_one(f, path, "header"), path, kind)
        rows = _load_one(f, path, "rows")
    if not isinstance(rows, (list, tuple)):
        raise BenchFileError(f"{path}: the second pickle is a {type(rows).__name__}, not a list of rows")
    width, seen = len(header["columns"]), set()
    for n, row in enumerate(rows):
        if not isinstance(row, (list, tuple)) or len(row) != width:
            raise BenchFileError(f"{path}: row {n} is not a list of {width} values, one per column "
                                 f"{list(header['columns'])}: {row!r:.200}")
        if not isinstance(row[0], str) or not HASH_RE.fullmatch(row[0]):
            raise BenchFileError(f"{path}: row {n} starts with {row[0]!r}, not a model hash (32 hex digits)")
        if row[0] in seen:
            raise BenchFileError(f"{path}: model {row[0]} has more than one row")
        seen.add(row[0])
    return header, list(rows)


def _same_header(path: Path, header: Dict[str, Any], key: str,
                 first: Optional[Tuple[Path, Dict[str, Any]]]) -> Tuple[Path, Dict[str, Any]]:
    """The first file's (path, header without `key`); BenchFileError when this one's differs."""
    common = {k: v for k, v in header.items() if k != key}
    if first is None:
        return path, common
    if _plain(common) != _plain(first[1]):
        raise BenchFileError(f"{path}: its header differs from {first[0]}'s once {key} is removed "
                             f"({_header_diff(common, first[1])}); the files of one table may differ "
                             f"only by {key}")
    return first


def _header_diff(a: Dict[str, Any], b: Dict[str, Any]) -> str:
    keys = sorted(k for k in set(a) | set(b) if _plain(a.get(k, _MISSING)) != _plain(b.get(k, _MISSING)))
    return "; ".join(f"{k}: {a.get(k, '<none>')!r} vs {b.get(k, '<none>')!r}" for k in keys)


_MISSING = object()


# ---------------------------------------------------------------------------------------- the table

class BenchTable:
    """A loaded benchmark: training files for one number of epochs (one per seed), optionally
    benchmarking files (one per device) and the static file.

    All files are checked when loaded (see BenchFileError), so a query never meets a bad file.
    The training files' search_space picks the table's codec (`codec`: NB_ASR or a BlockCodec,
    nas.bench.codec), and every file must have that search_space.
    An arch is an arch vector, its printed form ("[[1,0],[1,0,0],[1,0,0,0]]", or "[[0],[3],...]"
    in a block space) or a model hash. Values are means over the loaded seeds unless a seed is
    given: see query()."""

    def __init__(self, training_files: Union[PathLike, Sequence[PathLike]],
                 benchmarking_files: Sequence[PathLike] = (), static_file: Optional[PathLike] = None,
                 check_hashes: bool = False) -> None:
        """check_hashes: also recompute each architecture's model hash (about 2 s for the full
        NAS-Bench-ASR table), which catches a file whose arch_vec and model_hash disagree."""
        files = [training_files] if isinstance(training_files, (str, os.PathLike)) else list(training_files)
        if not files:
            raise BenchFileError("no training file given: a table needs at least one nb-asr-e{E}-{seed}.pickle")
        self._vec_hash: Optional[Dict[Tuple[int, ...], str]] = None    # every vector's hash, once needed
        self._load_training([Path(p) for p in files], check_hashes)
        self._load_benchmarking([Path(p) for p in benchmarking_files])
        self._load_static(Path(static_file) if static_file is not None else None)

    # -- loading

    def _load_training(self, paths: List[Path], check_hashes: bool) -> None:
        loaded = []                         # (seed, path, rows)
        first: Optional[Tuple[Path, Dict[str, Any]]] = None
        for path in paths:
            header, rows = read_file(path, "training")
            first = _same_header(path, header, "seed", first)
            for seed, other, _ in loaded:
                if seed == header["seed"]:
                    raise BenchFileError(f"{path}: seed {seed} again (also in {other})")
            loaded.append((header["seed"], path, rows))
        loaded.sort(key=lambda t: t[0])
        self.header: Dict[str, Any] = first[1]
        self.codec: Codec = codec_for_header(self.header["search_space"], first[0])
        self._search_space_file = first[0]
        columns = list(self.header["columns"])
        epochs = self.header["epochs"]
        i_arch = columns.index("arch_vec")
        i_time = columns.index("train_time") if "train_time" in columns else None
        known = set(TIMED_TRAINING_COLUMNS)
        extra_cols = {c: j for j, c in enumerate(columns) if c not in known}

        _, path0, rows0 = loaded[0]
        if not rows0:
            raise BenchFileError(f"{path0}: no rows, so a table with no models")
        self._hashes = [row[0] for row in rows0]
        self._index = {h: i for i, h in enumerate(self._hashes)}
        for _, path, rows in loaded[1:]:
            hashes = {row[0] for row in rows}
            extra = sorted(hashes - self._index.keys())
            lacking = sorted(self._index.keys() - hashes)
            if extra or lacking:
                raise BenchFileError(
                    f"{path}: its models differ from {path0}'s: {len(extra)} more (e.g. {extra[:3]}) and "
                    f"{len(lacking)} fewer (e.g. {lacking[:3]}); every seed must cover the same models")

        n, s = len(self._hashes), len(loaded)
        self._val = np.empty((s, n, epochs))
        self._test = np.empty((s, n))
        self._time = np.empty((s, n)) if i_time is not None else None
        self._arch: List[Optional[Tuple[Tuple[int, ...], ...]]] = [None] * n
        # extra columns (this toolkit's tables: WERs, loss curves): per column, per seed, per model
        self._extra: Dict[str, List[List[Any]]] = {c: [[None] * n for _ in loaded] for c in extra_cols}
        for k, (seed, path, rows) in enumerate(loaded):
            for row in rows:
                h = row[0]
                i = self._index[h]
                try:
                    curve = [float(x) for x in row[1]]
                    test = float(row[2])
                    time = float(row[i_time]) if i_time is not None else None
                except (TypeError, ValueError):
                    raise BenchFileError(f"{path}: model {h}: val_per, test_per and train_time must be "
                                         f"numbers: {row!r:.200}") from None
                if len(curve) != epochs:
                    raise BenchFileError(f"{path}: model {h} has {len(curve)} validation PERs, "
                                         f"but the header says {epochs} epochs")
                arch = self._row_arch(row[i_arch], h, path)
                if self._arch[i] is None:
                    if check_hashes and self.codec.hash(arch) != h:
                        raise BenchFileError(f"{path}: model {h}'s arch_vec {self.codec.string(arch)} has "
                                             f"model hash {self.codec.hash(arch)}")
                    self._arch[i] = arch
                elif arch != self._arch[i]:
                    raise BenchFileError(f"{path}: model {h}'s arch_vec {self.codec.string(arch)} differs "
                                         f"from {path0}'s {self.codec.string(self._arch[i])}")
                self._val[k, i] = curve
                self._test[k, i] = test
                for c, j in extra_cols.items():
                    self._extra[c][k][i] = _plain(row[j]) if j < len(row) else None
                if self._time is not None:
                    self._time[k, i] = time
        self._seeds = tuple(seed for seed, _, _ in loaded)
        self._training_files = tuple(path for _, path, _ in loaded)

    def _row_arch(self, value: Any, h: str, path: Path) -> Tuple[Tuple[int, ...], ...]:
        try:
            return tuple(tuple(node) for node in self.codec.check(value))
        except ArchVecError as e:
            raise BenchFileError(f"{path}: model {h}: {e}") from None

    def _same_space(self, path: Path, header: Dict[str, Any]) -> None:
        """BenchFileError unless `header`'s search_space is the training files'."""
        if _plain(header["search_space"]) != _plain(self.header["search_space"]):
            raise BenchFileError(f"{path}: search_space {header['search_space']!r:.300} differs from "
                                 f"{self._search_space_file}'s {self.header['search_space']!r:.300}: "
                                 f"the files of one table are of one search space")

    def _column(self, path: Path, rows: List[list], col: int, name: str, kind: type) -> np.ndarray:
        """Column `col` of `rows` aligned with the table's models; every model must be there."""
        values = {}
        for row in rows:
            try:
                values[row[0]] = kind(row[col])
            except (TypeError, ValueError):
                raise BenchFileError(f"{path}: model {row[0]}: {name} {row[col]!r} is not a number") from None
        lacking = [h for h in self._hashes if h not in values]
        if lacking:
            raise BenchFileError(f"{path} has no {name} for {len(lacking)} of the table's {len(self)} "
                                 f"models (e.g. {lacking[:3]}); it must cover every model of "
                                 f"{self._training_files[0]}")
        return np.array([values[h] for h in self._hashes], dtype=float if kind is float else np.int64)

    def _load_benchmarking(self, paths: List[Path]) -> None:
        self._latency: Dict[str, np.ndarray] = {}
        self._benchmarking_files: Dict[str, Path] = {}
        first: Optional[Tuple[Path, Dict[str, Any]]] = None
        for path in paths:
            header, rows = read_file(path, "benchmarking")
            self._same_space(path, header)
            first = _same_header(path, header, "device", first)
            device = header["device"]
            if device in self._latency:
                raise BenchFileError(f"{path}: device {device!r} again (also in {self._benchmarking_files[device]})")
            self._latency[device] = self._column(path, rows, 1, "latency", float)
            self._benchmarking_files[device] = path

    def _load_static(self, path: Optional[Path]) -> None:
        self._params = self._flops = None
        self._static_file, self._static_version = path, None
        if path is None:
            return
        header, rows = read_file(path, "static")
        self._same_space(path, header)
        self._static_version = header["version"]
        self._params = self._column(path, rows, 1, "params", int)
        if self._static_version >= 2:
            self._flops = self._column(path, rows, 2, "flops", int)

    # -- what is loaded

    @property
    def seeds(self) -> Tuple[int, ...]:
        """The loaded seeds, ascending."""
        return self._seeds

    @property
    def epochs(self) -> int:
        return self.header["epochs"]

    @property
    def devices(self) -> Tuple[str, ...]:
        return tuple(self._latency)

    @property
    def version(self) -> int:
        """The training files' format version."""
        return self.header["version"]

    @property
    def files(self) -> List[Path]:
        """Every loaded file: training (by seed), benchmarking, static."""
        out = list(self._training_files) + list(self._benchmarking_files.values())
        return out + ([self._static_file] if self._static_file is not None else [])

    def __len__(self) -> int:
        return len(self._hashes)

    def __contains__(self, arch: Arch) -> bool:
        return self.hash_of(arch) in self._index

    def hashes(self) -> List[str]:
        """The model hashes, in the order of the (lowest seed's) training file."""
        return list(self._hashes)

    def arch_vecs(self) -> List[ArchVec]:
        """Each model's stored arch vector, in hashes() order (one of the vectors with that hash)."""
        return [[list(node) for node in arch] for arch in self._arch]

    def __repr__(self) -> str:
        space = "" if self.codec == NB_ASR else f"space {self.codec.name}, "
        return (f"BenchTable({space}{len(self)} models, {self.epochs} epochs, seeds {list(self.seeds)}, "
                f"devices {list(self.devices)}, static {'yes' if self._params is not None else 'no'})")

    # -- resolving architectures

    def hash_of(self, arch: Arch) -> str:
        """The model hash of `arch` (a hash is returned as it is, lower-cased)."""
        if isinstance(arch, str):
            text = arch.strip().lower()
            if HASH_RE.fullmatch(text):
                return text
            vec = self.codec.parse(arch)
        else:
            vec = self.codec.check(arch)
        if self._vec_hash is not None:
            return self._vec_hash[tuple(flatten(vec))]
        return self.codec.hash(vec)

    def _index_of(self, arch: Arch) -> int:
        h = self.hash_of(arch)
        i = self._index.get(h)
        if i is None:
            if isinstance(arch, str) and HASH_RE.fullmatch(arch.strip().lower()):
                what = f"model hash {h}"
            else:
                vec = self.codec.parse(arch) if isinstance(arch, str) else self.codec.check(arch)
                what = f"architecture {self.codec.string(vec)} (model hash {h})"
            names = ", ".join(str(p) for p in self._training_files)
            raise ArchNotInTable(f"{what} is not in the table loaded from {names} ({len(self)} models)")
        return i

    def vector_hashes(self) -> Dict[Tuple[int, ...], str]:
        """The model hash of every vector of the space (13,824 in NAS-Bench-ASR's), keyed by the
        flattened vector; ValueError for a space too large to list (codec.vectors() is None).

        Computed on first use (about 2 s for NAS-Bench-ASR's) and kept by this table, so later
        lookups are free."""
        if self._vec_hash is None:
            vectors = self.codec.vectors()
            if vectors is None:
                raise ValueError(f"the space of {self.codec.name} has {self.codec.size} vectors, too many "
                                 f"to list (see nas.bench.codec.MAX_LISTED)")
            self._vec_hash = {tuple(flatten(v)): self.codec.hash(v) for v in vectors}
        return self._vec_hash

    # -- queries

    def _select(self, seed: Optional[int]) -> Tuple[List[int], Union[int, str]]:
        """Seed rows and the label the query reports: all seeds (their mean) or the one asked for."""
        if seed is None:
            return list(range(len(self._seeds))), "mean of " + ",".join(map(str, self._seeds))
        if seed not in self._seeds:
            raise BenchFileError(f"seed {seed!r} is not loaded: the table has seeds {list(self._seeds)} "
                                 f"(from {', '.join(str(p) for p in self._training_files)})")
        return [self._seeds.index(seed)], seed

    def _epoch(self, epoch: Optional[int]) -> int:
        if epoch is None:
            return self.epochs
        if isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or not 1 <= epoch <= self.epochs:
            raise ValueError(f"epoch {epoch!r}: the table has epochs 1..{self.epochs}")
        return int(epoch)

    def query(self, arch: Arch, seed: Optional[int] = None, epoch: Optional[int] = None) -> Dict[str, Any]:
        """Everything the table holds on `arch`, seen after `epoch` epochs (default: all).

        Without a seed, each value is the mean over the loaded seeds of that seed's value (so
        val_per is the mean of the per-seed best PERs, and the same query always gives the same
        answer); 'seed' says which: 'mean of 1234,1235,1236' or the seed. val_per is the best
        validation PER within the first `epoch` epochs, val_per_last the one at `epoch`,
        val_per_curve the (mean) curve up to `epoch`. test_per and train_time are as stored: the
        test PER at the best validation epoch of the full run, and the full run's time."""
        i = self._index_of(arch)
        rows, label = self._select(seed)
        e = self._epoch(epoch)
        curves = self._val[rows, i, :e]
        out: Dict[str, Any] = {
            "model_hash": self._hashes[i],
            "arch_vec": [list(node) for node in self._arch[i]],
            "seed": label,
            "seeds": [self._seeds[k] for k in rows],
            "epoch": e,
            "val_per_curve": curves.mean(axis=0).tolist(),
            "val_per": float(curves.min(axis=1).mean()),
            "val_per_last": float(curves[:, -1].mean()),
            "test_per": float(self._test[rows, i].mean()),
        }
        if self._time is not None:
            out["train_time"] = float(self._time[rows, i].mean())
        for c in self._extra:
            out[c] = self._extra_value(c, rows, i)
        if self._latency:
            out["latency"] = {d: float(lat[i]) for d, lat in self._latency.items()}
        if self._params is not None:
            out["params"] = int(self._params[i])
        if self._flops is not None:
            out["flops"] = int(self._flops[i])
        return out

    @property
    def extra_columns(self) -> Tuple[str, ...]:
        """The training files' columns beyond the released ones (and train_time)."""
        return tuple(self._extra)

    def _extra_value(self, column: str, rows: List[int], i: int) -> Any:
        """An extra column's value over the selected seeds: the mean of numbers, the elementwise
        mean of equal-length lists, None if a seed has none."""
        values = [self._extra[column][k][i] for k in rows]
        if any(v is None for v in values):
            return None
        if all(isinstance(v, (int, float)) for v in values):
            return float(np.mean(values))
        if all(isinstance(v, list) for v in values) and len({len(v) for v in values}) == 1:
            return np.mean(np.array(values, dtype=float), axis=0).tolist()
        return values[0]

    def column(self, name: str, seed: Optional[int] = None) -> np.ndarray:
        """A numeric column for every model (table order): test_per, train_time or an extra one;
        the mean over seeds unless a seed is given; NaN where a model has none."""
        rows, _ = self._select(seed)
        if name == "test_per":
            return self._test[rows].mean(axis=0)
        if name == "train_time" and self._time is not None:
            return self._time[rows].mean(axis=0)
        if name not in self._extra:
            raise BenchFileError(f"the table has no column {name!r} (extra columns: {list(self._extra) or 'none'}; "
                                 f"files {', '.join(str(p) for p in self._training_files)})")
        out = np.empty(len(self._hashes))
        for i in range(len(self._hashes)):
            v = self._extra_value(name, rows, i)
            if v is not None and not isinstance(v, (int, float)):
                raise BenchFileError(f"column {name!r} holds lists, not numbers (model {self._hashes[i]})")
            out[i] = np.nan if v is None else v
        return out

    def val(self, arch: Arch, epoch: Optional[int] = None, best: bool = True, seed: Optional[int] = None) -> float:
        """Validation PER: the best within the first `epoch` epochs, or (best=False) the one at
        `epoch`; the mean over seeds unless a seed is given."""
        q = self.query(arch, seed=seed, epoch=epoch)
        return q["val_per"] if best else q["val_per_last"]

    def test(self, arch: Arch, seed: Optional[int] = None) -> float:
        """Test PER at the best validation epoch; the mean over seeds unless a seed is given."""
        rows, _ = self._select(seed)
        return float(self._test[rows, self._index_of(arch)].mean())

    def train_time(self, arch: Arch, seed: Optional[int] = None) -> Optional[float]:
        """Seconds to train `arch` (mean over seeds unless one is given); None if not recorded."""
        i = self._index_of(arch)
        rows, _ = self._select(seed)
        return None if self._time is None else float(self._time[rows, i].mean())

    def latency(self, arch: Arch, device: Optional[str] = None) -> float:
        """Latency in seconds on `device`, which may be left out when only one device is loaded."""
        i = self._index_of(arch)
        if device is None:
            if len(self._latency) != 1:
                raise BenchFileError(f"latency: name a device; loaded: {list(self._latency)}"
                                     if self._latency else "latency: no benchmarking file is loaded")
            device = next(iter(self._latency))
        if device not in self._latency:
            raise BenchFileError(f"latency: no benchmarking file for device {device!r} is loaded "
                                 f"(loaded: {list(self._latency) or 'none'})")
        return float(self._latency[device][i])

    def params(self, arch: Arch) -> int:
        """Number of parameters, from the static file."""
        i = self._index_of(arch)
        if self._params is None:
            raise BenchFileError(f"params: no static file ({STATIC_NAME}) is loaded")
        return int(self._params[i])

    def flops(self, arch: Arch) -> int:
        """Number of FLOPs, from the static file (version 2 or later; version 1 files have none)."""
        i = self._index_of(arch)
        if self._params is None:
            raise BenchFileError(f"flops: no static file ({STATIC_NAME}) is loaded")
        if self._flops is None:
            raise BenchFileError(f"{self._static_file}: version {self._static_version} static file, which "
                                 f"has no flops (they come with version 2)")
        return int(self._flops[i])

    def objective(self, epoch: Optional[int] = None, seed: Optional[int] = None, val: str = "val_per",
                  test: str = "test_per") -> "TableObjective":
        """The table as a search problem (TableObjective); `val` and `test` name the columns the
        search sees and is judged by (default: the best validation PER and the test PER)."""
        return TableObjective(self, epoch, seed, val, test)


class TableObjective:
    """A BenchTable as an Objective: val is the best validation PER within `epoch` epochs, test
    the stored test PER, cost the training time scaled to `epoch` epochs (train_time * epoch /
    epochs, assuming epochs take equal time) or None; all means over seeds unless a seed is given.
    `codec` is the table's (its search space), which the tabular methods take from here.

    The per-model values are computed once here, so evaluate() and optimum() are lookups."""

    def __init__(self, table: BenchTable, epoch: Optional[int] = None, seed: Optional[int] = None,
                 val: str = "val_per", test: str = "test_per") -> None:
        self.table = table
        self.codec: Codec = table.codec
        self.epoch = table._epoch(epoch)
        rows, self.seed_label = table._select(seed)
        self.seed = seed
        self.columns = (val, test)
        self._val = (table._val[rows, :, :self.epoch].min(axis=2).mean(axis=0) if val == "val_per"
                     else table.column(val, seed))
        self._test = table.column(test, seed)
        if np.isnan(self._val).any() or np.isnan(self._test).any():
            raise BenchFileError(f"columns {val}/{test}: some models have no value; a search needs them all")
        self._cost = (None if table._time is None
                      else table._time[rows].mean(axis=0) * (self.epoch / table.epochs))

    def _eval(self, i: int) -> Eval:
        cost = None if self._cost is None else float(self._cost[i])
        return Eval(self.table._hashes[i], float(self._val[i]), float(self._test[i]), cost)

    def vectors(self) -> List[ArchVec]:
        """Every vector of the space whose model is in the table, in codec.vectors() order; for a
        space too large to list, the table's own vectors (one per model, in table order)."""
        if self.codec.vectors() is None:
            return self.table.arch_vecs()
        index = self.table._index
        return [self.codec.unflatten(flat) for flat, h in self.table.vector_hashes().items() if h in index]

    def evaluate(self, vec: Sequence[Sequence[int]]) -> Eval:
        """The entry of `vec`'s model; ArchNotInTable (a KeyError) naming the vector if none."""
        return self._eval(self.table._index_of(vec))

    def optimum(self) -> Eval:
        """The lowest val and the lowest test over the table; model_hash and cost are the
        best-test model's (the first in table order on a tie)."""
        best_test = int(np.argmin(self._test))
        return Eval(self.table._hashes[best_test], float(np.min(self._val)), float(self._test[best_test]),
                    None if self._cost is None else float(self._cost[best_test]))


def load_files(training: Union[PathLike, Sequence[PathLike]], benchmarking: Sequence[PathLike] = (),
               static: Optional[PathLike] = None, check_hashes: bool = False) -> BenchTable:
    """A table from explicit files (see BenchTable)."""
    return BenchTable(training, benchmarking, static, check_hashes=check_hashes)


def _listing(folder: Path) -> str:
    names = sorted(p.name for p in folder.iterdir())
    if not names:
        return "the folder is empty"
    return "the folder has " + ", ".join(names[:30]) + (f" and {len(names) - 30} more" if len(names) > 30 else "")


def load_folder(folder: PathLike, epochs: int = 40, seeds: Union[None, int, Iterable[int]] = None,
                devices: Union[None, str, Iterable[str]] = None, static: Optional[bool] = None,
                check_hashes: bool = False) -> BenchTable:
    """A table from the files of `folder` with the released names.

    seeds / devices: None for every nb-asr-e{epochs}-{seed}.pickle / nb-asr-bench-{device}.pickle
    there (no device file is fine), or the ones to load, each of which must be there (unlike the
    released from_folder, which skips missing ones silently). static: None to load nb-asr-info.pickle
    if it is there, True if it must be, False not to load it. Each file's header must agree with
    its name."""
    folder = Path(folder)
    seeds = [seeds] if isinstance(seeds, int) else seeds
    devices = [devices] if isinstance(devices, str) else devices
    if not folder.is_dir():
        raise BenchFileError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder")
    names = {p.name for p in folder.iterdir() if p.is_file()}
    pattern = TRAINING_NAME.format(epochs=epochs, seed="{seed}")
    if seeds is None:
        found = sorted((int(m.group(2)), n) for n in names
                       if (m := TRAINING_RE.fullmatch(n)) and int(m.group(1)) == epochs)
        if not found:
            raise BenchFileError(f"{folder}: no training file for {epochs} epochs: looked for {pattern} "
                                 f"(any seed); {_listing(folder)}")
    else:
        wanted = [(int(s), TRAINING_NAME.format(epochs=epochs, seed=int(s))) for s in seeds]
        lacking = [n for _, n in wanted if n not in names]
        if not wanted or lacking:
            raise BenchFileError(f"{folder}: no training file {', '.join(lacking) or '(no seed asked for)'}: "
                                 f"looked for {', '.join(n for _, n in wanted) or pattern}; {_listing(folder)}")
        found = wanted
    if devices is None:
        bench = sorted((m.group(1), n) for n in names if (m := BENCHMARKING_RE.fullmatch(n)))
    else:
        bench = [(d, BENCHMARKING_NAME.format(device=d)) for d in devices]
        lacking = [n for _, n in bench if n not in names]
        if lacking:
            raise BenchFileError(f"{folder}: no benchmarking file {', '.join(lacking)}; {_listing(folder)}")
    if static and STATIC_NAME not in names:
        raise BenchFileError(f"{folder}: no static file {STATIC_NAME} (static=True asks for it; leave it "
                             f"None to load one only if there); {_listing(folder)}")
    use_static = STATIC_NAME in names if static is None else static
    table = BenchTable([folder / n for _, n in found], [folder / n for _, n in bench],
                       folder / STATIC_NAME if use_static else None, check_hashes=check_hashes)
    seed_of = dict(zip(table._training_files, table.seeds))
    for seed, name in found:
        if seed_of[folder / name] != seed:
            raise BenchFileError(f"{folder / name}: header seed {seed_of[folder / name]}, but its name says {seed}")
    if table.epochs != epochs:
        raise BenchFileError(f"{folder / found[0][1]}: header epochs {table.epochs}, but its name says {epochs}")
    device_of = {path: device for device, path in table._benchmarking_files.items()}
    for device, name in bench:
        if device_of[folder / name] != device:
            raise BenchFileError(f"{folder / name}: header device {device_of[folder / name]!r}, "
                                 f"but its name says {device!r}")
    return table


# ---------------------------------------------------------------------------------------- writing

def _get(row: Any, name: str, default: Any = _MISSING) -> Any:
    value = row.get(name, default) if isinstance(row, Mapping) else getattr(row, name, default)
    if value is _MISSING:
        raise KeyError(name)
    return value


def _row_hash(row: Any, n: int, path: Path, verify: bool, need_arch: bool, codec: Codec
              ) -> Tuple[str, Optional[Tuple[Tuple[int, ...], ...]]]:
    """A row's model hash, and its arch vector as a tuple of tuples (None if it has none).

    The hash is computed from arch_vec (with `codec`) when missing, and checked against it when
    given (unless verify is False, for callers that computed both themselves)."""
    given = _get(row, "model_hash", None)
    vec = _get(row, "arch_vec", None)
    if vec is None:
        if need_arch:
            raise BenchFileError(f"writing {path}: row {n} has no arch_vec")
        if given is None:
            raise BenchFileError(f"writing {path}: row {n} has neither model_hash nor arch_vec")
    else:
        try:
            vec = tuple(tuple(node) for node in codec.check(vec))
        except ArchVecError as e:
            raise BenchFileError(f"writing {path}: row {n}: {e}") from None
    if given is not None:
        if not isinstance(given, str) or not HASH_RE.fullmatch(given):
            raise BenchFileError(f"writing {path}: row {n}: model_hash {given!r} is not 32 lower-case hex digits")
        if vec is not None and verify and codec.hash(vec) != given:
            raise BenchFileError(f"writing {path}: row {n}: model_hash {given} does not match arch_vec "
                                 f"{codec.string(vec)}, whose hash is {codec.hash(vec)}")
        return given, vec
    return codec.hash(vec), vec


def _number(row: Any, name: str, n: int, path: Path, kind: type = float) -> Any:
    try:
        value = _get(row, name)
    except KeyError:
        raise BenchFileError(f"writing {path}: row {n} has no {name}") from None
    try:
        out = kind(value)
    except (TypeError, ValueError):
        raise BenchFileError(f"writing {path}: row {n}: {name} {value!r} is not a number") from None
    if kind is int and out != value:
        raise BenchFileError(f"writing {path}: row {n}: {name} {value!r} is not an integer")
    return out


def _dump(path: Path, header: Dict[str, Any], rows: List[list]) -> Path:
    """Write header then rows as two pickles, atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(header, f, protocol=PICKLE_PROTOCOL)
            pickle.dump(rows, f, protocol=PICKLE_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _header(dataset_type: str, columns: Sequence[str], codec: Codec, **extra: Any) -> Dict[str, Any]:
    return {"dataset_type": dataset_type, "version": FORMAT_VERSION, "columns": list(columns),
            "search_space": copy.deepcopy(codec.search_space), **extra}


def _check_unique(path: Path, hashes: List[str]) -> None:
    seen = set()
    for n, h in enumerate(hashes):
        if h in seen:
            raise BenchFileError(f"writing {path}: row {n}: model {h} has a row already "
                                 f"(one row per model hash; vectors with one hash are one model)")
        seen.add(h)


def write_training(path: PathLike, rows: Iterable[Any], epochs: int, seed: int,
                   extra_header: Optional[Mapping[str, Any]] = None, verify: bool = True, *,
                   codec: Codec = NB_ASR, extra_columns: Sequence[str] = ()) -> Path:
    """Write a training file. Each row (a dict or an object) has arch_vec, val_per (`epochs`
    PERs), test_per, optionally model_hash (computed when missing, checked when given unless
    verify=False) and train_time (all rows or none). extra_header adds header keys. `codec` is
    the space's (nas.bench.codec): it checks the vectors, hashes them and gives the header's
    search_space (NB_ASR: the released one). `extra_columns` name more values every row has
    (numbers, lists of numbers or None: a WER, a loss curve), written after train_time and
    before arch_vec, which the released reader takes to be the last."""
    extra_columns = tuple(extra_columns)
    bad = [c for c in extra_columns if c in TIMED_TRAINING_COLUMNS or not isinstance(c, str) or not c]
    if bad or len(set(extra_columns)) != len(extra_columns):
        raise BenchFileError(f"writing {path}: extra_columns {list(extra_columns)}: names must be new, distinct "
                             f"and not one of {list(TIMED_TRAINING_COLUMNS)}")
    path = Path(path)
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise BenchFileError(f"writing {path}: epochs {epochs!r} is not a positive integer")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BenchFileError(f"writing {path}: seed {seed!r} is not an integer")
    out, timed = [], None
    for n, row in enumerate(rows):
        h, vec = _row_hash(row, n, path, verify, need_arch=True, codec=codec)
        try:
            curve = [float(x) for x in _get(row, "val_per")]
        except KeyError:
            raise BenchFileError(f"writing {path}: row {n} has no val_per") from None
        except (TypeError, ValueError):
            raise BenchFileError(f"writing {path}: row {n}: val_per is not a list of numbers") from None
        if len(curve) != epochs:
            raise BenchFileError(f"writing {path}: row {n}: {len(curve)} validation PERs for {epochs} epochs")
        test = _number(row, "test_per", n, path)
        time = _get(row, "train_time", None)
        if timed is None:
            timed = time is not None
        elif timed != (time is not None):
            raise BenchFileError(f"writing {path}: row {n} {'lacks' if timed else 'has'} train_time, "
                                 f"unlike row 0: all rows or none")
        extras = []
        for c in extra_columns:
            try:
                extras.append(_plain_value(_get(row, c)))
            except KeyError:
                raise BenchFileError(f"writing {path}: row {n} has no {c} (an extra column)") from None
            except (TypeError, ValueError):
                raise BenchFileError(f"writing {path}: row {n}: {c} is not a number, a list of numbers "
                                     f"or None") from None
        out.append([h, curve, test] + ([_number(row, "train_time", n, path)] if timed else []) + extras + [vec])
    _check_unique(path, [r[0] for r in out])
    extra = dict(extra_header or {})
    clash = sorted(set(extra) & set(HEADER_KEYS["training"]))
    if clash:
        raise BenchFileError(f"writing {path}: extra_header may not set {clash}")
    columns = (TIMED_TRAINING_COLUMNS if timed else TRAINING_COLUMNS)[:-1] + extra_columns + ("arch_vec",)
    return _dump(path, _header("training", columns, codec, epochs=epochs, seed=seed, **extra), out)


def _plain_value(value: Any) -> Any:
    """An extra column's value as plain data: None, a float, or a list of floats."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, np.ndarray)):
        return [float(x) for x in value]
    if isinstance(value, bool):
        raise TypeError(value)
    return float(value)


def write_benchmarking(path: PathLike, rows: Iterable[Any], device: str, verify: bool = True, *,
                       codec: Codec = NB_ASR) -> Path:
    """Write a benchmarking file: rows with latency (seconds) and model_hash or arch_vec. The
    device name is limited to letters, digits and '-', which the released from_folder matches.
    `codec` as for write_training."""
    path = Path(path)
    if not isinstance(device, str) or not DEVICE_RE.fullmatch(device):
        raise BenchFileError(f"writing {path}: device name {device!r}: use letters, digits and '-' "
                             f"(e.g. gtx-1080ti-fp32)")
    out = []
    for n, row in enumerate(rows):
        h, _ = _row_hash(row, n, path, verify, need_arch=False, codec=codec)
        out.append([h, _number(row, "latency", n, path)])
    _check_unique(path, [r[0] for r in out])
    return _dump(path, _header("benchmarking", BENCHMARKING_COLUMNS, codec, device=device), out)


def write_static(path: PathLike, rows: Iterable[Any], verify: bool = True, *, codec: Codec = NB_ASR) -> Path:
    """Write a static file (version 2): rows with params, flops and model_hash or arch_vec.
    `codec` as for write_training."""
    path = Path(path)
    out = []
    for n, row in enumerate(rows):
        h, _ = _row_hash(row, n, path, verify, need_arch=False, codec=codec)
        out.append([h, _number(row, "params", n, path, int), _number(row, "flops", n, path, int)])
    _check_unique(path, [r[0] for r in out])
    return _dump(path, _header("static", STATIC_COLUMNS[FORMAT_VERSION], codec), out)


def write_folder(folder: PathLike, training: Mapping[int, Iterable[Any]], epochs: int,
                 benchmarking: Optional[Mapping[str, Iterable[Any]]] = None,
                 static: Optional[Iterable[Any]] = None, verify: bool = True, *,
                 codec: Codec = NB_ASR) -> List[Path]:
    """Write a benchmark under the released names: training rows by seed, latency rows by
    device, static rows, all of the space of `codec` (see write_training). Returns the files
    written."""
    folder = Path(folder)
    out = [write_training(folder / TRAINING_NAME.format(epochs=epochs, seed=seed), rows, epochs, seed,
                          verify=verify, codec=codec) for seed, rows in training.items()]
    for device, rows in (benchmarking or {}).items():
        out.append(write_benchmarking(folder / BENCHMARKING_NAME.format(device=device), rows, device, verify,
                                      codec=codec))
    if static is not None:
        out.append(write_static(folder / STATIC_NAME, static, verify, codec=codec))
    return out


# ---------------------------------------------------------------------------------------- synthetic

_OP_PER = {"linear": 0.05, "conv5": 0.0, "conv5d2": 0.008, "conv7": -0.004, "conv7d2": 0.004}
_OP_PARAMS = {"linear": 262_656, "conv5": 1_311_232, "conv5d2": 1_311_232, "conv7": 1_835_520,
              "conv7d2": 1_835_520}
_OP_COST = {"linear": 0.2, "conv5": 1.0, "conv5d2": 1.1, "conv7": 1.4, "conv7d2": 1.5}
_DEVICE_SCALE = {"gtx-1080ti-fp32": 1.0, "jetson-nano-fp32": 9.0}


def _synthetic_models(n_models: Optional[int], rng: random.Random) -> List[Tuple[str, ArchVec, Graph]]:
    """(hash, vector, minimized graph) of `n_models` distinct models (all 8,242 if None)."""
    if n_models is not None and n_models < 1:
        raise ValueError(f"n_models {n_models}: need at least one model")
    reps: Dict[str, Tuple[ArchVec, Graph]] = {}
    if n_models is None or n_models > 1000:      # enumerate the space (about 2 s)
        for vec in all_vectors():
            graph = model_graph(vec)
            reps.setdefault(graph_hash(graph), (vec, graph))
        items = [(h, vec, graph) for h, (vec, graph) in reps.items()]
        if n_models is not None:
            if n_models > len(items):
                raise ValueError(f"n_models {n_models}: the space has only {len(items)} models")
            items = [items[i] for i in sorted(rng.sample(range(len(items)), n_models))]
        return items
    while len(reps) < n_models:                  # a few random vectors suffice
        vec = random_vector(rng)
        graph = model_graph(vec)
        reps.setdefault(graph_hash(graph), (vec, graph))
    return [(h, vec, graph) for h, (vec, graph) in reps.items()]


def _synthetic_model(graph: Graph) -> Tuple[float, int, float]:
    """(final PER, params, relative compute) from the minimized graph: what the network computes."""
    mat, labels = graph
    ops = [OPS[label] for label in labels if label >= 0]
    if not ops:                                  # nothing learnable between input and output
        return 0.95, 1_000_000, 0.1
    skips = max(int(mat.sum()) - (len(labels) - 1), 0)
    per = 0.32 - 0.03 * len(ops) + sum(_OP_PER[op] for op in ops) - 0.004 * skips
    return per, 3_000_000 + 4 * sum(_OP_PARAMS[op] for op in ops), sum(_OP_COST[op] for op in ops)


def synthetic_table(folder: PathLike, n_models: Optional[int] = None, seeds: Sequence[int] = RELEASED_SEEDS,
                    epochs: Union[int, Sequence[int]] = 40, rng_seed: int = 0,
                    devices: Sequence[str] = RELEASED_DEVICES, with_train_time: bool = True,
                    static: bool = True) -> Path:
    """Write a SYNTHETIC benchmark to `folder` in exactly the released format and names, for tests
    and demos, never for results: its numbers are made up, only plausible.

    One row per model hash (all 8,242 models, or `n_models` of them), the same models in every
    file. The final PER depends on the architecture (its effective ops and skips, plus a fixed
    per-model offset); each seed adds noise; validation curves fall towards it with a little
    epoch-to-epoch noise, so the last epoch is not always the best; fewer epochs end higher.
    test_per is a test curve's value at the best validation epoch. params, flops, latency and
    train_time follow simple formulas of the ops. `epochs` may list several (the release has
    40, 10 and 5). Deterministic in rng_seed; about 3 s for all models. Returns `folder`."""
    folder = Path(folder)
    models = _synthetic_models(n_models, random.Random(rng_seed))
    hashes = [h for h, _, _ in models]
    vecs = [vec for _, vec, _ in models]
    shape = np.array([_synthetic_model(graph) for _, _, graph in models])    # (n, 3)
    n = len(models)
    per = np.minimum(0.95, shape[:, 0] + np.random.default_rng([rng_seed, 0]).normal(0, 0.01, n))
    for e in ([epochs] if isinstance(epochs, int) else list(epochs)):
        training = {}
        for seed in seeds:
            rng = np.random.default_rng([rng_seed, 1, seed, e])
            final = np.minimum(0.97, per + 0.03 * math.log(40 / e) + rng.normal(0, 0.005, n))[:, None]
            start = np.minimum(0.99, final + 0.6)
            decay = np.exp(-np.arange(1, e + 1) / max(e / 5, 0.5))[None, :]
            val = np.clip(final + (start - final) * decay + rng.normal(0, 0.004, (n, e)), 0.01, 1.0)
            test = np.clip(val + 0.012 + rng.normal(0, 0.003, (n, e)), 0.01, 1.0)
            test_per = test[np.arange(n), val.argmin(axis=1)]
            time = e * (60 + 40 * shape[:, 2]) * (1 + rng.normal(0, 0.03, n))
            training[seed] = [{"model_hash": h, "arch_vec": vec, "val_per": val[i].tolist(),
                               "test_per": float(test_per[i]),
                               **({"train_time": float(time[i])} if with_train_time else {})}
                              for i, (h, vec) in enumerate(zip(hashes, vecs))]
        write_folder(folder, training, e, verify=False)
    for k, device in enumerate(devices):
        scale = _DEVICE_SCALE.get(device, 1 + (sum(map(ord, device)) % 50) / 10)
        lat = scale * (0.01 + 0.01 * shape[:, 2]) * (1 + np.random.default_rng([rng_seed, 2, k]).normal(0, 0.02, n))
        write_benchmarking(folder / BENCHMARKING_NAME.format(device=device),
                           [{"model_hash": h, "latency": float(x)} for h, x in zip(hashes, lat)], device)
    if static:
        write_static(folder / STATIC_NAME, [{"model_hash": h, "params": int(p), "flops": 2 * 150 * int(p)}
                                            for h, p in zip(hashes, shape[:, 1])])
    return folder
