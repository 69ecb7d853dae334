"""Search strategies: the ST estimator against a direct computation, step semantics, derivation."""
import pytest
import torch
import torch.nn.functional as F

from nas.models.space import load_space, parse_space
from nas.models.supernet import SuperNet
from nas.strategies import STRATEGIES, get_strategy
from nas.strategies.base import Strategy

H = 6
CANDS = ["tdnn-C1D1", "tdnn-C1D2", "identity"]


def tiny_space():
    return parse_space({"name": "tiny", "hidden": H, "dropout": 0.0, "candidates": CANDS, "nodes": [
        {"name": "b1", "search": True}, {"name": "b2", "search": True},
        {"name": "out", "op": "linear", "out": "tokens"}]})


def ctc(log_probs, lengths, targets, target_lengths):
    return F.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths)


def batch(seed=0, n=3, t=12, v=5):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, t, H, generator=g), torch.tensor([t, t - 2, t - 5]),
            torch.randint(1, v, (n, 3), generator=g), torch.tensor([3, 2, 1]))


def make(name="st", seed=0, **kw):
    torch.manual_seed(seed)
    net = SuperNet(tiny_space(), H, 5)
    s = get_strategy(name, net, seed=seed, **kw)
    with torch.no_grad():
        for a in s.alpha:
            a.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed + 1))
    return net, s


@pytest.mark.parametrize("recompute", [True, False])
def test_st_gradient_equals_direct_computation(recompute):
    net, s = make(recompute=recompute)
    z = [1, 2]
    s.sample = lambda uniform=False: list(z)
    opt = torch.optim.SGD(s.arch_parameters(), lr=0.0)
    x, lengths, targets, tl = batch()
    s.arch_step((x, lengths, targets, tl), ctc, opt)
    st_grads = [a.grad.clone() for a in s.alpha]

    # direct: run the sampled sub-graph keeping every block output, then
    # dL/dalpha_b = J_softmax^T [<dL/dy_b, out_bk>]_k
    b1, b2 = net.blocks
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()   # padding zeroed
    outs1 = [op(x).detach() for op in b1.ops]
    y1 = outs1[z[0]].clone().requires_grad_()
    outs2 = [op(y1 * mask) for op in b2.ops]
    y2 = outs2[z[1]]
    y2.retain_grad()
    logits = net.edges["out<-b2"](y2 * mask)
    out_len = lengths
    ctc(torch.log_softmax(logits, -1), out_len, targets, tl).backward()
    for grad_y, outs, a, got in ((y1.grad, outs1, s.alpha[0], st_grads[0]),
                                 (y2.grad, [o.detach() for o in outs2], s.alpha[1], st_grads[1])):
        d_pi = torch.stack([(grad_y * o).sum() for o in outs])
        pi = torch.softmax(a.detach(), 0)
        jac = torch.diag(pi) - torch.outer(pi, pi)
        torch.testing.assert_close(got, jac @ d_pi, rtol=1e-4, atol=1e-6)


def test_arch_step_forward_value_is_the_sampled_subgraph():
    net, s = make()
    z = [0, 2]
    x, lengths, _, _ = batch()
    probs = s.probs()
    from nas.strategies.base import straight_through
    with s.mixing(lambda b, xx: straight_through(b, xx, probs[b.index], z[b.index])):
        st_out, _ = net(x, lengths)
    derived = SuperNet(tiny_space(), H, 5, arch=s.arch_of(z))
    derived.load_state_dict({k: v for k, v in net.state_dict().items()
                             if not any(k.startswith(f"edges.{e}.ops.") for e in ("b1<-input", "b2<-b1"))}
                            | {k.replace(f".ops.{z[0]}.", ".ops.0."): v for k, v in net.state_dict().items()
                               if k.startswith(f"edges.b1<-input.ops.{z[0]}.")}
                            | {k.replace(f".ops.{z[1]}.", ".ops.0."): v for k, v in net.state_dict().items()
                               if k.startswith(f"edges.b2<-b1.ops.{z[1]}.")})
    torch.testing.assert_close(st_out, derived(x, lengths)[0])


def test_weight_step_touches_only_sampled_ops():
    net, s = make()
    z = [1, 0]
    s.sample = lambda uniform=False: list(z)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    alpha_before = [a.detach().clone() for a in s.alpha]
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    s.weight_step(batch(), ctc, opt)
    after = net.state_dict()
    for k in before:
        sampled = f"edges.b1<-input.ops.{z[0]}." in k or f"edges.b2<-b1.ops.{z[1]}." in k or k.startswith("edges.out")
        assert (not torch.equal(before[k], after[k])) == sampled, k
    assert all(torch.equal(a, b) for a, b in zip(alpha_before, s.alpha))


def test_derive_is_argmax():
    _, s = make()
    with torch.no_grad():
        s.alpha[0].copy_(torch.tensor([0.1, 2.0, -1.0]))
        s.alpha[1].copy_(torch.tensor([0.0, -3.0, 0.5]))
    assert s.derive() == {"b1": "tdnn-C1D2", "b2": "identity"}


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_runs(name):
    net, s = make(name)
    alpha0 = [a.detach().clone() for a in s.alpha]
    w_opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    a_opt = torch.optim.Adam(s.arch_parameters(), lr=0.1)
    s.warmup_step(batch(1), ctc, w_opt)
    assert all(torch.equal(a, b) for a, b in zip(alpha0, s.alpha))      # warm-up: weights only
    for i in range(3):
        if s.has_arch_steps:
            assert torch.isfinite(torch.tensor(s.arch_step(batch(10 + i), ctc, a_opt)))
        assert torch.isfinite(torch.tensor(s.weight_step(batch(20 + i), ctc, w_opt)))
    arch = s.derive(lambda arch: float(len(" ".join(arch.values()))))
    net.space.check_arch(arch)
    if name == "random":
        assert len(s.scores) >= 1 and arch == min(
            ({b: c for b, c in zip(["b1", "b2"], k.split())} for k in s.scores), key=lambda a: s.scores[" ".join(a.values())])
    else:
        assert any(not torch.equal(a, b) for a, b in zip(alpha0, s.alpha))


def test_proxyless_keeps_unsampled_mass():
    net, s = make("proxyless")
    opt = torch.optim.Adam(s.arch_parameters(), lr=0.5)
    before = [torch.logsumexp(a.detach(), 0) for a in s.alpha]
    s.arch_step(batch(), ctc, opt)
    for a, b in zip(s.alpha, before):
        torch.testing.assert_close(torch.logsumexp(a.detach(), 0), b)


def test_resource_term():
    net, s = make("st", resource_coef=1.0)
    params = net.op_params()
    expected = sum(float((torch.softmax(a.detach(), 0) * torch.tensor(p, dtype=torch.float32)).sum()) / 1e6
                   for a, p in zip(s.alpha, params))
    assert float(s.expected_params().detach()) == pytest.approx(expected)
    assert params[0][2] == 0 and params[0][0] > 0                        # identity is free
    # with a large coefficient, architecture steps move mass toward the parameter-free op
    s.resource_coef = 1e5
    opt = torch.optim.Adam(s.arch_parameters(), lr=0.2)
    p0 = float(s.probs()[0][2].detach())
    for i in range(5):
        s.arch_step(batch(i), ctc, opt)
    assert float(s.probs()[0][2].detach()) > p0


def test_unknown_strategy_and_random_has_no_arch_step():
    net = SuperNet(tiny_space(), H, 5)
    with pytest.raises(ValueError, match="unknown search method 'enas'; known: st, darts, snas, proxyless, random"):
        get_strategy("enas", net)
    with pytest.raises(RuntimeError, match="no architecture steps"):
        get_strategy("random", net).arch_step(batch(), ctc, None)


def test_state_dict_round_trip():
    net, s = make("snas")
    s.set_epoch(5)
    state = s.state_dict()
    _, t = make("snas", seed=3)
    t.load_state_dict(state)
    assert t.tau == s.tau and all(torch.equal(a, b) for a, b in zip(s.alpha, t.alpha))
    assert t.sample() == s.sample()
