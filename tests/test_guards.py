"""No silent wrong results (issue 32, the training side): damaged checkpoints, out-of-range options,
arch.json of another format, a resume with nothing to resume, fractional architecture vectors,
over-long utterances, a lock left behind by a killed run's workers, one-speaker held-out splits.
Each test fails on the code before its guard."""
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch

from conftest import script_env
from nas.models.space import SpaceError
from nas.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from test_train_stages import common, run_stage
from train_fixtures import make_data


def log_text(exp: Path) -> str:
    return (exp / "log" / "train.log").read_text()


def damage(f: Path, offset_share: float = 0.5, size: int = 4096) -> None:
    """4 KB of garbage written into the middle of `f`, its size unchanged."""
    data = bytearray(f.read_bytes())
    at = int(len(data) * offset_share)
    data[at:at + size] = np.random.default_rng(0).integers(0, 256, min(size, len(data) - at), dtype=np.uint8).tobytes()
    f.write_bytes(bytes(data))


# ---------------------------------------------------------------------------- 1. checkpoints verified

def test_a_checkpoint_damaged_in_the_middle_is_refused(tmp_path):
    f = tmp_path / "best.pt"
    save_checkpoint(f, {"w": torch.arange(20000, dtype=torch.float32)})
    assert load_checkpoint(f)["w"][123] == 123
    damage(f)
    with pytest.raises(CheckpointError, match=r"best.pt: its SHA-256 differs from best.pt.sha256 \(damaged or truncated .*; write it again"):
        load_checkpoint(f)


def test_a_damaged_checkpoint_falls_back_to_the_previous_one(tmp_path):
    f = tmp_path / "checkpoint.pt"
    for step in (1, 2):
        save_checkpoint(f, {"step": step, "w": torch.full((5000,), float(step))}, keep_previous=True)
    assert load_checkpoint(tmp_path / "checkpoint.prev.pt")["step"] == 1
    damage(f)
    assert load_checkpoint(f)["step"] == 1
    save_checkpoint(f, {"step": 3}, keep_previous=True)          # the damaged one does not replace the good prev
    assert load_checkpoint(tmp_path / "checkpoint.prev.pt")["step"] == 1
    damage(f)
    damage(tmp_path / "checkpoint.prev.pt", 0.3)
    with pytest.raises(CheckpointError, match="the previous one is no better"):
        load_checkpoint(f)


def test_a_checkpoint_without_a_checksum_is_still_loaded(tmp_path):
    f = tmp_path / "checkpoint.pt"
    torch.save({"step": 7}, f)                                   # as an older version wrote it
    assert load_checkpoint(f)["step"] == 7


def unfinished_warmup(c, exp, monkeypatch, **over):
    """A warm-up killed after its last epoch's checkpoint, before final.pt."""
    from nas.train.loop import Loop

    def killed(self):
        raise RuntimeError("killed before final.pt")
    monkeypatch.setattr(Loop, "_finish", killed)
    with pytest.raises(RuntimeError, match="killed"):
        run_stage("warmup", c, exp, **over)
    monkeypatch.undo()


def test_resume_from_a_damaged_checkpoint_uses_the_previous_one(corpus, tmp_path, monkeypatch):
    exp = tmp_path / "w"
    unfinished_warmup(corpus, exp, monkeypatch, max_epochs=3, checkpoint_every=0)
    assert load_checkpoint(exp / "checkpoint.pt")["epoch"] == 3
    damage(exp / "checkpoint.pt")
    run_stage("warmup", corpus, exp, max_epochs=3, checkpoint_every=0, resume="true")
    log = log_text(exp)
    assert f"{exp / 'checkpoint.pt'}: its SHA-256 differs" in log
    assert f"using the previous checkpoint {exp / 'checkpoint.prev.pt'} instead" in log
    assert "resumed" in log and "at epoch 3, batch 0" in log
    assert load_checkpoint(exp / "final.pt")["epoch"] == 3


def test_a_truncated_checkpoint_is_refused_in_one_line(corpus, tmp_path, monkeypatch):
    exp = tmp_path / "w"
    unfinished_warmup(corpus, exp, monkeypatch, max_epochs=1, checkpoint_every=0)
    f = exp / "checkpoint.pt"
    f.write_bytes(f.read_bytes()[:1000])
    r = subprocess.run([sys.executable, "-m", "nas.bin.warmup"] + common(corpus, max_epochs=1, resume="true")
                       + [str(exp)], env=script_env(), capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert r.stderr.strip().splitlines()[-1] == (f"warmup: {f}: its SHA-256 differs from checkpoint.pt.sha256 (damaged "
                                                 f"or truncated after it was written); pass --overwrite true to start "
                                                 f"the stage again")
    (exp / "checkpoint.pt.sha256").unlink()                      # as an older version left it: torch.load fails
    with pytest.raises(CheckpointError) as e:
        load_checkpoint(f)
    assert str(e.value).startswith(f"{f}: cannot read the checkpoint (truncated or not a checkpoint: ")
    assert "\n" not in str(e.value) and str(e.value).endswith("write it again (rerun the stage that makes it)")


# ---------------------------------------------------------------------------- 2. option ranges

@pytest.mark.parametrize("flag,value,says", [
    ("--lr", "0", "argument --lr: 0: must be a finite number > 0"),
    ("--lr", "-1e-3", "argument --lr: -1e-3: must be a finite number > 0"),
    ("--lr", "nan", "argument --lr: nan: must be a finite number > 0"),
    ("--arch-lr", "inf", "argument --arch-lr: inf: must be a finite number > 0"),
    ("--stop-lr", "-1e-4", "argument --stop-lr: -1e-4: must be a finite number >= 0"),
    ("--heldout-ratio", "1", "argument --heldout-ratio: 1: must be a finite number in (0, 1)"),
    ("--batch-size", "0", "argument --batch-size: 0: must be an integer >= 1"),
    ("--max-epochs", "0", "argument --max-epochs: 0: must be an integer >= 1"),
    ("--grad-clip", "-1", "argument --grad-clip: -1: must be a finite number >= 0"),
    ("--snas-tau0", "0", "argument --snas-tau0: 0: must be a finite number > 0"),
])
def test_out_of_range_options_are_refused_where_parsed(corpus, tmp_path, capsys, flag, value, says):
    from nas.train.cli import stage_main
    exp = tmp_path / "s"
    with pytest.raises(SystemExit) as e:
        stage_main("search", common(corpus) + [f"{flag}={value}", str(exp)])
    assert e.value.code == 2 and says in capsys.readouterr().err
    assert not exp.exists()                                      # before anything is made


def test_config_file_values_go_through_the_same_checks(corpus, tmp_path):
    from nas.train.cli import stage_main
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lr: .nan\n")
    with pytest.raises(SystemExit, match=rf"{cfg}: option lr: nan: must be a finite number > 0"):
        stage_main("warmup", common(corpus) + ["--config", str(cfg), str(tmp_path / "w")])
    cfg.write_text("arch_lr: -0.5\n")
    with pytest.raises(SystemExit, match=rf"{cfg}: option arch_lr: -0.5: must be a finite number > 0"):
        stage_main("search", common(corpus) + ["--config", str(cfg), str(tmp_path / "s")])


# ---------------------------------------------------------------------------- 3. arch.json's format

def test_an_arch_json_of_another_or_no_format_is_refused(corpus, tmp_path):
    from nas.models.arch import read_arch
    arch = {"space": str(corpus["space"]), "choices": {"b1": "tdnn-C1D1", "b2": "tdnn-C1D1"}}
    f = tmp_path / "arch.json"
    for fmt, found in ((None, 'no "format"'), ("st-nas-arch/2", "format 'st-nas-arch/2'")):
        f.write_text(json.dumps(arch if fmt is None else dict(arch, format=fmt)))
        with pytest.raises(SpaceError, match=rf'{f}: {found}, expected "format": "st-nas-arch/1"'):
            read_arch(f)
    f.write_text(json.dumps(dict(arch, format="st-nas-arch/1")))
    assert read_arch(f).choices == arch["choices"]


# ---------------------------------------------------------------------------- 4. resume with nothing there

def test_resume_without_a_checkpoint_says_it_starts_fresh(corpus, tmp_path):
    exp = tmp_path / "w"
    run_stage("warmup", corpus, exp, max_epochs=1, resume="true")
    assert (f"--resume true: {exp / 'checkpoint.pt'} does not exist; starting the warmup stage from the beginning"
            in log_text(exp))


# ---------------------------------------------------------------------------- 5. integer architecture vectors

@pytest.mark.parametrize("text,says", [("[[1.5,0],[1,0,0],[1,0,0,0]]", "node 1 position 0 is 1.5 (float)"),
                                       ('[[1,0],[1,"1",0],[1,0,0,0]]', "node 2 position 1 is '1' (str)"),
                                       ("[[1,0],[1,0,0],[1,0,0,True]]", "node 3 position 3 is True (bool)")])
def test_fractional_architecture_vectors_are_refused(text, says):
    from nas.bench.archvec import ArchVecError, parse_vector
    with pytest.raises(ArchVecError, match=says.replace("(", r"\(").replace(")", r"\)")):
        parse_vector(text)


def test_integral_entries_are_taken_and_block_codecs_check_too():
    from nas.bench.archvec import ArchVecError, parse_vector
    from nas.bench.codec import BlockCodec
    assert parse_vector("[[1.0,0],[1,0,0],[1,0,0,0]]") == [[1, 0], [1, 0, 0], [1, 0, 0, 0]]
    codec = BlockCodec("s", {"a": ["x", "y", "z"], "b": ["x", "y"]})
    assert codec.check([[np.int64(2)], [1]]) == [[2], [1]]
    with pytest.raises(ArchVecError, match=r"position 0 is 1.5 \(float\), not an integer"):
        codec.check([[1.5], [0]])


# ---------------------------------------------------------------------------- 6. a default utterance cap

def add_long_utterance(d: Path, key: str, frames: int) -> None:
    x = np.random.default_rng(0).normal(0, 1, (frames, 40)).astype(np.float32)
    with kaldiio.WriteHelper(f"ark,scp:{d / 'long.ark'},{d / 'long.scp'}") as w:
        w(key, x)
    spk = key.split("-")[0]
    for name, line in (("feats.scp", (d / "long.scp").read_text()), ("text", f"{key} a b\n"),
                       ("utt2spk", f"{key} {spk}\n"), ("utt2num_frames", f"{key} {frames}\n")):
        rows = (d / name).read_text().splitlines(keepends=True) + [line]
        (d / name).write_text("".join(sorted(rows)))


def test_an_over_long_training_utterance_is_left_out_by_default(corpus, tmp_path):
    from nas.train.config import TrainOptions
    d = make_data(tmp_path / "train", n_spk=2, per_spk=4)
    add_long_utterance(d, "spk0-zlong", TrainOptions().max_frames + 1)
    exp = tmp_path / "w"
    run_stage("warmup", corpus, exp, data=d, valid_data=corpus["dev"], max_epochs=1)
    assert (exp / "dropped.txt").read_text() == f"spk0-zlong too_long {d}\n"
    assert (f"1 training utterances longer than --max-frames 4000 input frames left out: listed in "
            f"{exp / 'dropped.txt'}") in log_text(exp)


# ---------------------------------------------------------------------------- 7. a lock held by orphans

def dead_pid() -> tuple:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    from nas.train.lock import start_time
    start = start_time(p.pid)
    p.kill()
    p.wait()
    return p.pid, start


HOLDER = """
import fcntl, sys, time
f = open(sys.argv[1], "a+")
fcntl.flock(f, fcntl.LOCK_EX)
f.seek(0); f.truncate(); f.write(sys.argv[2]); f.flush()
print("ready", flush=True)
time.sleep(120)
"""


def flock_holder(lock: Path, content: str) -> subprocess.Popen:
    """A process holding the flock of `lock`, as a killed run's orphaned data loader worker does."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(lock), content], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def test_a_lock_whose_flock_outlives_its_dead_owner_is_taken_over(tmp_path, caplog):
    from nas.train.lock import ExpDirLock, LockHeld, start_time
    host = socket.gethostname()
    pid, start = dead_pid()
    orphan = flock_holder(tmp_path / ".lock", f"pid={pid} host={host} start={start} since=x\n")
    try:
        a = ExpDirLock(tmp_path)
        t0 = time.time()
        with caplog.at_level("WARNING", logger="nas"):
            a.acquire()
        assert time.time() - t0 < 2
        assert any(f"taking over the lock of a run that no longer holds it (pid={pid} " in r.message
                   and "processes it left behind" in r.message for r in caplog.records)
        assert f"pid={os.getpid()} host={host} start={start_time(os.getpid())} " in (tmp_path / ".lock").read_text()
    finally:
        orphan.kill()
        orphan.wait()
    with pytest.raises(LockHeld, match=f"pid={os.getpid()}"):     # a third run gets the flock, a is alive
        ExpDirLock(tmp_path).acquire()
    a.release()
    b = ExpDirLock(tmp_path)
    b.acquire()
    b.release()


def test_a_reused_pid_is_not_taken_for_the_lock_holder(tmp_path):
    from nas.train.lock import ExpDirLock
    orphan = flock_holder(tmp_path / ".lock", f"pid={os.getpid()} host={socket.gethostname()} start=1 since=x\n")
    try:
        a = ExpDirLock(tmp_path)
        a.acquire()                                               # this pid, but not started at tick 1
        a.release()
    finally:
        orphan.kill()
        orphan.wait()


# ---------------------------------------------------------------------------- 8. one-speaker held-out split

def test_a_one_speaker_data_dir_held_out_by_speaker_names_the_fix(corpus, tmp_path):
    d = make_data(tmp_path / "one", n_spk=1, per_spk=6)
    with pytest.raises(SystemExit, match=rf"warmup: {d}: has 1 speaker \(spk0\), so no whole speaker can be held "
                                         rf"out for validation: pass --heldout-by utterance, or a held-out data dir "
                                         rf"with --valid-data"):
        run_stage("warmup", corpus, tmp_path / "w", data=d)
