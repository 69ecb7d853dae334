"""ctc_crf: DenGraph, log Z and the CTC-CRF loss against brute-force enumeration and torch's ctc_loss."""
import itertools
import math
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ctc_crf import CTCCRFLoss, DenGraph, DenGraphError, den_log_partition, den_log_partition_reference, has_kernel
from ctc_crf.fst import FstArrays, write_fst
from nas.graphs.den_graph import compose_ctc_lm
from nas.lm.phone_lm import PhoneLM

V = 4  # blank + 3 units


@pytest.fixture(scope="module")
def lm():
    rng = random.Random(0)
    seqs = [[rng.randint(2, V) for _ in range(rng.randint(1, 5))] for _ in range(40)]
    return PhoneLM.estimate(seqs, range(2, V + 1), order=3, num_extra_states=4)


@pytest.fixture(scope="module")
def graph(lm, tmp_path_factory):
    path = tmp_path_factory.mktemp("den") / "den_lm.fst"
    write_fst(path, compose_ctc_lm(lm.to_arrays(), V))
    return DenGraph.from_file(path)


IMPLS = [False] + ([True] if has_kernel() else [])


def collapse(path):
    out, prev = [], None
    for c in path:
        if c != 0 and c != prev:
            out.append(c + 1)          # column -> LM token id
        prev = c
    return out


def brute_force(lm, lp, length, labels=None):
    """log Z (labels None) or the numerator log sum over paths collapsing to `labels` (token ids)."""
    total = -math.inf
    for path in itertools.product(range(V), repeat=length):
        seq = collapse(path)
        if labels is not None and seq != labels:
            continue
        total = np.logaddexp(total, sum(lp[t, path[t]] for t in range(length)) + lm.log_prob(seq))
    return total


def random_log_probs(n, t, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, t, V, generator=g, dtype=dtype).mul(2).log_softmax(-1)


@pytest.mark.parametrize("use_kernel", IMPLS)
def test_log_z_brute_force(lm, graph, use_kernel):
    lp = random_log_probs(3, 5)
    lengths = torch.tensor([5, 3, 1])
    log_z = den_log_partition(graph, lp, lengths, use_kernel=use_kernel)
    for n, length in enumerate(lengths.tolist()):
        assert log_z[n].item() == pytest.approx(brute_force(lm, lp[n].numpy(), length), rel=1e-6)


@pytest.mark.parametrize("use_kernel", IMPLS)
def test_loss_brute_force_and_lamb(lm, graph, use_kernel, monkeypatch):
    lp = random_log_probs(2, 5, seed=1).requires_grad_()
    targets = torch.tensor([[2, 1, 0], [3, 3, 0]])            # columns; padded
    tl, il = torch.tensor([2, 2]), torch.tensor([5, 4])
    pw = torch.tensor([lm.log_prob([3, 2]), lm.log_prob([4, 4])], dtype=torch.float64)
    loss = CTCCRFLoss(graph, reduction="none")(lp, targets, il, tl, pw)
    for n, labels in enumerate([[3, 2], [4, 4]]):
        x = lp[n].detach().numpy()
        expected = brute_force(lm, x, int(il[n])) - brute_force(lm, x, int(il[n]), labels)
        assert loss[n].item() == pytest.approx(expected, rel=1e-6)
    # lamb mixes in exactly torch's ctc_loss; without path weights the value shifts by them
    ctc = F.ctc_loss(lp.transpose(0, 1), targets, il, tl, reduction="none")
    for lamb in (0.01, 0.1, 1.0):
        mixed = CTCCRFLoss(graph, lamb=lamb, reduction="none")(lp, targets, il, tl, pw)
        torch.testing.assert_close(mixed - loss, lamb * ctc)
    no_pw = CTCCRFLoss(graph, reduction="none")(lp, targets, il, tl)
    torch.testing.assert_close(no_pw - loss, pw)
    # reductions, and concatenated int32 targets give the same
    mean = CTCCRFLoss(graph)(lp, targets, il, tl, pw)
    total = CTCCRFLoss(graph, reduction="sum")(lp, targets.int(), il.int(), tl.int(), pw)
    concat = CTCCRFLoss(graph, reduction="sum")(lp, torch.tensor([2, 1, 3, 3]), il, tl, pw)
    torch.testing.assert_close(mean, loss.mean())
    torch.testing.assert_close(total, loss.sum())
    torch.testing.assert_close(concat, loss.sum())
    mean.backward()
    assert torch.isfinite(lp.grad).all()


def test_reference_gradcheck(graph):
    lp = random_log_probs(2, 4, seed=2).requires_grad_()
    lengths = torch.tensor([4, 2])
    assert torch.autograd.gradcheck(lambda x: den_log_partition_reference(graph, x, lengths), (lp,))


@pytest.mark.skipif(not has_kernel(), reason="the C++ kernel is not built")
def test_kernel_gradcheck_and_agreement(graph):
    lp = random_log_probs(3, 6, seed=3).requires_grad_()
    lengths = torch.tensor([6, 4, 1])
    assert torch.autograd.gradcheck(lambda x: den_log_partition(graph, x, lengths, use_kernel=True), (lp,))
    for dtype, tol in ((torch.float64, 1e-9), (torch.float32, 1e-4)):
        x = random_log_probs(4, 30, seed=4, dtype=dtype).requires_grad_()
        ln = torch.tensor([30, 17, 5, 29])
        a = den_log_partition(graph, x, ln, use_kernel=True)
        b = den_log_partition_reference(graph, x, ln)
        torch.testing.assert_close(a, b, rtol=tol, atol=tol)
        ga, = torch.autograd.grad(a.sum(), x)
        gb, = torch.autograd.grad(b.sum(), x)
        torch.testing.assert_close(ga, gb, rtol=tol * 10, atol=tol * 10)


def test_gradient_is_label_posterior(graph):
    """d log Z / d log p_t sums to 1 over labels at every frame inside the utterance, 0 after it."""
    lp = random_log_probs(2, 7, seed=5).requires_grad_()
    log_z = den_log_partition(graph, lp, torch.tensor([7, 3]))
    g, = torch.autograd.grad(log_z.sum(), lp)
    torch.testing.assert_close(g[0].sum(-1), torch.ones(7, dtype=torch.float64))
    torch.testing.assert_close(g[1, :3].sum(-1), torch.ones(3, dtype=torch.float64))
    assert (g[1, 3:] == 0).all()


def test_too_short_is_inf_or_zero(graph):
    lp = random_log_probs(2, 3, seed=6).requires_grad_()
    targets = torch.tensor([[1, 1, 1], [1, 2, 3]])        # needs 5 frames; needs 3
    tl, il = torch.tensor([3, 3]), torch.tensor([3, 3])
    loss = CTCCRFLoss(graph, reduction="none")(lp, targets, il, tl)
    assert math.isinf(loss[0].item()) and loss[0] > 0 and math.isfinite(loss[1].item())
    z = CTCCRFLoss(graph, reduction="sum", zero_infinity=True)(lp, targets, il, tl)
    z.backward()
    assert math.isfinite(z.item()) and torch.isfinite(lp.grad).all() and not torch.isnan(lp.grad).any()
    assert (lp.grad[0] == 0).all()


def test_input_errors(graph):
    lp = random_log_probs(2, 5)
    t, tl, il = torch.tensor([[1, 2], [2, 0]]), torch.tensor([2, 1]), torch.tensor([5, 5])
    loss = CTCCRFLoss(graph)
    with pytest.raises(ValueError, match="V=5 outputs but the den graph .* has 4 tokens"):
        loss(torch.randn(2, 5, 5).log_softmax(-1), t, il, tl)
    with pytest.raises(ValueError, match=r"log_probs must be 3-D.*\(N, T, V\), batch first"):
        loss(lp[0], t, il, tl)
    with pytest.raises(ValueError, match=r"an empty batch: log_probs has shape \(0, 5, 4\).*batch_first=False"):
        loss(lp[:0], t[:0], il[:0], tl[:0])
    # torch's (T, N, V) layout, said so: the same loss as batch first
    torch.testing.assert_close(CTCCRFLoss(graph, batch_first=False)(lp.transpose(0, 1), t, il, tl), loss(lp, t, il, tl))
    with pytest.raises(ValueError, match=r"input_lengths must be 1-D of length N=5.*batch_first=False"):
        loss(lp.transpose(0, 1), t, il, tl)               # (T, N, V) passed as batch first
    with pytest.raises(ValueError, match=r"input_lengths must lie in \[1, T=5\]"):
        loss(lp, t, torch.tensor([6, 5]), tl)
    with pytest.raises(ValueError, match="input_lengths must be 1-D of length N=2"):
        loss(lp, t, torch.tensor([5]), tl)
    with pytest.raises(ValueError, match="targets must be an integer tensor"):
        loss(lp, t.float(), il, tl)
    with pytest.raises(ValueError, match="target labels must lie in"):
        loss(lp, torch.tensor([[1, 4], [2, 0]]), il, tl)
    with pytest.raises(ValueError, match="concatenated targets have 3 labels but target_lengths sum to 2"):
        loss(lp, torch.tensor([1, 2, 3]), il, torch.tensor([1, 1]))
    with pytest.raises(ValueError, match="exceeds the padded width"):
        loss(lp, t, il, torch.tensor([3, 1]))
    with pytest.raises(ValueError, match="reduction must be"):
        CTCCRFLoss(graph, reduction="avg")


def test_den_graph_properties_and_errors(graph, tmp_path):
    assert graph.num_tokens == V and graph.num_states > 0 and graph.num_arcs > graph.num_states
    assert graph.to("cpu") is graph and "states" in repr(graph)
    f32 = lambda *x: np.array(x, np.float32)
    i32 = lambda *x: np.array(x, np.int32)
    eps = FstArrays(0, f32(np.inf, 0), i32(0, 0), i32(1, 0), i32(1, 0), f32(0, 0), i32(1, 1))
    write_fst(tmp_path / "eps.fst", eps)
    with pytest.raises(DenGraphError, match=r"eps.fst: 1 arcs have epsilon .* the arc 0 -> 1"):
        DenGraph.from_file(tmp_path / "eps.fst")
    clash = FstArrays(0, f32(np.inf, 0), i32(0, 0), i32(1, 2), i32(1, 2), f32(0, 0), i32(1, 1))
    with pytest.raises(DenGraphError, match="state 1 is entered by arcs with labels 2 and 1"):
        DenGraph(clash)
    (tmp_path / "tail.fst").write_bytes((tmp_path / "eps.fst").read_bytes() + b"\0\0\0")
    with pytest.raises(ValueError, match=r"tail.fst: 3 bytes after the last state's arcs"):
        DenGraph.from_file(tmp_path / "tail.fst")
    (tmp_path / "junk.fst").write_bytes(b"not an fst")
    with pytest.raises(ValueError, match="junk.fst: not an OpenFst binary file"):
        DenGraph.from_file(tmp_path / "junk.fst")
