"""What a hostile user does: two runs in one exp dir, kills at awkward moments, a full disk, bad
text, ids with spaces, truncated audio, stages run before their inputs exist, reruns after a
dropped utterance. Each test states the outcome a user should see."""
import signal
import socket
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO, run_script, script_env
from nas.files import WriteError
from nas.models.arch import Arch
from nas.models.space import parse_space
from nas.train.checkpoint import load_checkpoint, save_checkpoint
from test_train_stages import common, run_stage
from train_fixtures import TINY_SPACE, make_data


def stage_cmd(kind, c, exp, **over):
    return [sys.executable, "-m", f"nas.bin.{kind}"] + common(c, **over) + [str(exp)]


def wait_for(pred, timeout=120.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


# ---------------------------------------------------------------------------- one run per exp dir

def test_a_second_run_in_the_same_exp_dir_is_refused_at_once(corpus, tmp_path):
    exp = tmp_path / "s"
    env = dict(script_env(), OMP_NUM_THREADS="1")
    a = subprocess.Popen(stage_cmd("warmup", corpus, exp, max_epochs=4, checkpoint_every=1), env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert wait_for(lambda: (exp / ".lock").is_file() and f"pid={a.pid}" in (exp / ".lock").read_text())
    t0 = time.time()
    b = subprocess.run(stage_cmd("warmup", corpus, exp, max_epochs=4, resume="true"), env=env,
                       capture_output=True, text=True)
    assert b.returncode != 0 and time.time() - t0 < 30
    assert "another run is using this exp dir" in b.stderr and f"pid={a.pid}" in b.stderr
    assert f"host={socket.gethostname()}" in b.stderr
    assert a.wait(timeout=300) == 0, a.stderr.read()[-2000:]
    assert (exp / "done").is_file() and (exp / ".lock").read_text() == ""     # released at the end
    load_checkpoint(exp / "best.pt")
    assert not list(exp.glob("*.tmp")) and not list(exp.glob(".*.tmp"))


def test_a_lock_left_by_a_killed_run_is_taken_over(corpus, tmp_path):
    exp = tmp_path / "s"
    env = dict(script_env(), OMP_NUM_THREADS="1")
    a = subprocess.Popen(stage_cmd("warmup", corpus, exp, max_epochs=4, checkpoint_every=1), env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert wait_for(lambda: (exp / "checkpoint.pt").is_file())
    a.send_signal(signal.SIGKILL)
    a.wait()
    assert f"pid={a.pid}" in (exp / ".lock").read_text()
    r = subprocess.run(stage_cmd("warmup", corpus, exp, max_epochs=4, resume="true"), env=env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "taking over the lock of a run that no longer holds it" in r.stderr and f"pid={a.pid}" in r.stderr


def test_temporary_files_have_unique_names(tmp_path, monkeypatch):
    """Two writers of one checkpoint name never share a temporary file."""
    import tempfile
    names = []
    orig = tempfile.mkstemp

    def spy(*a, **kw):
        fd, name = orig(*a, **kw)
        names.append(name)
        return fd, name
    monkeypatch.setattr(tempfile, "mkstemp", spy)
    for _ in range(3):
        save_checkpoint(tmp_path / "checkpoint.pt", {"x": 1})
    assert len(set(names)) == len(names) == 6 and all(Path(n).parent == tmp_path for n in names)   # and the sums'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.pt", "checkpoint.pt.sha256"]


# ---------------------------------------------------------------------------- kills

def test_a_stop_decided_before_a_kill_is_kept_on_resume(corpus, tmp_path, monkeypatch):
    """Killed between the last checkpoint and final.pt: the resumed stage finishes at once instead of
    training on. An lr of 1e-30 leaves the weights as they are (lr 0 is refused), so the held-out loss is
    flat and the plateau rule stops after epoch 2."""
    from nas.train.loop import Loop
    c = corpus
    Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C1D1"}).write(tmp_path / "arch.json")
    opts = dict(arch=tmp_path / "arch.json", loss="ctc", lr=1e-30, plateau_epochs=1, stop_lr=5e-31, max_epochs=5)
    run_stage("retrain", c, tmp_path / "full", **opts)
    full = load_checkpoint(tmp_path / "full" / "final.pt")
    assert full["epoch"] == 2 and full["stopped"]

    def killed(self):
        raise RuntimeError("killed before final.pt")
    monkeypatch.setattr(Loop, "_finish", killed)
    with pytest.raises(RuntimeError, match="killed"):
        run_stage("retrain", c, tmp_path / "k", **opts)
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "k" / "checkpoint.pt")["stopped"]
    run_stage("retrain", c, tmp_path / "k", resume="true", **opts)
    k = load_checkpoint(tmp_path / "k" / "final.pt")
    assert k["epoch"] == 2 and [h["valid_loss"] for h in k["history"]] == [h["valid_loss"] for h in full["history"]]


# ---------------------------------------------------------------------------- a full disk

@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 256 KiB tmpfs where the machine allows mounting one (root in a sandbox), else None."""
    d = tmp_path / "full"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(d)], capture_output=True)
    if r.returncode != 0:
        yield None
        return
    try:
        yield d
    finally:    # lazy: a failed test's traceback may still hold a file open in it
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_checkpoint_on_a_full_device(tiny_tmpfs, tmp_path, monkeypatch):
    """A write that runs out of space: the message says so and names the file, the previous
    checkpoint is intact, no partial file is left. On a real tmpfs where one can be mounted
    (torch then fails with "unexpected pos"), else with an injected ENOSPC."""
    d = tiny_tmpfs or tmp_path
    save_checkpoint(d / "checkpoint.pt", {"step": 1, "w": torch.zeros(1000)})
    big = {"step": 2, "w": torch.zeros(200_000)}                        # 800 KB: more than 256 KiB
    if tiny_tmpfs is None:
        import errno as E

        def enospc(obj, f, *a, **kw):
            Path(f).write_bytes(b"x" * 100)
            raise OSError(E.ENOSPC, "No space left on device")
        monkeypatch.setattr(torch, "save", enospc)
    with pytest.raises(WriteError, match=r"checkpoint.pt: no space left on the device of .*previous checkpoint.pt"):
        save_checkpoint(d / "checkpoint.pt", big)
    monkeypatch.undo()
    assert load_checkpoint(d / "checkpoint.pt")["step"] == 1
    assert sorted(p.name for p in d.iterdir()) == ["checkpoint.pt", "checkpoint.pt.sha256"]


def test_a_stage_stops_with_a_clear_message_when_the_disk_fills(corpus, tmp_path, monkeypatch):
    """In a stage: the first checkpoints are written, then the disk is full; the stage exits naming
    the file and the cause, and a resume (space freed) continues from the last good checkpoint."""
    from nas.train import checkpoint as C
    calls = {"n": 0}
    orig = C.torch.save

    def filling(obj, f, *a, **kw):
        calls["n"] += 1
        if calls["n"] > 3:
            Path(f).write_bytes(b"partial")
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 576 vs 534")
        return orig(obj, f, *a, **kw)
    monkeypatch.setattr(C.torch, "save", filling)
    monkeypatch.setattr("nas.files._free_bytes", lambda d: 0)     # the device is full
    with pytest.raises(SystemExit, match=r"warmup: .*checkpoint.pt: no space left on the device .*0 bytes free"):
        run_stage("warmup", corpus, tmp_path / "w", max_epochs=3, checkpoint_every=1)
    monkeypatch.undo()
    exp = tmp_path / "w"
    assert not [p for p in exp.iterdir() if p.name.endswith(".tmp")]
    step = load_checkpoint(exp / "checkpoint.pt")["step"]
    run_stage("warmup", corpus, exp, max_epochs=3, checkpoint_every=1, resume="true")
    assert (exp / "done").is_file() and load_checkpoint(exp / "final.pt")["step"] > step


# ---------------------------------------------------------------------------- inputs

def test_a_stage_before_its_inputs_names_what_is_missing(corpus, tmp_path):
    c = corpus
    no_feats = tmp_path / "data"
    no_feats.mkdir()
    (no_feats / "text").write_text((c["train"] / "text").read_text())
    r = subprocess.run(stage_cmd("warmup", c, tmp_path / "w", data=no_feats), env=script_env(),
                       capture_output=True, text=True)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == (f"warmup: missing input {no_feats / 'feats.scp'} (made by stage 2, "
                                                 f"steps/make_fbank.sh); run that stage first")
    r = subprocess.run(stage_cmd("search", c, tmp_path / "s", init=tmp_path / "nowarmup"), env=script_env(),
                       capture_output=True, text=True)
    assert "search: missing input" in r.stderr and "nowarmup/best.pt (made by stage 4, the warm-up" in r.stderr
    r = subprocess.run(stage_cmd("retrain", c, tmp_path / "r", arch=tmp_path / "derive/arch.json", space=None),
                       env=script_env(), capture_output=True, text=True)
    assert "retrain: missing input" in r.stderr and "made by stage 6" in r.stderr and "Traceback" not in r.stderr


def test_dropped_utterances_are_listed_by_id(corpus, tmp_path):
    run_stage("warmup", corpus, tmp_path / "w", max_frames=40, max_epochs=1)
    rows = [x.split() for x in (tmp_path / "w" / "dropped.txt").read_text().splitlines()]
    frames = dict(x.split() for x in (corpus["train"] / "utt2num_frames").read_text().splitlines())
    held = set((tmp_path / "w" / "heldout.list").read_text().split())       # the cap is for training only
    long = sorted(u for u, n in frames.items() if int(n) > 40 and u not in held)
    assert long and sorted(u for u, why, _ in rows if why == "too_long") == long
    assert "listed with the reason in" in (tmp_path / "w" / "log" / "train.log").read_text()


# ---------------------------------------------------------------------------- bad text and ids

def bad_utf8_text(d: Path) -> str:
    lines = (d / "text").read_bytes().splitlines(keepends=True)
    key = lines[3].split()[0].decode()
    lines[3] = lines[3].rstrip(b"\n") + b" caf\xe9\n"                # latin-1 e-acute
    (d / "text").write_bytes(b"".join(lines))
    return key


def test_non_utf8_text_is_named_by_file_line_and_utterance(tmp_path):
    from nas.data.table import TableError, read_table
    d = make_data(tmp_path / "d", n_spk=1, per_spk=5)
    key = bad_utf8_text(d)
    with pytest.raises(TableError, match=rf"text:4: not valid UTF-8 \(byte 0xe9 at column \d+, utterance or key "
                                         rf"{key}\): convert"):
        read_table(d / "text")
    for script, args in (("utils/fix_data_dir.sh", [d]), ("utils/validate_data_dir.sh", ["--no-wav", d]),
                         ("utils/prepare_lang_ctc.sh", ["--unit", "char", "--text", d / "text", tmp_path / "lang"])):
        r = run_script(script, *args)
        assert r.returncode != 0 and "Traceback" not in r.stderr, (script, r.stderr[-2000:])
        assert f"{d / 'text'}:4: not valid UTF-8" in r.stderr + r.stdout, (script, r.stderr[-2000:])


def test_ids_with_whitespace_are_refused_by_fix_and_validate(tmp_path):
    d = make_data(tmp_path / "d", n_spk=1, per_spk=3)
    lines = (d / "utt2spk").read_text().splitlines()
    utt = lines[1].split()[0]
    lines[1] = f"{utt} x es029m4"
    (d / "utt2spk").write_text("\n".join(lines) + "\n")
    spk2utt = (d / "spk2utt").read_text()
    for script, args in (("utils/fix_data_dir.sh", [d]), ("utils/validate_data_dir.sh", ["--no-wav", d])):
        r = run_script(script, *args)
        assert r.returncode != 0, script
        assert f"utt2spk:2: utterance {utt}: speaker id 'x es029m4' is not a single token" in r.stderr, r.stderr
    assert (d / "spk2utt").read_text() == spk2utt                         # nothing written


def test_truncated_wav_is_read_with_a_warning(tmp_path, caplog):
    from nas.data.audio import read_audio
    f = tmp_path / "a.wav"
    with wave.open(str(f), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((np.arange(16000) % 100).astype("<i2").tobytes())
    data = f.read_bytes()
    f.write_bytes(data[:44 + 16000])                                       # half the samples
    with caplog.at_level("WARNING", logger="nas"):
        samples, rate = read_audio(str(f))
    assert samples.shape[0] == 8000
    assert any("a.wav: truncated WAV: its header declares 32000 bytes of samples, the file holds 16000 (50%)"
               in r.message for r in caplog.records)
    caplog.clear()
    f.write_bytes(data)
    with caplog.at_level("WARNING", logger="nas"):
        read_audio(str(f))
    assert not caplog.records


def test_parse_options_cannot_be_run_by_itself():
    for cmd in ([str(REPO / "utils/parse_options.sh")], ["sh", str(REPO / "utils/parse_options.sh")]):
        r = subprocess.run(cmd, capture_output=True, text=True)
        assert r.returncode == 1 and "source it from a bash script" in r.stderr, cmd
    r = subprocess.run(["bash", "-c", f"x=1; set -- --x 2 rest; . {REPO}/utils/parse_options.sh; echo $x $1"],
                       capture_output=True, text=True)
    assert r.stdout.strip() == "2 rest"


# ---------------------------------------------------------------------------- recipes

SMALL = ["--num-voices", "8", "--num-dev-voices", "1", "--num-test-voices", "1", "--utts-per-voice", "2",
         "--test-utts-per-voice", "2"]   # (the default corpus gives each test voice 98)


def test_a_rerun_after_a_dropped_utterance_redoes_nothing(run, tmp_path):
    """Stage 2 drops an utterance whose audio is bad; rerunning stages 1-3 then finds every data
    dir, feature set, graph and den graph up to date (it rebuilt them all before)."""
    from test_recipe_synth import recipe_copy
    d = recipe_copy(tmp_path)
    assert run(str(d / "run.sh"), *SMALL, "--stop-stage", "0").returncode == 0
    first = (d / "corpus" / "train.tsv").read_text().splitlines()[0].split("\t")
    utt, wav = first[0], Path(first[2])
    (wav if wav.is_absolute() else d / wav).write_bytes(b"RIFF but not audio")
    r = run(str(d / "run.sh"), *SMALL, "--stage", "1", "--stop-stage", "3")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert utt not in (d / "data/train/feats.scp").read_text()
    outputs = ["data/train/feats.scp", "data/train_sp/feats.scp", "data/dev/cmvn.scp", "data/lang_phn/graph/TLG.fst",
               "data/den_meta/den_lm.fst", "data/train/text"]
    before = {f: (d / f).stat().st_mtime_ns for f in outputs}
    r = run(str(d / "run.sh"), *SMALL, "--stage", "1", "--stop-stage", "3")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert {f: (d / f).stat().st_mtime_ns for f in outputs} == before
    for what in ("data/train is up to date", "TLG.fst is up to date", "train_sp is up to date; skipping the perturbation",
                 "data/train has features and CMVN stats", "den_meta is up to date"):
        assert what in r.stdout, what


def test_a_recipe_stage_before_its_inputs_says_which_stage_to_run(run, tmp_path):
    from test_recipe_synth import recipe_copy
    d = recipe_copy(tmp_path)
    r = run(str(d / "run.sh"), "--tiny", "true", "--stage", "4")
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines()[-1] == ("warmup: missing input data_tiny/lang_phn/tokens.txt (made by stage 1, "
                                                 "utils/prepare_lang_ctc.sh); run that stage first")
