"""utils/data/perturb_data_dir_speed{,_3way}.sh: ids, tables and the real audio durations."""
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import make_data_dir, script_env
from nas.data.audio import read_audio
from nas.data.speed_perturb import format_factor, perturbed_wav_entry
from sphere_fixtures import write_sphere


def lines(p: Path):
    return p.read_text().splitlines()


@pytest.fixture
def src(tmp_path):
    rng = np.random.default_rng(0)
    utts = {}
    for spk, i, secs in [("a", 1, 1.0), ("a", 2, 2.0), ("b", 1, 1.5)]:
        p = tmp_path / f"{spk}{i}.wav"
        soundfile.write(p, (rng.normal(0, 2000, int(16000 * secs))).astype(np.int16), 16000, subtype="PCM_16")
        utts[f"{spk}-{i}"] = {"spk": spk, "text": f"WORD {i}", "wav": str(p), "dur": secs}
    return make_data_dir(tmp_path / "src", utts)


def test_3way(run, src, tmp_path, monkeypatch):
    dest = tmp_path / "sp"
    dest.mkdir()
    (dest / "utt2dur").write_text("sp0.9-old-1 3.0\n")          # a stale table of an earlier corpus
    (dest / "segments").write_text("sp0.9-old-1 sp0.9-old 0 1\n")
    r = run("utils/data/perturb_data_dir_speed_3way.sh", src, dest)
    assert r.returncode == 0, r.stderr
    assert "Successfully validated" in r.stdout
    utts = [l.split()[0] for l in lines(dest / "utt2spk")]
    # Kaldi's ids: the 1.0 copy is the source under its own ids, the others prefixed
    assert utts == sorted([u for u in ("a-1", "a-2", "b-1")] + [f"sp{f}-{u}" for f in ("0.9", "1.1")
                                                                for u in ("a-1", "a-2", "b-1")])
    assert "sp0.9-a sp0.9-a-1 sp0.9-a-2" in lines(dest / "spk2utt") and "a a-1 a-2" in lines(dest / "spk2utt")
    assert "sp1.1-b-1 b-1" in lines(dest / "utt2uniq") and "b-1 b-1" in lines(dest / "utt2uniq")
    assert "sp1.1-a-2 WORD 2" in lines(dest / "text")
    assert not (dest / "segments").exists()
    dur = dict(l.split() for l in lines(dest / "utt2dur"))
    assert float(dur["sp0.9-a-2"]) == pytest.approx(2.0 / 0.9, abs=1e-3)
    assert float(dur["a-2"]) == pytest.approx(2.0)
    # the audio itself changes duration by the factor
    monkeypatch.setenv("PATH", script_env()["PATH"])
    wav = dict(l.split(" ", 1) for l in lines(dest / "wav.scp"))
    assert wav["a-1"] == str(tmp_path / "a1.wav")
    for f in (0.9, 1.0, 1.1):
        x, rate = read_audio(wav["a-2" if f == 1.0 else f"sp{format_factor(f)}-a-2"])
        assert rate == 16000
        assert len(x) / rate == pytest.approx(2.0 / f, rel=2e-3)


def test_single_factor_with_segments_and_sphere(run, tmp_path, monkeypatch):
    x = np.random.default_rng(1).normal(0, 1000, (16000 * 3, 2)).astype(np.int16)
    write_sphere(tmp_path / "rec.sph", x, 16000, shorten=True)
    d = make_data_dir(tmp_path / "src", {"s-1": {"spk": "s", "text": "A"}, "s-2": {"spk": "s", "text": "B"}})
    (d / "wav.scp").write_text(f"rec sph2pipe -f wav -p -c 1 {tmp_path / 'rec.sph'} |\n")
    (d / "segments").write_text("s-1 rec 0.00 1.00\ns-2 rec 1.00 2.80\n")
    (d / "reco2file_and_channel").write_text("rec rec A\n")
    r = run("utils/data/perturb_data_dir_speed.sh", "0.9", d, tmp_path / "sp")
    assert r.returncode == 0, r.stderr
    sp = tmp_path / "sp"
    assert lines(sp / "segments") == ["sp0.9-s-1 sp0.9-rec 0.000 1.111", "sp0.9-s-2 sp0.9-rec 1.111 3.111"]
    assert lines(sp / "reco2file_and_channel") == ["sp0.9-rec rec A"]
    entry = lines(sp / "wav.scp")[0]
    assert entry.startswith("sp0.9-rec sph2pipe -f wav -p -c 1 ") and entry.endswith("| sox -t wav - -t wav - speed 0.9 |")
    assert run("utils/validate_data_dir.sh", "--no-feats", sp).returncode == 0
    monkeypatch.setenv("PATH", script_env()["PATH"])
    y, _ = read_audio(entry.split(" ", 1)[1])
    assert y.shape[1] == 1 and len(y) == pytest.approx(3 * 16000 / 0.9, rel=2e-3)


def test_entries_and_errors(run, src, tmp_path):
    assert perturbed_wav_entry("/a/b.flac", 1.1) == "sox /a/b.flac -t wav - speed 1.1 |"
    assert perturbed_wav_entry("/a/b.WV1", 0.9).startswith("sph2pipe -f wav -p /a/b.WV1 | sox")
    assert perturbed_wav_entry("x |", 1.0) == "x |"
    assert format_factor(0.95) == "0.95" and format_factor(1) == "1.0"
    r = run("utils/data/perturb_data_dir_speed.sh", "3.0", src, tmp_path / "x")
    assert r.returncode == 1 and "outside [0.5, 2.0]" in r.stderr
    r = run("utils/data/perturb_data_dir_speed.sh", "0.9", tmp_path / "nodir", tmp_path / "x")
    assert r.returncode == 1 and "needs utt2spk and wav.scp" in r.stderr
    assert run("utils/data/perturb_data_dir_speed_3way.sh", "--help").returncode == 0
    assert run("utils/data/perturb_data_dir_speed_3way.sh", src).returncode != 0
