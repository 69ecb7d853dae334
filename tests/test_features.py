"""Fbank, option files, CMVN statistics, deltas and the feature pipeline."""
from pathlib import Path

import kaldi_native_fbank as knf
import kaldiio
import numpy as np
import pytest
import soundfile

from conftest import make_data_dir
from nas.features.cmvn import accumulate, apply_cmvn
from nas.features.fbank import FbankConfig, compute_fbank, num_frames
from nas.features.kaldi_options import OptionError, parse_option, read_option_file
from nas.features.pipeline import FeaturePipeline, FeatureReader


def speechlike(n, rate=16000, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = 4000 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t)) + rng.normal(0, 200, n)
    return np.clip(x, -32768, 32767).astype(np.int16)


def conf(tmp_path, *lines):
    p = tmp_path / "fbank.conf"
    p.write_text("\n".join(lines) + "\n")
    return p


def test_fbank_matches_knf_directly(tmp_path):
    cfg = FbankConfig.from_file(conf(tmp_path, "# paper setting", "--num-mel-bins=40",
                                     "--sample-frequency=16000", "--dither=0  # repeatable", "--frame_shift=10"))
    assert cfg.dim == 40 and cfg.values["frame-shift"] == "10"
    x = speechlike(16000 + 123).astype(np.float32)
    ours = compute_fbank(x, 16000, cfg)

    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0
    opts.frame_opts.samp_freq = 16000
    opts.mel_opts.num_bins = 40
    ref = knf.OnlineFbank(opts)
    ref.accept_waveform(16000, x)
    ref.input_finished()
    expected = np.stack([ref.get_frame(i) for i in range(ref.num_frames_ready)])
    np.testing.assert_array_equal(ours, expected)


@pytest.mark.parametrize("snip", ["true", "false"])
@pytest.mark.parametrize("n", [399, 400, 401, 560, 16000, 16079, 16080, 16321])
def test_frame_count_rule(snip, n):
    cfg = FbankConfig.from_options([parse_option("--dither=0", "t"), parse_option(f"--snip-edges={snip}", "t")])
    feats = compute_fbank(speechlike(n).astype(np.float32), 16000, cfg)
    # Kaldi: snip-edges -> 1 + (n - 400) // 160 (0 if shorter than a frame); else round(n / 160)
    expected = (0 if n < 400 else 1 + (n - 400) // 160) if snip == "true" else (n + 80) // 160
    assert feats.shape[0] == expected == num_frames(n, cfg.knf_options)


def test_8khz_and_rate_mismatch():
    cfg = FbankConfig.from_options([parse_option("--sample-frequency=8000", "t"), parse_option("--dither=0", "t")])
    assert compute_fbank(speechlike(8000, 8000).astype(np.float32), 8000, cfg).shape == (98, 23)
    with pytest.raises(ValueError, match="sampled at 16000 Hz but --sample-frequency=8000"):
        compute_fbank(speechlike(8000).astype(np.float32), 16000, cfg)


def test_option_errors_name_file_and_line(tmp_path):
    with pytest.raises(OptionError, match=r"fbank.conf:2: unknown fbank option --num-mel-bin;"):
        FbankConfig.from_file(conf(tmp_path, "--dither=0", "--num-mel-bin=40"))
    with pytest.raises(OptionError, match=r"fbank.conf:1: --snip-edges expects true or false"):
        FbankConfig.from_file(conf(tmp_path, "--snip-edges=maybe"))
    with pytest.raises(OptionError, match=r"fbank.conf:1: --num-mel-bins expects an integer"):
        FbankConfig.from_file(conf(tmp_path, "--num-mel-bins=4o"))
    with pytest.raises(OptionError, match=r"fbank.conf:1: expected --name=value"):
        FbankConfig.from_file(conf(tmp_path, "num-mel-bins=40"))
    opts = read_option_file(conf(tmp_path, "--use-energy", "--low_freq=64"))
    assert [(o.name, o.value) for o in opts] == [("use-energy", "true"), ("low-freq", "64")]


def test_cmvn_stats_against_numpy():
    rng = np.random.default_rng(1)
    utts = [rng.normal(3, 2, (n, 5)).astype(np.float32) for n in (7, 11, 4)]
    stats = accumulate(utts)
    allf = np.concatenate(utts).astype(np.float64)
    assert stats.shape == (2, 6)
    np.testing.assert_allclose(stats[0, :5], allf.sum(0), rtol=1e-6)
    np.testing.assert_allclose(stats[1, :5], (allf ** 2).sum(0), rtol=1e-6)
    assert stats[0, 5] == 22 and stats[1, 5] == 0
    x = utts[0]
    mean, std = allf.mean(0), allf.std(0)
    np.testing.assert_allclose(apply_cmvn(x, stats, norm_vars=False), x - mean, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(apply_cmvn(x, stats, norm_vars=True), (x - mean) / std, rtol=1e-4, atol=1e-4)
    assert accumulate([]) is None


def direct_deltas(x, order, window):
    """Kaldi's deltas written out: order-k coefficients apply the k-fold convolution of the
    regression window w_j = j / (2 sum_n n^2), j = -N..N, to the clamped input frames."""
    T, D = x.shape
    w1 = np.array([j for j in range(-window, window + 1)], dtype=np.float64) / (2 * sum(n * n for n in range(1, window + 1)))
    blocks, w = [x.astype(np.float64)], np.array([1.0])
    for _ in range(order):
        w = np.convolve(w, w1)
        half = len(w) // 2
        out = np.zeros((T, D))
        for t in range(T):
            for j in range(-half, half + 1):
                out[t] += w[j + half] * x[min(max(t + j, 0), T - 1)]
        blocks.append(out)
    return np.concatenate(blocks, axis=1)


@pytest.mark.parametrize("order,window", [(2, 2), (1, 2), (2, 1), (3, 2)])
def test_deltas_against_regression_formula(order, window):
    x = np.random.default_rng(2).normal(size=(23, 4)).astype(np.float32)
    ours = FeaturePipeline(apply_cmvn=False, delta_order=order, delta_window=window)(x)
    np.testing.assert_allclose(ours, direct_deltas(x, order, window), rtol=1e-5, atol=1e-5)
    if order >= 1:  # first order is the textbook regression slope
        t = 10
        slope = sum(n * (x[t + n] - x[t - n]) for n in range(1, window + 1)) / (2 * sum(n * n for n in range(1, window + 1)))
        np.testing.assert_allclose(ours[t, 4:8], slope, rtol=1e-5, atol=1e-6)


def test_pipeline_dims_and_subsampling():
    x = np.random.default_rng(3).normal(size=(31, 40)).astype(np.float32)
    stats = accumulate([x])
    full = FeaturePipeline()(x, stats)
    assert full.shape == (31, 120) and FeaturePipeline().output_dim(40) == 120
    sub = FeaturePipeline(subsample=3, subsample_offset=1)(x, stats)
    np.testing.assert_array_equal(sub, full[1::3])
    np.testing.assert_allclose(full[:, :40].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(full[:, :40].std(0), 1, atol=1e-3)
    with pytest.raises(ValueError, match="no CMVN stats"):
        FeaturePipeline()(x)
    with pytest.raises(ValueError, match="subsample_offset"):
        FeaturePipeline(subsample=3, subsample_offset=3)


@pytest.fixture
def wav_dir(tmp_path: Path):
    """Data dir of 5 utterances by 2 speakers, one of whose audio files is corrupt."""
    (tmp_path / "wav").mkdir()
    utts = {}
    for i, (spk, n) in enumerate([("a", 16000), ("a", 12000), ("b", 20000), ("b", 9000), ("b", 15000)]):
        utt = f"{spk}-{i}"
        p = tmp_path / "wav" / f"{utt}.wav"
        soundfile.write(p, speechlike(n, seed=i), 16000, subtype="PCM_16")
        utts[utt] = {"spk": spk, "text": "X Y", "wav": str(p)}
    (tmp_path / "wav" / "b-3.wav").write_bytes(b"RIFF....garbage")
    conf(tmp_path, "--num-mel-bins=40", "--dither=0")
    return make_data_dir(tmp_path / "data", utts)


def test_make_fbank_skips_unreadable_and_cmvn(run, wav_dir, tmp_path):
    r = run("steps/make_fbank.sh", "--nj", "2", "--fbank-config", "fbank.conf", "data", "exp/log", "fbank",
            cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 of 5 utterances have no features: b-3" in r.stderr
    assert "done: features for 4 of 5 utterances" in r.stdout
    log = "".join(p.read_text() for p in (tmp_path / "exp/log").glob("make_fbank_data.*.log"))
    assert "WARNING: utterance b-3:" in log and "cannot decode audio" in log
    feats = kaldiio.load_scp(str(wav_dir / "feats.scp"))
    assert sorted(feats) == ["a-0", "a-1", "b-2", "b-4"]
    cfg = FbankConfig.from_file(tmp_path / "fbank.conf")
    for utt in feats:
        x, _ = soundfile.read(tmp_path / "wav" / f"{utt}.wav", dtype="int16")
        np.testing.assert_array_equal(feats[utt], compute_fbank(x.astype(np.float32), 16000, cfg))
    frames = dict(l.split() for l in (wav_dir / "utt2num_frames").read_text().splitlines())
    assert frames == {"a-0": "98", "a-1": "73", "b-2": "123", "b-4": "92"}

    r = run("utils/fix_data_dir.sh", "data", cwd=tmp_path)
    assert "kept 4 utterances out of 5" in r.stdout
    r = run("steps/compute_cmvn_stats.sh", "data", "exp/log", "fbank", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    cmvn = kaldiio.load_scp(str(wav_dir / "cmvn.scp"))
    np.testing.assert_allclose(cmvn["b"], accumulate([feats["b-2"], feats["b-4"]]), rtol=1e-6)
    assert run("utils/validate_data_dir.sh", "data", cwd=tmp_path).returncode == 0

    reader = FeatureReader(wav_dir)
    x = reader["a-1"]
    assert x.shape == (73, 120)
    np.testing.assert_allclose(x, FeaturePipeline()(feats["a-1"], cmvn["a"]))


def test_make_fbank_with_segments_and_all_failing(run, tmp_path):
    x = speechlike(32000)
    soundfile.write(tmp_path / "rec.flac", x, 16000, subtype="PCM_16")
    conf(tmp_path, "--num-mel-bins=40", "--dither=0")
    d = make_data_dir(tmp_path / "data", {"s-rec-000": {"spk": "s", "text": "A"}, "s-rec-100": {"spk": "s", "text": "B"}})
    (d / "wav.scp").write_text(f"rec {tmp_path / 'rec.flac'}\n")
    (d / "segments").write_text("s-rec-000 rec 0.0 1.0\ns-rec-100 rec 1.0 2.0\n")
    r = run("steps/make_fbank.sh", "--nj", "2", "--fbank-config", "fbank.conf", "data", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    feats = kaldiio.load_scp(str(d / "feats.scp"))
    cfg = FbankConfig.from_file(tmp_path / "fbank.conf")
    np.testing.assert_array_equal(feats["s-rec-100"], compute_fbank(x[16000:].astype(np.float32), 16000, cfg))

    (d / "wav.scp").write_text(f"rec {tmp_path / 'missing.flac'}\n")
    r = run("steps/make_fbank.sh", "--nj", "1", "--fbank-config", "fbank.conf", "data", cwd=tmp_path)
    assert r.returncode == 1 and "no utterance of data got features" in r.stderr
    assert not (d / "feats.scp").exists() and not (d / "utt2num_frames").exists()     # no empty tables left
    r = run("utils/validate_data_dir.sh", "--no-feats", "data", cwd=tmp_path)
    assert "missing.flac does not exist" in r.stderr and "1 error(s)" in r.stderr    # only the audio's fault


def test_make_fbank_usage_errors(run, tmp_path):
    r = run("steps/make_fbank.sh", "--help")
    assert r.returncode == 0 and "--fbank-config" in r.stdout
    r = run("steps/make_fbank.sh", "--fbank-config", str(tmp_path / "none.conf"), str(tmp_path))
    assert r.returncode == 1 and "no such config file" in r.stderr
    r = run("steps/make_fbank.sh", "--bogus", "1", str(tmp_path))
    assert r.returncode != 0 and "--bogus" in r.stderr


def test_make_fbank_compressed(run, wav_dir, tmp_path):
    r = run("steps/make_fbank.sh", "--nj", "1", "--compress", "true", "--fbank-config", "fbank.conf", "data",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    feats = kaldiio.load_scp(str(wav_dir / "feats.scp"))
    x, _ = soundfile.read(tmp_path / "wav" / "a-0.wav", dtype="int16")
    exact = compute_fbank(x.astype(np.float32), 16000, FbankConfig.from_file(tmp_path / "fbank.conf"))
    # Kaldi's compressed format keeps about 8 bits per value within each column's range
    assert feats["a-0"].shape == exact.shape
    np.testing.assert_allclose(feats["a-0"], exact, atol=0.05 * (exact.max() - exact.min()))
    uncompressed = sum(m.size * 4 for m in feats.values())
    assert (tmp_path / "data/data/raw_fbank_data.1.ark").stat().st_size < 0.6 * uncompressed
