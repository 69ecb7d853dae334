"""docs/new_corpus.md followed as written: a recipe made from egs/template by utils/new_recipe.sh, with the
doc's local/prepare_data.sh for Common Voice's layout (a layout no recipe reads), run through stage 8 at
tiny size on a miniature Common Voice corpus spoken by espeak-ng voices; utils/new_recipe.sh's checks;
the template's own example script on its documented layout."""
from __future__ import annotations

import hashlib
import random
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import soundfile

from conftest import REPO, run_script

DOC = REPO / "docs" / "new_corpus.md"
TINY = REPO / "egs" / "synth" / "conf" / "tiny"
# (espeak-ng voice, pitch, words per minute) per speaker; the last two are dev's and test's
VOICES = [("en-us+m1", 40, 165), ("en-us+f2", 65, 150), ("en+m3", 45, 175), ("en-gb-x-rp+f3", 60, 160),
          ("en-029+m2", 50, 170), ("en-gb-scotland+f1", 55, 160), ("en-us+m4", 35, 155)]
SUBJECTS = ["the cat", "a dog", "my friend", "the old man", "her sister", "the teacher"]
VERBS = ["sat on", "looked at", "walked to", "ran past", "found", "painted"]
OBJECTS = ["the mat", "a red car", "the green house", "his book", "the small boat", "a black bag"]
OPENERS = ["", "Yesterday, ", "Then ", "Today, "]


def doc_script() -> str:
    """The Common Voice local/prepare_data.sh as docs/new_corpus.md shows it (the block after its marker)."""
    m = re.search(r"<!-- common-voice-prepare-data -->\n```sh\n(.*?)```", DOC.read_text(), re.S)
    assert m, f"{DOC}: no sh block after <!-- common-voice-prepare-data -->"
    return m.group(1)


def sentence(rng: random.Random) -> str:
    """Mixed case and punctuation, as Common Voice's sentences are."""
    s = f"{rng.choice(OPENERS)}{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"
    return s[0].upper() + s[1:] + rng.choice([".", "!", "?", "."])


def make_common_voice(top: Path, per_speaker: int = 8, seed: int = 0) -> Dict[str, List[Tuple[str, str]]]:
    """Common Voice's layout with wav clips: clips/, and train/dev/test.tsv with a header (sentence fourth,
    after a sentence_id that older releases lack) and 128-digit client ids; 5 train speakers, 1 dev, 1 test.
    Returns {set: [(client_id, sentence)]}."""
    rng = random.Random(seed)
    (top / "clips").mkdir(parents=True)
    header = ["client_id", "path", "sentence_id", "sentence", "sentence_domain", "up_votes", "down_votes",
              "age", "gender", "accents", "variant", "locale", "segment"]
    sets = {"train": VOICES[:5], "dev": VOICES[5:6], "test": VOICES[6:]}
    out: Dict[str, List[Tuple[str, str]]] = {}
    n = 1000
    for name, voices in sets.items():
        rows, out[name] = ["\t".join(header)], []
        for voice, pitch, speed in voices:
            client = hashlib.sha512(voice.encode()).hexdigest()
            for _ in range(per_speaker):
                n += 1
                clip, text = f"common_voice_en_{n}.wav", sentence(rng)
                subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed), "-w",
                                str(top / "clips" / clip), text], check=True, capture_output=True)
                rows.append("\t".join([client, clip, f"s{n}", text, "", "2", "0", "", "", "", "", "en", ""]))
                out[name].append((client, text))
        (top / f"{name}.tsv").write_text("\n".join(rows) + "\n")
    (top / "validated.tsv").write_text("\t".join(header) + "\n")      # the other files of a release: unread
    return out


def new_recipe(tmp_path: Path, script: str) -> Path:
    """The doc's steps 1-2: utils/new_recipe.sh DIR, then local/prepare_data.sh replaced by `script`."""
    run_script("utils/new_recipe.sh", str(tmp_path / "cv"), check=True)
    d = tmp_path / "cv"
    (d / "local" / "prepare_data.sh").write_text(script)
    return d


def test_common_voice_recipe_through_stage_8(tmp_path):
    corpus = tmp_path / "cv-corpus-en"
    sets = make_common_voice(corpus)
    d = new_recipe(tmp_path, doc_script())
    tiny = ["--warmup-config", TINY / "warmup.yaml", "--search-config", TINY / "search.yaml",
            "--retrain-config", TINY / "retrain.yaml", "--space", TINY / "space.json",
            "--decode-opts", "--mode redecode --beam 10 --max-active 1000 --min-lmwt 0.6 --max-lmwt 1.2 "
                             "--lmwt-step 0.2"]
    # as the doc says: stages 0-1 first, and a look at the data dirs (client ids as speakers, the
    # sentences in CMUdict's spelling), then the rest
    r = run_script(str(d / "run.sh"), "--corpus-dir", corpus, "--stop-stage", "1")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    utt2spk = (d / "data/train/utt2spk").read_text().split("\n")
    assert {l.split()[1] for l in utt2spk if l} == {c for c, _ in sets["train"]}
    for x in ("train", "test"):
        got = sorted(l.split(None, 1)[1] for l in (d / f"data/{x}/text").read_text().splitlines())
        assert got == sorted(re.sub(r"[^A-Z']+", " ", s.upper()).strip() for _, s in sets[x])
    assert "no OOV words" in r.stdout, r.stdout
    r = run_script(str(d / "run.sh"), "--corpus-dir", corpus, "--stage", "2", *tiny)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    results = (d / "exp/nas_st_seed0/retrain/RESULTS").read_text()
    wer = r"^test WER at LM weight [\d.]+ \(best on dev\): %WER [\d.]+ \[ \d+ / \d+,"
    assert re.search(wer, results, re.M), results
    # the lexicon choice: a lexicon file of one's own instead of CMUdict (stage 1 again)
    lex = [l for l in (d / "data/lang_phn/lexicon.txt").read_text().splitlines() if not l.startswith("<")]
    word = lex[-1].split()[0]
    own = [f"{word} K AE T T"] + [l for l in lex if l.split()[0] != word]
    (tmp_path / "lexicon.txt").write_text("\n".join(own) + "\n")
    r = run_script(str(d / "run.sh"), "--corpus-dir", corpus, "--stage", "1", "--stop-stage", "1",
                   "--lexicon", tmp_path / "lexicon.txt")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert f"{word} K AE T T" in (d / "data/lang_phn/lexicon.txt").read_text().splitlines()
    assert "redoing" in r.stdout          # the graph follows the new lexicon



def test_doc_counts_the_local_code():
    """The doc's figure is the script's length, and the template ships no Common Voice code."""
    n = len(doc_script().splitlines())
    assert f"**{n} lines of local code**" in DOC.read_text() and f"**{n} lines**" in DOC.read_text()
    assert "client_id" not in (REPO / "egs/template/local/prepare_data.sh").read_text()


def test_new_recipe_copies_and_links(tmp_path):
    r = run_script("utils/new_recipe.sh", "--help")
    assert r.returncode == 0 and r.stdout.startswith("Usage:"), r.stdout
    assert run_script("utils/new_recipe.sh").returncode == 1
    d = tmp_path / "rec"
    run_script("utils/new_recipe.sh", d, check=True)
    assert sorted(p.name for p in d.iterdir()) == ["README.md", "cmd.sh", "conf", "local", "path.sh", "run.sh",
                                                   "steps", "utils"]
    for link in ("steps", "utils"):
        assert (d / link).is_symlink() and (d / link).resolve() == REPO / link
    r = run_script(str(d / "run.sh"), "--help")          # from /, through the copy's links
    assert r.returncode == 0 and "8  log-probabilities" in r.stdout and "--corpus-dir (corpus)" in r.stdout, r.stdout
    r = run_script("utils/new_recipe.sh", d)
    assert r.returncode == 1 and "exists; give another name" in r.stderr
    # the copy carries the mark that keeps tools/shared_blocks.py from reporting it against the template
    check = [sys.executable, str(REPO / "tools" / "shared_blocks.py"), str(REPO / "egs/template/run.sh"), str(d / "run.sh")]
    assert subprocess.run(check, capture_output=True, text=True).returncode == 0
    (d / "run.sh").write_text((d / "run.sh").read_text().replace("# made from egs/template by utils/new_recipe.sh\n", ""))
    assert subprocess.run(check, capture_output=True, text=True).returncode == 1
    r = run_script("utils/new_recipe.sh", tmp_path / "my corpus")
    assert r.returncode == 1 and "bad recipe name" in r.stderr
    r = run_script("utils/new_recipe.sh", tmp_path / "no" / "such")
    assert r.returncode == 1 and "no such dir" in r.stderr


def test_run_sh_refuses_bad_settings(tmp_path):
    d = tmp_path / "rec"
    run_script("utils/new_recipe.sh", d, check=True)
    r = run_script(str(d / "run.sh"), "--stop-stage", "0", "--corpus-dir", tmp_path / "missing")
    assert r.returncode == 1 and f"no corpus dir {tmp_path / 'missing'}" in r.stderr, r.stderr
    r = run_script(str(d / "run.sh"), "--unit", "word")
    assert r.returncode == 1 and "--unit must be phone, char or bpe" in r.stderr
    r = run_script(str(d / "run.sh"), "--unit", "char", "--lexicon", "lex.txt")
    assert r.returncode == 1 and "--lexicon goes with --unit phone" in r.stderr


def _tone(path: Path, seed: int) -> None:
    t = np.arange(8000) / 16000
    soundfile.write(path, 0.3 * np.sin(2 * np.pi * (200 + 20 * seed) * t), 16000, subtype="PCM_16")


def test_template_example_layout(tmp_path):
    """The template's local/prepare_data.sh on its documented layout: <set>/<speaker>/<name>.wav + .txt."""
    corpus = tmp_path / "corpus"
    for i, (x, spk, name, text) in enumerate([("train", "s1", "a", "hello  world\n"), ("train", "s2", "b", "The cat"),
                                               ("dev", "s3", "c", "a dog"), ("test", "s4", "d", "one\ttwo")]):
        (corpus / x / spk).mkdir(parents=True)
        _tone(corpus / x / spk / f"{name}.wav", i)
        (corpus / x / spk / f"{name}.txt").write_text(text)
    script = REPO / "egs/template/local/prepare_data.sh"
    run_script(str(script), corpus, tmp_path / "data", check=True)
    assert (tmp_path / "data/train/text").read_text() == "s1-a HELLO WORLD\ns2-b THE CAT\n"
    assert (tmp_path / "data/test/text").read_text() == "s4-d ONE TWO\n"
    assert (tmp_path / "data/train/utt2spk").read_text() == "s1-a s1\ns2-b s2\n"
    assert (tmp_path / "data/dev/wav.scp").read_text() == f"s3-c {corpus}/dev/s3/c.wav\n"
    for x in ("train", "dev", "test"):
        (tmp_path / f"data/{x}/spk2utt").write_text(
            run_script("utils/utt2spk_to_spk2utt.pl", tmp_path / f"data/{x}/utt2spk").stdout)
        run_script("utils/validate_data_dir.sh", "--no-feats", tmp_path / f"data/{x}", check=True)
    (corpus / "dev/s3/c.txt").unlink()
    r = run_script(str(script), corpus, tmp_path / "data2")
    assert r.returncode == 1 and f"no transcript {corpus}/dev/s3/c.txt" in r.stderr, r.stderr
