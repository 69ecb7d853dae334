"""Audio input: wav, flac, plain and Shorten SPHERE, pipes, channels, segments, our sph2pipe."""
import io
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import script_env
from nas.data.audio import AudioError, cut_segment, load_utterance, read_audio, select_channel
from sphere_fixtures import write_sphere


def signal(n, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None]
    x = 3000 * np.sin(2 * np.pi * t * (0.01 + 0.01 * np.arange(channels))) + rng.normal(0, 300, (n, channels))
    return np.clip(x, -32768, 32767).astype(np.int16)


@pytest.mark.parametrize("rate", [8000, 16000])
@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_wav_flac(tmp_path, rate, fmt):
    x = signal(rate // 2)
    p = tmp_path / f"a.{fmt}"
    soundfile.write(p, x, rate, subtype="PCM_16")
    y, r = read_audio(str(p))
    assert r == rate and y.dtype == np.float32 and y.shape == (len(x), 1)
    np.testing.assert_array_equal(y[:, 0], x[:, 0])


@pytest.mark.parametrize("shorten", [False, True])
@pytest.mark.parametrize("rate", [8000, 16000])
def test_sphere_two_channels(tmp_path, shorten, rate):
    x = signal(3001, channels=2)
    p = tmp_path / "a.sph"
    write_sphere(p, x, rate, shorten=shorten)
    y, r = read_audio(str(p))
    assert r == rate
    np.testing.assert_array_equal(y, x.astype(np.float32))
    with pytest.raises(AudioError, match="2 channels"):
        select_channel(y, -1, "utt1")
    np.testing.assert_array_equal(select_channel(y, 1, "utt1"), x[:, 1])
    with pytest.raises(AudioError, match="channel 2 requested"):
        select_channel(y, 2, "utt1")


def test_sph2pipe_pipe_channel_and_time(tmp_path, monkeypatch):
    """A Switchboard-style entry: `sph2pipe -f wav -p -c 2 file.sph |`, through our sph2pipe."""
    monkeypatch.setenv("PATH", script_env()["PATH"])
    x = signal(8000, channels=2)
    p = tmp_path / "sw0001.sph"
    write_sphere(p, x, 8000, shorten=True)
    y, r = read_audio(f"sph2pipe -f wav -p -c 2 {p} |")
    assert r == 8000 and y.shape == (8000, 1)
    np.testing.assert_array_equal(y[:, 0], x[:, 1])
    y, _ = read_audio(f"sph2pipe -f wav -p -c 1 -t 0.25:0.5 {p} |")
    np.testing.assert_array_equal(y[:, 0], x[2000:4000, 0])


def test_pipe_with_sox_and_failures(tmp_path):
    x = signal(16000)
    p = tmp_path / "a.wav"
    soundfile.write(p, x, 16000, subtype="PCM_16")
    y, r = read_audio(f"sox {p} -t wav -r 8000 - |")
    assert r == 8000 and abs(len(y) - 8000) <= 1
    with pytest.raises(AudioError, match="command failed .*gone.wav"):
        read_audio(f"cat {tmp_path / 'gone.wav'} | sox -t wav - -t wav - |")
    with pytest.raises(AudioError, match="no such file"):
        read_audio(str(tmp_path / "gone.wav"))
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(AudioError, match="cannot decode audio"):
        read_audio(str(bad))


def test_segments_cut():
    x = np.arange(16000 * 3, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(cut_segment(x, 16000, 1.0, 1.5, "u"), x[16000:24000])
    assert len(cut_segment(x, 16000, 2.5, 3.2, "u")) == 8000  # small overshoot is clamped
    with pytest.raises(AudioError, match="past the recording's end"):
        cut_segment(x, 16000, 1.0, 4.0, "u")
    with pytest.raises(AudioError, match="invalid segment"):
        cut_segment(x, 16000, 2.0, 1.0, "u")


def test_load_utterance_segment(tmp_path):
    x = signal(16000, channels=2)
    p = tmp_path / "a.sph"
    write_sphere(p, x, 8000, shorten=True)
    y, r = load_utterance(str(p), channel=0, segment=(0.5, 1.0), what="utt")
    np.testing.assert_array_equal(y, x[4000:8000, 0])
