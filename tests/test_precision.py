"""bf16 training (--dtype bf16): the network under autocast, the losses in float32, close to fp32."""
import random

import pytest
import torch
import torch.nn.functional as F

from ctc_crf import CTCCRFLoss, DenGraph
from ctc_crf.fst import write_fst
from nas.graphs.den_graph import compose_ctc_lm
from nas.lm.phone_lm import PhoneLM
from nas.models.space import load_space
from nas.models.supernet import SuperNet
from nas.train.checkpoint import load_checkpoint
from nas.train.data import Batch
from nas.train.step import network_output
from test_train_stages import run_stage

TOKENS = 6                                   # <blk> + 5 units


def arch_of(space, seed=0):
    from nas.strategies import get_strategy
    from nas.strategies.update import sample_choice
    pick = get_strategy("st", SuperNet(space, 40, TOKENS), seed=seed)
    return pick.arch_of(sample_choice(pick.net, torch.Generator().manual_seed(seed)))


def batch(n=4, t=120, seed=0):
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([t - 17 * i for i in range(n)])
    targets = torch.randint(1, TOKENS, (n, 6), generator=g)
    return Batch([f"u{i}" for i in range(n)], torch.randn(n, t, 40, generator=g), lengths, targets,
                 torch.full((n,), 6), torch.zeros(n))


@pytest.fixture(scope="module")
def crf(tmp_path_factory):
    rng = random.Random(0)
    seqs = [[rng.randint(2, TOKENS) for _ in range(rng.randint(2, 8))] for _ in range(60)]
    lm = PhoneLM.estimate(seqs, range(2, TOKENS + 1), order=3)
    path = tmp_path_factory.mktemp("den") / "den_lm.fst"
    write_fst(path, compose_ctc_lm(lm.to_arrays(), TOKENS))
    return CTCCRFLoss(DenGraph.from_file(path), lamb=0.01)


def ctc(lp, tgt, out_len, tgt_len, weights):
    return F.ctc_loss(lp.transpose(0, 1), tgt, out_len, tgt_len, zero_infinity=True)


@pytest.mark.parametrize("space_name", ["wsj", "nb_asr_small"])
def test_bf16_loss_and_gradient_are_close_to_fp32(space_name, crf):
    space = load_space(space_name, verbose=False)
    torch.manual_seed(0)
    net = SuperNet(space, 40, TOKENS, arch=arch_of(space))
    b = batch()
    for loss_fn in (ctc, lambda lp, *a: crf(lp, *a)):
        out = {}
        for dtype in ("fp32", "bf16"):
            net.zero_grad()
            torch.manual_seed(1)                      # the same dropout masks
            lp, out_len = network_output(net, b, dtype)
            assert lp.dtype == torch.float32          # the losses' input, whatever ran inside
            # normalized in float32: a bfloat16 log-softmax would be off by ~1e-2
            assert torch.logsumexp(lp, -1).abs().max() < 1e-5
            loss = loss_fn(lp, b.targets, out_len, b.target_lengths, b.path_weights)
            loss.backward()
            grad = torch.cat([p.grad.flatten() for p in net.parameters() if p.grad is not None])
            out[dtype] = (float(loss.detach()), grad, lp.detach())
        (l32, g32, lp32), (l16, g16, lp16) = out["fp32"], out["bf16"]
        assert not torch.equal(lp32, lp16)            # autocast did run the network in bfloat16
        # per output frame (the CTC-CRF loss is a small difference of two large log sums)
        assert abs(l16 - l32) / float(out_len.float().mean()) < 1e-3
        assert float(F.cosine_similarity(g32, g16, dim=0)) > 0.95


def test_unknown_dtype_is_refused():
    space = load_space("nb_asr_small", verbose=False)
    with pytest.raises(ValueError, match="dtype 'fp16' is not one of"):
        network_output(SuperNet(space, 40, TOKENS, arch=arch_of(space)), batch(), "fp16")


def test_a_training_stage_runs_in_bf16(corpus, tmp_path):
    run_stage("warmup", corpus, tmp_path / "w", dtype="bf16", max_epochs=1)
    s = load_checkpoint(tmp_path / "w" / "final.pt")
    assert all(v.dtype == torch.float32 for v in s["model"].values() if v.is_floating_point())
    assert all(torch.isfinite(torch.tensor(h["valid_loss"])) for h in s["history"])
    assert '"dtype": "bf16"' in (tmp_path / "w" / "config.json").read_text()
