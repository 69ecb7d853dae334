"""A NAS-Bench-ASR benchmark table: load it (from a folder of the released names, or from files)
and query it.

The files are in the released pickle format (nas.bench.fileformat), checked against each other
when loaded (nas.bench.tablefiles), so a query never meets a bad file. Their header's
search_space picks the table's codec (nas.bench.codec): NAS-Bench-ASR's cell, or a block space
of the toolkit.

Queries are deterministic. The released API picks a random seed for each query that gives none;
here the default is the mean over the loaded seeds of the per-seed values (what the released
query returns on average), and a seed is used only when one is asked for.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from nas.bench.archvec import ArchVec, flatten
from nas.bench.codec import NB_ASR, Codec
from nas.bench.errors import ArchNotInTable, BenchFileError
from nas.bench.fileformat import (BENCHMARKING_NAME, BENCHMARKING_RE, HASH_RE, STATIC_NAME, TRAINING_NAME,
                                  TRAINING_RE, PathLike)
from nas.bench.objective import Eval
from nas.bench.tablefiles import TableFiles

Arch = Union[str, Sequence[Sequence[int]]]      # an arch vector, its printed form, or a model hash


class BenchTable(TableFiles):
    """A loaded benchmark: training files for one number of epochs (one per seed), optionally
    benchmarking files (one per device) and the static file.

    All files are checked when loaded (see BenchFileError), so a query never meets a bad file.
    The training files' search_space picks the table's codec (`codec`: NB_ASR or a BlockCodec,
    nas.bench.codec), and every file must have that search_space.
    An arch is an arch vector, its printed form ("[[1,0],[1,0,0],[1,0,0,0]]", or "[[0],[3],...]"
    in a block space) or a model hash. Values are means over the loaded seeds unless a seed is
    given: see query(). TableFiles.__init__ takes the files (check_hashes: see there)."""

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


