"""Search strategies against their papers' formulas, computed directly with autograd; which ops
run; which data and optimizer each update uses; optimizer defaults; derivation."""
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

from nas.models.space import parse_space
from nas.models.supernet import SuperNet
from nas.strategies import STRATEGIES, StrategyOptions, get_strategy
from nas.strategies.base import straight_through
from nas.strategies.snas import SnasOptions
from nas.strategies.st import STOptions
from nas.strategies.update import path, single_path
from nas.train.data import Batch
from nas.train.step import apply_update

H = 6
CANDS = ["tdnn-C1D1", "tdnn-C1D2", "identity"]


def tiny_space():
    return parse_space({"name": "tiny", "hidden": H, "dropout": 0.0, "candidates": CANDS, "nodes": [
        {"name": "b1", "search": True}, {"name": "b2", "search": True},
        {"name": "out", "op": "linear", "out": "tokens"}]})


def ctc(log_probs, targets, lengths, target_lengths, path_weights=None):
    return F.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths)


def batch(seed=0, n=3, t=12, v=5) -> Batch:
    g = torch.Generator().manual_seed(seed)
    return Batch([f"u{seed}-{i}" for i in range(n)], torch.randn(n, t, H, generator=g), torch.tensor([t, t - 2, t - 5]),
                 torch.randint(1, v, (n, 3), generator=g), torch.tensor([3, 2, 1]), torch.zeros(n))


def make(name="st", seed=0, options=None, **kw):
    torch.manual_seed(seed)
    net = SuperNet(tiny_space(), H, 5)
    s = get_strategy(name, net, options, seed=seed, **kw)
    with torch.no_grad():
        for a in s.alpha:
            a.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed + 1))
    return net, s


def frozen_opts(net, s):
    """Optimizers that step by zero: the gradients stay for inspection, nothing moves."""
    return {"weights": torch.optim.SGD(net.parameters(), lr=0.0), "arch": torch.optim.SGD(s.arch_parameters(), lr=0.0)}


def manual_forward(net, b: Batch, block_out):
    """The tiny space by hand: b1 -> b2 -> linear, padding zeroed after each block as SuperNet does."""
    x, lengths = b.feats, b.lengths
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()
    b1, b2 = net.blocks
    y1 = block_out(0, b1, x) * mask
    y2 = block_out(1, b2, y1) * mask
    return ctc(torch.log_softmax(net.edges["out<-b2"](y2), -1), b.targets, lengths, b.target_lengths)


def leaves(s):
    return [a.detach().clone().requires_grad_() for a in s.alpha]


@pytest.mark.parametrize("recompute", [True, False])
def test_st_gradient_equals_direct_computation(recompute):
    net, s = make(options=STOptions(recompute=recompute))
    z = [1, 2]
    s.sample = lambda: list(z)
    held = batch()
    arch = next(s.updates())
    assert arch.heldout and arch.optimizers == ("arch",)
    apply_update(arch, held, net, ctc, frozen_opts(net, s))
    st_grads = [a.grad.clone() for a in s.alpha]
    assert all(p.grad is None for p in net.parameters())                  # weights frozen

    # direct: run the sampled sub-graph keeping every block output, then
    # dL/dalpha_b = J_softmax^T [<dL/dy_b, out_bk>]_k
    b1, b2 = net.blocks
    x, lengths = held.feats, held.lengths
    mask = (torch.arange(x.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1).float()
    outs1 = [op(x).detach() for op in b1.ops]
    y1 = outs1[z[0]].clone().requires_grad_()
    outs2 = [op(y1 * mask) for op in b2.ops]
    y2 = outs2[z[1]]
    y2.retain_grad()
    logits = net.edges["out<-b2"](y2 * mask)
    ctc(torch.log_softmax(logits, -1), held.targets, lengths, held.target_lengths).backward()
    for grad_y, outs, a, got in ((y1.grad, outs1, s.alpha[0], st_grads[0]),
                                 (y2.grad, [o.detach() for o in outs2], s.alpha[1], st_grads[1])):
        d_pi = torch.stack([(grad_y * o).sum() for o in outs])
        pi = torch.softmax(a.detach(), 0)
        jac = torch.diag(pi) - torch.outer(pi, pi)
        torch.testing.assert_close(got, jac @ d_pi, rtol=1e-4, atol=1e-6)


def test_arch_step_forward_value_is_the_sampled_subgraph():
    net, s = make()
    z = [0, 2]
    x, lengths = batch().feats, batch().lengths
    probs = s.probs()
    with net.mixing(lambda b, xx: straight_through(b, xx, probs[b.index], z[b.index])):
        st_out, _ = net(x, lengths)
    with net.mixing(path(z)):
        path_out, _ = net(x, lengths)
    torch.testing.assert_close(st_out, path_out)
    derived = SuperNet(tiny_space(), H, 5, arch=s.arch_of(z))
    state = {k: v for k, v in net.state_dict().items() if ".ops." not in k}
    for blk, k in zip(("b1<-input", "b2<-b1"), z):
        state |= {n.replace(f".ops.{k}.", ".ops.0."): v for n, v in net.state_dict().items()
                  if n.startswith(f"edges.{blk}.ops.{k}.")}
    derived.load_state_dict(state)
    torch.testing.assert_close(st_out, derived(x, lengths)[0])


@pytest.mark.parametrize("name", ["st", "proxyless"])
def test_weight_update_runs_and_trains_only_the_sampled_ops(name):
    """Forward calls counted with hooks: a weight update that ran every op (with one-hot weights,
    say) would pass a parameter-change check, since Adam's first step on a zero gradient is zero."""
    net, s = make(name)
    z = [1, 0]
    s.sample = lambda: list(z)
    calls = Counter()
    for b in net.blocks:
        for k, op in enumerate(b.ops):
            op.register_forward_hook(lambda m, i, o, key=(b.name, k): calls.update([key]))
    updates = s.updates()
    next(updates)                                            # the architecture update, not applied
    u = next(updates)
    assert u.optimizers == ("weights",) and not u.heldout
    before = {k: v.clone() for k, v in net.state_dict().items()}
    alpha_before = [a.detach().clone() for a in s.alpha]
    apply_update(u, batch(), net, ctc, {"weights": torch.optim.Adam(net.parameters(), lr=0.01)})
    assert calls == Counter({("b1", 1): 1, ("b2", 0): 1})
    after = net.state_dict()
    for k in before:
        sampled = f"edges.b1<-input.ops.{z[0]}." in k or f"edges.b2<-b1.ops.{z[1]}." in k or k.startswith("edges.out")
        assert (not torch.equal(before[k], after[k])) == sampled, k
    assert all(torch.equal(a, b) for a, b in zip(alpha_before, s.alpha))


def test_darts_gradients_are_the_mixture_gradients():
    """DARTS (first order): alpha's gradient on a held-out batch through sum_k softmax(alpha)_k o_k(x),
    weights frozen; then the weights' gradient on the training batch with alpha fixed."""
    net, s = make("darts")
    opts = frozen_opts(net, s)
    train, held = batch(1), batch(2)
    updates = s.updates()
    arch = next(updates)
    assert arch.heldout and arch.optimizers == ("arch",)
    apply_update(arch, held, net, ctc, opts)
    alphas = leaves(s)

    def mixture(i, b, x):
        w = torch.softmax(alphas[i], 0)
        return sum(w[k] * op(x) for k, op in enumerate(b.ops))
    ref = torch.autograd.grad(manual_forward(net, held, mixture), alphas)
    for a, r in zip(s.alpha, ref):
        torch.testing.assert_close(a.grad, r, rtol=1e-4, atol=1e-7)
    weights = next(updates)
    assert not weights.heldout and weights.optimizers == ("weights",)
    apply_update(weights, train, net, ctc, opts)
    params = list(net.parameters())
    ref = torch.autograd.grad(manual_forward(net, train, mixture), params, allow_unused=True)
    for p, r in zip(params, ref):
        torch.testing.assert_close(p.grad, r, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("mode", ["joint", "alternate"])
def test_snas_gradients_are_the_gumbel_softmax_gradients(mode):
    """SNAS: blocks mix with softmax((alpha + g) / tau), g Gumbel noise. joint (the paper): one
    backward pass on the training batch gives both alpha's and the weights' gradients and both
    optimizers step; alternate: alpha on a held-out batch, then the weights with fresh noise."""
    net, s = make("snas", options=SnasOptions(update=mode), max_epochs=4)
    s.set_progress(0, 1)            # the first of 4 one-step epochs
    tau = 1.0 - (1.0 - 0.03) / 4
    assert s.tau == pytest.approx(tau)
    g = torch.Generator()
    g.set_state(s.generator.get_state())
    opts = frozen_opts(net, s)
    train, held = batch(1), batch(2)
    alphas = leaves(s)
    params = list(net.parameters())

    def relaxed(i, b, x, noise):
        w = torch.softmax((alphas[i] + noise[i]) / tau, 0)
        return sum(w[k] * op(x) for k, op in enumerate(b.ops))

    def gumbel():
        return [-torch.log(-torch.log(torch.rand(len(a), generator=g).clamp(1e-10, 1 - 1e-10))) for a in alphas]
    updates = s.updates()
    first = next(updates)
    noise = gumbel()
    if mode == "joint":
        assert first.optimizers == ("weights", "arch") and not first.heldout
        apply_update(first, train, net, ctc, opts)
        assert next(updates, None) is None
        ref = torch.autograd.grad(manual_forward(net, train, lambda i, b, x: relaxed(i, b, x, noise)),
                                  alphas + params)
        for t, r in zip(list(s.alpha) + params, ref):
            torch.testing.assert_close(t.grad, r, rtol=1e-4, atol=1e-7)
        return
    assert first.optimizers == ("arch",) and first.heldout
    apply_update(first, held, net, ctc, opts)
    ref = torch.autograd.grad(manual_forward(net, held, lambda i, b, x: relaxed(i, b, x, noise)), alphas)
    for a, r in zip(s.alpha, ref):
        torch.testing.assert_close(a.grad, r, rtol=1e-4, atol=1e-7)
    second = next(updates)
    noise = gumbel()
    assert second.optimizers == ("weights",) and not second.heldout
    apply_update(second, train, net, ctc, opts)
    ref = torch.autograd.grad(manual_forward(net, train, lambda i, b, x: relaxed(i, b, x, noise)), params)
    for p, r in zip(params, ref):
        torch.testing.assert_close(p.grad, r, rtol=1e-4, atol=1e-7)


def test_proxyless_gradient_is_the_binary_gate_gradient():
    """ProxylessNAS: y = sum_{j in pair} g_j o_j(x) with the binary gates g (one open); over the pair,
    dL/dalpha_i = sum_j dL/dg_j p_j (delta_ij - p_i), p = softmax(alpha[pair]); 0 for the others."""
    net, s = make("proxyless")
    held = batch(3)
    arch = next(s.updates())
    assert arch.heldout and arch.optimizers == ("arch",)
    apply_update(arch, held, net, ctc, frozen_opts(net, s))
    pairs, gates = s.sampled
    gs = [torch.tensor([1.0 if j == gate else 0.0 for j in pair], requires_grad=True) for pair, gate in zip(pairs, gates)]

    def gated(i, b, x):
        return sum(gs[i][m] * b.ops[j](x) for m, j in enumerate(pairs[i]))
    d_g = torch.autograd.grad(manual_forward(net, held, gated), gs)
    for a, pair, dg in zip(s.alpha, pairs, d_g):
        p = torch.softmax(a.detach()[pair], 0)
        expected = torch.zeros(len(a))
        for i, ki in enumerate(pair):
            expected[ki] = sum(dg[j] * p[j] * (float(i == j) - p[i]) for j in range(len(pair)))
        torch.testing.assert_close(a.grad, expected, rtol=1e-4, atol=1e-7)


def test_proxyless_keeps_the_unsampled_mass_over_many_steps():
    """With its own optimizer (Adam, beta1 = 0) the unsampled candidates' probabilities stay put at
    every step, while the sampled pair's split moves; momentum (beta1 > 0) would move them."""
    net, s = make("proxyless")
    opts = {"weights": torch.optim.Adam(net.parameters(), lr=1e-2), "arch": s.arch_optimizer(lr=0.05)}
    moved = False
    for step in range(20):
        updates = s.updates()
        arch = next(updates)
        before = [torch.softmax(a.detach(), 0) for a in s.alpha]
        apply_update(arch, batch(100 + step), net, ctc, opts)
        pairs, _ = s.sampled
        for a, p0, pair in zip(s.alpha, before, pairs):
            p1 = torch.softmax(a.detach(), 0)
            rest = [k for k in range(len(a)) if k not in pair]
            torch.testing.assert_close(p1[rest], p0[rest], rtol=0, atol=1e-6)
            moved |= not torch.allclose(p1[pair], p0[pair])
        apply_update(next(updates), batch(200 + step), net, ctc, opts)
    assert moved


def test_each_method_takes_its_papers_alpha_optimizer():
    expected = {"st": (1e-3, (0.9, 0.999), 0.0), "proxyless": (1e-3, (0.0, 0.999), 0.0),
                "darts": (3e-4, (0.5, 0.999), 1e-3), "snas": (3e-4, (0.5, 0.999), 1e-3)}
    for name, (lr, betas, wd) in expected.items():
        _, s = make(name)
        d = s.arch_optimizer().defaults
        assert (d["lr"], d["betas"], d["weight_decay"]) == (lr, betas, wd), name
    _, s = make("proxyless")
    d = s.arch_optimizer(lr=0.01, beta1=0.5).defaults
    assert (d["lr"], d["betas"]) == (0.01, (0.5, 0.999))
    assert not STRATEGIES["random"].trains


def test_snas_temperature_falls_linearly_then_stays():
    """Per step over max_epochs x steps per epoch, the last step of the anneal at tau_min."""
    _, s = make("snas", max_epochs=10)
    taus = []
    for step in (0, 9, 19, 30):
        s.set_progress(step, 2)
        taus.append(s.tau)
    assert taus == pytest.approx([1.0 - 0.97 / 20, 1.0 - 0.97 / 2, 0.03, 0.03])
    _, s = make("snas", options=SnasOptions(tau0=2.0, tau_min=0.5, anneal_epochs=3), max_epochs=10)
    assert s.min_epochs == 3
    s.set_progress(2, 1)
    assert s.tau == pytest.approx(0.5)


def test_derive_is_argmax():
    _, s = make()
    with torch.no_grad():
        s.alpha[0].copy_(torch.tensor([0.1, 2.0, -1.0]))
        s.alpha[1].copy_(torch.tensor([0.0, -3.0, 0.5]))
    assert s.derive() == {"b1": "tdnn-C1D2", "b2": "identity"}
    assert s.final_probs()["b1"]["tdnn-C1D2"] == pytest.approx(float(torch.softmax(s.alpha[0].detach(), 0)[1]), abs=1e-6)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_runs(name):
    net, s = make(name)
    alpha0 = [a.detach().clone() for a in s.alpha]
    opts = {"weights": torch.optim.Adam(net.parameters(), lr=1e-2)}
    apply_update(single_path(net, [0, 1]), batch(1), net, ctc, opts)     # warm-up: weights only
    assert all(torch.equal(a, b) for a, b in zip(alpha0, s.alpha))
    if s.trains:
        opts["arch"] = s.arch_optimizer(lr=0.1)
        for i in range(3):
            for u in s.updates():
                loss, applied = apply_update(u, batch(10 + i), net, ctc, opts)
                assert applied and torch.isfinite(torch.tensor(loss))
        assert any(not torch.equal(a, b) for a, b in zip(alpha0, s.alpha))
    arch = s.derive(lambda arch: float(len(" ".join(arch.values()))))
    net.space.check_arch(arch)
    if name == "random":
        assert len(s.scores) >= 1 and " ".join(arch.values()) == min(s.scores, key=s.scores.get)
        assert s.final_probs() is None and "random_scores.json" in s.reports()


def test_resource_term():
    net, s = make("st", resource_coef=1.0)
    params = net.op_params()
    expected = sum(float((torch.softmax(a.detach(), 0) * torch.tensor(p, dtype=torch.float32)).sum()) / 1e6
                   for a, p in zip(s.alpha, params))
    assert float(s.expected_params().detach()) == pytest.approx(expected)
    assert params[0][2] == 0 and params[0][0] > 0                        # identity is free
    # with a large coefficient, architecture updates move mass toward the parameter-free op
    s.resource_coef = 1e5
    opts = {"arch": torch.optim.Adam(s.arch_parameters(), lr=0.2)}
    p0 = float(s.probs()[0][2].detach())
    for i in range(5):
        apply_update(next(s.updates()), batch(i), net, ctc, opts)
    assert float(s.probs()[0][2].detach()) > p0


def test_non_finite_update_changes_nothing():
    net, s = make("st")
    b = batch()
    b.feats[0, 0, 0] = float("nan")
    before = {k: v.clone() for k, v in net.state_dict().items()}
    opts = {"weights": torch.optim.Adam(net.parameters(), lr=0.1), "arch": s.arch_optimizer(lr=0.1)}
    alpha0 = [a.detach().clone() for a in s.alpha]
    for u in s.updates():
        _, applied = apply_update(u, b, net, ctc, opts)
        assert not applied
    assert all(torch.equal(v, net.state_dict()[k]) for k, v in before.items())
    assert all(torch.equal(a, x) for a, x in zip(alpha0, s.alpha))


def test_grad_clip_bounds_the_weights_gradient_norm():
    net, _ = make("st")
    u = single_path(net, [0, 0])
    opts = {"weights": torch.optim.SGD(net.parameters(), lr=0.0)}
    apply_update(u, batch(), net, ctc, opts)
    norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in net.parameters() if p.grad is not None]))
    assert norm > 0.05
    apply_update(u, batch(), net, ctc, opts, grad_clip=0.05)
    clipped = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in net.parameters() if p.grad is not None]))
    assert clipped == pytest.approx(0.05, rel=1e-4)


def test_unknown_strategy_and_random_has_no_updates():
    net = SuperNet(tiny_space(), H, 5)
    with pytest.raises(ValueError, match="unknown search method 'enas'; known: st, darts, snas, proxyless, random"):
        get_strategy("enas", net)
    with pytest.raises(RuntimeError, match="trains nothing"):
        next(get_strategy("random", net).updates())


def test_options_section_reaches_the_strategy():
    net = SuperNet(tiny_space(), H, 5)
    opts = StrategyOptions()
    opts.snas.update = "alternate"
    opts.random.num_samples = 4
    assert get_strategy("snas", net, opts).options.update == "alternate"
    assert get_strategy("random", net, opts).options.num_samples == 4
    assert get_strategy("darts", net, opts).options is None


def test_state_dict_round_trip():
    net, s = make("snas", max_epochs=10)
    s.set_progress(5, 1)
    state = s.state_dict()
    _, t = make("snas", seed=3)
    t.load_state_dict(state)
    assert t.tau == s.tau and all(torch.equal(a, b) for a, b in zip(s.alpha, t.alpha))
    assert t.sample() == s.sample()
