"""python -m nas.bin.transcribe and steps/transcribe.sh: audio files to words with a model dir and a graph.

The model is a randomly initialized network of a tiny space, so its words are arbitrary: the tests
check the line format, the RTF, the notes, the errors, and that the same samples in another format
(flac, Shorten SPHERE) or at another rate give what they should.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import soundfile
import torch

from conftest import script_env
from graph_fixtures import build_graph
from sphere_fixtures import write_sphere
from train_fixtures import TINY_SPACE
from nas.bin import transcribe
from nas.decoding.logprobs import num_outputs
from nas.features.recording import load_recording, read_cmvn_stats
from nas.lang.symbols import read_symbols
from nas.models.arch import Arch
from nas.models.space import parse_space
from nas.train.checkpoint import save_checkpoint

RATE = 16000
LINE = re.compile(r"^(\S+)((?: \S+)*) \(RTF (\d+\.\d{3})\)$")
FBANK_CONF = "--sample-frequency=16000\n--num-mel-bins=40\n--dither=0\n"


def write_model(d: Path, outputs: int, seed: int = 0) -> Path:
    """A model dir: arch.json of the tiny space and a randomly initialized best.pt."""
    d.mkdir(parents=True, exist_ok=True)
    arch = Arch(parse_space(TINY_SPACE, "test space"), {"b1": "tdnn-C1D1", "b2": "tdnn-C2D1"})
    arch.write(d / "arch.json")
    torch.manual_seed(seed)
    net = arch.build(120, outputs)
    save_checkpoint(d / "best.pt", {"model": net.state_dict(), "dims": {"input": 120, "outputs": outputs},
                                    "config": {}})
    return d


def signal(rate: int, seconds: float = 1.2) -> np.ndarray:
    """Int16-scale tones below 3.5 kHz (the same wave at any rate of 8 kHz and up), with a rise."""
    t = np.arange(int(rate * seconds)) / rate
    x = sum(a * np.sin(2 * np.pi * f * t) for a, f in ((3000, 220.0), (2000, 710.0), (1200, 1930.0), (600, 3100.0)))
    return (x * np.minimum(1.0, 4 * t)).astype(np.float32)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("transcribe")
    graph, tokens, _ = build_graph(d)
    model = write_model(d / "model", num_outputs(tokens))
    (d / "fbank.conf").write_text(FBANK_CONF)
    x = signal(RATE)
    noise = np.random.default_rng(0).normal(0, 300, x.shape).astype(np.float32)
    pcm = np.clip(np.round(x + noise), -32768, 32767).astype(np.int16)
    soundfile.write(d / "a.wav", pcm, RATE, subtype="PCM_16")
    soundfile.write(d / "a.flac", pcm, RATE, subtype="PCM_16")
    write_sphere(d / "a.sph", pcm, RATE, shorten=True)                       # as WSJ ships it
    soundfile.write(d / "tone16k.wav", np.round(signal(RATE)).astype(np.int16), RATE, subtype="PCM_16")
    soundfile.write(d / "tone8k.wav", np.round(signal(8000)).astype(np.int16), 8000, subtype="PCM_16")
    soundfile.write(d / "stereo.wav", np.stack([pcm, pcm // 2], axis=1), RATE, subtype="PCM_16")
    (d / "corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk" + bytes(range(200)))
    return {"dir": d, "graph": graph, "model": model, "conf": d / "fbank.conf", "words": set(read_symbols(graph / "words.txt"))}


def run_main(capsys, setup, *args: str):
    rc = transcribe.main(list(args))
    out, err = capsys.readouterr()
    return rc, out.splitlines(), err.splitlines()


def transcribe_files(capsys, setup, *files: str, opts=()):
    d = setup["dir"]
    return run_main(capsys, setup, "--fbank-config", str(setup["conf"]), *opts, str(setup["model"]),
                    str(setup["graph"]), *(str(d / f) for f in files))


def parse(line: str):
    m = LINE.match(line)
    assert m, line
    return m.group(1), m.group(2).split(), float(m.group(3))


def test_help_from_any_dir(run):
    p = subprocess.run([sys.executable, "-m", "nas.bin.transcribe", "--help"], cwd="/", env=script_env(),
                       capture_output=True, text=True)
    assert p.returncode == 0 and "(RTF <x>)" in p.stdout and "--cmvn" in p.stdout and "--lmwt" in p.stdout
    r = run("steps/transcribe.sh", "--help")
    assert r.returncode == 0 and "<model-dir> <graph-or-lang-dir> <audio>" in r.stdout


def test_wav_flac_and_shorten_sphere_give_one_line_each_with_the_same_words(capsys, setup):
    rc, out, err = transcribe_files(capsys, setup, "a.wav", "a.flac", "a.sph")
    assert rc == 0, err
    assert len(out) == 3, out
    parsed = [parse(l) for l in out]
    assert [Path(p).name for p, _, _ in parsed] == ["a.wav", "a.flac", "a.sph"]          # in the order given
    assert parsed[0][1] == parsed[1][1] == parsed[2][1]           # the same samples, the same words
    assert parsed[0][1]                     # (this seed's random model says something: the check is not empty)
    wav = load_recording(str(setup["dir"] / "a.wav"), RATE).samples
    assert all(np.array_equal(wav, load_recording(str(setup["dir"] / f), RATE).samples) for f in ("a.flac", "a.sph"))
    assert all(set(w) <= setup["words"] for _, w, _ in parsed)
    assert all(r > 0 for _, _, r in parsed)
    assert any("CMVN: each file's own statistics" in l for l in err), err
    assert any("LM weight 1 (the default;" in l for l in err), err
    assert re.search(r"3 of 3 files transcribed; RTF \d+\.\d{3} = ", err[-1]), err[-1]
    assert not any("note:" in l for l in err), err               # 16 kHz mono: nothing adapted


def test_8khz_is_resampled_and_stereo_mixed_down(capsys, setup):
    d = setup["dir"]
    ref = load_recording(str(d / "tone16k.wav"), RATE)
    assert ref.notes == []
    rec = load_recording(str(d / "tone8k.wav"), RATE)
    assert rec.rate == RATE and abs(len(rec.samples) - len(ref.samples)) <= 2
    a, b = ref.samples[400:-400], rec.samples[400:len(ref.samples) - 400]
    assert np.corrcoef(a, b)[0, 1] > 0.999                # the same wave, now at 16 kHz
    assert np.abs(a - b).max() < 0.02 * np.abs(a).max()
    st = load_recording(str(d / "stereo.wav"), RATE)
    mono, _ = soundfile.read(d / "a.wav", dtype="int16")
    assert np.allclose(st.samples, (mono + mono // 2) / 2.0)
    rc, out, err = transcribe_files(capsys, setup, "tone8k.wav", "stereo.wav")
    assert rc == 0 and len(out) == 2, err
    assert any(re.search(r"note: \S*tone8k\.wav: sampled at 8000 Hz, resampled to the model's 16000 Hz", l)
               for l in err), err
    assert any(re.search(r"note: \S*stereo\.wav: 2 channels, mixed down to mono", l) for l in err), err


def test_an_unreadable_file_is_named_and_the_others_still_transcribed(capsys, setup):
    rc, out, err = transcribe_files(capsys, setup, "a.wav", "corrupt.wav", "nothere.wav", "a.flac")
    assert rc == 1
    assert [Path(parse(l)[0]).name for l in out] == ["a.wav", "a.flac"]
    errors = [l for l in err if "ERROR" in l]
    assert len(errors) == 2, err
    assert "corrupt.wav" in errors[0] and "cannot decode audio" in errors[0]
    assert "nothere.wav" in errors[1] and "no such file" in errors[1]
    assert "2 of 4 files transcribed; could not read:" in err[-1]


def test_a_model_over_other_tokens_is_refused_before_decoding(capsys, setup, tmp_path, monkeypatch):
    v = num_outputs(read_symbols(setup["graph"] / "tokens.txt"))
    model = write_model(tmp_path / "other", v + 3)
    monkeypatch.setattr(transcribe.Transcriber, "transcribe", lambda *a: pytest.fail("decoded"))
    rc = transcribe.main(["--fbank-config", str(setup["conf"]), str(model), str(setup["graph"]),
                          str(setup["dir"] / "a.wav")])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    errors = [l for l in err.splitlines() if "ERROR" in l]
    assert len(errors) == 1, err
    assert f"{model / 'best.pt'} has {v + 3} outputs" in errors[0]
    assert f"{setup['graph'] / 'tokens.txt'} has {v}" in errors[0]


def recipe_layout(tmp_path: Path, setup, tokens_text: str = "", results: str = "") -> Path:
    """A recipe dir as stages 1-8 leave it: exp/m/retrain, data/train's fbank record, data/lang."""
    r = tmp_path / "recipe"
    mdir = r / "exp" / "m" / "retrain"
    shutil.copytree(setup["model"], mdir)
    (mdir / "config.json").write_text(json.dumps({"data": "data/train", "lang": "data/lang"}))
    (r / "conf").mkdir()
    (r / "conf" / "fbank.conf").write_text(FBANK_CONF)
    (r / "data" / "train").mkdir(parents=True)
    (r / "data" / "train" / ".inputs_fbank.json").write_text(json.dumps(
        {"format": "st-nas-inputs/1", "paths": {"fbank_config": {"path": "conf/fbank.conf"}}}))
    (r / "data" / "lang").mkdir()
    (r / "data" / "lang" / "tokens.txt").write_text(tokens_text or (setup["graph"] / "tokens.txt").read_text())
    if results:
        (mdir / "RESULTS").write_text(results)
        (mdir / "decode_dev").mkdir()
        (mdir / "decode_dev" / ".inputs.json").write_text(json.dumps(
            {"format": "st-nas-inputs/1", "values": {"options": "--mode redecode --beam 9 --max-active=500 --min-lmwt "
                                                             "0.5 | local/score.sh --beam 3 | PER"}}))
    return mdir


def test_the_model_dir_gives_the_fbank_config_and_the_lm_weight_chosen_on_dev(capsys, setup, tmp_path,
                                                                               monkeypatch):
    mdir = recipe_layout(tmp_path, setup, results="test WER at LM weight 0.7 (best on dev): %WER 9.00 [ 9 / 100, "
                                                  "1 ins, 2 del, 6 sub ]\n")
    used = []
    real = transcribe.Transcriber.__init__

    def spy(self, *a, **kw):
        real(self, *a, **kw)
        used.append((self.lmwt, self.decoder.config.beam, self.decoder.config.max_active))
    monkeypatch.setattr(transcribe.Transcriber, "__init__", spy)
    rc, out, err = run_main(capsys, setup, str(mdir), str(setup["dir"]), str(setup["dir"] / "a.wav"))
    assert rc == 0 and len(out) == 1, err
    assert used == [(0.7, 9.0, 500)]                      # the weight and search stage 8 used
    assert any(f"LM weight 0.7 (best on dev: {mdir / 'RESULTS'})" in l for l in err), err
    assert any(f"search: beam 9 (stage 8), max-active 500 (stage 8), acwt 1 (default); stage 8's from "
               f"{mdir / 'decode_dev' / '.inputs.json'}" in l for l in err), err
    assert any(f"fbank config {tmp_path / 'recipe' / 'conf' / 'fbank.conf'} (from " in l for l in err), err
    rc, out, err = run_main(capsys, setup, "--lmwt", "1.3", "--beam", "11", str(mdir), str(setup["graph"]),
                            str(setup["dir"] / "a.wav"))
    assert rc == 0 and used[-1] == (1.3, 11.0, 500)
    (tmp_path / "recipe" / "data" / "train" / ".inputs_fbank.json").unlink()
    rc, out, err = run_main(capsys, setup, str(mdir), str(setup["graph"]), str(setup["dir"] / "a.wav"))
    assert rc == 2 and out == [] and "give --fbank-config" in err[-1], err


def test_a_graph_over_the_same_number_of_other_tokens_is_refused(capsys, setup, tmp_path):
    lines = (setup["graph"] / "tokens.txt").read_text().splitlines()
    syms = [l.split()[0] for l in lines]
    syms[2], syms[3] = syms[3], syms[2]                           # two units swapped: same count
    mdir = recipe_layout(tmp_path, setup, "".join(f"{s} {i}\n" for i, s in enumerate(syms)))
    rc, out, err = run_main(capsys, setup, str(mdir), str(setup["graph"]), str(setup["dir"] / "a.wav"))
    assert rc == 2 and out == []
    assert f"{setup['graph'] / 'tokens.txt'} differs from {tmp_path / 'recipe/data/lang/tokens.txt'}" in err[-1], err


def test_cmvn_own_statistics_normalize_and_given_ones_are_checked(capsys, setup, tmp_path):
    from nas.features.fbank import FbankConfig
    from nas.features.pipeline import FeaturePipeline
    from nas.features.recording import network_input
    rec = load_recording(str(setup["dir"] / "a.wav"), RATE)
    x = network_input(rec, FbankConfig.from_file(setup["conf"]), FeaturePipeline())
    assert x.shape[1] == 120
    assert np.abs(x[:, :40].mean(0)).max() < 1e-3 and np.abs(x[:, :40].std(0) - 1).max() < 1e-2
    a, b = np.ones((2, 41)), np.full((2, 41), 2.0)
    a[0, -1], b[0, -1], a[1, -1], b[1, -1] = 10, 30, 0, 0
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path / 'cmvn.ark'},{tmp_path / 'cmvn.scp'}") as w:
        w("spk1", a)
        w("spk2", b)
    assert np.allclose(read_cmvn_stats(tmp_path / "cmvn.scp"), a + b)            # the set's global stats
    rc, out, err = transcribe_files(capsys, setup, "a.wav", opts=("--cmvn", str(tmp_path / "cmvn.scp")))
    assert rc == 0 and len(out) == 1 and any("CMVN: the statistics of" in l for l in err), err
    kaldiio.save_mat(str(tmp_path / "wrong.mat"), np.ones((2, 24)))
    rc, out, err = transcribe_files(capsys, setup, "a.wav", opts=("--cmvn", str(tmp_path / "wrong.mat")))
    assert rc == 2 and out == [] and "23-dim features; the fbank config gives 40" in err[-1], err


def test_steps_wrapper(run, setup):
    d = setup["dir"]
    r = run("steps/transcribe.sh", "--fbank-config", setup["conf"], "--beam", "12", setup["model"],
            setup["graph"], d / "a.wav", d / "corrupt.wav")
    assert r.returncode == 1, r.stderr
    assert r.stderr.splitlines()[0].endswith(f"steps/transcribe.sh --fbank-config {setup['conf']} --beam 12 "
                                             f"{setup['model']} {setup['graph']} {d / 'a.wav'} {d / 'corrupt.wav'}")
    assert [Path(parse(l)[0]).name for l in r.stdout.splitlines()] == ["a.wav"]
    assert "search: beam 12 (flag), max-active 7000 (default)" in r.stderr


def test_stage8_options_of_the_older_record_and_none(tmp_path):
    from nas.decoding.transcriber import stage8_choices
    (tmp_path / "decode_dev").mkdir()
    (tmp_path / "decode_dev" / "best_wer").write_text("%WER 9.00 [ 9 / 100, 1 ins, 2 del, 6 sub ] x/decode_dev/wer_1.1\n")
    (tmp_path / "decode_dev" / ".inputs.json").write_text(json.dumps({"values": {"decode_opts": "--acwt 0.5"}}))
    s = stage8_choices(tmp_path)
    assert (s.lmwt, s.search) == (1.1, {"acwt": 0.5}) and "best_wer" in s.lmwt_from
    s = stage8_choices(tmp_path / "decode_dev")
    assert (s.lmwt, s.search, s.search_from) == (None, {}, "")
