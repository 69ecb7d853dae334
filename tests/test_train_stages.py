"""The NAS stage commands on a tiny corpus: outputs, arch.json, resume after SIGKILL, NaN batches,
overwrite protection, 2-process DDP against one process, transfer to another token count."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.models.arch import Arch, read_arch
from nas.train.checkpoint import load_checkpoint
from nas.train.cli import stage_main
from nas.models.space import SpaceError, parse_space
from train_fixtures import TINY_SPACE, make_data, make_lang, make_space

REPO = Path(__file__).resolve().parent.parent


def common(c, **over):
    args = {"data": c["train"], "lang": c["lang"], "space": c["space"], "batch-size": 4, "max-epochs": 2,
            "heldout-ratio": 0.25, "tensorboard": "false", "plots": "false"}
    args.update({k.replace("_", "-"): v for k, v in over.items()})
    out = []
    for k, v in args.items():
        if v is not None:
            out += [f"--{k}", str(v)]
    return out


def run_stage(kind, c, exp, **over):
    if kind == "retrain":
        over.setdefault("space", None)
    return stage_main(kind, common(c, **over) + [str(exp)])


def test_stages_end_to_end(corpus, tmp_path):
    c = corpus
    run_stage("warmup", c, tmp_path / "warmup", tensorboard="true", plots="true")
    w = tmp_path / "warmup"
    for f in ("best.pt", "final.pt", "done", "checkpoint.pt", "heldout.list", "config.json", "loss.png"):
        assert (w / f).is_file(), f
    assert any((w / "tensorboard").iterdir())
    lines = [x for x in (w / "log" / "train.log").read_text().splitlines() if "| valid_loss" in x]
    assert len(lines) == 2 and "epoch 2" in lines[1]
    held = (w / "heldout.list").read_text().split()
    assert len(held) == 8 and len({u.split("-")[0] for u in held}) == 1     # ratio 0.25 of 4 speakers

    run_stage("search", c, tmp_path / "search", init=w, plots="true")
    s = tmp_path / "search"
    steps = load_checkpoint(s / "final.pt")["step"]
    trace = [json.loads(x) for x in (s / "probs.jsonl").read_text().splitlines()]
    assert [r["step"] for r in trace] == list(range(1, steps + 1))
    assert (s / "probs.png").is_file() and "b1" in (s / "probs.txt").read_text()
    final_alpha = load_checkpoint(s / "final.pt")["plan"]["strategy"]["alpha"]
    assert any(float(a.abs().max()) > 0 for a in final_alpha)               # alpha moved

    from nas.bin.derive import main as derive
    assert derive([str(s), str(tmp_path / "derive")]) == 0
    arch = json.loads((tmp_path / "derive" / "arch.json").read_text())
    for b, a in zip(("b1", "b2"), final_alpha):
        assert arch["choices"][b] == TINY_SPACE["candidates"][int(torch.argmax(a))]
        assert abs(sum(arch["probs"][b].values()) - 1) < 1e-4
    assert arch["source"]["method"] == "st" and arch["source"]["seed"] == 0
    with pytest.raises(SystemExit, match="exists"):
        derive([str(s), str(tmp_path / "derive")])

    subprocess.run([str(REPO / "steps" / "prep_den_lm.sh"), str(c["lang"]), str(c["train"]), str(tmp_path / "den")],
                   check=True, capture_output=True)
    run_stage("retrain", c, tmp_path / "retrain", arch=tmp_path / "derive" / "arch.json", den_dir=tmp_path / "den",
              valid_data=c["dev"], max_epochs=3, num_workers=1)
    r = tmp_path / "retrain"
    hist = load_checkpoint(r / "final.pt")["history"]
    assert hist[-1]["train_loss"] < hist[0]["train_loss"]
    assert all(0.0 <= h["valid_ter"] <= 2.0 for h in hist) and "valid_ter" in (r / "log" / "train.log").read_text()
    assert read_arch(r / "arch.json").choices == arch["choices"]

    out = tmp_path / "logprobs"
    subprocess.run([str(REPO / "steps" / "nas_infer.sh"), "--nj", "2", str(r), str(c["dev"]), str(c["lang"]), str(out)],
                   check=True, capture_output=True)
    import kaldiio
    mats = dict(kaldiio.load_scp(str(out / "logprobs.scp")))
    assert len(mats) == 8
    frames = {k: int(v) for k, v in (x.split() for x in (c["dev"] / "utt2num_frames").read_text().splitlines())}
    for k, m in mats.items():
        assert m.shape == ((frames[k] - 1) // 3 + 1, 5)                      # stride 3, blank + 4 units
        np.testing.assert_allclose(np.exp(m).sum(1), 1.0, rtol=1e-4)


def test_arch_json_round_trip(tmp_path):
    space = parse_space(TINY_SPACE)
    a = Arch(space, {"b1": "tdnn-C2D1", "b2": "tdnn-C1D2"}, {"delta_order": 2}, source={"method": "st"})
    a.write(tmp_path / "arch.json")
    b = read_arch(tmp_path / "arch.json")
    assert b.choices == a.choices and b.space.to_dict() == space.to_dict()
    torch.manual_seed(0)
    m1 = a.build(120, 7)
    m2 = b.build(120, 7)
    m2.load_state_dict(m1.state_dict())
    m1.eval(), m2.eval()
    x = torch.randn(2, 30, 120)
    torch.testing.assert_close(m1(x, torch.tensor([30, 20]))[0], m2(x, torch.tensor([30, 20]))[0])
    # the hand-written TDNN-D shipped beside the WSJ space
    tdnn_d = read_arch(REPO / "nas" / "spaces" / "wsj_tdnn_d.arch.json")
    assert set(tdnn_d.choices.values()) == {"tdnn-C1D1"}
    bad = json.loads((tmp_path / "arch.json").read_text())
    bad["choices"]["b1"] = "tdnn-C9D9"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(SpaceError, match=r"bad.json.*b1.*tdnn-C9D9"):
        read_arch(tmp_path / "bad.json")


def _search_cmd(c, exp, extra=()):
    return [sys.executable, "-m", "nas.bin.search"] + common(c, **{"max-epochs": 3, "checkpoint-every": 1}) + \
        list(extra) + [str(exp)]


def test_resume_after_sigkill_gives_the_same_architecture(corpus, tmp_path):
    c = corpus
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(_search_cmd(c, tmp_path / "full"), check=True, capture_output=True, env=env)
    p = subprocess.Popen(_search_cmd(c, tmp_path / "killed"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         env=env)
    ckpt = tmp_path / "killed" / "checkpoint.pt"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if ckpt.is_file():
            try:
                if load_checkpoint(ckpt)["step"] >= 4:
                    break
            except RuntimeError:
                pass
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert not (tmp_path / "killed" / "done").exists(), "the run finished before it could be killed"
    with pytest.raises(subprocess.CalledProcessError):     # refuses to start over an unfinished run
        subprocess.run(_search_cmd(c, tmp_path / "killed"), check=True, capture_output=True, env=env)
    subprocess.run(_search_cmd(c, tmp_path / "killed", ["--resume", "true"]), check=True, capture_output=True, env=env)
    a = load_checkpoint(tmp_path / "full" / "final.pt")
    b = load_checkpoint(tmp_path / "killed" / "final.pt")
    for x, y in zip(a["plan"]["strategy"]["alpha"], b["plan"]["strategy"]["alpha"]):
        assert torch.equal(x, y)
    for k in a["model"]:
        assert torch.equal(a["model"][k], b["model"][k]), k
    assert [h["valid_loss"] for h in a["history"]] == [h["valid_loss"] for h in b["history"]]
    assert [h["train_loss"] for h in a["history"]] == [h["train_loss"] for h in b["history"]]
    full, killed = ([json.loads(x) for x in (tmp_path / d / "probs.jsonl").read_text().splitlines()]
                    for d in ("full", "killed"))
    assert [{**r, "seconds": 0} for r in full] == [{**r, "seconds": 0} for r in killed]
    secs = [r["seconds"] for r in killed]      # counted on across the resume, never back to 0
    assert secs[-1] > 0 and all(a <= b for a, b in zip(secs, secs[1:]))


def test_nan_batch_is_skipped_and_counted(corpus, tmp_path):
    c = corpus
    bad = make_data(tmp_path / "bad", nan_utt="spk1-u03")
    run_stage("warmup", c, tmp_path / "w", data=bad, valid_data=c["dev"], max_epochs=2)
    s = load_checkpoint(tmp_path / "w" / "final.pt")
    assert [h["nonfinite"] for h in s["history"]] == [1, 2]
    assert all(torch.isfinite(v).all() for v in s["model"].values())
    assert all(np.isfinite(h["train_loss"]) and np.isfinite(h["valid_loss"]) for h in s["history"])


def test_warmup_anchor_phase_then_uniform(corpus, tmp_path, monkeypatch):
    """--anchor-epochs 1: the first epoch trains the anchor sub-graph alone, whose ops then seed every
    candidate; the second samples uniformly. Snapshots at each epoch-end checkpoint show both."""
    from nas.train.loop import Loop
    c = corpus
    snaps, init = [], {}
    orig_save, orig_setup = Loop.save, Loop.setup

    def setup(self):
        orig_setup(self)
        init.update({k: v.clone() for k, v in self.net.state_dict().items()})

    def save(self, name="checkpoint.pt"):
        if name == "checkpoint.pt":
            snaps.append({k: v.clone() for k, v in self.net.state_dict().items()})
        orig_save(self, name)
    monkeypatch.setattr(Loop, "setup", setup)
    monkeypatch.setattr(Loop, "save", save)
    run_stage("warmup", c, tmp_path / "w", anchor_epochs=1, max_epochs=2, checkpoint_every=0)
    log = (tmp_path / "w" / "log" / "train.log").read_text()
    assert "anchor sub-graph trained for 1 epochs: 4 candidate ops start from its weights" in log
    assert len(snaps) == 2
    after_anchor, after_uniform = snaps
    for b in ("b1", "b2"):
        pre = next(k for k in init if k.startswith(f"edges.") and f".ops.0.conv.weight" in k and b in k)[:-len("0.conv.weight")]
        w0 = after_anchor[pre + "0.conv.weight"]
        assert not torch.equal(w0, init[pre + "0.conv.weight"])                  # the anchor op trained
        assert torch.equal(after_anchor[pre + "1.conv.weight"], w0)              # C1D2: the same taps
        assert torch.equal(after_anchor[pre + "2.conv.weight"][:, :, 1:4], w0)   # C2D1: zero-padded
        assert not after_anchor[pre + "2.conv.weight"][:, :, [0, 4]].any()
        assert any(not torch.equal(after_uniform[pre + f"{k}.conv.weight"], after_anchor[pre + f"{k}.conv.weight"])
                   for k in (1, 2))                                             # then uniform sub-graphs
    with pytest.raises(SystemExit, match="leaves no uniform warm-up epoch"):
        run_stage("warmup", c, tmp_path / "w2", anchor_epochs=2, max_epochs=2)
    arch = tmp_path / "anchor.json"
    arch.write_text(json.dumps({"format": "st-nas-arch/1", "space": str(c["space"]), "choices": {"b1": "tdnn-C1D1", "b2": "tdnn-C9D9"}}))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "st-nas-arch/1", "space": str(make_space(tmp_path / "s2.json", candidates=["tdnn-C3D3"])),
                                 "choices": {"b1": "tdnn-C3D3", "b2": "tdnn-C3D3"}}))
    with pytest.raises(SystemExit, match="block b1 chooses 'tdnn-C3D3', not one of"):
        run_stage("warmup", c, tmp_path / "w4", anchor_epochs=1, anchor=other)
    with pytest.raises(SystemExit, match="--anchor: .*anchor.json: .*block b2 has no candidate 'tdnn-C9D9'"):
        run_stage("warmup", c, tmp_path / "w3", anchor_epochs=1, anchor=arch)


def test_finished_stage_is_not_overwritten(corpus, tmp_path, capsys):
    c = corpus
    run_stage("warmup", c, tmp_path / "w", max_epochs=1)
    with pytest.raises(SystemExit, match="finished.*--overwrite"):
        run_stage("warmup", c, tmp_path / "w", max_epochs=1)
    run_stage("warmup", c, tmp_path / "w", max_epochs=1, overwrite="true")
    assert (tmp_path / "w" / "done").is_file()


def test_config_file_and_flags(corpus, tmp_path):
    c = corpus
    (tmp_path / "warmup.yaml").write_text("batch_size: 8\nlr: 0.5\nmax-epochs: 1\n")
    stage_main("warmup", common(c, lr=0.002, batch_size=None, max_epochs=None) + ["--config", str(tmp_path / "warmup.yaml"), str(tmp_path / "w")])
    cfg = json.loads((tmp_path / "w" / "config.json").read_text())
    assert cfg["batch_size"] == 8 and cfg["lr"] == 0.002 and cfg["max_epochs"] == 1
    (tmp_path / "bad.yaml").write_text("batch_sise: 8\n")
    with pytest.raises(SystemExit, match=r"bad.yaml: unknown option 'batch_sise'"):
        stage_main("warmup", common(c) + ["--config", str(tmp_path / "bad.yaml"), str(tmp_path / "w2")])


@pytest.mark.parametrize("method", ["darts", "snas", "proxyless", "random"])
def test_search_methods_run_and_derive(corpus, tmp_path, method):
    c = corpus
    run_stage("search", c, tmp_path / "s", method=method, max_epochs=1, random_num_samples=3)
    from nas.bin.derive import main as derive
    derive([str(tmp_path / "s"), str(tmp_path / "d")])
    arch = read_arch(tmp_path / "d" / "arch.json")
    assert arch.source["method"] == method
    if method == "random":
        scores = json.loads((tmp_path / "s" / "random_scores.json").read_text())
        assert len(scores) >= 1 and " ".join(arch.choices.values()) == min(scores, key=scores.get)


def test_transfer_to_another_token_count(corpus, tmp_path):
    c = corpus
    lang6 = make_lang(tmp_path / "lang6", extra_unit=True)
    data6 = make_data(tmp_path / "train6", extra_unit=True)
    Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C1D1"}).write(tmp_path / "arch.json")
    run_stage("retrain", c, tmp_path / "r", data=data6, lang=lang6, arch=tmp_path / "arch.json", loss="ctc",
              max_epochs=1)
    state = load_checkpoint(tmp_path / "r" / "final.pt")
    assert state["model"]["edges.output<-b2.linear.weight"].shape[0] == 6      # blank + 5 units


def test_ddp_two_processes_match_one_with_double_batch(corpus, tmp_path):
    c = corpus
    env = dict(os.environ, OMP_NUM_THREADS="1")
    ddp = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m"]
    for stage, extra in (("warmup", {}), ("search", {"init": None})):
        for name, prefix, bs in (("one", [sys.executable, "-m"], 4), ("two", ddp, 2)):
            over = {"batch-size": bs, "max-epochs": 1}
            if "init" in extra:
                over["init"] = tmp_path / f"warmup_{name}"
            r = subprocess.run(prefix + [f"nas.bin.{stage}"] + common(c, **over) + [str(tmp_path / f"{stage}_{name}")],
                               capture_output=True, text=True, env=env)
            assert r.returncode == 0, r.stderr[-3000:]
        a = load_checkpoint(tmp_path / f"{stage}_one" / "final.pt")
        b = load_checkpoint(tmp_path / f"{stage}_two" / "final.pt")
        assert b["world"] == 2 and a["step"] == b["step"]
        for k in a["model"]:
            torch.testing.assert_close(a["model"][k], b["model"][k], rtol=1e-4, atol=1e-5)
        alphas = [s["plan"].get("strategy", {}).get("alpha", []) for s in (a, b)]
        for x, y in zip(*alphas):                                               # averaged arch gradients
            torch.testing.assert_close(x, y, rtol=1e-4, atol=1e-5)
        for key in ("train_loss", "valid_loss"):
            assert abs(a["history"][0][key] - b["history"][0][key]) < 1e-4, (stage, key)
    assert any(float(x.abs().max()) > 0 for x in a["plan"]["strategy"]["alpha"])


def test_sigterm_writes_a_checkpoint_and_exits(corpus, tmp_path):
    c = corpus
    p = subprocess.Popen(_search_cmd(c, tmp_path / "s", ["--checkpoint-every", "1000"]), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    log = tmp_path / "s" / "log" / "train.log"
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None and not (log.is_file() and "epoch 1 |" in log.read_text()):
        time.sleep(0.05)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 128 + signal.SIGTERM, err[-2000:]
    assert "stopped by signal" in err
    state = load_checkpoint(tmp_path / "s" / "checkpoint.pt")
    assert state["step"] > 6 and not (tmp_path / "s" / "done").exists()     # past epoch 1 (6 steps)


@pytest.mark.parametrize("method", ["st", "darts", "proxyless"])
def test_architecture_updates_see_only_heldout_utterances(corpus, tmp_path, monkeypatch, method):
    """Every update of alpha draws a held-out batch, every weight update a training batch."""
    from nas.train import loop as L
    seen = []
    orig = L.apply_update

    def spy(update, batch, *args, **kw):
        seen.append((update.optimizers, list(batch.keys)))
        return orig(update, batch, *args, **kw)
    monkeypatch.setattr(L, "apply_update", spy)
    run_stage("search", corpus, tmp_path / "s", method=method, max_epochs=1)
    held = set((tmp_path / "s" / "heldout.list").read_text().split())
    arch = [k for opts, keys in seen if "arch" in opts for k in keys]
    weights = [k for opts, keys in seen if "weights" in opts for k in keys]
    assert arch and weights and len(seen) == 2 * load_checkpoint(tmp_path / "s" / "final.pt")["step"]
    assert set(arch) <= held and not set(weights) & held



def test_score_ranks_architectures_with_the_super_networks_weights(corpus, tmp_path):
    c = corpus
    run_stage("warmup", c, tmp_path / "warmup", max_epochs=1)
    space = parse_space(TINY_SPACE)
    files = []
    for name, (a, b) in (("a", ("tdnn-C1D1", "tdnn-C1D1")), ("b", ("tdnn-C2D1", "tdnn-C1D2")), ("c", ("tdnn-C1D1", "tdnn-C1D1"))):
        Arch(space, {"b1": a, "b2": b}).write(tmp_path / f"{name}.arch.json")
        files.append(str(tmp_path / f"{name}.arch.json"))
    run_stage("score", c, tmp_path / "score", init=tmp_path / "warmup", archs=",".join(files))
    out = json.loads((tmp_path / "score" / "scores.json").read_text())
    losses = {s["id"]: s["loss"] for s in out["scores"]}
    assert set(losses) == {"a", "b", "c"} and all(np.isfinite(v) for v in losses.values())
    assert losses["a"] == losses["c"] != losses["b"]            # one loss per sub-graph, the same each time
    with pytest.raises(SystemExit, match="no architecture of space tiny"):
        (tmp_path / "bench").mkdir()
        (tmp_path / "bench" / "plan.json").write_text(json.dumps({"entries": [{"id": "x", "choices": {"op1": "zero"}}]}))
        run_stage("score", c, tmp_path / "score2", init=tmp_path / "warmup", archs=tmp_path / "bench")
