"""Write NIST SPHERE test fixtures, plain PCM or Shorten-compressed.

No Shorten encoder ships on the test machines (Debian has no ``shorten``
package), yet WSJ and Switchboard distribute their audio as SPHERE with
``sample_coding -s26 pcm,embedded-shorten-v2.00``. This module holds a small
encoder of our own so tests can build such files on the fly.

Public API::

    write_sphere(path, samples, sample_rate, shorten=False, byte_order="01",
                 *, blocksize=256, nmean=4, predictor=None, extra_fields=None)
    shorten_encode(samples, byte_order="01", *, blocksize=256, nmean=4,
                   predictor=None) -> bytes
    sphere_header(sample_count, sample_rate, channel_count, shorten=False,
                  byte_order="01", extra_fields=None) -> bytes
    read_sphere_samples(path) -> (int16 array of shape (n, channels), sample_rate)

Shorten v2 bitstream as written here (the bit conventions are the ones the
``desphere`` decoder reads):

* ``ajkg`` magic, one version byte (2), then bits packed MSB first.
* ``uvar(k)``: ``u >> k`` zero bits, a one bit, then the low ``k`` bits of ``u``.
  ``ulong``: ``n = u.bit_length()`` as ``uvar(2)``, then ``uvar(n)``.
  ``var(k)``: ``uvar(k)`` of the zig-zag value (``2v`` for ``v >= 0``,
  ``2(-v-1)+1`` for ``v < 0``).
* stream header: ftype (5 = 16-bit little-endian, 3 = 16-bit big-endian),
  nchan, blocksize, maxnlpc (0), nmean, nskip (0), each a ``ulong``.
* per block, one command per channel in turn, each ``uvar(2)``:
  DIFF0..DIFF3 (0..3), then the energy ``uvar(3)`` and the residuals as
  ``var(energy + 1)``. DIFF0 predicts the running mean (mean of each of the
  last ``nmean`` blocks of that channel, zeros before the first); DIFF1..3 are
  first..third-order polynomial predictors whose history carries over block
  boundaries (zeros before the first sample). A final short block is
  announced with BLOCKSIZE (5) + ``ulong(new size)``; QUIT (4) ends the
  stream, and the last byte is padded with zero bits.

Each block picks the predictor (DIFF0..DIFF3 unless ``predictor`` forces one)
and the Rice parameter that give the fewest bits, computed exactly.
"""
from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

__all__ = ["write_sphere", "shorten_encode", "sphere_header", "read_sphere_samples",
           "SHORTEN_CODING"]

SHORTEN_CODING = "pcm,embedded-shorten-v2.00"

_HEADER_BLOCK = 1024

# Shorten constants (field widths and command codes).
_MAGIC = b"ajkg"
_VERSION = 2
_ULONGSIZE = 2
_FNSIZE = 2
_ENERGYSIZE = 3
_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3 = 0, 1, 2, 3
_FN_QUIT, _FN_BLOCKSIZE = 4, 5
_TYPE_S16HL = 3  # 16-bit PCM, high byte first (sample_byte_format 10)
_TYPE_S16LH = 5  # 16-bit PCM, low byte first (sample_byte_format 01)
_FTYPE = {"01": _TYPE_S16LH, "10": _TYPE_S16HL}
_NHIST = 3  # samples of history DIFF3 needs


# --------------------------------------------------------------------- input

def _as_frames(samples) -> np.ndarray:
    """Return ``samples`` as a C-contiguous int16 array of shape (n, channels)."""
    a = np.asarray(samples)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"samples must have shape (n,) or (n, channels), got {a.shape}")
    if a.dtype != np.int16:
        if not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"samples must be int16 (or integers in the int16 range), got {a.dtype}")
        if a.size and (a.min() < -32768 or a.max() > 32767):
            raise ValueError("sample values out of the int16 range")
    return np.ascontiguousarray(a, dtype=np.int16)


def _check_byte_order(byte_order: str) -> str:
    if byte_order not in _FTYPE:
        raise ValueError(f"byte_order must be '01' (little-endian) or '10' (big-endian), "
                         f"got {byte_order!r}")
    return byte_order


# -------------------------------------------------------------------- header

def _field_line(name: str, value: Union[str, int, float]) -> str:
    if not name or any(ch.isspace() for ch in name):
        raise ValueError(f"bad SPHERE field name {name!r}")
    if isinstance(value, bool):
        raise TypeError(f"SPHERE field {name!r}: bool is not a SPHERE type")
    if isinstance(value, (int, np.integer)):
        return f"{name} -i {int(value)}\n"
    if isinstance(value, (float, np.floating)):
        return f"{name} -r {float(value)!r}\n"
    if isinstance(value, str):
        if "\n" in value or not value.isascii():
            raise ValueError(f"SPHERE field {name!r}: value must be one line of ASCII")
        return f"{name} -s{len(value)} {value}\n"
    raise TypeError(f"SPHERE field {name!r}: unsupported value type {type(value).__name__}")


def sphere_header(sample_count: int, sample_rate: int, channel_count: int,
                  shorten: bool = False, byte_order: str = "01",
                  extra_fields: Optional[Mapping[str, Union[str, int, float]]] = None) -> bytes:
    """The NIST SPHERE header (1024 bytes, or the next multiple of 1024 if it must grow).

    ``extra_fields`` (e.g. ``{"database_id": "wsj1", "utterance_id": "4k0c0301"}``)
    come first, typed by their Python type: str -> ``-sN``, int -> ``-i``, float -> ``-r``.
    """
    _check_byte_order(byte_order)
    fields: Dict[str, Union[str, int, float]] = dict(extra_fields or {})
    coding = SHORTEN_CODING if shorten else "pcm"
    standard = {
        "sample_count": int(sample_count),
        "sample_rate": int(sample_rate),
        "channel_count": int(channel_count),
        "sample_byte_format": byte_order,
        "sample_n_bytes": 2,
        "sample_sig_bits": 16,
        "sample_coding": coding,
    }
    clash = sorted(set(fields) & set(standard))
    if clash:
        raise ValueError(f"extra_fields may not override {clash}")
    fields.update(standard)
    body = "".join(_field_line(k, v) for k, v in fields.items()) + "end_head\n"
    size = _HEADER_BLOCK
    while len(f"NIST_1A\n{size:7d}\n") + len(body) > size:
        size += _HEADER_BLOCK
    text = f"NIST_1A\n{size:7d}\n" + body
    return (text + " " * (size - len(text))).encode("ascii")


# ------------------------------------------------------------------- shorten

class _BitWriter:
    """MSB-first bit writer; bits are gathered as '0'/'1' strings and packed once."""

    def __init__(self) -> None:
        self._parts: List[str] = []

    def bits(self, value: int, n: int) -> None:
        if n:
            self._parts.append(format(value, f"0{n}b"))

    def uvar(self, value: int, k: int) -> None:
        if value < 0:
            raise ValueError("uvar of a negative value")
        self._parts.append("0" * (value >> k) + "1")
        self.bits(value & ((1 << k) - 1), k)

    def ulong(self, value: int) -> None:
        n = int(value).bit_length()
        self.uvar(n, _ULONGSIZE)
        self.uvar(value, n)

    def rice_block(self, u: np.ndarray, k: int) -> None:
        """``uvar(k)`` of every (already zig-zagged, non-negative) value in ``u``."""
        mask, fmt = (1 << k) - 1, f"0{k}b"
        self._parts.append("".join(["0" * (v >> k) + "1" + format(v & mask, fmt)
                                    for v in u.tolist()]))

    def getvalue(self) -> bytes:
        s = "".join(self._parts)
        s += "0" * (-len(s) % 8)
        return int(s, 2).to_bytes(len(s) // 8, "big") if s else b""


def _zigzag(r: np.ndarray) -> np.ndarray:
    """Signed residuals -> the non-negative values ``var()`` codes."""
    return np.where(r >= 0, 2 * r, 2 * (-r - 1) + 1)


def _rice_cost(u: np.ndarray) -> Tuple[int, int]:
    """(bits, k) of the cheapest ``uvar(k)`` coding of ``u`` with k >= 1, energy included."""
    top = max(int(u.max()).bit_length(), 1) if u.size else 1
    ks = np.arange(1, top + 2, dtype=np.int64)
    cost = (u[:, None] >> ks[None, :]).sum(axis=0) + len(u) * (ks + 1)
    cost += ((ks - 1) >> _ENERGYSIZE) + 1 + _ENERGYSIZE
    i = int(np.argmin(cost))
    return int(cost[i]), int(ks[i])


def _cdiv(a: int, b: int) -> int:
    """C integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def shorten_encode(samples, byte_order: str = "01", *, blocksize: int = 256, nmean: int = 4,
                   predictor: Optional[int] = None) -> bytes:
    """Shorten v2 stream of int16 ``samples`` ((n,) or (n, channels)).

    ``predictor`` None picks the cheapest of DIFF0..DIFF3 per block; 0..3 forces one.
    """
    frames = _as_frames(samples)
    ftype = _FTYPE[_check_byte_order(byte_order)]
    if blocksize < 1:
        raise ValueError("blocksize must be >= 1")
    if nmean < 0:
        raise ValueError("nmean must be >= 0")
    if predictor is None:
        fns = (_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3) if nmean else (
            _FN_DIFF1, _FN_DIFF2, _FN_DIFF3)
    elif predictor in (_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3):
        fns = (predictor,)
    else:
        raise ValueError("predictor must be None or 0..3 (DIFF0..DIFF3)")
    n, nchan = frames.shape

    # Residuals of the polynomial predictors over the whole signal: the
    # decoder's history runs across block boundaries and starts as zeros.
    diffs = []
    for c in range(nchan):
        x = np.concatenate([np.zeros(_NHIST, np.int64), frames[:, c].astype(np.int64)])
        d1 = x[1:] - x[:-1]
        d2 = d1[1:] - d1[:-1]
        d3 = d2[1:] - d2[:-1]
        diffs.append({_FN_DIFF1: d1[_NHIST - 1:], _FN_DIFF2: d2[_NHIST - 2:],
                      _FN_DIFF3: d3})
    means: List[List[int]] = [[] for _ in range(nchan)]

    w = _BitWriter()
    for value in (ftype, nchan, blocksize, 0, nmean, 0):  # maxnlpc = 0, nskip = 0
        w.ulong(value)
    cur = blocksize
    for start in range(0, n, blocksize):
        size = min(blocksize, n - start)
        if size != cur:
            w.uvar(_FN_BLOCKSIZE, _FNSIZE)
            w.ulong(size)
            cur = size
        for c in range(nchan):
            block = frames[start:start + size, c].astype(np.int64)
            best = None
            for fn in fns:
                if fn == _FN_DIFF0:
                    recent = means[c][-nmean:] if nmean else []
                    offset = (_cdiv(sum(recent) + nmean // 2, nmean) if nmean else 0)
                    resid = block - offset
                else:
                    resid = diffs[c][fn][start:start + size]
                u = _zigzag(resid)
                bits, k = _rice_cost(u)
                if best is None or bits < best[0]:
                    best = (bits, fn, k, u)
            _, fn, k, u = best
            w.uvar(fn, _FNSIZE)
            w.uvar(k - 1, _ENERGYSIZE)
            w.rice_block(u, k)
            if nmean:
                means[c].append(_cdiv(int(block.sum()) + size // 2, size))
    w.uvar(_FN_QUIT, _FNSIZE)
    return _MAGIC + bytes([_VERSION]) + w.getvalue()


# --------------------------------------------------------------------- files

def write_sphere(path, samples, sample_rate: int, shorten: bool = False,
                 byte_order: str = "01", *, blocksize: int = 256, nmean: int = 4,
                 predictor: Optional[int] = None,
                 extra_fields: Optional[Mapping[str, Union[str, int, float]]] = None) -> str:
    """Write int16 ``samples`` ((n,) or (n, channels)) to ``path`` as NIST SPHERE.

    ``shorten=False``: interleaved 16-bit PCM in ``byte_order`` ('01' little-endian,
    '10' big-endian). ``shorten=True``: ``sample_coding pcm,embedded-shorten-v2.00``
    and a Shorten v2 stream (ftype 5 for '01', 3 for '10'); ``blocksize``, ``nmean``
    and ``predictor`` tune it as in :func:`shorten_encode`. Returns ``str(path)``.
    """
    frames = _as_frames(samples)
    n, nchan = frames.shape
    head = sphere_header(n, sample_rate, nchan, shorten, byte_order, extra_fields)
    if shorten:
        payload = shorten_encode(frames, byte_order, blocksize=blocksize, nmean=nmean,
                                 predictor=predictor)
    else:
        payload = frames.astype("<i2" if byte_order == "01" else ">i2").tobytes()
    with open(path, "wb") as f:
        f.write(head)
        f.write(payload)
    return os.fspath(path)


def read_sphere_samples(path) -> Tuple[np.ndarray, int]:
    """Decode any SPHERE file with ``desphere``: (int16 array (n, channels), sample_rate)."""
    import io

    import soundfile as sf
    from desphere import transcode_bytes

    with open(path, "rb") as f:
        wav = transcode_bytes(f.read())
    data, rate = sf.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    return data, rate
