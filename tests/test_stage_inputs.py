"""Stages redo their work when what they were made from changed (issue: no silent wrong results).

A stage whose inputs are unchanged is skipped; a changed input (a config, features, an
architecture, a checkpoint) redoes it, with one line naming the change, and the redone outputs
change what the next stage was made from. The tiny recipe's stages 5-8 are checked in
test_recipe_synth.py's end-to-end test; here the pieces: nas.stamps, steps/make_features.sh,
steps/prep_den_lm.sh and the training stages' --redo-changed.
"""
import json
import os
from pathlib import Path

import kaldiio
import numpy as np
import soundfile

from conftest import make_data_dir
from nas.stamps import changes, make_record, path_digest, read_record, write_record
from test_train_stages import run_stage


def test_digests_see_content_archives_and_leave_out_hidden_files_and_logs(tmp_path):
    d = tmp_path / "data"
    d.mkdir()
    (d / "text").write_text("u1 A\n")
    ark = tmp_path / "feats.ark"
    kaldiio.save_ark(str(ark), {"u1": np.zeros((3, 2), np.float32)}, scp=str(d / "feats.scp"))
    (d / ".lock").write_text("pid=1\n")
    (d / "make.log").write_text("x\n")
    before = make_record({"data": d, "gone": tmp_path / "none"}, {"lr": 0.1})
    assert set(before["paths"]["data"]["digest"]) == {"text", "feats.scp"}
    assert before["paths"]["gone"]["digest"] == "missing"
    (d / ".lock").write_text("pid=2\n")
    (d / "make.log").write_text("y\n")
    assert changes(before, make_record({"data": d, "gone": tmp_path / "none"}, {"lr": 0.1})) == []
    # features recomputed into the same archive: feats.scp's text is the same, the archive is not
    scp_text = (d / "feats.scp").read_text()
    kaldiio.save_ark(str(ark), {"u1": np.ones((3, 2), np.float32)}, scp=str(d / "feats.scp"))
    os.utime(ark, ns=(1, 1))
    assert (d / "feats.scp").read_text() == scp_text
    after = make_record({"data": d, "gone": tmp_path / "none"}, {"lr": 0.2})
    assert changes(before, after) == ["data (feats.scp)", "lr (0.1 -> 0.2)"]
    # the same content under another path is no change; a record survives a write and read
    (tmp_path / "copy").write_text((d / "text").read_text())
    assert path_digest(tmp_path / "copy") == path_digest(d / "text")
    write_record(tmp_path / "r.json", after)
    assert read_record(tmp_path / "r.json") == after and read_record(tmp_path / "none.json") is None


def _wav_data(root: Path, n: int = 4) -> Path:
    (root / "wav").mkdir(parents=True)
    rng = np.random.default_rng(0)
    utts = {}
    for i in range(n):
        p = root / "wav" / f"s{i % 2}-u{i}.wav"
        soundfile.write(p, (rng.normal(size=8000 + 800 * i) * 3000).astype(np.int16), 16000, subtype="PCM_16")
        utts[f"s{i % 2}-u{i}"] = {"spk": f"s{i % 2}", "text": "A B", "wav": str(p)}
    (root / "fbank.conf").write_text("--num-mel-bins=20\n--dither=0\n")
    make_data_dir(root / "data" / "train", utts)
    make_data_dir(root / "data" / "test", dict(list(utts.items())[:2]))
    return root


def test_make_features_redoes_what_changed_and_only_that(run, tmp_path):
    root = _wav_data(tmp_path)
    cmd = ["steps/make_features.sh", "--nj", "1", "--fbank-config", "fbank.conf", "--perturb", "train",
           "data", "fbank", "train_sp", "test"]
    r = run(*cmd, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(kaldiio.load_scp(str(root / "data/train_sp/feats.scp"))) == 12
    made = {f: (root / f).stat().st_mtime_ns for f in ("data/train_sp/feats.scp", "data/test/cmvn.scp")}
    r = run(*cmd, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "data/train_sp is up to date; skipping the perturbation" in r.stdout
    assert "data/test has features and CMVN stats; skipping" in r.stdout
    assert {f: (root / f).stat().st_mtime_ns for f in made} == made
    # another fbank config: every set's features and CMVN are redone, not the perturbation
    (root / "fbank.conf").write_text("--num-mel-bins=23\n--dither=0\n")
    r = run(*cmd, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "data/test: redoing: made from other inputs: changed fbank_config (fbank.conf)" in r.stdout
    assert "skipping the perturbation" in r.stdout
    assert next(iter(kaldiio.load_scp(str(root / "data/test/feats.scp")).values())).shape[1] == 23
    # a source utterance gone: the perturbed copy is made again, without its three copies
    train = root / "data/train"
    for f in ("wav.scp", "text", "utt2spk"):
        lines = (train / f).read_text().splitlines()
        (train / f).write_text("".join(l + "\n" for l in lines if not l.startswith("s1-u3 ")))
    (train / "spk2utt").write_text("s0 s0-u0 s0-u2\ns1 s1-u1\n")
    r = run(*cmd, cwd=root)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "data/train_sp: redoing: made from other inputs: changed" in r.stdout
    assert len(kaldiio.load_scp(str(root / "data/train_sp/feats.scp"))) == 9
    assert "data/test has features and CMVN stats; skipping" in r.stdout


def test_den_graph_is_redone_when_its_text_or_lexicon_changes(run, tmp_path):
    lang, data = tmp_path / "lang", tmp_path / "data"
    lang.mkdir(), data.mkdir()
    (lang / "tokens.txt").write_text("<eps> 0\n<blk> 1\nAH 2\nB 3\nK 4\nT 5\n#0 6\n#1 7\n")
    (lang / "lexicon_numbers.txt").write_text("<UNK> 2\nBAT 3 2 5\nCAT 4 2 5\nTAB 5 2 3\n")
    (data / "text").write_text("u1 CAT BAT\nu2 TAB CAT\n")
    den = tmp_path / "den"
    assert run("steps/prep_den_lm.sh", lang, data, den).returncode == 0
    r = run("steps/prep_den_lm.sh", lang, data, den)
    assert r.returncode == 0 and f"{den} is up to date; skipping" in r.stdout
    (data / "text").write_text("u1 CAT BAT\nu2 TAB CAT\nu3 BAT\n")
    r = run("steps/prep_den_lm.sh", lang, data, den)
    assert r.returncode == 0 and f"{den}: redoing: made from other inputs: changed text" in r.stdout
    assert "u3" in (den / "path_weight.txt").read_text()
    r = run("steps/prep_den_lm.sh", "--order", "3", lang, data, den)
    assert r.returncode == 0 and "changed options" in r.stdout


def test_a_training_stage_redoes_itself_only_when_its_inputs_changed(corpus, tmp_path, capsys):
    exp = tmp_path / "w"
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true")
    made = (exp / "final.pt").stat().st_mtime_ns
    assert read_record(exp / "inputs.json")["values"]["lr"] == 0.001
    capsys.readouterr()
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true")           # the same inputs
    assert f"warmup: {exp} is finished; skipping (made from the same inputs)" in capsys.readouterr().out
    assert (exp / "final.pt").stat().st_mtime_ns == made
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true", lr=0.002)  # another option
    out = capsys.readouterr().out
    assert f"warmup: {exp} was made from other inputs: changed lr (0.001 -> 0.002)" in out
    assert (exp / "final.pt").stat().st_mtime_ns != made
    assert json.loads((exp / "config.json").read_text())["lr"] == 0.002
    # made by a version without some option: no change while the option has its default (0.0: off),
    # a change once it is given another value
    rec = read_record(exp / "inputs.json")
    assert rec["values"]["grad_clip"] == 0.0
    del rec["values"]["grad_clip"]
    write_record(exp / "inputs.json", rec)
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true", lr=0.002)
    assert "skipping (made from the same inputs)" in capsys.readouterr().out
    del rec["values"]["lr"]                       # not at its default (0.001): a change
    write_record(exp / "inputs.json", rec)
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true", lr=0.002)
    assert "changed lr ((unset) -> 0.002)" in capsys.readouterr().out
    # made by an older version (no record): taken as it is, and recorded
    (exp / "inputs.json").unlink()
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true", lr=0.002)
    assert "made before inputs were recorded" in capsys.readouterr().out and (exp / "inputs.json").is_file()
    # a search from that warm-up, then the warm-up redone: the search's --init changed under it
    s = tmp_path / "s"
    run_stage("search", corpus, s, init=exp, max_epochs=1, redo_changed="true", lr=0.002)
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true", lr=0.003)
    capsys.readouterr()
    run_stage("search", corpus, s, init=exp, max_epochs=1, redo_changed="true", lr=0.002)
    assert f"search: {s} was made from other inputs: changed input0:best.pt" in capsys.readouterr().out


def test_an_unfinished_run_of_other_inputs_starts_afresh_instead_of_resuming(corpus, tmp_path, capsys):
    exp = tmp_path / "w"
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true")
    (exp / "done").unlink()                      # as if killed after its last checkpoint
    capsys.readouterr()
    run_stage("warmup", corpus, exp, max_epochs=1, redo_changed="true", resume="true", batch_size=3)
    assert "changed batch_size (4 -> 3)" in capsys.readouterr().out
    assert "resumed" not in (exp / "log" / "train.log").read_text()
    assert (exp / "done").is_file() and read_record(exp / "inputs.json")["values"]["batch_size"] == 3
