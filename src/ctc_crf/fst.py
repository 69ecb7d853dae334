"""Read and write OpenFst binary VectorFst files (tropical weights, "standard" arcs) as arrays.

The denominator graph has about a million arcs; building it arc by arc through
an FST library's Python bindings is slow, so the graph code works on arrays
and these functions move them to and from the OpenFst file format (the same
bytes `fstcompile`, kaldifst and Kaldi write; tests check both directions).

Layout (little-endian): header = int32 magic, string fst type ("vector"),
string arc type ("standard"), int32 version, int32 flags, uint64 properties,
int64 start, int64 #states, int64 #arcs, then optional input/output symbol
tables; then per state: float32 final weight, int64 #arcs, and #arcs records
of (int32 ilabel, int32 olabel, float32 weight, int32 nextstate).
Strings are an int32 length and the bytes. Weights are costs (-log probability).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Union

import numpy as np

FST_MAGIC = 2125659606
SYMTAB_MAGIC = 2125658996
_HAS_ISYMBOLS, _HAS_OSYMBOLS = 0x1, 0x2
_ARC = np.dtype([("ilabel", "<i4"), ("olabel", "<i4"), ("weight", "<f4"), ("nextstate", "<i4")])
# property bits of OpenFst (fst/properties.h) that we can state for what we write
_EXPANDED, _MUTABLE = 0x1, 0x2


class FstFormatError(ValueError):
    """A file that is not a readable OpenFst VectorFst; the message names the file."""


@dataclass
class FstArrays:
    """An FST as arrays. Arcs are grouped by source state in file order."""
    start: int
    final: np.ndarray     # (S,) float32 costs; +inf where not final
    src: np.ndarray       # (A,) int32
    ilabel: np.ndarray    # (A,) int32
    olabel: np.ndarray    # (A,) int32
    weight: np.ndarray    # (A,) float32 costs
    dst: np.ndarray       # (A,) int32

    @property
    def num_states(self) -> int:
        return len(self.final)

    @property
    def num_arcs(self) -> int:
        return len(self.src)


def _read_string(buf: bytes, pos: int, path) -> tuple:
    (n,) = struct.unpack_from("<i", buf, pos)
    if n < 0 or pos + 4 + n > len(buf):
        raise FstFormatError(f"{path}: corrupt header string at byte {pos}")
    return buf[pos + 4:pos + 4 + n].decode("latin-1"), pos + 4 + n


def _skip_symbol_table(buf: bytes, pos: int, path) -> int:
    (magic,) = struct.unpack_from("<i", buf, pos)
    if magic != SYMTAB_MAGIC:
        raise FstFormatError(f"{path}: bad symbol table at byte {pos}")
    _, pos = _read_string(buf, pos + 4, path)
    _, size = struct.unpack_from("<qq", buf, pos)
    pos += 16
    for _ in range(size):
        _, pos = _read_string(buf, pos, path)
        pos += 8
    return pos


def read_fst(path: Union[str, Path]) -> FstArrays:
    buf = Path(path).read_bytes()
    if len(buf) < 4 or struct.unpack_from("<i", buf, 0)[0] != FST_MAGIC:
        raise FstFormatError(f"{path}: not an OpenFst binary file (bad magic number)")
    fst_type, pos = _read_string(buf, 4, path)
    arc_type, pos = _read_string(buf, pos, path)
    if fst_type != "vector":
        raise FstFormatError(f"{path}: FST type {fst_type!r}; only 'vector' is read "
                             f"(convert with: fstconvert --fst_type=vector)")
    if arc_type != "standard":
        raise FstFormatError(f"{path}: arc type {arc_type!r}; a tropical 'standard' FST is needed")
    version, flags, _props, start, nstates, narcs = struct.unpack_from("<iiQqqq", buf, pos)
    pos += struct.calcsize("<iiQqqq")
    if flags & _HAS_ISYMBOLS:
        pos = _skip_symbol_table(buf, pos, path)
    if flags & _HAS_OSYMBOLS:
        pos = _skip_symbol_table(buf, pos, path)
    final = np.empty(nstates, np.float32)
    counts = np.empty(nstates, np.int64)
    chunks = []
    for s in range(nstates):
        if pos + 12 > len(buf):
            raise FstFormatError(f"{path}: truncated at state {s} of {nstates}")
        final[s], counts[s] = struct.unpack_from("<fq", buf, pos)
        pos += 12
        chunks.append((pos, counts[s]))
        pos += int(counts[s]) * _ARC.itemsize
    if pos > len(buf):
        raise FstFormatError(f"{path}: truncated arcs")
    if pos < len(buf):
        raise FstFormatError(f"{path}: {len(buf) - pos} bytes after the last state's arcs (byte {pos} of "
                             f"{len(buf)}): not one FST, or a corrupt one; rebuild it (steps/prep_den_lm.sh)")
    total = int(counts.sum())
    if narcs > 0 and total != narcs:  # writers on unseekable streams leave it 0
        raise FstFormatError(f"{path}: header says {narcs} arcs, states hold {total}")
    arcs = np.empty(total, _ARC)
    k = 0
    for p, n in chunks:
        arcs[k:k + n] = np.frombuffer(buf, _ARC, count=int(n), offset=p)
        k += n
    src = np.repeat(np.arange(nstates, dtype=np.int32), counts)
    return FstArrays(int(start), final, src, arcs["ilabel"].copy(), arcs["olabel"].copy(),
                     arcs["weight"].copy(), arcs["nextstate"].copy())


def write_fst(path: Union[str, Path], fst: FstArrays) -> None:
    """Write a StdVectorFst; arcs are sorted by source state (stable) first."""
    order = np.argsort(fst.src, kind="stable")
    arcs = np.empty(fst.num_arcs, _ARC)
    arcs["ilabel"], arcs["olabel"] = fst.ilabel[order], fst.olabel[order]
    arcs["weight"], arcs["nextstate"] = fst.weight[order], fst.dst[order]
    counts = np.bincount(fst.src, minlength=fst.num_states)
    offsets = np.concatenate([[0], np.cumsum(counts)])

    def string(s: str) -> bytes:
        return struct.pack("<i", len(s)) + s.encode()

    with open(path, "wb") as f:
        f.write(struct.pack("<i", FST_MAGIC) + string("vector") + string("standard"))
        f.write(struct.pack("<iiQqqq", 2, 0, _EXPANDED | _MUTABLE, fst.start, fst.num_states, fst.num_arcs))
        _write_states(f, fst.final.astype(np.float32), counts, offsets, arcs)


def _write_states(f: BinaryIO, final: np.ndarray, counts: np.ndarray, offsets: np.ndarray, arcs: np.ndarray) -> None:
    head = np.empty(1, np.dtype([("final", "<f4"), ("n", "<i8")]))
    for s in range(len(final)):
        head["final"], head["n"] = final[s], counts[s]
        f.write(head.tobytes())
        f.write(arcs[offsets[s]:offsets[s + 1]].tobytes())
