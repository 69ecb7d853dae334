"""NAS-Bench-ASR's training protocol as retrain options: the exponential schedule, the curriculum of
short-utterance epochs, the L2 penalty on conv kernels, the best epoch by held-out TER, CTC per frame,
Adam's epsilon; and global CMVN statistics (egs/timit stage 2)."""
import math
from pathlib import Path

import kaldiio
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from nas.models.arch import Arch
from nas.train.checkpoint import load_checkpoint
from nas.train.losses import StageLoss
from nas.train.retrain import RetrainConfig, RetrainPlan
from nas.train.schedule import ExpDecay
from nas.models.space import load_space, parse_space
from test_train_stages import run_stage
from train_fixtures import TINY_SPACE


def test_exp_decay_keeps_the_lr_until_its_start_epoch_then_multiplies():
    rule = ExpDecay(start=3, decay=0.5)
    lr, lrs, improved = 1.0, [], []
    for epoch, value in enumerate([5.0, 4.0, 4.5, 3.0, 3.5], 1):
        end = rule.update(value, lr, epoch)
        lr = end.lr
        lrs.append(lr)
        improved.append(end.improved)
        assert not end.stop
    assert lrs == [1.0, 1.0, 0.5, 0.25, 0.125]
    assert improved == [True, True, False, True, False]


def test_frames_norm_divides_each_utterance_by_its_output_frames():
    torch.manual_seed(0)
    lp = torch.randn(3, 12, 5).log_softmax(-1)
    tg = torch.tensor([[1, 2, 3], [2, 2, 0], [4, 0, 0]])
    il, tl = torch.tensor([12, 9, 5]), torch.tensor([3, 2, 1])
    per_utt = F.ctc_loss(lp.transpose(0, 1), tg, il, tl, reduction="none")
    assert torch.allclose(StageLoss("ctc")(lp, tg, il, tl), per_utt.mean())
    assert torch.allclose(StageLoss("ctc", norm="frames")(lp, tg, il, tl), (per_utt / il).mean())
    with pytest.raises(ValueError, match="norm"):
        StageLoss("ctc", norm="tokens")


def _nb_arch(tmp_path: Path) -> Path:
    space = load_space("nb_asr_small", verbose=False, params="width=0.1,cells=[1,1,1,1]")
    choices = {b: c[1] for b, c in space.blocks.items()}          # conv5 ops and identity skips
    Arch(space, choices).write(tmp_path / "arch.json")
    return tmp_path / "arch.json"


def test_conv_penalty_is_the_weighted_sum_of_kernel_norms(tmp_path):
    cfg = RetrainConfig(data="d", lang="l", arch=str(_nb_arch(tmp_path)), conv_l2=0.01)
    plan = RetrainPlan(cfg)
    net = plan.build(80, 49)
    kernels = [m.weight for m in net.modules() if isinstance(m, torch.nn.Conv1d)]
    assert len(kernels) >= 5                   # the stages' strided convs and the cells' conv5 ops
    expected = 0.01 * sum(float(k.detach().norm()) for k in kernels)
    update = next(plan.updates())
    penalty = update.extra()
    assert math.isclose(float(penalty.detach()), expected, rel_tol=1e-5)
    penalty.backward()
    assert all(k.grad is not None and float(k.grad.abs().sum()) > 0 for k in kernels)
    assert next(RetrainPlan(RetrainConfig(data="d", lang="l", arch=cfg.arch)).updates()).extra is None


def test_curriculum_option_is_checked(tmp_path):
    arch = str(_nb_arch(tmp_path))
    with pytest.raises(SystemExit, match="seconds"):
        RetrainPlan(RetrainConfig(data="d", lang="l", arch=arch, curriculum="1,x"))
    plan = RetrainPlan(RetrainConfig(data="d", lang="l", arch=arch, curriculum="1,2.5", max_epochs=3))
    assert plan.epochs == 5
    assert [plan.frame_limit(e) for e in range(5)] == [100, 250, 0, 0, 0]
    # curriculum epochs are never the best one and never decay the lr, however good their score
    plan = RetrainPlan(RetrainConfig(data="d", lang="l", arch=arch, curriculum="1,1", schedule="exponential",
                                     decay_from=1, lr_decay=0.5))
    ends = [plan.end_epoch(e, v, 1.0) for e, v in enumerate([0.1, 0.2, 0.5, 0.4])]
    assert [e.improved for e in ends] == [False, False, True, True]
    assert [e.lr for e in ends] == [1.0, 1.0, 0.5, 0.5]


def test_protocol_run_counts_steps_lrs_and_best_epoch(corpus, tmp_path):
    c = corpus
    Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C2D1"}).write(tmp_path / "arch.json")
    frames = [int(x.split()[1]) for x in (c["train"] / "utt2num_frames").read_text().splitlines()]
    limit = sorted(frames)[len(frames) // 3] + 1           # a third of the utterances are shorter
    short = sum(1 for f in frames if f < limit)
    assert 0 < short < len(frames)
    run_stage("retrain", c, tmp_path / "r", arch=tmp_path / "arch.json", loss="ctc", valid_data=c["dev"],
              max_epochs=3, schedule="exponential", decay_from=2, lr_decay=0.5, lr=0.01,
              curriculum=f"{limit / 100},{limit / 100}", conv_l2=0.01, select_by="ter", loss_norm="frames",
              adam_eps=1e-7)
    state = load_checkpoint(tmp_path / "r" / "final.pt")
    bs = 4
    assert state["step"] == 2 * math.ceil(short / bs) + 3 * math.ceil(len(frames) / bs)
    assert [h["lr"] for h in state["history"]] == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.005])
    assert state["optimizers"]["weights"]["param_groups"][0]["eps"] == 1e-7
    counted = state["history"][2:]
    best = min(range(3), key=lambda i: (counted[i]["valid_ter"], i))
    assert load_checkpoint(tmp_path / "r" / "best.pt")["epoch"] == 2 + best + 1


def test_curriculum_without_short_utterances_names_the_epoch(corpus, tmp_path):
    c = corpus
    Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C2D1"}).write(tmp_path / "arch.json")
    with pytest.raises(SystemExit, match="epoch 1 keeps only utterances shorter than 1 frames"):
        run_stage("retrain", c, tmp_path / "r", arch=tmp_path / "arch.json", loss="ctc", max_epochs=1,
                  curriculum="0.01")


def _feats(d: Path, spk_utts, dim=3, seed=0):
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True)
    feats = {}
    with kaldiio.WriteHelper(f"ark,scp:{d / 'feats.ark'},{d / 'feats.scp'}") as w:
        for spk, utts in spk_utts.items():
            for u in utts:
                feats[u] = rng.normal(len(spk), 1.0, (7, dim)).astype(np.float32)
                w(u, feats[u])
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(us)}\n" for s, us in spk_utts.items()))
    return feats


def test_global_cmvn_stats_are_the_training_sets_for_every_speaker(tmp_path):
    from nas.bin.compute_cmvn_stats import main
    tr = _feats(tmp_path / "train", {"a": ["a1", "a2"], "bb": ["b1"]})
    _feats(tmp_path / "test", {"c": ["c1"]}, seed=1)
    g = tmp_path / "global.mat"
    assert main(["--write-global", str(g), "--spk2utt", str(tmp_path / "train" / "spk2utt"),
                 str(tmp_path / "train" / "feats.scp"), str(tmp_path / "tr.ark"), str(tmp_path / "tr.scp")]) == 0
    x = np.concatenate(list(tr.values())).astype(np.float64)
    stats = kaldiio.load_mat(str(g))
    np.testing.assert_allclose(stats[0, :3], x.sum(0), rtol=1e-6)
    assert stats[0, 3] == len(x)
    np.testing.assert_allclose(stats[1, :3], (x ** 2).sum(0), rtol=1e-6)
    per_spk = kaldiio.load_scp(str(tmp_path / "tr.scp"))
    assert sorted(per_spk) == ["a", "bb"] and all(np.array_equal(per_spk[s], stats) for s in per_spk)
    assert main(["--read-global", str(g), "--spk2utt", str(tmp_path / "test" / "spk2utt"),
                 str(tmp_path / "test" / "feats.scp"), str(tmp_path / "te.ark"), str(tmp_path / "te.scp")]) == 0
    assert np.array_equal(kaldiio.load_scp(str(tmp_path / "te.scp"))["c"], stats)
