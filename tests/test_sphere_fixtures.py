"""Round-trip tests for the SPHERE / Shorten fixture writer in sphere_fixtures.py.

Every file written is read back by desphere (SPHERE -> WAV, then soundfile) and,
for plain PCM, also by libsndfile directly; the samples must come back exactly.
"""
from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from desphere import read_sphere, transcode_bytes

from sphere_fixtures import (SHORTEN_CODING, read_sphere_samples, shorten_encode,
                             sphere_header, write_sphere)

BLOCK = 256  # write_sphere's default Shorten blocksize


def make_signal(kind: str, n: int, channels: int, rate: int, seed: int = 0) -> np.ndarray:
    """int16 test signal of shape (n,) for mono, (n, channels) otherwise."""
    t = np.arange(n) / rate
    if kind == "random":
        x = np.random.default_rng(seed).integers(-32768, 32768, size=(n, channels))
    elif kind == "sine":
        cols = [12000 * np.sin(2 * np.pi * (440.0 + 110.0 * c) * t + 0.3 * c) + 150 * c
                for c in range(channels)]
        x = np.rint(np.stack(cols, axis=1))
    else:
        raise ValueError(kind)
    x = x.astype(np.int16)
    return x[:, 0] if channels == 1 else x


def frames(x: np.ndarray) -> np.ndarray:
    return x[:, None] if x.ndim == 1 else x


def via_desphere(path):
    """(samples (n, ch) int16, rate, header) decoded by desphere's public API."""
    header, _ = read_sphere(path)
    with open(path, "rb") as f:
        wav = transcode_bytes(f.read())
    data, rate = sf.read(io.BytesIO(wav), dtype="int16", always_2d=True)
    return data, rate, header


GRID = [(kind, ch, n, rate)
        for kind in ("random", "sine")
        for ch in (1, 2)
        for n in (3 * BLOCK, 3 * BLOCK + 77)
        for rate in (8000, 16000)]


def _id(p):
    kind, ch, n, rate = p
    return f"{kind}-{ch}ch-n{n}-{rate // 1000}k"


@pytest.mark.parametrize("byte_order", ["01", "10"])
@pytest.mark.parametrize("params", GRID, ids=[_id(p) for p in GRID])
def test_pcm_round_trip(tmp_path, params, byte_order):
    kind, ch, n, rate = params
    x = make_signal(kind, n, ch, rate)
    path = tmp_path / "a.sph"
    write_sphere(path, x, rate, byte_order=byte_order)

    raw = path.read_bytes()
    assert raw.startswith(b"NIST_1A\n   1024\n")
    assert len(raw) == 1024 + n * ch * 2

    got, got_rate, header = via_desphere(path)
    assert (header.sample_count, header.sample_rate, header.channel_count) == (n, rate, ch)
    assert header.sample_byte_format == byte_order
    assert header.sample_coding == "pcm"
    assert got_rate == rate
    np.testing.assert_array_equal(got, frames(x))

    direct, direct_rate = sf.read(str(path), dtype="int16", always_2d=True)
    assert direct_rate == rate
    np.testing.assert_array_equal(direct, frames(x))


@pytest.mark.parametrize("byte_order", ["01", "10"])
@pytest.mark.parametrize("params", GRID, ids=[_id(p) for p in GRID])
def test_shorten_round_trip(tmp_path, params, byte_order):
    kind, ch, n, rate = params
    x = make_signal(kind, n, ch, rate, seed=1)
    path = tmp_path / "a.sph"
    write_sphere(path, x, rate, shorten=True, byte_order=byte_order)

    raw = path.read_bytes()
    assert raw[1024:1029] == b"ajkg\x02"

    got, got_rate, header = via_desphere(path)
    assert header.sample_coding == SHORTEN_CODING
    assert (header.sample_count, header.sample_rate, header.channel_count) == (n, rate, ch)
    assert header.sample_byte_format == byte_order
    assert got_rate == rate
    np.testing.assert_array_equal(got, frames(x))


@pytest.mark.parametrize("nmean", [0, 4])
@pytest.mark.parametrize("predictor", [0, 1, 2, 3])
@pytest.mark.parametrize("ch", [1, 2])
def test_shorten_each_predictor(tmp_path, predictor, nmean, ch):
    """Forcing one DIFF command for all blocks exercises each predictor (and DIFF0's running mean)."""
    x = frames(make_signal("sine", 5 * 64 + 13, ch, 8000)).astype(np.int32)
    x = (x // 4 + np.array([3000, -2500][:ch])).astype(np.int16)  # DC offset for DIFF0's mean
    path = tmp_path / "p.sph"
    write_sphere(path, x, 8000, shorten=True, blocksize=64, nmean=nmean, predictor=predictor)
    np.testing.assert_array_equal(read_sphere_samples(path)[0], x)


@pytest.mark.parametrize("n", [0, 1, 2, 3, 100, BLOCK - 1, BLOCK, BLOCK + 1])
def test_shorten_short_and_edge_lengths(tmp_path, n):
    x = make_signal("random", n, 2, 16000, seed=n)
    path = tmp_path / "e.sph"
    write_sphere(path, x, 16000, shorten=True)
    got, _, header = via_desphere(path)
    assert header.sample_count == n
    np.testing.assert_array_equal(got, x)


@pytest.mark.parametrize("blocksize", [1, 7, 1000])
def test_shorten_extreme_values_and_blocksizes(tmp_path, blocksize):
    """Full-scale square wave and clipped noise: the largest residuals DIFF3 can produce."""
    n = 900
    square = np.where(np.arange(n) % 2, 32767, -32768)
    rng = np.random.default_rng(blocksize)
    noise = rng.choice(np.array([-32768, 32767, 0]), size=n)
    x = np.stack([square, noise], axis=1).astype(np.int16)
    for predictor in (None, 3):
        path = tmp_path / f"x{predictor}.sph"
        write_sphere(path, x, 8000, shorten=True, byte_order="10", blocksize=blocksize,
                     predictor=predictor)
        np.testing.assert_array_equal(read_sphere_samples(path)[0], x)


def test_shorten_compresses_smooth_signal(tmp_path):
    rate = 16000
    x = make_signal("sine", rate, 1, rate)
    pcm, shn = tmp_path / "pcm.sph", tmp_path / "shn.sph"
    write_sphere(pcm, x, rate)
    write_sphere(shn, x, rate, shorten=True)
    pcm_size, shn_size = pcm.stat().st_size, shn.stat().st_size
    assert shn_size < pcm_size
    assert shn_size - 1024 < 0.6 * (pcm_size - 1024), (shn_size, pcm_size)
    np.testing.assert_array_equal(read_sphere_samples(shn)[0][:, 0], x)


def test_shorten_stream_header_bits():
    """Pin the bit-level stream header: ulong(v) = uvar(bit_length, 2) then uvar(v, bit_length)."""
    def bits_of(stream: bytes, nbits: int) -> str:
        return "".join(f"{b:08b}" for b in stream)[:nbits]

    expected = ("111" "1101"          # ftype 5 (16-bit, low byte first)
                "101" "11"            # nchan 1
                "00101" "1100000000"  # blocksize 256
                "100" "1"             # maxnlpc 0
                "111" "1100"          # nmean 4
                "100" "1")            # nskip 0
    stream = shorten_encode(np.zeros(10, np.int16))
    assert stream[:5] == b"ajkg\x02"
    assert bits_of(stream[5:], len(expected)) == expected
    big = shorten_encode(np.zeros(10, np.int16), byte_order="10")
    assert bits_of(big[5:], 6) == "110" "111"  # ftype 3 (16-bit, high byte first)


def test_header_layout_and_extra_fields(tmp_path):
    head = sphere_header(10, 8000, 1, shorten=True, byte_order="10",
                         extra_fields={"database_id": "wsj1", "utterance_id": "4k0c0301",
                                       "speaking_mode": "read", "recording_date": "01-Jan-1993",
                                       "sample_max": 123, "speed": 1.5})
    assert len(head) == 1024
    text = head.decode("ascii")
    assert text.startswith("NIST_1A\n   1024\n")
    assert "sample_coding -s26 pcm,embedded-shorten-v2.00\n" in text
    assert "sample_byte_format -s2 10\n" in text
    assert "database_id -s4 wsj1\n" in text
    assert text.rstrip(" ").endswith("end_head\n")

    path = tmp_path / "h.sph"
    write_sphere(path, np.arange(10, dtype=np.int16), 8000,
                 extra_fields={"utterance_id": "4k0c0301", "sample_max": 9})
    header, _ = read_sphere(path)
    assert header.get("utterance_id") == "4k0c0301"
    assert header.get("sample_max") == 9


def test_input_validation(tmp_path):
    path = tmp_path / "bad.sph"
    with pytest.raises(TypeError):
        write_sphere(path, np.zeros(4), 8000)
    with pytest.raises(ValueError):
        write_sphere(path, np.array([40000, 0]), 8000)
    with pytest.raises(ValueError):
        write_sphere(path, np.zeros(4, np.int16), 8000, byte_order="little")
    with pytest.raises(ValueError):
        write_sphere(path, np.zeros((2, 2, 2), np.int16), 8000)
    with pytest.raises(ValueError):
        sphere_header(1, 8000, 1, extra_fields={"sample_rate": 16000})
    # int32 values inside the int16 range are accepted
    write_sphere(path, np.array([1, -2, 3], np.int32), 8000, shorten=True)
    np.testing.assert_array_equal(read_sphere_samples(path)[0][:, 0], [1, -2, 3])
