"""Shorten decoding, bitstream versions 1 and 2, for SPHERE's embedded-shorten audio.

Why this module: desphere, our SPHERE reader, decodes only Shorten bitstream
version 2 (it refuses the others, rather than guess). WSJ's ``.wv1`` files,
labelled ``pcm,embedded-shorten-v1.1`` (``-v1.09`` on some discs), were written
by Shorten 1.x, whose streams are version 1. This module decodes both versions
(which lets the tests check it against desphere on version 2); nas.data.audio
sends it version-1 streams and those with block means, which desphere 0.1.1
gets wrong after a BITSHIFT, and leaves the rest to desphere (in Rust, faster).

Sources (facts about the format only; no code was taken from any of them):
T. Robinson, "SHORTEN: Simple lossless and near-lossless waveform compression",
CUED/F-INFENG/TR.156, Cambridge University Engineering Dept., 1994 (blocks,
polynomial and LPC predictors, Rice codes, running mean); the decoders of the
LDC's sph2pipe 2.5 (shorten_x.c), Shorten 3.6 (src/shorten.c, src/shorten.h)
and FFmpeg (libavcodec/shorten.c), read to settle each detail below, on which
they agree, and Shorten's mkbshift.c for the mu-law shift tables.

Stream: ``ajkg``, a version byte, then bits read MSB first.
``uvar(k)``: n zero bits, a one, then k bits b; the value is ``n << k | b``.
``ulong``: ``uvar(uvar(2))``. ``var(k)``: ``uvar(k)`` then un-zig-zagged
(even u -> u >> 1, odd u -> ~(u >> 1)).
Header: sample type, channels, block size, maximum LPC order, number of block
means, number of skip bytes (each a ulong), then the skip bytes (``uvar(7)``).
Then commands (``uvar(2)``), the audio ones taking each channel in turn:
DIFF0..DIFF3 (0..3) and QLPC (7) read an energy e (``uvar(3)``) and code
residuals as ``var(e + 1)``; QLPC also reads an order (``uvar(2)``) and that many
coefficients (``var(6)``, in 1/32). DIFF1..3 predict from polynomials of the
last 1..3 samples, DIFF0 and QLPC from the running mean. ZERO (8) is a silent
block, QUIT (4) ends the stream, BLOCKSIZE (5) sets the block size (ulong),
BITSHIFT (6) the shift (``uvar(2)``) applied to the decoded samples,
VERBATIM (9) carries ``uvar(5)`` bytes (``uvar(8)`` each) that are skipped.
Prediction history runs across blocks (zeros before the first) and stays in
the unshifted domain.

Versions 1 and 2 differ in two things only:

* QLPC rounding: the prediction sum starts at 0 in version 1 and at 32
  (``1 << 5``, half a quantisation step) in version 2.
* The running mean: a block's mean is ``sum / n`` and the offset
  ``sum(means) / nmean`` in version 1, both truncated; version 2 adds ``n/2`` and
  ``nmean/2`` first (rounding), stores each mean shifted up by the current bit
  shift and shifts the offset down by it.

Both carry nmean in the header. The encoders' default differs (0 before
version 2, 4 from it: DEFAULT_V0NMEAN, DEFAULT_V2NMEAN), which is why most
version-1 streams have no mean at all; only version 0, whose header stops after
the channel count, would need that default, and it also coded energies one
smaller. Version 0 is not read here: sph2pipe, the LDC's own reader, accepts
only versions 1 and 2. BITSHIFT is read the same in every version.

Sample types read: 3 and 5 (16-bit PCM, high or low byte first: decoded values
are the same integers either way) and the lossless mu-law types, 0 (what
version-1 encoders write: the two zeros merged) and 8 (version 2's). Mu-law
values are ranks of the G.711 bytes; at bit shift s the ranks number only the
bytes that code multiples of 2**(s + 3), as Shorten's mkbshift builds its
``ulaw_outward`` tables (ulaw_ranks rebuilds them from that rule; they equal
Shorten 3.6's, and desphere's closed form on every rank a stream can hold).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Tuple

import numpy as np

MAGIC = b"ajkg"
VERSIONS = (1, 2)

_FNSIZE, _ENERGYSIZE, _BITSHIFTSIZE, _LPCQSIZE, _XBYTESIZE = 2, 3, 2, 2, 7
_LPCQUANT = 5
_VERBATIM_CKSIZE, _VERBATIM_BYTE = 5, 8
_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3 = 0, 1, 2, 3
_FN_QUIT, _FN_BLOCKSIZE, _FN_BITSHIFT, _FN_QLPC, _FN_ZERO, _FN_VERBATIM = 4, 5, 6, 7, 8, 9
_NWRAP = 3  # history DIFF3 needs

TYPE_AU1, TYPE_S16HL, TYPE_S16LH, TYPE_AU2 = 0, 3, 5, 8
PCM_TYPES = (TYPE_S16HL, TYPE_S16LH)
ULAW_TYPES = (TYPE_AU1, TYPE_AU2)
TYPE_NAMES = {0: "mu-law (type 0)", 1: "signed 8-bit", 2: "unsigned 8-bit", 3: "16-bit PCM high byte first",
              4: "unsigned 16-bit high byte first", 5: "16-bit PCM low byte first",
              6: "unsigned 16-bit low byte first", 7: "lossy mu-law (type 7)", 8: "mu-law (type 8)",
              9: "a-law (type 9)", 10: "lossy a-law (type 10)"}

# Bounds on header fields and codes: far above any real stream, low enough that a corrupt one
# fails with a message instead of exhausting memory.
_MAX_NCHAN, _MAX_BLOCKSIZE, _MAX_LPC, _MAX_NMEAN = 1024, 1 << 20, 64, 1 << 16
_MAX_K, _MAX_SHIFT, _MAX_FRAMES = 32, 32, 1 << 28
_ULAW_SHIFTS = 13  # mu-law shifts 0..12: at 12 only zero and full scale remain


class ShortenError(ValueError):
    """A Shorten stream this module cannot decode; the message says why."""


@dataclass(frozen=True)
class StreamInfo:
    """The fixed part of a stream: its version and header fields."""
    version: int
    ftype: int
    nchan: int
    blocksize: int
    maxnlpc: int
    nmean: int
    nskip: int

    @property
    def type_name(self) -> str:
        return TYPE_NAMES.get(self.ftype, f"type {self.ftype}")


class _Bits:
    """MSB-first bit reader. A window of the stream is unpacked into a numpy array, with where the
    next one bit is from each position, so that a block of Rice codes costs one cheap Python step
    per code (its unary part) plus vector operations; windows bound the memory on long streams."""

    _WINDOW = 1 << 18  # bytes per window

    def __init__(self, data: bytes, byte_pos: int) -> None:
        self.data = data
        self.end = 8 * len(data)
        self.pos = 8 * byte_pos
        self._load(self.pos)

    def _load(self, pos: int) -> None:
        """Unpack the window that starts at pos's byte (positions here are absolute, in bits)."""
        first = pos // 8
        chunk = np.frombuffer(self.data, np.uint8, count=min(self._WINDOW, len(self.data) - first), offset=first)
        bits = np.unpackbits(chunk)
        self.base, self.top = 8 * first, 8 * first + len(bits)
        self.bits = np.concatenate([bits, np.zeros(2 * _MAX_K + 8, np.uint8)])
        n = len(self.bits)
        where_one = np.where(self.bits.astype(bool), np.arange(n) + self.base, self.top)
        self._next_one = memoryview(np.minimum.accumulate(where_one[::-1])[::-1].copy())

    def _fits(self, p: int, k: int) -> bool:
        """Whether the code whose one bit is at p (and its k bits after) lies inside the window."""
        return p + 1 + k <= self.top

    def _ones(self, k: int, n: int) -> List[int]:
        """Positions of the one bits of up to n consecutive uvar(k) codes from self.pos, as many as
        the window holds; reloads the window (or fails at the stream's end) when it holds none."""
        for attempt in range(2):
            nxt, base, step, s, ones = self._next_one, self.base, k + 1, self.pos, []
            while len(ones) < n:
                p = nxt[s - base] if s < self.top else self.top
                if not self._fits(p, k):
                    break
                ones.append(p)
                s = p + step
            if ones or attempt:
                break
            if self.top >= self.end and self.base <= self.pos:
                break
            self._load(self.pos)
        if not ones:
            raise ShortenError("the stream ends inside a code (truncated, or not Shorten data)")
        return ones

    def uvar(self, k: int) -> int:
        p = self._ones(k, 1)[0]
        value = ((p - self.pos) << k) | int(self._low(np.asarray([p]), k)[0])
        self.pos = p + 1 + k
        return value

    def _low(self, p: np.ndarray, k: int) -> np.ndarray:
        """The k bits after each one bit at p, as integers."""
        if k == 0:
            return np.zeros(len(p), np.int64)
        if k > _MAX_K:
            raise ShortenError(f"bad Shorten stream: a {k}-bit field")
        weights = np.left_shift(np.int64(1), np.arange(k - 1, -1, -1, dtype=np.int64))
        return self.bits[p[:, None] - self.base + 1 + np.arange(k)].astype(np.int64) @ weights

    def ulong(self) -> int:
        return self.uvar(self.uvar(2))

    def var(self, k: int) -> int:
        u = self.uvar(k)
        return ~(u >> 1) if u & 1 else u >> 1

    def rice_block(self, k: int, n: int) -> np.ndarray:
        """n values ``var(k)`` in a row, as int64."""
        parts = []
        while n:
            p = np.asarray(self._ones(k, n), dtype=np.int64)
            starts = np.concatenate([[self.pos], p[:-1] + k + 1])
            parts.append(((p - starts) << k) | self._low(p, k))
            self.pos = int(p[-1]) + 1 + k
            n -= len(p)
        u = np.concatenate(parts) if parts else np.zeros(0, np.int64)
        return np.where(u & 1, ~(u >> 1), u >> 1)


def _cdiv(a: int, b: int) -> int:
    """C's integer division (truncates toward zero), as Shorten computes its means."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


def _read_header(bits: _Bits, version: int) -> StreamInfo:
    ftype, nchan, blocksize, maxnlpc, nmean, nskip = (bits.ulong() for _ in range(6))
    info = StreamInfo(version, ftype, nchan, blocksize, maxnlpc, nmean, nskip)
    if ftype not in PCM_TYPES + ULAW_TYPES:
        raise ShortenError(f"Shorten sample type {info.type_name} is not supported "
                           f"(16-bit PCM, types 3 and 5, and mu-law, types 0 and 8, are)")
    if not 1 <= nchan <= _MAX_NCHAN:
        raise ShortenError(f"bad Shorten header: {nchan} channels")
    if not 1 <= blocksize <= _MAX_BLOCKSIZE:
        raise ShortenError(f"bad Shorten header: block size {blocksize}")
    if maxnlpc > _MAX_LPC or nmean > _MAX_NMEAN:
        raise ShortenError(f"bad Shorten header: LPC order {maxnlpc}, {nmean} block means")
    return info


def _open(stream: bytes) -> Tuple[_Bits, int]:
    if len(stream) < 5 or stream[:4] != MAGIC:
        raise ShortenError("not a Shorten stream (no 'ajkg' magic)")
    version = stream[4]
    if version not in VERSIONS:
        raise ShortenError(f"Shorten bitstream version {version} is not supported (versions 1 and 2 are)")
    return _Bits(stream, 5), version


def stream_info(stream: bytes) -> StreamInfo:
    """Version and header fields of a Shorten stream (reads only its first bytes)."""
    bits, version = _open(stream[:512])
    return _read_header(bits, version)


# ------------------------------------------------------------------------------- blocks

def _mean_offset(means: List[int], info: StreamInfo, bitshift: int) -> int:
    """The running-mean offset DIFF0 and QLPC predict from (the initial means are 0 for the
    signed types read here, which is also the offset when nmean is 0)."""
    if info.nmean == 0:
        return 0
    if info.version < 2:
        return _cdiv(sum(means), info.nmean)
    return _cdiv(sum(means) + info.nmean // 2, info.nmean) >> bitshift


def _block_mean(x: np.ndarray, info: StreamInfo, bitshift: int) -> int:
    total, n = int(x.sum()), len(x)
    if info.version < 2:
        return _cdiv(total, n)
    return _cdiv(total + n // 2, n) << bitshift


def _integrate(cmd: int, r: np.ndarray, hist: np.ndarray, offset: int) -> np.ndarray:
    """DIFF0..DIFF3: residuals plus the mean, or integrated once, twice or three times."""
    if cmd == _FN_DIFF0:
        return r + offset
    h1, h2, h3 = (int(v) for v in hist[-1:-4:-1])
    if cmd == _FN_DIFF1:
        return h1 + np.cumsum(r)
    if cmd == _FN_DIFF2:
        return h1 + np.cumsum((h1 - h2) + np.cumsum(r))
    return h1 + np.cumsum((h1 - h2) + np.cumsum((h1 - 2 * h2 + h3) + np.cumsum(r)))


def _qlpc(r: np.ndarray, coefs: List[int], hist: np.ndarray, offset: int, version: int) -> np.ndarray:
    """QLPC: each sample predicted from the previous ones, all less the running mean (a recursion,
    so a Python loop; Shorten writes these only when asked to, with -p)."""
    base = (1 << _LPCQUANT) if version >= 2 else 0
    order = len(coefs)
    buf = [int(v) - offset for v in hist[len(hist) - order:]] if order else []
    for res in r.tolist():
        acc = base
        for j in range(order):
            acc += coefs[j] * buf[-1 - j]
        buf.append(res + (acc >> _LPCQUANT))
    return np.asarray(buf[order:], dtype=np.int64) + offset


def _audio_block(bits: _Bits, cmd: int, n: int, hist: np.ndarray, offset: int,
                 info: StreamInfo) -> np.ndarray:
    if cmd == _FN_ZERO:
        return np.zeros(n, np.int64)
    k = bits.uvar(_ENERGYSIZE) + 1
    if k > _MAX_K:
        raise ShortenError(f"bad Shorten block: Rice parameter {k}")
    if cmd == _FN_QLPC:
        order = bits.uvar(_LPCQSIZE)
        if order > len(hist):
            raise ShortenError(f"bad Shorten block: LPC order {order} above the header's {info.maxnlpc}")
        coefs = [bits.var(_LPCQUANT + 1) for _ in range(order)]
        return _qlpc(bits.rice_block(k, n), coefs, hist, offset, info.version)
    return _integrate(cmd, bits.rice_block(k, n), hist, offset)


# ------------------------------------------------------------------------------- output

def _g711_code(x: int) -> int:
    """ITU-T G.711 mu-law byte of a 16-bit linear sample (what Shorten's tables are built on)."""
    sign = 0x80 if x < 0 else 0
    mag = min(abs(x), 32635) + 0x84
    seg = (mag >> 7).bit_length() - 1
    return ~(sign | (seg << 4) | ((mag >> (seg + 3)) & 0xF)) & 0xFF


def g711_linear(codes: np.ndarray) -> np.ndarray:
    """ITU-T G.711 mu-law bytes -> 16-bit linear samples."""
    u = ~codes.astype(np.int64) & 0xFF
    seg, mant = (u >> 4) & 7, u & 15
    mag = (((mant << 3) + 0x84) << seg) - 0x84
    return np.where(u & 0x80, -mag, mag).astype(np.int16)


@lru_cache(maxsize=None)
def _max_shifts() -> Tuple[int, ...]:
    """Per mu-law byte, the largest shift s (0..12) such that the byte codes a multiple of
    2**(s + 3): a block takes shift s only if all its bytes allow it."""
    tab = [0] * 256
    for s in range(_ULAW_SHIFTS):
        for x in range(-32768, 32768, 1 << (s + 3)):
            tab[_g711_code(x)] = s
    return tuple(tab)


@lru_cache(maxsize=None)
def ulaw_ranks(shift: int) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    """Shorten's mu-law ranks at a bit shift: (byte of rank r at index r + 128, rank of each byte).

    Positive bytes the shift allows, from 0xFF (zero) up in magnitude, take ranks 0, 1, ...;
    negative ones from 0x7E take -1, -2, ..., then 0x7F (negative zero), then the bytes the
    shift does not allow, in the same order (never used, but the map is a bijection)."""
    tab, rank = _max_shifts(), {}
    pos = [b for b in range(255, 127, -1) if tab[b] >= shift] + \
          [b for b in range(255, 127, -1) if tab[b] < shift]
    neg = [b for b in range(126, -1, -1) if tab[b] >= shift] + [127] + \
          [b for b in range(126, -1, -1) if tab[b] < shift]
    rank.update({b: r for r, b in enumerate(pos)})
    rank.update({b: -1 - r for r, b in enumerate(neg)})
    byte = [0] * 256
    for b, r in rank.items():
        byte[r + 128] = b
    return tuple(byte), tuple(rank[b] for b in range(256))


def _ulaw_linear(ranks: np.ndarray, ftype: int, bitshift: int) -> np.ndarray:
    """Decoded mu-law ranks -> 16-bit linear samples. Type 8 keeps rank -1 for 0x7F (negative
    zero) and moves the other negative ranks down by one; type 0 has no negative zero."""
    if bitshift >= _ULAW_SHIFTS:
        raise ShortenError(f"bad Shorten mu-law stream: bit shift {bitshift}")
    idx = ranks + 128
    if ftype == TYPE_AU2:
        idx = np.where(ranks < -1, idx + 1, idx)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) > 255):
        raise ShortenError("bad Shorten mu-law block: a value outside the 8-bit range")
    codes = np.asarray(ulaw_ranks(bitshift)[0], dtype=np.uint8)[idx]
    if ftype == TYPE_AU2:
        codes = np.where(ranks == -1, np.uint8(0x7F), codes)
    return g711_linear(codes)


def _to_linear(x: np.ndarray, ftype: int, bitshift: int) -> np.ndarray:
    if ftype in ULAW_TYPES:
        return _ulaw_linear(x, ftype, bitshift)
    return np.clip(x << bitshift, -32768, 32767).astype(np.int16)


# ------------------------------------------------------------------------------- stream

def decode(stream: bytes, max_frames: Optional[int] = None,
           first: Optional[int] = None) -> Tuple[np.ndarray, StreamInfo]:
    """Decode a whole Shorten stream (version 1 or 2) -> (int16 samples (n, nchan), StreamInfo).

    Mu-law comes back G.711-expanded. Channels are cut to the shortest; decoding stops with an
    error past `max_frames` per channel (a corrupt stream of ZERO blocks is otherwise endless).
    With `first`, decoding stops once every channel has that many samples: a probe of the
    stream's start (its header, coding and first blocks) in milliseconds.
    """
    bits, version = _open(stream)
    info = _read_header(bits, version)
    for _ in range(info.nskip):
        bits.uvar(_XBYTESIZE)
    limit = _MAX_FRAMES if max_frames is None else max_frames
    nwrap = max(_NWRAP, info.maxnlpc)
    hist = [np.zeros(nwrap, np.int64) for _ in range(info.nchan)]
    means: List[List[int]] = [[0] * info.nmean for _ in range(info.nchan)]
    out: List[List[np.ndarray]] = [[] for _ in range(info.nchan)]
    done = [0] * info.nchan
    blocksize, bitshift, chan = info.blocksize, 0, 0
    while True:
        cmd = bits.uvar(_FNSIZE)
        if cmd == _FN_QUIT:
            break
        if cmd == _FN_BLOCKSIZE:
            blocksize = bits.ulong()
            if not 1 <= blocksize <= _MAX_BLOCKSIZE:
                raise ShortenError(f"bad Shorten stream: block size {blocksize}")
        elif cmd == _FN_BITSHIFT:
            bitshift = bits.uvar(_BITSHIFTSIZE)
            if bitshift > _MAX_SHIFT:
                raise ShortenError(f"bad Shorten stream: bit shift {bitshift}")
        elif cmd == _FN_VERBATIM:
            for _ in range(bits.uvar(_VERBATIM_CKSIZE)):
                bits.uvar(_VERBATIM_BYTE)
        elif cmd in (_FN_DIFF0, _FN_DIFF1, _FN_DIFF2, _FN_DIFF3, _FN_QLPC, _FN_ZERO):
            offset = _mean_offset(means[chan], info, bitshift)
            x = _audio_block(bits, cmd, blocksize, hist[chan], offset, info)
            if x.size and int(np.abs(x).max()) >= 1 << 31:
                raise ShortenError("bad Shorten stream: decoded values out of range")
            if info.nmean:
                means[chan] = means[chan][1:] + [_block_mean(x, info, bitshift)]
            hist[chan] = np.concatenate([hist[chan], x])[-nwrap:]
            out[chan].append(_to_linear(x, info.ftype, bitshift))
            done[chan] += len(x)
            if done[chan] > limit:
                raise ShortenError(f"Shorten stream runs past {limit} samples per channel")
            chan = (chan + 1) % info.nchan
            if first is not None and min(done) >= first:
                break
        else:
            raise ShortenError(f"bad Shorten stream: unknown command {cmd}")
    n = min(done)
    frames = np.empty((n, info.nchan), np.int16)
    for c, blocks in enumerate(out):
        frames[:, c] = np.concatenate(blocks)[:n] if blocks else np.zeros(0, np.int16)
    return frames, info
