"""The files of one benchmark table, loaded and checked against each other.

TableFiles reads the training files of one number of epochs (one per seed), the benchmarking
files (one per device) and the static file (nas.bench.fileformat checks each alone), and checks
that they fit together: one header but for the seed or device, one search space, no seed or
device twice, every seed covering the same models with the same arch vectors, every
benchmarking and static file covering every model. It keeps their values as arrays, which
BenchTable (nas.bench.table) queries.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from nas.bench.archvec import ArchVecError
from nas.bench.codec import Codec, codec_for_header, plain as _plain
from nas.bench.errors import BenchFileError
from nas.bench.fileformat import TIMED_TRAINING_COLUMNS, PathLike, read_file

Header = Tuple[Path, Dict[str, Any]]         # a file, and its header less the key its files differ by
Loaded = List[Tuple[int, Path, List[list]]]  # (seed, path, rows) of each training file


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



def _read_training(paths: List[Path]) -> Tuple[Loaded, Header]:
    """Each training file's (seed, path, rows), by seed, and the first file's header (less seed)."""
    loaded: Loaded = []
    first: Optional[Header] = None
    for path in paths:
        header, rows = read_file(path, "training")
        first = _same_header(path, header, "seed", first)
        for seed, other, _ in loaded:
            if seed == header["seed"]:
                raise BenchFileError(f"{path}: seed {seed} again (also in {other})")
        loaded.append((header["seed"], path, rows))
    loaded.sort(key=lambda t: t[0])
    return loaded, first


class TableFiles:
    """The checked contents of a table's files (see the module doc); BenchTable adds the queries."""

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

    def _load_training(self, paths: List[Path], check_hashes: bool) -> None:
        loaded, first = _read_training(paths)
        self.header: Dict[str, Any] = first[1]
        self.codec: Codec = codec_for_header(self.header["search_space"], first[0])
        self._search_space_file = first[0]
        self._index_models(loaded)
        columns = list(self.header["columns"])
        self._i_arch = columns.index("arch_vec")
        self._i_time = columns.index("train_time") if "train_time" in columns else None
        known = set(TIMED_TRAINING_COLUMNS)
        self._extra_cols = {c: j for j, c in enumerate(columns) if c not in known}

        n, s = len(self._hashes), len(loaded)
        self._val = np.empty((s, n, self.header["epochs"]))
        self._test = np.empty((s, n))
        self._time = np.empty((s, n)) if self._i_time is not None else None
        self._arch: List[Optional[Tuple[Tuple[int, ...], ...]]] = [None] * n
        # extra columns (this toolkit's tables: WERs, loss curves): per column, per seed, per model
        self._extra: Dict[str, List[List[Any]]] = {c: [[None] * n for _ in loaded] for c in self._extra_cols}
        for k, (seed, path, rows) in enumerate(loaded):
            for row in rows:
                self._fill_row(k, path, row, check_hashes, loaded[0][1])
        self._seeds = tuple(seed for seed, _, _ in loaded)
        self._training_files = tuple(path for _, path, _ in loaded)

    def _index_models(self, loaded: Loaded) -> None:
        """The models of the first (lowest seed's) file, in its order; every seed must have the same."""
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

    def _fill_row(self, k: int, path: Path, row: list, check_hashes: bool, path0: Path) -> None:
        """Store `row` of the k-th seed's file `path` (path0: the first file, named when arch vectors differ)."""
        h, epochs, i_time = row[0], self.header["epochs"], self._i_time
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
        arch = self._row_arch(row[self._i_arch], h, path)
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
        for c, j in self._extra_cols.items():
            self._extra[c][k][i] = _plain(row[j]) if j < len(row) else None
        if self._time is not None:
            self._time[k, i] = time

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
