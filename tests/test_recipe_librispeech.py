"""egs/librispeech on a miniature mirror: the published layout (flac, trans.txt, SPEAKERS.TXT, archives
under LibriSpeech/, LMs and lexicon under their published names) at file://; stages 0-2; checksums,
truncated archives, resumed downloads and unsafe archive members."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import io
import tarfile
import threading
from pathlib import Path
from typing import Dict, List

import kaldiio
import numpy as np
import pytest
import soundfile

from conftest import REPO
from ldc_fixtures import assert_stage_configs, recipe_copy, run_module
from nas.corpora.librispeech import LibriSpeechError
from nas.corpora.librispeech.download import extract, fetch_verified, read_md5sums
from nas.corpora.librispeech.prepare import read_speakers, read_transcripts

# part -> {reader: (gender, {chapter: [transcripts]})}; ZORBLAX is only in the published lexicon, QWXZQ in none
TREE = {
    "train-clean-100": {"19": ("F", {"198": ["THE CAT SAT ON THE MAT", "A DOG RAN HOME"]}),
                        "26": ("M", {"495": ["THE ZORBLAX SAT", "THE DOG SAT ON A CAT"],
                                     "496": ["HOME IS WHERE THE QWXZQ IS"]})},
    "dev-clean": {"84": ("F", {"121123": ["THE DOG RAN", "A CAT IS HOME"]})},
    "dev-other": {"116": ("M", {"288045": ["THE MAT IS HOME"]})},
    "test-clean": {"121": ("F", {"121726": ["A DOG SAT ON THE MAT"]})},
    "test-other": {"367": ("F", {"130732": ["THE CAT RAN HOME"]})},
}
MINI = {"train-clean-5": TREE["train-clean-100"], "dev-clean-2": TREE["dev-clean"]}   # OpenSLR 31's parts
LEXICON = "ZORBLAX\tZ AO1 R B L AE0 K S\nTHE\tDH AH0\nCAT\tK AE1 T\n"
LM_FILES = ("3-gram.pruned.3e-7.arpa.gz", "3-gram.pruned.1e-7.arpa.gz", "3-gram.arpa.gz", "4-gram.arpa.gz",
            "librispeech-lexicon.txt", "librispeech-vocab.txt")
SPEAKERS_HEADER = """; Some pipe(|) separated metadata about all LibriVox readers, whose work was used
; in the corpus.
;
; The meaning of the fields in left-to-right order is as follows:
;
; reader_id: the ID of the reader in the LibriVox's database
; gender: 'F' for female, 'M' for male
; subset: the corpus subset to which the reader's audio is assigned
; duration: total number of minutes of speech by the reader, included in the corpus
; name: the name under which the reader is registered in LibriVox
;
;ID  |SEX| SUBSET           |MINUTES| NAME
"""


def _speech(seconds: float, seed: int) -> np.ndarray:
    """A voiced sound with a moving pitch and syllable-rate amplitude, plus noise: fbank has shape."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * 16000)) / 16000
    f0 = 100 + 30 * seed % 90 + 20 * np.sin(2 * np.pi * 1.5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / 16000
    x = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return np.clip(4000 * x + 200 * rng.standard_normal(len(t)), -32768, 32767).astype(np.int16)


def _arpa(sentences: List[List[str]], order: int) -> str:
    """A valid ARPA LM of `order` over the sentences' n-grams (every n-gram's prefix is there too)."""
    grams: List[Dict[tuple, None]] = [dict() for _ in range(order)]
    for s in sentences:
        toks = ["<s>"] + s + ["</s>"]
        for n in range(1, order + 1):
            for i in range(len(toks) - n + 1):
                grams[n - 1][tuple(toks[i:i + n])] = None
    out = ["\\data\\"] + [f"ngram {n + 1}={len(g)}" for n, g in enumerate(grams)]
    for n, g in enumerate(grams):
        out += ["", f"\\{n + 1}-grams:"]
        for gram in g:
            p = -99.0 if gram == ("<s>",) else -0.7 - 0.1 * n
            bo = "" if n + 1 == order or gram[-1] == "</s>" else "\t-0.3"
            out.append(f"{p:.2f}\t{' '.join(gram)}{bo}")
    return "\n".join(out + ["", "\\end\\", ""])


def _pack(part: str, src: Path, dest: Path) -> None:
    """The part's archive as openslr's: everything under LibriSpeech/ (SPEAKERS.TXT and <part>/)."""
    with tarfile.open(dest, "w:gz") as tar:
        tar.add(src / "LibriSpeech" / "SPEAKERS.TXT", "LibriSpeech/SPEAKERS.TXT")
        tar.add(src / "LibriSpeech" / part, f"LibriSpeech/{part}")


def make_mirror(root: Path) -> Path:
    """BASE/12/<part>.tar.gz for every part of TREE, BASE/31/ for MINI's, BASE/11/<LM and lexicon files>;
    returns BASE."""
    base, tree = root / "mirror", root / "tree" / "LibriSpeech"
    rows = {r: (g, p) for p, readers in TREE.items() for r, (g, _) in readers.items()}
    (tree).mkdir(parents=True)
    (tree / "SPEAKERS.TXT").write_text(SPEAKERS_HEADER + "".join(
        f"{r:<5}| {g} | {p:<16} | 25.{int(r) % 60:02d} | Reader {r}\n" for r, (g, p) in sorted(rows.items(), key=lambda kv: int(kv[0]))))
    seed = 0
    for part, readers in {**TREE, **MINI}.items():
        for reader, (_, chapters) in readers.items():
            for chapter, lines in chapters.items():
                d = tree / part / reader / chapter
                d.mkdir(parents=True)
                trans = []
                for i, words in enumerate(lines):
                    utt = f"{reader}-{chapter}-{i:04d}"
                    seed += 1
                    soundfile.write(d / f"{utt}.flac", _speech(0.8 + 0.1 * len(words.split()), seed), 16000,
                                    format="FLAC", subtype="PCM_16")
                    trans.append(f"{utt} {words}\n")
                (d / f"{reader}-{chapter}.trans.txt").write_text("".join(trans))
        resource = base / ("31" if part in MINI else "12")
        resource.mkdir(parents=True, exist_ok=True)
        _pack(part, tree.parent, resource / f"{part}.tar.gz")
    sentences = [l.split() for p in TREE.values() for _, ch in p.values() for ls in ch.values() for l in ls]
    (base / "11").mkdir()
    for name, order in (("3-gram.pruned.3e-7", 2), ("3-gram.pruned.1e-7", 3), ("3-gram", 3), ("4-gram", 4)):
        (base / "11" / f"{name}.arpa.gz").write_bytes(gzip.compress(_arpa(sentences, order).encode()))
    (base / "11" / "librispeech-lexicon.txt").write_text(LEXICON)
    vocab = sorted({w for s in sentences for w in s} - {"QWXZQ"})
    (base / "11" / "librispeech-vocab.txt").write_text("".join(f"{w}\n" for w in vocab))
    return base


def md5sums(base: Path, out: Path, override: Dict[str, str] = {}) -> Path:
    """The mirror's sums in md5sum's format (one line with a ./ path, as `md5sum ./x` prints)."""
    lines = ["# the miniature mirror's own sums\n"]
    for f in sorted(base.rglob("*")):
        if f.is_file():
            md5 = override.get(f.name, hashlib.md5(f.read_bytes()).hexdigest())
            lines.append(f"{md5}  {'./' if f.name == 'dev-clean.tar.gz' else ''}{f.name}\n")
    out.write_text("".join(lines))
    return out


@pytest.fixture(scope="module")
def mirror(tmp_path_factory) -> Path:
    return make_mirror(tmp_path_factory.mktemp("libri"))


def _run(d: Path, *args: str, stop: int = 0, start: int = 0):
    from conftest import run_script
    return run_script(str(d / "run.sh"), "--stage", str(start), "--stop-stage", str(stop), "--nj", "2", *args)


# ------------------------------------------------------------------------------------------ recipe

def test_help_lists_stages_options_and_mini(run):
    r = run("egs/librispeech/run.sh", "--help")
    assert r.returncode == 0, r.stderr
    for s in range(9):
        assert f"\n  {s}  " in r.stdout, s
    for opt in ("--url (https://www.openslr.org/resources)", "--md5sums (conf/md5sums.txt)", "--mini (false)",
                "--parts (train-clean-100 dev-clean dev-other test-clean test-other)", "--unit (phone)",
                "--arch-vec ()", "--rescore-lms (tglarge fglarge)", "--stop-stage"):
        assert opt in r.stdout, opt
    r = run("egs/librispeech/run.sh", "--mini", "true", "--help")
    assert "--parts (train-clean-5 dev-clean-2)" in r.stdout and "--space (conf/mini/space.json)" in r.stdout


def test_stage_configs_are_stage_options():
    assert_stage_configs(REPO / "egs/librispeech/conf")
    assert_stage_configs(REPO / "egs/librispeech/conf/mini")


def test_published_sums_cover_every_file_stage0_fetches():
    sums = read_md5sums(REPO / "egs/librispeech/conf/md5sums.txt")
    from nas.corpora.librispeech import LIBRISPEECH_PARTS, LM_FILES as FILES, MINI_PARTS
    assert set(sums) == {f"{p}.tar.gz" for p in LIBRISPEECH_PARTS + MINI_PARTS} | set(FILES)


def test_stages_0_to_2_on_the_mirror(mirror, tmp_path):
    d = recipe_copy(tmp_path, "librispeech")
    sums = md5sums(mirror, tmp_path / "md5sums.txt")
    args = ["--url", mirror.as_uri(), "--md5sums", str(sums), "--corpus-dir", str(tmp_path / "corpus")]
    r = _run(d, *args, stop=2)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = r.stdout
    assert "librispeech check: 5 parts" in out and "MD5s as published" in out
    data = d / "data"
    for x, n in (("train_clean_100", 5), ("dev_clean", 2), ("dev_other", 1), ("test_clean", 1), ("test_other", 1)):
        wav = dict(l.split(" ", 1) for l in (data / x / "wav.scp").read_text().splitlines())
        assert len(wav) == n and all(v.endswith(".flac") and Path(v).is_file() for v in wav.values())
    text = dict(l.split(" ", 1) for l in (data / "train_clean_100/text").read_text().splitlines())
    assert text["26-495-0000"] == "THE ZORBLAX SAT"
    assert (data / "train_clean_100/utt2spk").read_text().splitlines()[-1] == "26-496-0000 26-496"
    assert (data / "train_clean_100/spk2gender").read_text() == "19-198 f\n26-495 m\n26-496 m\n"
    # lexicon: CMUdict, ZORBLAX from the published lexicon (stress dropped), QWXZQ from neither
    lex = (data / "local/dict/lexicon.txt").read_text()
    assert "ZORBLAX Z AO R B L AE K S\n" in lex and "THE DH AH\n" in lex and "QWXZQ" not in lex
    assert "1 from " in out and "1 without a pronunciation (e.g. QWXZQ)" in out
    assert (data / "lang_phn/oov.txt").read_text().strip() == "<UNK>"
    assert (data / "lang_phn_test_tgsmall/graph/TLG.fst").is_file()
    assert (data / "local/lm/lm_fglarge.arpa.gz").resolve() == tmp_path / "corpus/lm/4-gram.arpa.gz"
    for x, n in (("train_clean_100_sp", 15), ("dev_clean", 2), ("test_other", 1)):
        feats = kaldiio.load_scp(str(data / x / "feats.scp"))
        assert len(feats) == n and next(iter(feats.values())).shape[1] == 40
    # a rerun of stages 0-1 fetches and rewrites nothing
    r = _run(d, *args, stop=1)
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.count("downloading file://") == 5 + 6 and "downloading" not in r.stdout
    for what in ("train-clean-100: " + str(tmp_path / "corpus/LibriSpeech/train-clean-100") + " is unpacked; skipping",
                 "4-gram.arpa.gz: there, checked before; skipping", "(unchanged: left as it was)",
                 "data/lang_phn is up to date", "TLG.fst is up to date"):
        assert what in r.stdout, what
    # BPE units instead: sentencepiece trained on the training transcripts
    r = _run(d, *args, "--unit", "bpe", "--bpe-size", "30", start=1, stop=1)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (data / "lang_bpe/bpe.model").is_file() and (data / "lang_bpe_test_tgsmall/graph/TLG.fst").is_file()


def test_mini_downloads_openslr_31(mirror, tmp_path):
    d = recipe_copy(tmp_path, "librispeech")
    sums = md5sums(mirror, tmp_path / "md5sums.txt")
    r = _run(d, "--mini", "true", "--url", str(mirror), "--md5sums", str(sums), "--corpus-dir", str(tmp_path / "c"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"train-clean-5.tar.gz: downloading {mirror.as_uri()}/31/train-clean-5.tar.gz" in r.stdout
    assert "librispeech check: 2 parts" in r.stdout and r.stdout.count("downloading file://") == 2 + 4
    assert not (tmp_path / "c/lm/4-gram.arpa.gz").exists()


def test_wrong_checksum_is_refused_by_name(mirror, tmp_path):
    d = recipe_copy(tmp_path, "librispeech")
    sums = md5sums(mirror, tmp_path / "bad.txt", {"dev-clean.tar.gz": "0" * 32})
    r = _run(d, "--url", mirror.as_uri(), "--md5sums", str(sums), "--corpus-dir", str(tmp_path / "c"))
    assert r.returncode != 0
    assert f"{tmp_path}/c/dev-clean.tar.gz: MD5 " in r.stderr and f"is not the published {'0' * 32}" in r.stderr
    assert not (tmp_path / "c/dev-clean.tar.gz.part").exists() and not (tmp_path / "c/LibriSpeech/dev-clean").exists()
    # the recipe's own list: the mirror's archives are not the published ones
    r = _run(d, "--url", mirror.as_uri(), "--corpus-dir", str(tmp_path / "c2"))
    assert r.returncode != 0 and "train-clean-100.tar.gz: MD5 " in r.stderr and "2a93770f6d5c6c964bc36631d331a522" in r.stderr
    # a file the list does not name is not used unchecked
    (tmp_path / "short.txt").write_text("".join(l for l in sums.read_text().splitlines(True) if "4-gram" not in l))
    r = run_module("nas.corpora.librispeech", "download", "--url", mirror, "--md5sums", tmp_path / "short.txt",
                   "--corpus", tmp_path / "c3", "--lm-dir", tmp_path / "c3/lm", "--files", "4-gram.arpa.gz")
    assert r.returncode == 1 and f"{tmp_path}/short.txt: lists no MD5 for 4-gram.arpa.gz" in r.stderr


def test_truncated_archive_is_refused_by_name(mirror, tmp_path):
    cut = tmp_path / "mirror"
    (cut / "12").mkdir(parents=True)
    full = (mirror / "12/test-clean.tar.gz").read_bytes()
    (cut / "12/test-clean.tar.gz").write_bytes(full[:len(full) // 2])
    common = ["--corpus", tmp_path / "c", "--lm-dir", tmp_path / "lm", "--files", "--", "test-clean"]
    # against the full archive's sum: refused by its MD5
    good = tmp_path / "good.txt"
    good.write_text(f"{hashlib.md5(full).hexdigest()}  test-clean.tar.gz\n")
    r = run_module("nas.corpora.librispeech", "download", "--url", cut.as_uri(), "--md5sums", good, *common)
    assert r.returncode == 1 and f"{tmp_path}/c/test-clean.tar.gz: MD5 " in r.stderr, r.stderr
    # a list that vouches for the truncated file: refused when unpacking, naming the archive
    short = tmp_path / "short.txt"
    short.write_text(f"{hashlib.md5(full[:len(full) // 2]).hexdigest()}  test-clean.tar.gz\n")
    r = run_module("nas.corpora.librispeech", "download", "--url", cut.as_uri(), "--md5sums", short, *common)
    assert r.returncode == 1 and f"{tmp_path}/c/test-clean.tar.gz: cannot unpack it" in r.stderr, r.stderr
    assert not (tmp_path / "c/LibriSpeech/test-clean/.complete").exists()


def test_partial_download_resumes(mirror, tmp_path):
    src = mirror / "11/3-gram.arpa.gz"
    body = src.read_bytes()
    dest = tmp_path / "3-gram.arpa.gz"
    (tmp_path / "3-gram.arpa.gz.part").write_bytes(body[:100])
    log: List[str] = []
    fetch_verified(src.as_uri(), dest, hashlib.md5(body).hexdigest(), log.append)
    assert dest.read_bytes() == body and log == ["3-gram.arpa.gz: resuming after 100 bytes from " + src.as_uri()]
    # a prefix that is not the file's: the MD5 fails, the .part goes, so the next try starts afresh
    dest.unlink()
    (tmp_path / "3-gram.arpa.gz.part").write_bytes(b"x" * 100)
    with pytest.raises(LibriSpeechError, match=rf"{dest}: MD5 .* is not the published"):
        fetch_verified(src.as_uri(), dest, hashlib.md5(body).hexdigest(), log.append)
    assert not dest.exists() and not (tmp_path / "3-gram.arpa.gz.part").exists()


class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the mirror, honouring `Range: bytes=N-` (206) unless `ranges` is off; logs the Range asked."""
    ranges = True
    asked: List[str] = []

    def do_GET(self) -> None:
        body = Path(self.translate_path(self.path)).read_bytes()
        rng = self.headers.get("Range")
        self.asked.append(rng or "")
        start = int(rng[len("bytes="):-1]) if rng and self.ranges else 0
        self.send_response(206 if start else 200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        self.wfile.write(body[start:])

    def log_message(self, *args) -> None:
        pass


@pytest.mark.parametrize("ranges", [True, False])
def test_http_download_resumes_with_a_range_request(mirror, tmp_path, ranges):
    handler = type("H", (_RangeHandler,), {"ranges": ranges, "asked": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(mirror)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        body = (mirror / "11/4-gram.arpa.gz").read_bytes()
        (tmp_path / "4-gram.arpa.gz.part").write_bytes(body[:50])
        log: List[str] = []
        url = f"http://127.0.0.1:{server.server_address[1]}/11/4-gram.arpa.gz"
        fetch_verified(url, tmp_path / "4-gram.arpa.gz", hashlib.md5(body).hexdigest(), log.append)
    finally:
        server.shutdown()
        server.server_close()
    assert (tmp_path / "4-gram.arpa.gz").read_bytes() == body and handler.asked == ["bytes=50-"]
    assert any("does not resume" in m for m in log) != ranges


@pytest.mark.parametrize("name, kind", [("LibriSpeech/../../evil.txt", tarfile.REGTYPE),
                                        ("/tmp/evil.txt", tarfile.REGTYPE),
                                        ("elsewhere/evil.txt", tarfile.REGTYPE),
                                        ("LibriSpeech/dev-clean/link", tarfile.SYMTYPE)])
def test_unsafe_archive_members_are_refused(tmp_path, name, kind):
    archive = tmp_path / "dev-clean.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo(name)
        info.type = kind
        if kind == tarfile.SYMTYPE:
            info.linkname = "/etc/passwd"
            tar.addfile(info)
        else:
            info.size = 4
            tar.addfile(info, io.BytesIO(b"evil"))
    out = tmp_path / "out" / "deep"
    out.mkdir(parents=True)
    with pytest.raises(LibriSpeechError, match=rf"{archive}: member '{name}' .*refused"):
        extract(archive, out, "dev-clean", "0" * 32, lambda m: None)
    assert not list(tmp_path.rglob("evil.txt")) and not (out / "LibriSpeech/dev-clean/link").exists()


def test_tree_errors_name_file_and_line(tmp_path):
    spk = tmp_path / "SPEAKERS.TXT"
    spk.write_text(SPEAKERS_HEADER + "19   | F | train-clean-100  | 25.19 | Kara |Pipe| Name\n26 | X | dev | 1 | Y\n")
    with pytest.raises(LibriSpeechError, match=rf"{spk}:14: not a SPEAKERS.TXT line"):
        read_speakers(spk)
    spk.write_text(SPEAKERS_HEADER + "19   | F | train-clean-100  | 25.19 | Kara |Pipe| Name\n")
    assert read_speakers(spk)["19"].name == "Kara |Pipe| Name"
    trans = tmp_path / "19-198.trans.txt"
    trans.write_text("19-198-0000 A CAT\n19-199-0001 A DOG\n")
    with pytest.raises(LibriSpeechError, match=rf"{trans}:2: utterance id '19-199-0001' is not 19-198-<number>"):
        read_transcripts(trans, "19", "198")
    sums = tmp_path / "sums.txt"
    sums.write_text("# c\n42e2234ba48799c1f50f24a7926300a1  dev-clean.tar.gz\nnot-a-sum  x\n")
    with pytest.raises(LibriSpeechError, match=rf"{sums}:3: not an md5sum line"):
        read_md5sums(sums)
