"""egs/timit on miniature TIMIT trees (tests/timit_fixtures.py, the corpus' real formats): the folding
table, stage 0's checks, stage 1's splits and transcripts, stage 2's features and global CMVN, reruns
that skip finished work, bad .PHN files, and a tiny run of stages 0-8 with a small cell space."""
from __future__ import annotations

import subprocess
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import yaml

from conftest import REPO, script_env
from ldc_fixtures import recipe_copy, run_module
from nas.data.audio import load_utterance
from nas.corpora.timit import read_phone_map, read_speaker_list
from timit_fixtures import full_lists, make_timit, timit_expected, utt_file

CONF = REPO / "egs" / "timit" / "conf"


def run_recipe(recipe: Path, *args, check: bool = True) -> subprocess.CompletedProcess:
    p = subprocess.run([str(recipe / "run.sh"), *map(str, args)], cwd="/", env=script_env(),
                       capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"run.sh {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stdout[-6000:]}\n"
                             f"{p.stderr[-4000:]}")
    return p


def test_folding_table_has_the_published_counts():
    m = read_phone_map(CONF / "phones.61-48-39.map")
    assert len(m.phones61) == 61 and len(m.phones48) == 48 and len(m.phones39) == 39
    assert m.dropped == {"q"} and "h#" in m.phones61
    assert m.fold48(["h#", "q", "ax-h", "bcl", "pcl", "zh", "axr", "nx"]) == ["sil", "ax", "vcl", "cl", "zh", "er", "n"]
    assert m.fold39(["ax", "vcl", "cl", "zh", "epi", "ix", "el", "ao"]) == ["ah", "sil", "sil", "sh", "sil", "ih", "l", "aa"]
    # every 48-phone folds to one of the 39, and the 39 are all reached
    assert {m.to39[p] for p in m.phones48} == set(m.phones39)


def test_fold_phones_filter():
    m = str(CONF / "phones.61-48-39.map")
    r = run_module("nas.corpora.timit", "fold-phones", "--map", m, input="u1 sil vcl b cl ix zh sil\nu2\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "u1 sil sil b sil ih sh sil\nu2\n"           # repeats kept, as the benchmark scores
    r = run_module("nas.corpora.timit", "fold-phones", "--map", m, "--from", "61", "--to", "48",
                   input="u1 h# q ax-h pcl p h#\n")
    assert r.stdout == "u1 sil ax cl p sil\n"
    r = run_module("nas.corpora.timit", "fold-phones", "--map", m, input="u1 sil\nu2 sil xx\n")
    assert r.returncode == 1 and "stdin line 2 (u2): xx not in the 48-phone set" in r.stderr


def test_speaker_lists_are_the_standard_ones():
    dev, core = read_speaker_list(CONF / "dev_spk.list"), read_speaker_list(CONF / "test_spk.list")
    assert len(dev) == len(set(dev)) == 50 and len(core) == len(set(core)) == 24 and not set(dev) & set(core)
    assert set(core) == set(full_lists().core) and set(dev) == set(full_lists().dev)
    assert sum(s.startswith("f") for s in core) == 8          # one woman and two men per dialect region


def test_stage_configs_are_options_of_their_stages():
    from nas.options import flags
    from nas.train.cli import PLANS
    for kind, name in (("warmup", "warmup"), ("search", "search"), ("retrain", "retrain_nb_asr")):
        names = {fl.name for fl in flags(PLANS[kind].Config)}
        keys = set(yaml.safe_load((CONF / f"{name}.yaml").read_text()))
        assert keys <= names, (kind, keys - names)


@pytest.mark.parametrize("case, riff", [("upper", False), ("lower", True)])
def test_stages_0_to_2_on_a_miniature_tree(tmp_path, monkeypatch, case, riff):
    monkeypatch.setenv("PATH", script_env()["PATH"])          # wav.scp's sph2pipe, read here too
    top = make_timit(tmp_path / "ldc", case=case, riff=riff, train_speakers=3, dev_speakers=2, core_speakers=1,
                     other_test_speakers=1, seconds=0.5)
    exp = timit_expected(top)
    recipe = recipe_copy(tmp_path, "timit")
    args = ("--timit", top.parent, "--allow-partial", "true", "--nj", 2, "--stop-stage", 2)
    out = run_recipe(recipe, *args).stdout
    assert "train 24, dev 16, test 8" in out            # SA sentences and the other test speaker left out
    data = recipe / "data"
    table = read_phone_map(CONF / "phones.61-48-39.map")
    for name in ("train", "dev", "test"):
        d = data / name
        text = dict(line.split(" ", 1) for line in (d / "text").read_text().splitlines())
        assert sorted(text) == exp.splits[name]
        for utt in exp.splits[name]:
            assert text[utt].split() == table.fold48(exp.phones[utt]), utt
        utt2spk = dict(line.split() for line in (d / "utt2spk").read_text().splitlines())
        assert all(utt2spk[u] == exp.utt2spk[u] for u in text)
        spk2gender = dict(line.split() for line in (d / "spk2gender").read_text().splitlines())
        assert spk2gender == {s: exp.spk2gender[s] for s in set(utt2spk.values())}
        wav = dict(line.split(" ", 1) for line in (d / "wav.scp").read_text().splitlines())
        first = sorted(text)[0]
        assert ("sph2pipe" in wav[first]) != riff
        samples, rate = load_utterance(wav[first])
        assert rate == 16000 and len(samples) == exp.num_samples[first]
        feats = kaldiio.load_scp(str(d / "feats.scp"))
        assert feats[first].shape[1] == 80
        assert feats[first].shape[0] == 1 + (exp.num_samples[first] - 400) // 160      # 25/10 ms, snip edges
    # global CMVN: every speaker of every set normalized with the training set's statistics
    train_stats = kaldiio.load_mat(str(recipe / "fbank" / "global_cmvn_train.mat"))
    frames = sum(m.shape[0] for m in kaldiio.load_scp(str(data / "train" / "feats.scp")).values())
    assert train_stats[0, -1] == frames
    for name in ("train", "dev", "test"):
        for stats in kaldiio.load_scp(str(data / name / "cmvn.scp")).values():
            assert np.array_equal(stats, train_stats)

    stamp = {f: f.stat().st_mtime_ns for f in data.glob("*/feats.scp")}
    again = run_recipe(recipe, *args).stdout
    assert again.count("unchanged, kept") == 3 and again.count("has features and CMVN stats; skipping") == 3
    assert "is up to date; skipping" in again
    assert {f: f.stat().st_mtime_ns for f in data.glob("*/feats.scp")} == stamp


def test_stage0_names_what_is_missing(tmp_path):
    lists = full_lists()
    top = make_timit(tmp_path / "ldc", train_speakers=2, dev_speakers=1, core_speakers=2, other_test_speakers=0,
                     seconds=0.4, missing_phn=[f"{lists.train[0]}_sa1"], missing_speaker=[lists.core[1]])
    recipe = recipe_copy(tmp_path, "timit")
    (tmp_path / "dev.list").write_text(lists.dev[0] + "\n")             # lists of what was written
    (tmp_path / "test.list").write_text("\n".join(lists.core[:2]) + "\n")
    lists_opts = ("--dev-spk", tmp_path / "dev.list", "--test-spk", tmp_path / "test.list")
    p = run_recipe(recipe, "--timit", top, "--stop-stage", 0, *lists_opts, check=False)
    assert p.returncode != 0
    assert f"{lists.train[0].upper()}/SA1.WAV" in p.stderr and "without a .PHN: 1" in p.stderr
    assert f"1 speakers of the test list are not in TEST/: {lists.core[1]}" in p.stderr
    assert "speakers of the dev list" not in p.stderr
    p = run_recipe(recipe, "--timit", tmp_path / "nowhere", "--stop-stage", 0, check=False)
    assert p.returncode != 0 and "TIMIT/TRAIN/DR1/FCJF0/SA1.WAV" in p.stderr
    (tmp_path / "empty").mkdir()
    p = run_recipe(recipe, "--timit", tmp_path / "empty", "--stop-stage", 0, check=False)
    assert p.returncode != 0 and "expected TRAIN/ and TEST/" in p.stderr


def test_stage0_names_unreadable_audio_headers(tmp_path):
    top = make_timit(tmp_path / "ldc", train_speakers=1, dev_speakers=1, core_speakers=1, other_test_speakers=0,
                     seconds=0.4)
    splits = timit_expected(top).splits
    broken = utt_file(top, splits["train"][0], "wav")
    broken.write_bytes(b"NIST_1A\n   1024\nsample_count -i many\nend_head\n".ljust(1024) + b"\0" * 64)
    other = utt_file(top, splits["dev"][0], "wav")
    other.write_bytes(b"not audio at all")
    recipe = recipe_copy(tmp_path, "timit")
    p = run_recipe(recipe, "--timit", top, "--allow-partial", "true", "--stop-stage", 0, check=False)
    assert "unreadable audio headers: 2" in p.stderr
    assert f"{broken}: cannot read its SPHERE header" in p.stderr
    assert f"{other}: neither NIST SPHERE nor RIFF" in p.stderr


def test_bad_phn_files_are_reported(tmp_path):
    lists = full_lists()
    spk = lists.train[0]
    utts = [u for u in timit_expected(make_timit(tmp_path / "probe", train_speakers=1, dev_speakers=0,
                                                 core_speakers=0, other_test_speakers=0, seconds=0.4)).splits["train"]]
    bad_phone, overrun = utts[0], utts[1]
    top = make_timit(tmp_path / "ldc", train_speakers=2, dev_speakers=1, core_speakers=1, other_test_speakers=0,
                     seconds=0.4, bad_phone=[(bad_phone, 3)], phn_overrun=[overrun])
    recipe = recipe_copy(tmp_path, "timit")
    p = run_recipe(recipe, "--timit", top, "--allow-partial", "true", "--stop-stage", 1)
    sent = bad_phone.split("_")[1].upper()
    assert f"{spk.upper()}/{sent}.PHN:3: phone 'xx' is not in the 61-phone table" in p.stderr
    assert f"{overrun.split('_')[1].upper()}.PHN:" in p.stderr and "past the audio's" in p.stderr
    assert "utterances left out: 1" in p.stderr and "past the end of the audio (utterances kept): 1" in p.stderr
    train = (recipe / "data" / "train" / "text").read_text()
    assert bad_phone not in train and overrun in train and f"{lists.train[1]}_" in train


def _tiny_confs(d: Path) -> dict:
    """Stage configs of a few seconds each: the recipe's own, shortened."""
    d.mkdir()
    quick = {"tensorboard": False, "plots": False}
    confs = {}
    for name, over in (("warmup", {"batch_size": 8, "lr": 0.003, "max_epochs": 2}),
                       ("search", {"batch_size": 8, "lr": 0.003, "max_epochs": 1}),
                       ("retrain_nb_asr", {"batch_size": 8, "lr": 0.003, "max_epochs": 2, "curriculum": "1.65"})):
        cfg = dict(yaml.safe_load((CONF / f"{name}.yaml").read_text()), **over, **quick)
        (d / f"{name}.yaml").write_text(yaml.safe_dump(cfg))
        confs[name] = d / f"{name}.yaml"
    return confs


def test_tiny_run_of_every_stage(tmp_path):
    from nas.bench.synthetic import synthetic_table
    top = make_timit(tmp_path / "ldc", train_speakers=4, dev_speakers=1, core_speakers=1, other_test_speakers=0,
                     seconds=1.6)
    confs = _tiny_confs(tmp_path / "conf")
    recipe = recipe_copy(tmp_path, "timit")
    space = ("--space", "nb_asr_small", "--space-params", "width=0.1,cells=[1,1,1,1]")
    common = ("--timit", top, "--allow-partial", "true", "--nj", 2, *space, "--warmup-conf", confs["warmup"],
              "--search-conf", confs["search"], "--retrain-conf", confs["retrain_nb_asr"])
    out = run_recipe(recipe, *common).stdout
    assert "NAS-Bench-ASR vector [[" in out and "model hash " in out
    exp = recipe / "exp" / "nas_st_seed0" / "retrain"
    results = (exp / "RESULTS").read_text()
    for x in ("dev", "test"):
        assert f"{x} WER at LM weight 0 (best on dev): %WER" in results            # prefix beam search
        assert f"{x} sclite at LM weight 0: %WER" in results
        assert (exp / f"decode_{x}_bg" / "best_wer").is_file()
    csid = [list(map(int, line.split()[2:])) for line in
            (exp / "decode_test_beam12" / "scoring" / "wer_details" / "per_utt_0").read_text().splitlines()
            if line.split()[1] == "#csid"]
    mean = 100 * np.mean([(s + i + d) / (c + s + d) for c, s, i, d in csid])
    assert f"test mean of per-utterance PERs at LM weight 0 (NAS-Bench-ASR's averaging): {mean:.2f}% over 8" in results
    ref39 = (exp / "decode_test_beam12" / "scoring" / "ref_filt.txt").read_text().split()
    assert "sil" in ref39 and "vcl" not in ref39 and "cl" not in ref39            # scored on 39 phones
    cfg = yaml.safe_load((exp / "config.json").read_text())
    assert cfg["curriculum"] == "1.65" and cfg["schedule"] == "exponential" and cfg["conv_l2"] == 0.01

    # a benchmark vector retrained instead of searching, with the benchmark's PER beside ours
    bench = synthetic_table(tmp_path / "bench")
    vec = "[[1,0],[1,0,0],[1,0,0,0]]"
    out = run_recipe(recipe, *common, "--stage", 7, "--arch-vec", vec, "--bench-dir", bench).stdout
    assert "stages 4-6 skipped" in out
    res = next((recipe / "exp").glob("archvec_*_seed0")) / "retrain" / "RESULTS"
    line = res.read_text().splitlines()[-1]
    assert "vector [[1,0],[1,0,0],[1,0,0,0]]" in line and "test PER " in line and "best dev PER" in line
