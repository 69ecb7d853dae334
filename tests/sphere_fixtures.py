"""Write NIST SPHERE test fixtures, plain or Shorten-compressed, PCM or mu-law.

No Shorten encoder ships on the test machines (Debian has no ``shorten``
package), yet WSJ and Switchboard distribute their audio as SPHERE with
``sample_coding -s26 pcm,embedded-shorten-v1.1`` (WSJ; ``-v1.09`` or ``-v2.00`` on
some discs) or ``ulaw,embedded-shorten-v2.00`` (Switchboard). This module holds
a small encoder of our own so tests can build such files on the fly, in either
Shorten bitstream version.

Public API::

    write_sphere(path, samples, sample_rate, shorten=False, byte_order="01",
                 *, blocksize=256, nmean=4, predictor=None, extra_fields=None,
                 version=2, coding=None, ulaw=False, lpc_order=0, bitshift=False)
    shorten_encode(samples, byte_order="01", *, blocksize=256, nmean=4,
                   predictor=None, version=2, ulaw=False, lpc_order=0,
                   bitshift=False) -> bytes
    sphere_header(sample_count, sample_rate, channel_count, shorten=False,
                  byte_order="01", extra_fields=None, *, coding=None, ulaw=False) -> bytes
    read_sphere_samples(path) -> (int16 array of shape (n, channels), sample_rate)

Shorten bitstream as written here (written from the format's descriptions:
Robinson's TR.156 and the sph2pipe / Shorten 3.6 / FFmpeg decoders, read for
facts; the bit conventions are also the ones the ``desphere`` decoder reads):

* ``ajkg`` magic, one version byte (1 or 2), then bits packed MSB first.
* ``uvar(k)``: ``u >> k`` zero bits, a one bit, then the low ``k`` bits of ``u``.
  ``ulong``: ``n = u.bit_length()`` as ``uvar(2)``, then ``uvar(n)``.
  ``var(k)``: ``uvar(k)`` of the zig-zag value (``2v`` for ``v >= 0``,
  ``2(-v-1)+1`` for ``v < 0``).
* stream header: ftype (5 = 16-bit little-endian, 3 = 16-bit big-endian,
  8 = mu-law in version 2, 0 = mu-law in version 1), nchan, blocksize, maxnlpc,
  nmean, nskip (0), each a ``ulong``.
* per block, one command per channel in turn, each ``uvar(2)``:
  DIFF0..DIFF3 (0..3), then the energy ``uvar(3)`` and the residuals as
  ``var(energy + 1)``. DIFF0 predicts the running mean (from the last ``nmean``
  block means of that channel, zeros before the first); DIFF1..3 are
  first..third-order polynomial predictors whose history carries over block
  boundaries (zeros before the first sample). QLPC (7) adds the order
  ``uvar(2)`` and coefficients ``var(6)`` (in 1/32) after the energy and
  predicts the mean-removed signal; ZERO (8) is a silent block; BITSHIFT (6)
  + ``uvar(2)`` announces the low zero bits the following blocks drop. A final
  short block is announced with BLOCKSIZE (5) + ``ulong(new size)``; QUIT (4)
  ends the stream, and the last byte is padded with zero bits.
* version 1 against 2: block means and their average are truncated in version
  1, rounded in version 2 (which also keeps the means scaled by the bit shift);
  QLPC's sum starts at 0 in version 1, at 32 in version 2.
* mu-law samples are coded as ranks: at bit shift s, the bytes coding a multiple
  of ``2**(s + 3)`` numbered by magnitude from zero (Shorten's mkbshift rule);
  version 1 (type 0) merges negative zero into positive zero.

Each block picks the predictor (DIFF0..DIFF3 unless ``predictor`` forces one;
QLPC when ``lpc_order`` > 0) and the Rice parameter that give the fewest bits,
computed exactly.
"""
from __future__ import annotations

import os
from typing import Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

__all__ = ["write_sphere", "shorten_encode", "sphere_header", "read_sphere_samples",
           "SHORTEN_CODING", "ULAW_SHORTEN_CODING"]

SHORTEN_CODING = "pcm,embedded-shorten-v2.00"
ULAW_SHORTEN_CODING = "ulaw,embedded-shorten-v2.00"

_HEADER_BLOCK = 1024

# Shorten constants (field widths and command codes).
_MAGIC = b"ajkg"
_ULONGSIZE = 2
_FNSIZE = 2
_ENERGYSIZE = 3
_BITSHIFTSIZE = 2
_LPCQSIZE = 2
_LPCQUANT = 5
_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3 = 0, 1, 2, 3
_FN_QUIT, _FN_BLOCKSIZE, _FN_BITSHIFT, _FN_QLPC, _FN_ZERO, _FN_VERBATIM = 4, 5, 6, 7, 8, 9
_VERBATIM_CKSIZE, _VERBATIM_BYTE = 5, 8
_TYPE_AU1 = 0    # lossless mu-law, version 1 (the two zeros merged)
_TYPE_S16HL = 3  # 16-bit PCM, high byte first (sample_byte_format 10)
_TYPE_S16LH = 5  # 16-bit PCM, low byte first (sample_byte_format 01)
_TYPE_AU2 = 8    # lossless mu-law, version 2
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


def _check_byte_order(byte_order: str, ulaw: bool = False) -> str:
    if byte_order not in _FTYPE and not (ulaw and byte_order == "1"):
        raise ValueError(f"byte_order must be '01' (little-endian) or '10' (big-endian), "
                         f"got {byte_order!r}")
    return byte_order


def _as_ulaw(samples) -> np.ndarray:
    """``samples`` as mu-law bytes of shape (n, channels)."""
    a = np.asarray(samples)
    a = a[:, None] if a.ndim == 1 else a
    if a.ndim != 2 or a.dtype != np.uint8:
        raise TypeError(f"mu-law samples must be uint8 of shape (n,) or (n, channels), got {a.dtype} {a.shape}")
    return np.ascontiguousarray(a)


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
                  extra_fields: Optional[Mapping[str, Union[str, int, float]]] = None, *,
                  coding: Optional[str] = None, ulaw: bool = False) -> bytes:
    """The NIST SPHERE header (1024 bytes, or the next multiple of 1024 if it must grow).

    ``extra_fields`` (e.g. ``{"database_id": "wsj1", "utterance_id": "4k0c0301"}``)
    come first, typed by their Python type: str -> ``-sN``, int -> ``-i``, float -> ``-r``.
    ``coding`` overrides ``sample_coding`` (e.g. ``pcm,embedded-shorten-v1.1``); ``ulaw``
    declares 1-byte mu-law samples.
    """
    _check_byte_order(byte_order, ulaw)
    fields: Dict[str, Union[str, int, float]] = dict(extra_fields or {})
    if coding is None:
        coding = (ULAW_SHORTEN_CODING if ulaw else SHORTEN_CODING) if shorten else ("ulaw" if ulaw else "pcm")
    standard = {
        "sample_count": int(sample_count),
        "sample_rate": int(sample_rate),
        "channel_count": int(channel_count),
        "sample_byte_format": byte_order,
        "sample_n_bytes": 1 if ulaw else 2,
        "sample_sig_bits": 8 if ulaw else 16,
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


def _mean_offset(means: List[int], nmean: int, version: int, shift: int) -> int:
    """The running mean DIFF0 and QLPC predict from: truncated in version 1, rounded (and
    scaled back by the bit shift) in version 2."""
    if nmean == 0:
        return 0
    if version < 2:
        return _cdiv(sum(means), nmean)
    return _cdiv(sum(means) + nmean // 2, nmean) >> shift


def _block_mean(x: np.ndarray, version: int, shift: int) -> int:
    if version < 2:
        return _cdiv(int(x.sum()), len(x))
    return _cdiv(int(x.sum()) + len(x) // 2, len(x)) << shift


# Mu-law ranks (Shorten's mkbshift rule, written from its description): a byte's largest
# shift s is the largest s (0..12) for which it is the G.711 code of a multiple of 2**(s + 3).

def _g711(x: int) -> int:
    sign = 0x80 if x < 0 else 0
    mag = min(abs(x), 32635) + 0x84
    seg = (mag >> 7).bit_length() - 1
    return ~(sign | (seg << 4) | ((mag >> (seg + 3)) & 0xF)) & 0xFF


def _ulaw_max_shift() -> np.ndarray:
    tab = np.zeros(256, np.int64)
    for s in range(13):
        tab[[_g711(x) for x in range(-32768, 32768, 1 << (s + 3))]] = s
    return tab


_ULAW_MAX_SHIFT = _ulaw_max_shift()


def _ulaw_rank_table(shift: int, version: int) -> np.ndarray:
    """Rank of each mu-law byte at ``shift``: the bytes the shift allows, numbered by magnitude
    from 0 (positive) and -1 (negative); version 2 keeps -1 for 0x7F, negative zero (a block
    holding it has shift 0). Bytes the shift does not allow get no usable rank."""
    rank = np.full(256, 10 ** 6, np.int64)
    allowed = _ULAW_MAX_SHIFT >= shift
    pos = [b for b in range(255, 127, -1) if allowed[b]]
    neg = [b for b in range(126, -1, -1) if allowed[b]]
    rank[pos] = np.arange(len(pos))
    rank[neg] = -1 - np.arange(len(neg)) - (1 if version >= 2 else 0)
    rank[0x7F] = -1
    return rank


def _block_ranks(codes: np.ndarray, version: int, shift_ok: bool) -> Tuple[np.ndarray, int]:
    """(ranks, bit shift) of one block of mu-law bytes (version 1 merges 0x7F into 0xFF: both
    are zero)."""
    if version < 2:
        codes = np.where(codes == 0x7F, 0xFF, codes)
    shift = int(_ULAW_MAX_SHIFT[codes].min()) if shift_ok and codes.size else 0
    return _ulaw_rank_table(shift, version)[codes], shift


def _pcm_shift(block: np.ndarray) -> int:
    """Low zero bits every sample of a non-silent block shares."""
    bits = np.bitwise_or.reduce(block.astype(np.int64))
    return (int(bits) & -int(bits)).bit_length() - 1


def _lpc_coefs(buf: np.ndarray, order: int) -> np.ndarray:
    """Least-squares predictor of the mean-removed block, in 1/32 (any integers decode)."""
    lags = np.stack([buf[order - 1 - j:len(buf) - 1 - j] for j in range(order)], axis=1)
    a = np.linalg.lstsq(lags.astype(float), buf[order:].astype(float), rcond=None)[0]
    return np.clip(np.rint(a * (1 << _LPCQUANT)), -512, 512).astype(np.int64)


def _qlpc_residual(buf: np.ndarray, q: np.ndarray, version: int) -> np.ndarray:
    """Residual of the quantised predictor over ``buf`` (history then block, mean removed)."""
    order = len(q)
    lags = np.stack([buf[order - 1 - j:len(buf) - 1 - j] for j in range(order)], axis=1)
    base = (1 << _LPCQUANT) if version >= 2 else 0
    return buf[order:] - ((base + lags @ q) >> _LPCQUANT)


def _encode_block(w: _BitWriter, coded: np.ndarray, hist: np.ndarray, offset: int,
                  fns: Tuple[int, ...], lpc_order: int, version: int) -> None:
    """Write one channel's block (values already shifted) with the cheapest allowed command."""
    x = np.concatenate([hist[-_NHIST:], coded])
    cands = []
    if lpc_order:
        buf = np.concatenate([hist[len(hist) - lpc_order:], coded]) - offset
        q = _lpc_coefs(buf, lpc_order)
        cands.append((_FN_QLPC, _zigzag(_qlpc_residual(buf, q, version)), q))
    else:
        resid = {_FN_DIFF0: coded - offset, _FN_DIFF1: np.diff(x)[_NHIST - 1:],
                 _FN_DIFF2: np.diff(x, 2)[_NHIST - 2:], _FN_DIFF3: np.diff(x, 3)}
        cands = [(fn, _zigzag(resid[fn]), None) for fn in fns]
    best = None
    for fn, u, q in cands:
        bits, k = _rice_cost(u)
        if best is None or bits < best[0]:
            best = (bits, fn, k, u, q)
    _, fn, k, u, q = best
    w.uvar(fn, _FNSIZE)
    w.uvar(k - 1, _ENERGYSIZE)
    if fn == _FN_QLPC:
        w.uvar(len(q), _LPCQSIZE)
        w.rice_block(_zigzag(q), _LPCQUANT + 1)
    w.rice_block(u, k)


def _predictors(predictor: Optional[int], nmean: int) -> Tuple[int, ...]:
    if predictor is None:
        return (_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3) if nmean else (_FN_DIFF1, _FN_DIFF2, _FN_DIFF3)
    if predictor in (_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3):
        return (predictor,)
    raise ValueError("predictor must be None or 0..3 (DIFF0..DIFF3)")


def shorten_encode(samples, byte_order: str = "01", *, blocksize: int = 256, nmean: int = 4,
                   predictor: Optional[int] = None, version: int = 2, ulaw: bool = False,
                   lpc_order: int = 0, bitshift: bool = False, verbatim: bytes = b"") -> bytes:
    """Shorten stream (bitstream ``version`` 1 or 2) of int16 ``samples`` ((n,) or (n, channels)),
    or of mu-law bytes (uint8) when ``ulaw``.

    ``predictor`` None picks the cheapest of DIFF0..DIFF3 per block; 0..3 forces one.
    ``lpc_order`` > 0 codes every block with QLPC of that order instead. ``bitshift``
    drops the low zero bits a block shares (BITSHIFT) and codes silent PCM blocks as ZERO,
    as Shorten does. Mu-law streams have no running mean (nmean 0, as Shorten forces).
    ``verbatim`` bytes (a .shn file's RIFF header, which FFmpeg's decoder wants) go in a
    VERBATIM command after the stream header.
    """
    if version not in (1, 2):
        raise ValueError("version must be 1 or 2")
    frames = _as_ulaw(samples) if ulaw else _as_frames(samples)
    ftype = (_TYPE_AU2 if version >= 2 else _TYPE_AU1) if ulaw else _FTYPE[_check_byte_order(byte_order)]
    if blocksize < 1:
        raise ValueError("blocksize must be >= 1")
    if nmean < 0:
        raise ValueError("nmean must be >= 0")
    if not 0 <= lpc_order <= 3:
        raise ValueError("lpc_order must be 0..3 (uvar(2) codes larger orders too, but the tests need no more)")
    nmean = 0 if ulaw else nmean
    fns = _predictors(predictor, nmean)
    n, nchan = frames.shape
    nwrap = max(_NHIST, lpc_order)
    hist = [np.zeros(nwrap, np.int64) for _ in range(nchan)]
    means: List[List[int]] = [[0] * nmean for _ in range(nchan)]

    w = _BitWriter()
    for value in (ftype, nchan, blocksize, lpc_order, nmean, 0):  # nskip = 0
        w.ulong(value)
    if verbatim:
        w.uvar(_FN_VERBATIM, _FNSIZE)
        w.uvar(len(verbatim), _VERBATIM_CKSIZE)
        for byte in verbatim:
            w.uvar(byte, _VERBATIM_BYTE)
    cur, shift = blocksize, 0
    for start in range(0, n, blocksize):
        size = min(blocksize, n - start)
        if size != cur:
            w.uvar(_FN_BLOCKSIZE, _FNSIZE)
            w.ulong(size)
            cur = size
        for c in range(nchan):
            block = frames[start:start + size, c].astype(np.int64)
            silent = not ulaw and bitshift and not block.any()
            if ulaw:
                coded, new_shift = _block_ranks(block, version, bitshift)
            else:
                new_shift = _pcm_shift(block) if bitshift and not silent else (shift if silent else 0)
                coded = block >> new_shift
            if new_shift != shift:
                w.uvar(_FN_BITSHIFT, _FNSIZE)
                w.uvar(new_shift, _BITSHIFTSIZE)
                shift = new_shift
            if silent:
                w.uvar(_FN_ZERO, _FNSIZE)
                coded = np.zeros(size, np.int64)
            else:
                offset = _mean_offset(means[c], nmean, version, shift)
                _encode_block(w, coded, hist[c], offset, fns, lpc_order, version)
            if nmean:
                means[c] = means[c][1:] + [_block_mean(coded, version, shift)]
            hist[c] = np.concatenate([hist[c], coded])[-nwrap:]
    w.uvar(_FN_QUIT, _FNSIZE)
    return _MAGIC + bytes([version]) + w.getvalue()


# --------------------------------------------------------------------- files

def write_sphere(path, samples, sample_rate: int, shorten: bool = False,
                 byte_order: str = "01", *, blocksize: int = 256, nmean: int = 4,
                 predictor: Optional[int] = None,
                 extra_fields: Optional[Mapping[str, Union[str, int, float]]] = None,
                 version: int = 2, coding: Optional[str] = None, ulaw: bool = False,
                 lpc_order: int = 0, bitshift: bool = False) -> str:
    """Write int16 ``samples`` ((n,) or (n, channels)), or mu-law bytes (uint8) when ``ulaw``,
    to ``path`` as NIST SPHERE.

    ``shorten=False``: interleaved 16-bit PCM in ``byte_order`` ('01' little-endian,
    '10' big-endian), or mu-law bytes. ``shorten=True``: ``sample_coding
    pcm,embedded-shorten-v2.00`` (``ulaw,...`` for mu-law; ``coding`` overrides it,
    e.g. ``pcm,embedded-shorten-v1.1``) and a Shorten stream of bitstream ``version``
    (ftype 5 for '01', 3 for '10', mu-law 8 or 0); ``blocksize``, ``nmean``,
    ``predictor``, ``lpc_order`` and ``bitshift`` tune it as in :func:`shorten_encode`.
    Returns ``str(path)``.
    """
    frames = _as_ulaw(samples) if ulaw else _as_frames(samples)
    n, nchan = frames.shape
    head = sphere_header(n, sample_rate, nchan, shorten, byte_order, extra_fields, coding=coding, ulaw=ulaw)
    if shorten:
        payload = shorten_encode(frames, byte_order, blocksize=blocksize, nmean=nmean, predictor=predictor,
                                 version=version, ulaw=ulaw, lpc_order=lpc_order, bitshift=bitshift)
    elif ulaw:
        payload = frames.tobytes()
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
