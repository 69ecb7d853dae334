"""Shorten SPHERE as LDC discs carry it: embedded-shorten-v1.09 / -v1.1 / -v2.00 headers, pcm
(both byte orders) and ulaw, bitstream versions 1 and 2; read by nas.data.audio (our decoder
for version 1, desphere for most of version 2) and by our sph2pipe."""
import io
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile
from desphere import g711, transcode_bytes

from conftest import script_env
from ldc_fixtures import ulaw_encode
from nas.bin import sph2pipe
from nas.data import shorten
from nas.data.audio import AudioError, read_audio
from sphere_fixtures import _ULAW_MAX_SHIFT, shorten_encode, sphere_header, write_sphere

LDC_CODINGS = ["embedded-shorten-v1.09", "embedded-shorten-v1.1", "embedded-shorten-v2.00"]
ULAW_LINEAR = np.asarray(g711.ULAW_TABLE, dtype=np.int16)  # desphere's G.711 table


def speech_like(n: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """int16 (n, channels): tones, noise, a DC offset (for the running mean), a stretch whose low
    bits are zero (BITSHIFT) and a silent one (ZERO)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    x = (4000 * np.sin(2 * np.pi * t * (0.011 + 0.007 * np.arange(channels))) + rng.normal(0, 250, (n, channels))
         + 1200 * (np.arange(channels) - 0.5))
    x = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    a, b = n // 5, 2 * n // 5
    x[a:b] = x[a:b] // 8 * 8
    x[b:b + n // 10] = 0
    return x


def write_ldc(path: Path, x: np.ndarray, coding: str, version: int, byte_order: str = "01",
              ulaw: bool = False, **kw) -> Path:
    """A SPHERE file as the LDC's: `sample_coding -s26 <coding>` whatever its length (WSJ's
    'pcm,embedded-shorten-v1.1' is 25 characters)."""
    write_sphere(path, x, 16000 if not ulaw else 8000, shorten=True, byte_order=byte_order,
                 coding=coding, ulaw=ulaw, version=version, **kw)
    data = path.read_bytes()
    line = f"sample_coding -s{len(coding)} {coding}\n".encode()
    assert line in data[:1024]
    path.write_bytes(data.replace(line, f"sample_coding -s26 {coding}\n".encode(), 1))
    return path


# ------------------------------------------------------------------ the reader, all LDC codings

@pytest.mark.parametrize("nmean", [0, 4])  # version 2: desphere decodes nmean 0, ours the rest
@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("byte_order", ["01", "10"])
@pytest.mark.parametrize("compression", LDC_CODINGS)
def test_pcm_every_ldc_coding(tmp_path, compression, byte_order, version, nmean):
    x = speech_like(2000, channels=2, seed=version)
    p = write_ldc(tmp_path / "4k0c0301.wv1", x, f"pcm,{compression}", version, byte_order, bitshift=True,
                  nmean=nmean)
    assert p.read_bytes()[1024:1029] == b"ajkg" + bytes([version])
    y, rate = read_audio(str(p))
    assert rate == 16000
    np.testing.assert_array_equal(y, x.astype(np.float32))


@pytest.mark.parametrize("ulaw", [False, True])
@pytest.mark.parametrize("version", [1, 2])
def test_probe_decodes_only_the_start(tmp_path, version, ulaw):
    """read_audio(first=N), stage 0's probe of a disc: the first N samples of the full decode, from a
    decoder that stopped early (at the block that reaches N)."""
    x = speech_like(20000, channels=2, seed=7)
    x = ulaw_encode(x) if ulaw else x
    p = write_ldc(tmp_path / "sw02001.sph", x, f"{'ulaw' if ulaw else 'pcm'},embedded-shorten-v2.00", version,
                  ulaw=ulaw, blocksize=256)
    full, _ = read_audio(str(p))
    head, rate = read_audio(str(p), first=400)
    np.testing.assert_array_equal(head, full[:400])
    stream = p.read_bytes()[1024:]
    frames, _ = shorten.decode(stream, first=400)
    assert 400 <= len(frames) <= 400 + 256 < len(full)


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("byte_order", ["01", "10", "1"])
@pytest.mark.parametrize("compression", LDC_CODINGS)
def test_ulaw_every_ldc_coding(tmp_path, compression, byte_order, version):
    """Mu-law Shorten (type 0 in version 1, 8 in version 2) reads as the same file uncompressed."""
    codes = ulaw_encode(speech_like(2000, channels=2, seed=3 + version))
    codes[100:130, 0] = 0x7F  # negative zero
    p = write_ldc(tmp_path / "sw02001.sph", codes, f"ulaw,{compression}", version, byte_order, ulaw=True,
                  bitshift=True)
    plain = tmp_path / "plain.sph"
    write_sphere(plain, codes, 8000, ulaw=True, byte_order=byte_order)
    y, rate = read_audio(str(p))
    assert rate == 8000
    np.testing.assert_array_equal(y, read_audio(str(plain))[0])
    np.testing.assert_array_equal(y, ULAW_LINEAR[codes].astype(np.float32))


@pytest.mark.parametrize("version", [1, 2])
def test_sph2pipe_reads_v1_and_v2(tmp_path, monkeypatch, capsysbinary, version):
    """WSJ's wav.scp entries: `sph2pipe -f wav -p file.wv1 |`, and our sph2pipe called directly."""
    monkeypatch.setenv("PATH", script_env()["PATH"])
    x = speech_like(4000, seed=7)
    p = write_ldc(tmp_path / "011c0201.wv1", x, "pcm,embedded-shorten-v1.1", version, "10")
    y, _ = read_audio(f"sph2pipe -f wav -p {p} |")
    np.testing.assert_array_equal(y[:, 0], x[:, 0])
    assert sph2pipe.main(["-f", "raw", "-s", "100:300", str(p)]) == 0
    np.testing.assert_array_equal(np.frombuffer(capsysbinary.readouterr().out, "<i2"), x[100:300, 0])


def test_v2_means_after_a_bitshift(tmp_path):
    """Version 2 keeps block means scaled by BITSHIFT (Shorten, sph2pipe, FFmpeg); desphere 0.1.1
    does not, so such streams must be decoded by ours."""
    x = speech_like(3000, channels=2, seed=11)
    p = write_ldc(tmp_path / "a.wv1", x, "pcm,embedded-shorten-v2.00", 2, nmean=4, predictor=0, bitshift=True)
    np.testing.assert_array_equal(read_audio(str(p))[0], x.astype(np.float32))


# ----------------------------------------------------------------------------------- errors

@pytest.mark.parametrize("coding", ["pcm,embedded-shorten-v3.00", "alaw,embedded-shorten-v1.09",
                                    "pcm,embedded-wavpack-v1.0", "pcm-2,embedded-shorten-v2.00"])
def test_unsupported_coding_names_file_and_coding(tmp_path, coding):
    p = write_ldc(tmp_path / "odd.sph", speech_like(300), coding, 2)
    with pytest.raises(AudioError) as e:
        read_audio(str(p))
    assert str(p) in str(e.value) and coding in str(e.value)
    assert sph2pipe.main([str(p)]) == 1


def test_bad_streams_name_the_file(tmp_path, capsys):
    x = speech_like(600)
    good = write_ldc(tmp_path / "good.wv1", x, "pcm,embedded-shorten-v1.1", 1).read_bytes()
    cases = {
        "version0": (good[:1028] + b"\x00" + good[1029:], "bitstream version 0"),
        "version3": (good[:1028] + b"\x03" + good[1029:], "bitstream version 3"),
        "magic": (good[:1024] + b"xjkg" + good[1028:], "no 'ajkg' magic"),
        "truncated": (good[:1024 + (len(good) - 1024) // 2], "ends inside"),
    }
    for name, (data, reason) in cases.items():
        p = tmp_path / f"{name}.wv1"
        p.write_bytes(data)
        with pytest.raises(AudioError, match=reason) as e:
            read_audio(str(p))
        assert str(p) in str(e.value) and "pcm,embedded-shorten-v1.1" in str(e.value)
    ulaw_in_pcm = tmp_path / "mislabelled.sph"
    write_ldc(ulaw_in_pcm, ulaw_encode(x), "pcm,embedded-shorten-v2.00", 2, ulaw=True)
    with pytest.raises(AudioError, match=r"mislabelled.sph.*holds mu-law \(type 8\), not pcm"):
        read_audio(str(ulaw_in_pcm))
    assert sph2pipe.main([str(tmp_path / "version3.wv1")]) == 1
    assert "version3.wv1" in capsys.readouterr().err


# ------------------------------------------------------------------------ the decoder itself

ENCODINGS = [dict(), dict(nmean=0), dict(nmean=4, predictor=0), dict(predictor=3, nmean=0),
             dict(lpc_order=1), dict(lpc_order=3, nmean=4), dict(bitshift=True),
             dict(bitshift=True, lpc_order=2, nmean=0), dict(bitshift=True, nmean=4, predictor=0),
             dict(blocksize=37, nmean=8, lpc_order=2), dict(blocksize=1, nmean=2)]


@pytest.mark.parametrize("version", [1, 2])
@pytest.mark.parametrize("kw", ENCODINGS, ids=[",".join(f"{k}={v}" for k, v in kw.items()) or "default"
                                              for kw in ENCODINGS])
def test_decode_bit_exact(version, kw):
    x = speech_like(1500, channels=2, seed=len(kw))
    stream = shorten_encode(x, "10" if version == 1 else "01", version=version, **kw)
    y, info = shorten.decode(stream)
    assert (info.version, info.nchan) == (version, 2)
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("window", [16, 64, 1000])
def test_decode_across_windows(monkeypatch, window):
    """The reader unpacks the stream a window at a time; codes and blocks straddle windows."""
    monkeypatch.setattr(shorten._Bits, "_WINDOW", window)
    x = speech_like(3000, channels=2, seed=window)
    for kw in (dict(), dict(lpc_order=2, bitshift=True, blocksize=50)):
        np.testing.assert_array_equal(shorten.decode(shorten_encode(x, version=1, **kw))[0], x)
    codes = ulaw_encode(x)
    np.testing.assert_array_equal(shorten.decode(shorten_encode(codes, version=2, ulaw=True, bitshift=True))[0],
                                  ULAW_LINEAR[codes])


@pytest.mark.parametrize("kw", [k for k in ENCODINGS if not (k.get("bitshift") and k.get("nmean", 4))],
                         ids=lambda kw: ",".join(f"{k}={v}" for k, v in kw.items()) or "default")
def test_version2_agrees_with_desphere(kw):
    """An independent decoder on version 2 (where desphere is right: no means after a shift)."""
    x = speech_like(1500, channels=2, seed=5)
    stream = shorten_encode(x, version=2, **kw)
    header = sphere_header(len(x), 16000, 2, shorten=True)
    theirs, _ = soundfile.read(io.BytesIO(transcode_bytes(header + stream)), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(shorten.decode(stream)[0], theirs)


@pytest.mark.parametrize("kw", [dict(nmean=4, predictor=0), dict(lpc_order=2, nmean=0)])
def test_version_byte_matters(kw):
    """Version 1's means and QLPC sums differ from version 2's: the same stream labelled 2 decodes
    to something else, so the tests above exercise the version-1 rules."""
    x = speech_like(1500, seed=2) + 7
    stream = shorten_encode(x, version=1, **kw)
    np.testing.assert_array_equal(shorten.decode(stream)[0], x)
    assert not np.array_equal(shorten.decode(stream[:4] + b"\x02" + stream[5:])[0], x)


def test_ulaw_tables():
    """Rank tables rebuilt from Shorten's mkbshift rule: spot values of its ulaw_outward rows,
    bijections, and the G.711 expansion equal to desphere's table."""
    row0 = shorten.ulaw_ranks(0)[0]
    assert row0 == tuple([127] + list(range(127)) + list(range(255, 127, -1)))
    row1, row2 = shorten.ulaw_ranks(1)[0], shorten.ulaw_ranks(2)[0]
    assert row1[:10] == (112, 114, 116, 118, 120, 122, 124, 126, 127, 0)
    assert row1[128:137] == (255, 253, 251, 249, 247, 245, 243, 241, 239)
    assert row2[:12] == (96, 98, 100, 102, 104, 106, 108, 110, 112, 113, 114, 116)
    for s in range(13):
        byte, rank = shorten.ulaw_ranks(s)
        assert sorted(byte) == list(range(256)) and all(byte[rank[b] + 128] == b for b in range(256))
    codes = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(shorten.g711_linear(codes), ULAW_LINEAR)


@pytest.mark.parametrize("version", [1, 2])
def test_ulaw_decode_with_shifts(version):
    """Coarse stretches take mu-law bit shifts; every rank must map back to its byte."""
    rng = np.random.default_rng(version)
    codes = ulaw_encode((rng.normal(0, 40, (2000, 1)) * np.linspace(0.2, 30, 2000)[:, None]).astype(np.int16))
    codes[:512] = ulaw_encode(np.repeat(np.arange(-1024, 1024, 64), 16)[:, None].astype(np.int16))
    assert _ULAW_MAX_SHIFT[codes[:512]].min() >= 3  # so the first blocks are shifted
    stream = shorten_encode(codes, version=version, ulaw=True, bitshift=True, blocksize=64)
    y, info = shorten.decode(stream)
    assert info.ftype == (8 if version == 2 else 0)
    np.testing.assert_array_equal(y, ULAW_LINEAR[codes])


# ---------------------------------------------------- optional: FFmpeg as an independent oracle

def _ffmpeg_with_shorten():
    exe = shutil.which("ffmpeg")
    if exe is None:
        return None
    out = subprocess.run([exe, "-hide_banner", "-decoders"], capture_output=True, text=True).stdout
    return exe if " shorten " in out else None


@pytest.mark.skipif(_ffmpeg_with_shorten() is None, reason="no ffmpeg with a Shorten decoder on PATH")
@pytest.mark.parametrize("version", [1, 2])
def test_ffmpeg_decodes_our_streams(version):
    """FFmpeg's decoder (it wants a .shn's RIFF header in a VERBATIM chunk) reads what our
    encoder writes, in both versions, as the original samples and as our decoder does."""
    x = speech_like(3000, channels=2, seed=13)
    riff = (b"RIFF" + struct.pack("<I", 36 + x.nbytes) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 2, 16000, 64000, 4, 16) + b"data" + struct.pack("<I", x.nbytes))
    for kw in ENCODINGS:
        stream = shorten_encode(x, version=version, verbatim=riff, **kw)
        proc = subprocess.run([_ffmpeg_with_shorten(), "-v", "error", "-f", "shn", "-i", "-", "-f", "s16le", "-"],
                              input=stream, capture_output=True, check=True)
        np.testing.assert_array_equal(np.frombuffer(proc.stdout, "<i2").reshape(-1, 2)[:len(x)], x, err_msg=str(kw))
        np.testing.assert_array_equal(shorten.decode(stream)[0], x)
