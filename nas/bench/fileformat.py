"""NAS-Bench-ASR benchmark files in the released pickle format: names, headers, columns, reading, writing.

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

read_file checks one file alone; nas.bench.tablefiles checks the files of one table against
each other, and nas.bench.table queries them.

A pickle can run code while it loads. The reader only lets through containers, numbers, strings
and numpy scalars or arrays, so a file that holds anything else is refused and never run.
"""
from __future__ import annotations

import copy
import os
import pickle
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from nas.bench.archvec import ArchVecError
from nas.bench.codec import NB_ASR, Codec, codec_for_header
from nas.bench.errors import BenchFileError

PathLike = Union[str, "os.PathLike[str]"]

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

# ---------------------------------------------------------------------------------------- writing

_MISSING = object()


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
