"""No silent wrong results in the data and decoding steps (issue 32): truncated audio, partial
scoring, corrupt ARPA files, a disk that fills while features are written. Each test states what
a user sees; each failed before its fix (the mutant it caught is in docs/reliability.md)."""
import shutil
import subprocess
import wave
from pathlib import Path

import kaldiio
import numpy as np
import pytest

from conftest import make_data_dir


def write_wav(path: Path, n: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    x = (3000 * np.sin(np.arange(n) / 7.0) + rng.normal(0, 300, n)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(x.tobytes())
    return path.read_bytes()


@pytest.fixture
def fbank_data(tmp_path):
    """A data dir of 4 one-second utterances; b-2's file lost 48% of its samples, b-3's 10%."""
    (tmp_path / "wav").mkdir()
    utts = {}
    for i, spk in enumerate("aabb"):
        utt = f"{spk}-{i}"
        p = tmp_path / "wav" / f"{utt}.wav"
        data = write_wav(p, 16000, seed=i)
        if i >= 2:
            keep = {2: 0.52, 3: 0.90}[i]
            p.write_bytes(data[:44 + int(32000 * keep)])
        utts[utt] = {"spk": spk, "text": "X Y", "wav": str(p)}
    (tmp_path / "fbank.conf").write_text("--num-mel-bins=23\n--dither=0\n")
    return make_data_dir(tmp_path / "data", utts)


# ---------------------------------------------------------------------------- truncated audio

def test_truncated_audio_is_named_in_the_summary_and_left_out(run, fbank_data, tmp_path):
    shutil.copytree(fbank_data, tmp_path / "kept")
    r = run("steps/make_fbank.sh", "--nj", "2", "--fbank-config", "fbank.conf", "data", "exp/log", "fbank",
            cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert ("2 of 4 utterances truncated (audio files shorter than their headers say), left out of feats.scp: "
            "b-2 (48% of its audio missing), b-3 (10% of its audio missing)") in r.stderr, r.stderr
    assert "2 of 4 utterances have no features: b-2 b-3" in r.stderr
    assert "done: features for 2 of 4 utterances" in r.stdout and "2 truncated, left out" in r.stdout
    listed = (tmp_path / "exp/log/truncated_data.txt").read_text().splitlines()
    assert [line.split()[:2] for line in listed] == [["b-2", "48"], ["b-3", "10"]]
    assert listed[0].endswith("wav/b-2.wav")
    assert sorted(kaldiio.load_scp(str(fbank_data / "feats.scp"))) == ["a-0", "a-1"]
    r = run("utils/fix_data_dir.sh", "data", cwd=tmp_path)
    assert "kept 2 utterances out of 4" in r.stdout
    # --truncated keep: computed from what is there, and still named
    r = run("steps/make_fbank.sh", "--nj", "1", "--truncated", "keep", "--fbank-config", "fbank.conf", "kept",
            cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "2 of 4 utterances truncated (audio files shorter than their headers say), kept (--truncated keep): " \
           "b-2 (48% of its audio missing)" in r.stderr and "have no features" not in r.stderr
    assert "done: features for 4 of 4 utterances" in r.stdout and (tmp_path / "kept/log/truncated_kept.txt").is_file()


def test_a_whole_data_dir_has_no_truncation_report(run, fbank_data, tmp_path):
    for utt in ("b-2", "b-3"):
        write_wav(tmp_path / "wav" / f"{utt}.wav", 16000)
    r = run("steps/make_fbank.sh", "--nj", "1", "--fbank-config", "fbank.conf", "data", "exp/log", cwd=tmp_path)
    assert r.returncode == 0 and "truncated" not in r.stdout + r.stderr, r.stderr
    assert not (tmp_path / "exp/log/truncated_data.txt").exists()


@pytest.mark.parametrize("seg, share", [
    (None, 0.5),             # the whole file: half of it missing
    ((0.0, 0.4), None),      # a segment in the part that is there: whole
    ((0.25, 0.75), 0.5),     # straddles the cut at 0.5 s
    ((0.6, 0.8), 1.0),       # wholly in the missing part
    ((0.25, 0.0), 2 / 3),    # to the end of the recording (end <= 0): 0.5 of its 0.75 s
])
def test_missing_share_of_segments(seg, share):
    from nas.bin.compute_fbank import missing_share
    from nas.data.audio import Shortfall
    got = missing_share(Shortfall("WAV", 32000, 16000), 8000, 16000, seg)
    assert got == (None if share is None else pytest.approx(share))


def test_truncated_sphere_is_detected(tmp_path):
    from nas.data.audio import read_audio_checked
    from sphere_fixtures import write_sphere
    write_sphere(tmp_path / "x.sph", (np.arange(16000) % 100).astype("int16"), 16000)
    data = (tmp_path / "x.sph").read_bytes()
    assert read_audio_checked(str(tmp_path / "x.sph"))[2] is None
    (tmp_path / "y.sph").write_bytes(data[:1024 + 8000])
    samples, _, short = read_audio_checked(str(tmp_path / "y.sph"))
    assert samples.shape[0] == 4000 and short.kind == "SPHERE" and short.missing == 0.75


# ---------------------------------------------------------------------------- a full disk

@pytest.fixture
def small_tmpfs(tmp_path):
    """A 48 KiB tmpfs where the machine allows mounting one (root in a sandbox), else None."""
    d = tmp_path / "full"
    d.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48k", "tmpfs", str(d)], capture_output=True).returncode:
        yield None
        return
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def _many_utterances(tmp_path: Path, n: int = 8) -> Path:
    (tmp_path / "wav").mkdir()
    utts = {}
    for i in range(n):
        write_wav(tmp_path / "wav" / f"u{i}.wav", 16000, seed=i)
        utts[f"s-u{i}"] = {"spk": "s", "text": "X", "wav": str(tmp_path / "wav" / f"u{i}.wav")}
    (tmp_path / "fbank.conf").write_text("--num-mel-bins=40\n--dither=0\n")
    return make_data_dir(tmp_path / "data", utts)


def test_make_fbank_on_a_full_disk_names_the_file_and_leaves_no_partial_ark(run, small_tmpfs, tmp_path):
    """8 utterances of 98 x 40 floats (125 KB) into 48 KiB: the job fails with one line naming the ark
    and the cause, and removes its ark and scp."""
    if small_tmpfs is None:
        pytest.skip("cannot mount a tmpfs here; test_compute_fbank_write_error covers the injected error")
    _many_utterances(tmp_path)
    r = run("steps/make_fbank.sh", "--nj", "1", "--fbank-config", "fbank.conf", "data", "exp/log", small_tmpfs,
            cwd=tmp_path)
    assert r.returncode == 1
    ark = small_tmpfs / "raw_fbank_data.1.ark"
    assert f"compute_fbank: ERROR: {ark}: cannot write: no space left on device (ENOSPC)" in r.stderr, r.stderr
    log = (tmp_path / "exp/log/make_fbank_data.1.log").read_text()
    assert "Traceback" not in log and log.count("ERROR") == 1
    assert list(small_tmpfs.iterdir()) == [] and not (tmp_path / "data/feats.scp").exists()


def test_compute_fbank_write_error(tmp_path, monkeypatch, capsys):
    """The same with an injected ENOSPC on the third utterance (no tmpfs needed)."""
    import errno
    import kaldiio.matio
    from nas.bin import compute_fbank
    d = _many_utterances(tmp_path, n=4)
    calls = {"n": 0}
    real = kaldiio.matio.write_array

    def filling(fd, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 3:
            fd.write(b"partial")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(fd, *a, **kw)
    monkeypatch.setattr(kaldiio.matio, "write_array", filling)
    out = tmp_path / "out"
    out.mkdir()
    rc = compute_fbank.main(["--config", str(tmp_path / "fbank.conf"), "--write-utt2num-frames",
                             str(out / "frames"), str(d / "wav.scp"), str(out / "a.ark"), str(out / "a.scp")])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"compute_fbank: ERROR: {out / 'a.ark'}: cannot write: no space left on device (ENOSPC); free space" in err
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------------- ARPA files

ARPA = ["\\data\\", "ngram 1=4", "ngram 2=3", "",
        "\\1-grams:", "-1.0\t<s>\t-0.30", "-0.60\tA\t-0.20", "-0.70\tB\t-0.25", "-0.50\t</s>", "",
        "\\2-grams:", "-0.10\t<s> A", "-0.20\tA B", "-0.30\tB </s>", "", "\\end\\"]


def write_lm(path: Path, lines=ARPA) -> Path:
    if str(path).endswith(".gz"):
        import gzip
        with gzip.open(path, "wt") as f:
            f.write("\n".join(lines) + "\n")
    else:
        path.write_text("\n".join(lines) + "\n")
    return path


def corrupt(**edits):
    """ARPA with lines replaced ({index: text}, None to delete)."""
    lines = list(ARPA)
    for i, text in sorted(((int(k[1:]), v) for k, v in edits.items()), reverse=True):
        if text is None:
            del lines[i]
        else:
            lines[i] = text
    return lines


def words_txt(path: Path) -> Path:
    path.write_text("<eps> 0\nA 1\nB 2\n#0 3\n<s> 4\n</s> 5\n")
    return path


def test_lmrescore_names_a_corrupt_number_with_file_and_line(tmp_path, capsys):
    """kaldingram died with a bare 'Exception: -2.18x\\tA B' here."""
    from nas.bin import lmrescore
    good = write_lm(tmp_path / "old.arpa")
    bad = write_lm(tmp_path / "new.arpa", corrupt(l12="-2.18x\tA B"))
    (tmp_path / "nbest.txt").write_text("u1 1 1.0 2.0 1 2\n")
    rc = lmrescore.main([str(good), str(bad), str(words_txt(tmp_path / "words.txt")), str(tmp_path / "nbest.txt"),
                         str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"lmrescore: ERROR: {bad}:13: '-2.18x' is not a number in the 2-grams section" in err, err


def test_format_lm_names_a_count_mismatch(tmp_path, capsys):
    from nas.bin import arpa_to_g
    bad = write_lm(tmp_path / "lm.arpa", corrupt(l13=None))
    rc = arpa_to_g.main([str(bad), str(words_txt(tmp_path / "words.txt")), str(tmp_path / "G.fst")])
    err = capsys.readouterr().err
    assert rc == 1 and not (tmp_path / "G.fst").exists()
    assert f"arpa_to_g: ERROR: {bad}: header says ngram 2=3, the \\2-grams: section has 2 lines" in err, err


def test_steps_lmrescore_names_a_truncated_lm(run, tmp_path):
    good = write_lm(tmp_path / "old.arpa.gz")
    bad = write_lm(tmp_path / "new.arpa.gz", ARPA[:-3])            # cut inside the 2-grams
    (tmp_path / "graph").mkdir()
    words_txt(tmp_path / "graph/words.txt")
    (tmp_path / "in").mkdir()
    (tmp_path / "in/nbest.txt").write_text("u1 1 1.0 2.0 1 2\n")
    r = run("steps/lmrescore.sh", good, bad, tmp_path / "graph", tmp_path / "in", tmp_path / "out")
    assert r.returncode == 1
    assert (f"{bad}: no \\end\\ line: the file ends at line 13, inside the 2-grams section (2 of its 3 lines): "
            "it is truncated") in r.stderr, r.stderr


@pytest.mark.parametrize("lines, message", [
    (corrupt(l6="-0.60\tA\t-0.2o"), ":7: '-0.2o' is not a number in the 1-grams section"),
    (corrupt(l2="ngram 2=three"), ":3: expected 'ngram N=COUNT' in the \\data\\ section"),
    (corrupt(l11="-0.10\t<s>"), ":12: a 2-gram line is 'log10-prob 2 word(s) [back-off]', this one has 2 fields"),
    (corrupt(l10="\\3-grams:"), ":11: section \\3-grams: where \\2-grams: was expected"),
    (corrupt(l15="\\end\\", l10=None, l11=None, l12=None, l13=None, l14=None),
     ":11: \\end\\ before the \\2-grams: section the header declares"),
    (["\\data\\", "ngram 1=1", "", "\\1-grams:", "nan\tA", "\\end\\"], ":5: 'nan' is not a number"),
    (["not an LM"], ": no \\data\\ line: not an ARPA LM"),
])
def test_arpa_validation_messages(tmp_path, lines, message):
    from nas.lm.arpa import ArpaError, validate_arpa
    f = write_lm(tmp_path / "lm.arpa", lines)
    with pytest.raises(ArpaError) as e:
        validate_arpa(f)
    assert f"{f}{message}" in str(e.value)
    assert validate_arpa(write_lm(tmp_path / "good.arpa")).counts == {1: 4, 2: 3}


def test_every_arpa_reader_validates(tmp_path):
    """prepare_arpa_lm (copying, line numbers of the source kept past its header), pruning,
    perplexity and G.fst: one validator."""
    from nas.bin import prepare_arpa
    from nas.lang.grammar_fst import make_grammar_fst
    from nas.lm.arpa import ArpaError
    from nas.lm.word_lm import perplexity, prune_arpa
    bad = write_lm(tmp_path / "bad.arpa", ["a header line", "another"] + corrupt(l12="-0.20\tA B\tx"))
    assert prepare_arpa.main([str(bad), str(tmp_path / "out.arpa")]) == 1
    for call in (lambda: prune_arpa(bad, tmp_path / "p.arpa", 1e-3), lambda: perplexity(bad, [["A"]]),
                 lambda: make_grammar_fst(bad, words_txt(tmp_path / "words.txt"), tmp_path / "G.fst")):
        with pytest.raises(ArpaError, match=r"bad.arpa:15: 'x' is not a number in the 2-grams section"):
            call()


# ---------------------------------------------------------------------------- partial scoring

def _decode_dir(tmp_path: Path, name: str, hyps: str) -> Path:
    d = tmp_path / "exp" / name
    (d / "scoring").mkdir(parents=True)
    for w in ("1", "2"):
        (d / "scoring" / f"{w}.txt").write_text(hyps)
    return d


def test_a_partial_score_says_so_up_to_the_results_line(run, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "text").write_text("u1 a b c\nu2 d e\nu3 f\nu4 x y\n")
    (data / "utt2spk").write_text("u1 s\nu2 s\nu3 s\nu4 s\n")
    dev = _decode_dir(tmp_path, "decode_dev", "u1 a b c\nu2 d e\nu3 f\nu4 x y\n")
    test = _decode_dir(tmp_path, "decode_test", "u1 a b c\nu2 d\nu3 f\nu9 z\n")     # u4 lost, u9 not in text
    run("steps/score.sh", data, tmp_path / "graph", dev, check=True)
    assert "PARTIAL" not in (dev / "best_wer").read_text() and not list(dev.glob("scoring/partial_*"))
    r = run("steps/score.sh", data, tmp_path / "graph", test, check=True)
    note = (f"over 4 utterances (PARTIAL: 1 without hypothesis, scored as all deletions; 1 hypothesis without "
            f"reference, not scored; see {test}/scoring/partial_1)")
    assert f"%WER 37.50 [ 3 / 8, 0 ins, 3 del, 0 sub ] {note} {test}/wer_1" in r.stdout, r.stdout
    assert (test / "scoring/partial_1").read_text() == "u4 no-hypothesis\nu9 no-reference\n"
    assert (test / "wer_1").read_text().splitlines()[0] == f"%WER 37.50 [ 3 / 8, 0 ins, 3 del, 0 sub ] {note}"
    assert "PARTIAL: 1 without hypothesis" in (test / "best_wer").read_text()
    r = run("steps/report_wer.sh", tmp_path / "exp", "dev", "test", check=True)
    results = dict(line.split(": ", 1) for line in r.stdout.splitlines())
    assert "PARTIAL" not in results["dev WER at LM weight 1 (best on dev)"]
    assert results["test WER at LM weight 1 (best on dev)"].startswith(f"%WER 37.50 [ 3 / 8, 0 ins, 3 del, 0 sub ] {note}")
    # Kaldi's --mode present: the WER over the utterances that have a hypothesis, and it says so
    r = run("steps/score.sh", "--mode", "present", data, tmp_path / "graph", test, check=True)
    assert (f"%WER 16.67 [ 1 / 6, 0 ins, 1 del, 0 sub ] over 3 of 4 utterances (PARTIAL: 1 without hypothesis, "
            f"not scored; 1 hypothesis without reference, not scored; see {test}/scoring/partial_1)") in r.stdout
    r = run("steps/score.sh", "--mode", "strict", data, tmp_path / "graph", test)
    assert r.returncode == 1 and "1 reference utterances have no hypothesis (--mode strict): u4" in r.stderr


def test_sph2pipe_keeps_the_declared_length_of_a_truncated_sphere(tmp_path, monkeypatch):
    """Kaldi-style wav.scp pipes (`sph2pipe -f wav -p x.sph |`): the pipe's reader sees the shortfall."""
    from conftest import script_env
    from nas.data.audio import read_audio_checked
    monkeypatch.setenv("PATH", script_env()["PATH"])
    from sphere_fixtures import write_sphere
    write_sphere(tmp_path / "x.sph", (np.arange(16000) % 100).astype("int16"), 16000)
    (tmp_path / "y.sph").write_bytes((tmp_path / "x.sph").read_bytes()[:1024 + 8000])
    assert read_audio_checked(f"sph2pipe -f wav -p {tmp_path / 'x.sph'} |")[2] is None
    samples, _, short = read_audio_checked(f"sph2pipe -f wav -p {tmp_path / 'y.sph'} |")
    assert samples.shape[0] == 4000 and short.missing == 0.75
    assert read_audio_checked(f"sph2pipe -f wav -p -t 0:0.2 {tmp_path / 'y.sph'} |")[2] is None   # in the part there
