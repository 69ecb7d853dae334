"""utils/validate_data_dir.sh and utils/fix_data_dir.sh on good and broken data dirs."""
from pathlib import Path

import pytest

from conftest import make_data_dir

VALIDATE = "utils/validate_data_dir.sh"
FIX = "utils/fix_data_dir.sh"


@pytest.fixture
def good(tmp_path: Path) -> Path:
    wav = tmp_path / "a.wav"
    wav.write_bytes(b"RIFF")  # existence is all validate checks
    utts = {f"spk{s}-u{i}": {"spk": f"spk{s}", "text": f"HELLO {s} {i}", "wav": str(wav), "dur": 1.5}
            for s in (1, 2) for i in (1, 2, 3)}
    return make_data_dir(tmp_path / "data", utts)


def lines(p: Path):
    return p.read_text().splitlines()


def test_good_dir_validates(run, good):
    r = run(VALIDATE, good)
    assert r.returncode == 0, r.stderr
    assert f"Successfully validated data-directory {good}" in r.stdout


def test_help(run):
    r = run(VALIDATE, "--help")
    assert r.returncode == 0 and "--no-feats" in r.stdout
    assert run(FIX, "--help").returncode == 0


def check_fails(run, d, *needles):
    r = run(VALIDATE, d)
    assert r.returncode == 1, r.stdout + r.stderr
    for n in needles:
        assert n in r.stderr, f"{n!r} not in:\n{r.stderr}"
    return r


def test_unsorted(run, good):
    t = lines(good / "text")
    t[1], t[2] = t[2], t[1]
    (good / "text").write_text("\n".join(t) + "\n")
    check_fails(run, good, f"{good / 'text'}:3: not sorted: spk1-u2 after spk1-u3")


def test_duplicate_key(run, good):
    t = lines(good / "utt2dur")
    t.insert(1, t[0])
    (good / "utt2dur").write_text("\n".join(t) + "\n")
    check_fails(run, good, f"{good / 'utt2dur'}:2: duplicate key spk1-u1 (also on line 1)")


def test_utterance_missing_from_text(run, good):
    t = [l for l in lines(good / "text") if not l.startswith("spk2-u2 ")]
    (good / "text").write_text("\n".join(t) + "\n")
    check_fails(run, good, f"{good / 'text'}: utterance spk2-u2 is in utt2spk but missing from {good / 'text'}")


def test_extra_utterance_in_wav_scp(run, good):
    with open(good / "wav.scp", "a") as f:
        f.write(f"spk3-u1 {good.parent / 'a.wav'}\n")
    check_fails(run, good, f"{good / 'wav.scp'}:7: utterance spk3-u1 is not in utt2spk")


def test_empty_transcript(run, good):
    t = lines(good / "text")
    t[3] = "spk2-u1"
    (good / "text").write_text("\n".join(t) + "\n")
    check_fails(run, good, f"{good / 'text'}:4: utterance spk2-u1 has an empty transcript")


def test_speaker_without_utterances(run, good):
    (good / "spk2utt").write_text(lines(good / "spk2utt")[0] + "\n" + lines(good / "spk2utt")[1] + "\nspk3\n")
    check_fails(run, good, f"{good / 'spk2utt'}:3: speaker spk3 has no utterances")


def test_missing_audio_file(run, good, tmp_path):
    t = lines(good / "wav.scp")
    t[4] = f"spk2-u2 {tmp_path / 'gone.wav'}"
    t[5] = f"spk2-u3 sph2pipe -f wav -p -c 1 {tmp_path / 'gone.sph'} |"
    (good / "wav.scp").write_text("\n".join(t) + "\n")
    r = check_fails(run, good, f"{good / 'wav.scp'}:5: spk2-u2: audio file {tmp_path / 'gone.wav'} does not exist",
                    f"{good / 'wav.scp'}:6: spk2-u3: audio file {tmp_path / 'gone.sph'} does not exist")
    assert run(VALIDATE, "--no-audio-check", good).returncode == 0


def test_bad_numbers_and_speaker_order(run, good):
    t = lines(good / "utt2dur")
    t[0] = "spk1-u1 abc"
    (good / "utt2dur").write_text("\n".join(t) + "\n")
    check_fails(run, good, f"{good / 'utt2dur'}:1: utterance spk1-u1: 'abc' is not a number")


def test_speakers_must_sort_with_utterances(run, tmp_path):
    d = make_data_dir(tmp_path / "d", {"a1": {"spk": "z", "text": "X"}, "b1": {"spk": "a", "text": "Y"}})
    r = run(VALIDATE, "--no-wav", d)
    assert r.returncode == 1 and "make speaker ids prefixes of utterance ids" in r.stderr
    assert run(VALIDATE, "--no-wav", "--no-spk-sort", d).returncode == 0


def test_missing_required_file(run, good):
    (good / "spk2utt").unlink()
    check_fails(run, good, f"{good / 'spk2utt'}: missing")


def test_segments_recording_missing(run, tmp_path):
    wav = tmp_path / "r.wav"
    wav.write_bytes(b"x")
    d = make_data_dir(tmp_path / "d", {"s-r1-1": {"spk": "s", "text": "A"}, "s-r2-1": {"spk": "s", "text": "B"}})
    (d / "wav.scp").write_text(f"r1 {wav}\n")
    (d / "segments").write_text("s-r1-1 r1 0.0 1.0\ns-r2-1 r2 0.5 0.2\n")
    check_fails(run, d, f"{d / 'segments'}: recording r2 (of utterance s-r2-1) is not in {d / 'wav.scp'}",
                f"{d / 'segments'}:2: utterance s-r2-1: bad times start=0.5 end=0.2")


def test_fix_keeps_intersection(run, good):
    # unsorted text missing one utterance, an empty transcript, utt2dur missing another
    t = [l for l in lines(good / "text") if not l.startswith("spk1-u2 ")][::-1]
    t = [("spk2-u3" if l.startswith("spk2-u3 ") else l) for l in t]
    (good / "text").write_text("\n".join(t) + "\n")
    (good / "utt2dur").write_text("\n".join(l for l in lines(good / "utt2dur") if not l.startswith("spk2-u1 ")) + "\n")
    assert run(VALIDATE, good).returncode == 1
    r = run(FIX, good)
    assert r.returncode == 0, r.stderr
    assert "kept 3 utterances out of 6 (3 dropped)" in r.stdout
    assert "dropped 2 utterances: missing from text or empty transcript" in r.stdout
    assert "dropped 1 utterances: missing from utt2dur" in r.stdout
    assert [l.split()[0] for l in lines(good / "utt2spk")] == ["spk1-u1", "spk1-u3", "spk2-u2"]
    assert lines(good / "spk2utt") == ["spk1 spk1-u1 spk1-u3", "spk2 spk2-u2"]
    assert (good / ".backup/text").is_file()
    r = run(VALIDATE, good)
    assert r.returncode == 0, r.stderr


def test_fix_drops_speaker_and_recordings(run, tmp_path):
    wav = tmp_path / "r.wav"
    wav.write_bytes(b"x")
    d = make_data_dir(tmp_path / "d", {"a-r1-1": {"spk": "a", "text": "A"}, "b-r2-1": {"spk": "b", "text": "B"}})
    (d / "wav.scp").write_text(f"r1 {wav}\nr2 {wav}\nr3 {wav}\n")
    (d / "segments").write_text("a-r1-1 r1 0 1\nb-r2-1 r2 0 1\n")
    (d / "cmvn.scp").write_text("a x.ark:1\n")
    r = run(FIX, d)
    assert r.returncode == 0 and "speaker missing from cmvn.scp" in r.stdout
    assert lines(d / "utt2spk") == ["a-r1-1 a"]
    assert lines(d / "wav.scp") == [f"r1 {wav}"]
    assert run(VALIDATE, "--no-feats", d).returncode == 0


def test_fix_leaves_unchanged_tables_untouched(run, good):
    """Recipes compare time stamps (stage 1's graph against data/train/text): fixing a dir whose
    text is fine must not rewrite text, while the tables that lose an utterance are rewritten."""
    import os
    for f in good.iterdir():
        if f.is_file():
            os.utime(f, (1_000_000_000, 1_000_000_000))
    (good / "wav.scp").write_text("".join(l + "\n" for l in lines(good / "wav.scp") if not l.startswith("spk2-u3")))
    r = run(FIX, good)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "spk2-u3" not in (good / "text").read_text()
    assert (good / "text").stat().st_mtime > 1_000_000_000          # lost an utterance: rewritten
    mtime = (good / "text").stat().st_mtime
    os.utime(good / "text", (1_000_000_000, 1_000_000_000))
    r = run(FIX, good)                                                # nothing to fix now
    assert r.returncode == 0, r.stdout + r.stderr
    assert (good / "text").stat().st_mtime == 1_000_000_000 and mtime > 1_000_000_000
