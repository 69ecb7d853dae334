"""The miniature TIMIT of timit_fixtures.py against the corpus's documented formats.

Every check reads the written files with readers of its own (the SPHERE header parsed
byte by byte here, libsndfile and desphere for the audio, the .PHN / .WRD / .TXT lines
split here), not with the fixture's helpers; timit_expected is checked against them.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import pytest
import soundfile as sf

from timit_fixtures import (corrupt_phone, full_lists, make_timit, overrun_phn,
                            phone_frequency, remove_speaker, remove_utt_file, sentence_ids,
                            timit_expected, utt_file, utt_ids)

# PHONCODE.DOC's symbols, typed in again here rather than imported.
TIMIT61 = set("""b d g p t k dx q bcl dcl gcl pcl tcl kcl jh ch s sh z zh f th v dh m n ng em en eng nx
l r w y hh hv el iy ih eh ey ae aa aw ay ah ao oy ow uh uw ux er ax ix axr ax-h pau epi h#""".split())

CORE = {1: "MDAB0 MWBT0 FELC0", 2: "MTAS1 MWEW0 FPAS0", 3: "MJMP0 MLNT0 FPKT0", 4: "MLLL0 MTLS0 FJLM0",
        5: "MBPM0 MKLT0 FNLP0", 6: "MCMJ0 MJDH0 FMGD0", 7: "MGRT0 MNJM0 FDHC0", 8: "MJLN0 MPAM0 FMLD0"}

# The header of a TIMIT .WAV, field by field in the disc's order, with each field's type.
TIMIT_FIELDS = [("database_id", "s"), ("database_version", "s"), ("utterance_id", "s"),
                ("channel_count", "i"), ("sample_count", "i"), ("sample_max", "i"), ("sample_min", "i"),
                ("sample_rate", "i"), ("sample_n_bytes", "i"), ("sample_byte_format", "s"),
                ("sample_sig_bits", "i")]

UPPER = re.compile(r"TIMIT/(TRAIN|TEST)/DR[1-8]/[FM][A-Z]{3}[0-9]/(SA[12]|SX\d+|SI\d+)\.(WAV|PHN|WRD|TXT)")
LOWER = re.compile(r"timit/(train|test)/dr[1-8]/[fm][a-z]{3}[0-9]/(sa[12]|sx\d+|si\d+)\.(wav|phn|wrd|txt)")


# ------------------------------------------------------------------------------ readers

def files(root: Path) -> List[str]:
    return sorted(str(p.relative_to(root)).replace(os.sep, "/") for p in root.rglob("*") if p.is_file())


def utterances(top: Path) -> Dict[str, Tuple[str, Path]]:
    """{utt id: (split dir lower, stem path)} from the .WAV files, found by globbing."""
    out = {}
    for wav in top.glob("*/*/*/*"):
        if wav.suffix.lower() == ".wav":
            split, _, spk = (p.name.lower() for p in (wav.parents[2], wav.parents[1], wav.parent))
            out[f"{spk}_{wav.stem.lower()}"] = (split, wav.with_suffix(""))
    return out


def sibling(stem: Path, ext: str) -> Path:
    return stem.with_suffix("." + (ext.upper() if stem.name.isupper() else ext))


def parse_sphere(path: Path) -> Tuple[List[Tuple[str, str, str]], bytes, bytes]:
    """([(name, type, value)], the whole 1024-byte header, the data)."""
    raw = path.read_bytes()
    assert raw[:16] == b"NIST_1A\n   1024\n", raw[:16]
    head = raw[:1024]
    text = head.decode("ascii")
    lines = text[16:].split("\n")
    fields = []
    for ln in lines:
        if ln == "end_head":
            break
        m = re.fullmatch(r"(\S+) -([a-z])(\d*) (.*)", ln)
        assert m, ln
        name, typ, size, value = m.groups()
        if typ == "s":
            assert size and int(size) == len(value), ln
        else:
            assert size == "", ln
        fields.append((name, typ, value))
    else:
        raise AssertionError("no end_head")
    rest = text[text.index("end_head\n") + len("end_head\n"):]
    assert rest.strip(" \n") == "", "header padding is not blank"
    return fields, head, raw[1024:]


def read_phn(path: Path) -> List[Tuple[int, int, str]]:
    out = []
    for ln in path.read_text().splitlines():
        b, e, p = ln.split(" ")
        out.append((int(b), int(e), p))
    return out


# ------------------------------------------------------------------------------ trees

@pytest.fixture(scope="module")
def upper(tmp_path_factory) -> Path:
    return make_timit(tmp_path_factory.mktemp("upper"))


@pytest.fixture(scope="module")
def lower_riff(tmp_path_factory) -> Path:
    return make_timit(tmp_path_factory.mktemp("lower"), case="lower", riff=True)


# ------------------------------------------------------------------------------ lists

def test_speaker_lists():
    lists = full_lists()
    assert [s.upper() for s in lists.core] == " ".join(CORE.values()).split()
    assert all(lists.dr[s.lower()] == r for r, spks in CORE.items() for s in spks.split())
    assert len(lists.dev) == 50 and lists.dev[:3] == ("faks0", "fdac1", "fjem0") and lists.dev[-1] == "mrws1"
    groups = [lists.core, lists.dev, lists.train, lists.other_test]
    assert sum(map(len, groups)) == len(set().union(*map(set, groups)))
    assert all(re.fullmatch(r"[fm][a-z]{3}[0-9]", s) for g in groups for s in g)
    assert all(1 <= lists.dr[s] <= 8 for g in groups for s in g)
    assert lists.split_dir("mdab0") == "TEST" and lists.split_dir("faks0") == "TEST"
    assert lists.split_dir(lists.train[0]) == "TRAIN"


def test_sentence_ids():
    ids = sentence_ids("fcjf0")
    assert ids[:2] == ["SA1", "SA2"] and len(ids) == 10 and len(set(ids)) == 10
    sx = [int(s[2:]) for s in ids if s.startswith("SX")]
    si = [int(s[2:]) for s in ids if s.startswith("SI")]
    assert len(sx) == 5 and len(si) == 3
    assert all(3 <= n <= 452 for n in sx) and len({n % 90 for n in sx}) == 1
    assert all(453 <= n <= 2342 for n in si)
    assert sentence_ids("fcjf0", ("SA1", "SI...", "SX", "SX37")) == ["SA1", ids[2], ids[5], "SX37"]
    assert utt_ids("FCJF0", ("SA1", "SX37")) == ["fcjf0_sa1", "fcjf0_sx37"]
    for bad in [("SB1",), ("SA1", "SA1"), ("SI",) * 4]:
        with pytest.raises(ValueError):
            sentence_ids("fcjf0", bad)


# ------------------------------------------------------------------------------ layout

@pytest.mark.parametrize("tree", ["upper", "lower_riff"])
def test_layout(tree, request):
    top = request.getfixturevalue(tree)
    root = top.parent
    pattern = UPPER if tree == "upper" else LOWER
    listed = files(root)
    docs = [f for f in listed if "/" + ("DOC" if tree == "upper" else "doc") + "/" in f]
    assert docs == [f"{top.name}/{'DOC/SPKRINFO.TXT' if tree == 'upper' else 'doc/spkrinfo.txt'}"]
    audio = [f for f in listed if f not in docs]
    assert audio and all(pattern.fullmatch(f) for f in audio), [f for f in audio if not pattern.fullmatch(f)]
    stems: Dict[str, set] = {}
    for f in audio:
        stem, ext = f.rsplit(".", 1)
        stems.setdefault(stem, set()).add(ext.lower())
    assert all(v == {"wav", "phn", "wrd", "txt"} for v in stems.values())

    lists = full_lists()
    want = {**{s: "train" for s in lists.train[:4]}, **{s: "test" for s in lists.dev[:2]},
            **{s: "test" for s in lists.core[:2]}, **{s: "test" for s in lists.other_test[:1]}}
    got = {}
    for stem in stems:
        _, split, dr, spk, _ = stem.split("/")
        got[spk.lower()] = split.lower()
        assert int(dr[2:]) == lists.dr[spk.lower()]
    assert got == want
    for spk in want:
        sents = sorted(s.split("/")[-1].upper() for s in stems if s.split("/")[3].lower() == spk)
        assert sorted(sentence_ids(spk)) == sents
        kinds = [s[:2] for s in sents]
        assert (kinds.count("SA"), kinds.count("SX"), kinds.count("SI")) == (2, 5, 3)


# ------------------------------------------------------------------------------ audio

def test_sphere_headers(upper):
    utts = utterances(upper)
    assert len(utts) == 90
    for utt, (_, stem) in utts.items():
        wav = sibling(stem, "wav")
        fields, head, data = parse_sphere(wav)
        assert [(n, t) for n, t, _ in fields] == TIMIT_FIELDS
        v = {n: val for n, _, val in fields}
        spk, sent = utt.split("_")
        assert v["database_id"] == "TIMIT" and v["database_version"] == "1.0"
        assert v["utterance_id"] == f"{spk[1:]}_{sent}"
        assert (v["channel_count"], v["sample_rate"], v["sample_n_bytes"], v["sample_byte_format"],
                v["sample_sig_bits"]) == ("1", "16000", "2", "01", "16")
        assert "sample_coding" not in head.decode()
        assert int(v["sample_count"]) * 2 == len(data)
        x = np.frombuffer(data, "<i2")
        assert (int(v["sample_min"]), int(v["sample_max"])) == (int(x.min()), int(x.max()))
        assert 0.4 <= len(x) / 16000 <= 1.0


def test_sphere_read_by_libsndfile_and_desphere(upper):
    from desphere import transcode_bytes
    for utt, (_, stem) in sorted(utterances(upper).items())[:6]:
        wav = sibling(stem, "wav")
        x = np.frombuffer(wav.read_bytes()[1024:], "<i2")
        y, rate = sf.read(str(wav), dtype="int16")
        assert rate == 16000 and np.array_equal(x, y)
        z, rate = sf.read(io.BytesIO(transcode_bytes(wav.read_bytes())), dtype="int16")
        assert rate == 16000 and np.array_equal(x, z)


def test_riff_variant(upper, lower_riff):
    """Same seed, same samples: the RIFF copy holds what the SPHERE disc holds."""
    sph, riff = utterances(upper), utterances(lower_riff)
    assert sph.keys() == riff.keys()
    for utt in sorted(sph):
        path = sibling(riff[utt][1], "wav")
        raw = path.read_bytes()
        assert raw[:4] == b"RIFF" and raw[8:12] == b"WAVE"
        info = sf.info(str(path))
        assert (info.format, info.subtype, info.samplerate, info.channels) == ("WAV", "PCM_16", 16000, 1)
        y, _ = sf.read(str(path), dtype="int16")
        x = np.frombuffer(sibling(sph[utt][1], "wav").read_bytes()[1024:], "<i2")
        assert np.array_equal(x, y)
        assert read_phn(sibling(riff[utt][1], "phn")) == read_phn(sibling(sph[utt][1], "phn"))


def test_tones_follow_phones(upper):
    """A phone's segment peaks at its tone (within the speaker's +-3 %); silences are quiet."""
    for utt, (_, stem) in sorted(utterances(upper).items())[::9]:
        x = np.frombuffer(sibling(stem, "wav").read_bytes()[1024:], "<i2").astype(float)
        for b, e, p in read_phn(sibling(stem, "phn")):
            seg = x[b:e]
            f = phone_frequency(p)
            if f is None:
                assert np.sqrt(np.mean(seg ** 2)) < 200, (utt, p)
            elif e - b >= 400:
                spec = np.abs(np.fft.rfft(seg * np.hanning(len(seg))))
                peak = np.argmax(spec) * 16000 / len(seg)
                assert abs(peak - f) <= 0.04 * f + 16000 / len(seg), (utt, p, peak, f)
    assert len({phone_frequency(p) for p in TIMIT61 - {"h#", "pau", "epi"}}) == 58


# ------------------------------------------------------------------------------ transcriptions

@pytest.mark.parametrize("tree", ["upper", "lower_riff"])
def test_phn_wrd_txt(tree, request):
    top = request.getfixturevalue(tree)
    seen = set()
    for utt, (_, stem) in utterances(top).items():
        wav = sibling(stem, "wav")
        n = sf.info(str(wav)).frames
        phn = read_phn(sibling(stem, "phn"))
        assert phn[0][0] == 0 and phn[0][2] == "h#" and phn[-1][2] == "h#"
        assert all(p != "h#" for _, _, p in phn[1:-1])
        assert all(e0 == b1 for (_, e0, _), (b1, _, _) in zip(phn, phn[1:])), utt
        assert all(b < e for b, e, _ in phn)
        assert phn[-1][1] <= n
        assert all(p in TIMIT61 for _, _, p in phn)
        seen.update(p for _, _, p in phn)
        bounds = {b for b, _, _ in phn} | {e for _, e, _ in phn}

        wrd = []
        for ln in sibling(stem, "wrd").read_text().splitlines():
            b, e, w = ln.split(" ")
            wrd.append((int(b), int(e), w))
        assert wrd and all(0 <= b < e <= phn[-1][1] for b, e, _ in wrd)
        assert all(e0 <= b1 for (_, e0, _), (b1, _, _) in zip(wrd, wrd[1:]))
        assert all(re.fullmatch(r"[a-z']+", w) for _, _, w in wrd)
        assert all(b in bounds and e in bounds for b, e, _ in wrd)

        lines = sibling(stem, "txt").read_text().split("\n")
        assert lines[1:] == [""]
        m = re.fullmatch(r"0 (\d+) ([A-Z][^\n]*[.?!])", lines[0])
        assert m, lines[0]
        assert int(m.group(1)) == phn[-1][1]
        assert re.sub(r"[^a-z' ]", " ", m.group(2).lower()).split() == [w for _, _, w in wrd]
    assert seen == TIMIT61  # every phone of the 61 occurs (q included)


def test_sa_sentences_shared(upper):
    texts = {}
    for utt, (_, stem) in utterances(upper).items():
        texts.setdefault(utt.split("_")[1], set()).add(sibling(stem, "txt").read_text().split(" ", 2)[2])
    assert texts["sa1"] == {"She had your dark suit in greasy wash water all year.\n"}
    assert texts["sa2"] == {"Don't ask me to carry an oily rag like that.\n"}
    assert all(len(v) == 1 for v in texts.values())  # a sentence id has one text


# ------------------------------------------------------------------------------ expectations

@pytest.mark.parametrize("tree", ["upper", "lower_riff"])
def test_expected_splits(tree, request):
    top = request.getfixturevalue(tree)
    lists = full_lists()
    utts = utterances(top)
    want = {"train": [], "dev": [], "test": []}
    for utt, (split, _) in utts.items():
        spk, sent = utt.split("_")
        if sent.startswith("sa"):
            continue
        if split == "train":
            want["train"].append(utt)
        elif spk in lists.dev:
            want["dev"].append(utt)
        elif spk in lists.core:
            want["test"].append(utt)
    exp = timit_expected(top)
    assert exp.splits == {k: sorted(v) for k, v in want.items()}
    assert {k: len(v) for k, v in exp.splits.items()} == {"train": 32, "dev": 16, "test": 16}
    assert all(re.fullmatch(r"[fm][a-z]{3}[0-9]_s[xi]\d+", u) for v in exp.splits.values() for u in v)
    assert exp.bad == {} and set(exp.phones) == set(utts)
    for utt, (_, stem) in utts.items():
        assert exp.phones[utt] == [p for _, _, p in read_phn(sibling(stem, "phn"))]
        assert exp.utt2spk[utt] == utt.split("_")[0]
    assert exp.spk2gender == {s: s[0] for s in exp.spk2gender} and len(exp.spk2gender) == 9
    other = lists.other_test[0]
    assert not any(u.startswith(other) for v in exp.splits.values() for u in v)


def test_deterministic(tmp_path, upper):
    again = make_timit(tmp_path / "a")
    assert files(again.parent) == files(upper.parent)
    for f in files(upper.parent):
        assert (again.parent / f).read_bytes() == (upper.parent / f).read_bytes(), f
    other = make_timit(tmp_path / "b", seed=1, train_speakers=1, dev_speakers=0, core_speakers=0,
                       other_test_speakers=0)
    a, b = utterances(upper), utterances(other)
    assert set(b) <= set(a)  # the seed changes no ids
    assert any(sibling(a[u][1], "wav").read_bytes() != sibling(b[u][1], "wav").read_bytes() for u in b)


def test_options(tmp_path):
    top = make_timit(tmp_path, train_speakers=1, dev_speakers=1, core_speakers=3, other_test_speakers=0,
                     sentences=("SA1", "SX"), seconds=0.9, docs=False)
    utts = utterances(top)
    assert len(utts) == 10 and not (top / "DOC").exists()
    assert sorted(u.split("_")[0] for u in utts if u.endswith("_sa1")) == sorted(
        [full_lists().train[0], "faks0", "mdab0", "mwbt0", "felc0"])
    for _, stem in utts.values():
        assert 0.8 <= sf.info(str(sibling(stem, "wav"))).frames / 16000 <= 1.0
    exp = timit_expected(top)
    assert exp.splits["test"] == sorted(u for u in utts if u[:5] in ("mdab0", "mwbt0", "felc0") and "_sx" in u)
    with pytest.raises(FileExistsError):
        make_timit(tmp_path)
    with pytest.raises(ValueError):
        make_timit(tmp_path / "x", core_speakers=25)
    with pytest.raises(ValueError):
        make_timit(tmp_path / "y", case="mixed")


# ------------------------------------------------------------------------------ faults

def test_fault_options(tmp_path, upper):
    lists = full_lists()
    spk = lists.train[0]
    si, sx = utt_ids(spk)[2], utt_ids(spk)[5]
    dev_utt = utt_ids(lists.dev[0])[3]
    core_utt = utt_ids(lists.core[0])[6]
    top = make_timit(tmp_path, missing_phn=si, bad_phone=(sx, 3), phn_overrun=[dev_utt],
                     missing_speaker=lists.core[1])
    clean, faulty = utterances(upper), utterances(top)

    # missing .PHN: only that file gone
    assert not sibling(faulty[si][1], "phn").exists()
    for ext in ("wav", "wrd", "txt"):
        assert sibling(faulty[si][1], ext).exists()

    # a phone outside the 61 on line 3, every other line as in the clean build
    got, want = read_phn(sibling(faulty[sx][1], "phn")), read_phn(sibling(clean[sx][1], "phn"))
    assert got[2][2] == "xx" and "xx" not in TIMIT61
    assert got[:2] + got[3:] == want[:2] + want[3:] and got[2][:2] == want[2][:2]

    # last end past the audio
    fields, _, data = parse_sphere(sibling(faulty[dev_utt][1], "wav"))
    n = int(dict((k, v) for k, _, v in fields)["sample_count"])
    assert n == len(data) // 2 and read_phn(sibling(faulty[dev_utt][1], "phn"))[-1][1] == n + 160

    # missing speaker dir
    assert not any(u.startswith(lists.core[1] + "_") for u in faulty)
    assert not [p for p in top.rglob("*") if p.name.lower() == lists.core[1]]
    assert core_utt in faulty

    exp = timit_expected(top)
    assert set(exp.bad) == {si, sx, dev_utt}
    assert exp.bad[si] == "no .PHN" and "'xx' at line 3" in exp.bad[sx] and "past" in exp.bad[dev_utt]
    assert not ({si, sx, dev_utt} & {u for v in exp.splits.values() for u in v})
    assert len(exp.splits["test"]) == 8 and len(exp.splits["train"]) == 30 and len(exp.splits["dev"]) == 15

    for kw in [{"missing_phn": "fzzz0_sa1"}, {"bad_phone": (si, 99)}, {"missing_speaker": lists.core[5]},
               {"phn_overrun": "not-an-id"}]:
        with pytest.raises(ValueError):
            make_timit(tmp_path / str(len(list(tmp_path.iterdir()))), **kw)


def test_fault_helpers_lower_case(tmp_path):
    top = make_timit(tmp_path, case="lower", riff=True, train_speakers=1, dev_speakers=0, core_speakers=1,
                     other_test_speakers=0, sentences=("SA1", "SI", "SX"))
    spk = full_lists().train[0]
    u1, u2, u3 = utt_ids(spk, ("SA1", "SI", "SX"))
    assert utt_file(top, u1.upper(), "wav").name == "sa1.wav"
    assert remove_utt_file(top, u1, "wrd").name == "sa1.wrd"
    assert not (utt_file(top, u1, "wav").parent / "sa1.wrd").exists()
    old = corrupt_phone(top, u2, line=1, symbol="zz")
    assert old == "h#" and read_phn(utt_file(top, u2, "phn"))[0][2] == "zz"
    end = overrun_phn(top, u3, by=1)
    assert end == sf.info(str(utt_file(top, u3, "wav"))).frames + 1
    gone = remove_speaker(top, "MDAB0")
    assert gone.name == "mdab0" and not gone.exists()
    exp = timit_expected(top)
    assert set(exp.bad) == {u2, u3} and u1 in exp.phones and u1 not in exp.words
    assert exp.splits == {"train": [], "dev": [], "test": []}
