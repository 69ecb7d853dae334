"""The harder synthetic corpus (egs/synth/local/make_corpus.py --voices v2 --conditions v2):
noise colours and SNRs as asked, the telephone band, rooms of the asked reverberation, test
conditions that training never draws, speaker groups never split, and a corpus that is the
same for the same seed whatever --nj."""
import importlib.util
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

REPO = Path(__file__).resolve().parent.parent
LOCAL = REPO / "egs" / "synth" / "local"


def _load(name):
    """A module of egs/synth/local, registered under its own name (as when the script runs)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, LOCAL / f"{name}.py")
    m = importlib.util.module_from_spec(spec)
    sys.modules[name] = m
    spec.loader.exec_module(m)
    return m


cc = _load("corpus_conditions")
cv = _load("corpus_voices")
cb = _load("corpus_build")


def _slope(x: np.ndarray, rate: int = 16000) -> float:
    """The log-log slope of the power spectrum between 100 Hz and 4 kHz."""
    from scipy.signal import welch
    f, p = welch(x, rate, nperseg=4096)
    band = (f >= 100) & (f <= 4000)
    return float(np.polyfit(np.log(f[band]), np.log(p[band]), 1)[0])


@pytest.mark.parametrize("kind,slope", [("white", 0.0), ("pink", -1.0), ("brown", -2.0)])
def test_noise_colours(kind, slope):
    x = cc.colored_noise(kind, 160000, np.random.default_rng(0))
    assert abs(np.sqrt(np.mean(x.astype(np.float64) ** 2)) - 1) < 1e-3
    assert abs(_slope(x) - slope) < 0.15


@pytest.mark.parametrize("snr", [0.0, 7.5, 30.0])
def test_mix_at_snr(snr):
    rng = np.random.default_rng(1)
    s = (0.3 * np.sin(np.arange(32000) * 0.05)).astype(np.float32)
    n = rng.standard_normal(32000).astype(np.float32)
    y = cc.mix_at_snr(s, n, snr)
    got = 10 * np.log10(np.mean(s.astype(np.float64) ** 2) / np.mean((y - s).astype(np.float64) ** 2))
    assert abs(got - snr) < 0.01


def test_babble_is_unit_rms_and_covers_the_length():
    rng = np.random.default_rng(2)
    talkers = [rng.standard_normal(n).astype(np.float32) * g for n, g in ((500, 1.0), (3000, 5.0), (12000, 0.1))]
    b = cc.babble_noise(talkers, 8000, rng)
    assert b.shape == (8000,) and abs(np.sqrt(np.mean(b.astype(np.float64) ** 2)) - 1) < 1e-3


@pytest.mark.parametrize("channel", ["tel", "tel-mulaw", "tel-alaw", "tel-gsm", "tel-amrnb"])
def test_telephone_band(channel):
    from scipy.signal import welch
    x = (0.1 * np.random.default_rng(3).standard_normal(16000)).astype(np.float32)
    y = cc.telephone(x, 16000, channel)
    assert abs(len(y) - len(x)) <= 320          # codecs pad to their frames
    f, p = welch(y, 16000, nperseg=1024)
    inband = p[(f > 500) & (f < 3000)].mean()
    assert p[f > 4200].mean() < 1e-3 * inband and p[f < 150].mean() < 0.1 * inband


def test_room_rir_has_the_asked_reverberation():
    import pyroomacoustics as pra
    room = cc.Room((6.0, 5.0, 3.0), 0.3, (1.5, 1.5, 1.6), (4.0, 3.2, 1.2))
    h = cc.room_rir(room, 16000)
    assert np.max(np.abs(h)) == pytest.approx(1.0)
    assert 0.22 < pra.experimental.measure_rt60(h, fs=16000, decay_db=30) < 0.4


def test_test_conditions_are_never_drawn_for_training():
    rng = random.Random(0)
    train_rooms, test_rooms = cc.draw_rooms(rng, cc.TRAIN, 20), cc.draw_rooms(rng, cc.TEST, 20)
    assert max(r.rt60 for r in train_rooms) <= 0.6 < min(r.rt60 for r in test_rooms)
    pool = [f"u{i}" for i in range(50)]
    train = [cc.draw(rng, f"u{i % 50}", cc.TRAIN, train_rooms, pool) for i in range(3000)]
    test = [cc.draw(rng, f"t{i}", cc.TEST, test_rooms, pool) for i in range(3000)]
    assert not {c.noise for c in train} & {"brown"} and {c.noise for c in test} >= {"brown", "babble", "none"}
    assert not {c.channel for c in train} & {"tel-gsm", "tel-amrnb"}
    assert {c.channel for c in test} == {"wide", "tel-gsm", "tel-amrnb"}
    assert not any(c.heldout for c in train) and 0.5 < np.mean([c.heldout for c in test]) < 1
    for c in train + test:
        assert c.utt not in c.babble and (c.noise != "babble" or 3 <= len(c.babble) <= 7)
        assert c.room < 0 or c.rt60 == (train_rooms if c.family == "train" else test_rooms)[c.room].rt60
    assert 0.4 < np.mean([c.room >= 0 for c in train]) < 0.6
    assert all(c.noise == "none" or 5 <= c.snr_db <= 30 for c in train)
    again = random.Random(0)
    cc.draw_rooms(again, cc.TRAIN, 20), cc.draw_rooms(again, cc.TEST, 20)
    assert [cc.draw(again, f"u{i % 50}", cc.TRAIN, train_rooms, pool).row() for i in range(50)] == \
        [c.row() for c in train[:50]]


def test_voice_pool_and_group_split():
    voices = cv.make_voices(48, seed=0)
    assert len({v.name for v in voices}) == 48 == len(voices)
    assert [v.name for v in cv.make_voices(48, seed=0)] == [v.name for v in voices]
    assert {v.engine for v in voices} == {"espeak", "flite", "festival"}
    variants = [v.voice.split("+")[1] for v in voices if v.engine == "espeak"]
    assert len(variants) == len(set(variants))                     # each variant speaks once
    assert cv.variant_group("klatt3") == cv.variant_group("klatt") != cv.variant_group("m3")
    for seed in range(10):
        splits = cb.split_by_group(voices, {"test": 12, "dev": 6}, random.Random(seed))
        assert (len(splits["test"]), len(splits["dev"]), len(splits["train"])) == (12, 6, 30)
        groups = [{v.group for v in splits[s]} for s in ("test", "dev", "train")]
        assert not (groups[0] & groups[1] or groups[0] & groups[2] or groups[1] & groups[2])
    pairs = [v for v in voices if v.group in ("tts-kal", "tts-slt")]          # flite's and festival's
    assert len(pairs) == 4
    with pytest.raises(ValueError, match="whole speaker groups"):
        cb.split_by_group(pairs, {"test": 1, "dev": 0}, random.Random(0))
    with pytest.raises(ValueError, match="no voices left"):
        cb.split_by_group(pairs, {"test": 2, "dev": 2}, random.Random(0))


def test_apply_levels_and_clipping():
    x = (0.5 * np.sin(np.arange(16000) * 0.07)).astype(np.float32)
    c = cc.Condition("u", "train", 1.0, 0.0, "pink", 10.0, gain_db=0.0, noise_seed=5)
    y, clipped = cc.apply(c, x, 16000, None, [])
    assert clipped == 0 and abs(20 * np.log10(np.sqrt(np.mean(y.astype(np.float64) ** 2))) - cc.LEVEL_DBFS) < 0.1
    y2, _ = cc.apply(c, x, 16000, None, [])
    assert np.array_equal(y, y2)
    c.gain_db = 30.0
    assert cc.apply(c, x, 16000, None, [])[1] > 0


def _corpus(out: Path, nj: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(LOCAL / "make_corpus.py"), "--voices", "v2", "--conditions", "v2",
                           "--num-voices", "6", "--num-dev-voices", "1", "--num-test-voices", "2",
                           "--utts-per-voice", "2", "--test-utts-per-voice", "3", "--num-rooms", "2",
                           "--lm-sentences", "50", "--seed", "3", "--nj", str(nj), str(out)],
                          capture_output=True, text=True)


def test_make_corpus_v2_end_to_end(tmp_path):
    """Every utterance has its conditions row; speaker groups are not shared across splits; the
    same seed gives the same audio whatever --nj (sox's dither would make it differ)."""
    r = _corpus(tmp_path / "a", 2)
    assert r.returncode == 0, r.stderr
    rows = {s: [l.split("\t") for l in (tmp_path / "a" / f"{s}.tsv").read_text().splitlines()]
            for s in ("train", "dev", "test")}
    assert [len(rows[s]) for s in ("test", "dev", "train")] == [6, 2, 6]
    cond = [l.split("\t") for l in (tmp_path / "a" / "conditions.tsv").read_text().splitlines()]
    assert cond[0][:3] == ["split", "utt", "family"]
    assert sorted(c[1] for c in cond[1:]) == sorted(r[0] for rs in rows.values() for r in rs)
    pool = {v.name: v.group for v in cv.voice_pool() + cv.make_voices(6, 3)}
    groups = {s: {pool[r[1]] for r in rs} for s, rs in rows.items()}
    assert not (groups["test"] & groups["train"] or groups["dev"] & groups["train"])
    info = soundfile.info(rows["test"][0][2])
    assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
    assert not (tmp_path / "a" / ".dry").exists()
    r = _corpus(tmp_path / "b", 1)
    assert r.returncode == 0, r.stderr
    for rs in rows.values():
        for utt, spk, path, _ in rs:
            assert Path(path).read_bytes() == (tmp_path / "b" / "wav" / spk / f"{utt}.wav").read_bytes(), utt
    assert (tmp_path / "a" / "conditions.tsv").read_text() == (tmp_path / "b" / "conditions.tsv").read_text()
