"""Candidate-op registry, search spaces from config, the super-network and derived models."""
import json

import pytest
import torch

from nas.models.ops import OpNameError, build_op, register_op, Op
from nas.models.space import SPACES_DIR, SpaceError, load_space, parse_space
from nas.models.supernet import SuperNet, SearchBlock


def test_tdnn_names_and_shapes():
    op = build_op("tdnn-C2D2", 8, 16)
    x = torch.randn(3, 50, 8)
    assert op(x).shape == (3, 50, 16) and op.conv.kernel_size == (5,) and op.conv.dilation == (2,)
    sub = build_op("tdnn-C1D1S3", 8, 16)
    lengths = torch.tensor([50, 49, 7])
    y = sub(x)
    assert y.shape[1] == 17 and sub.out_lengths(lengths).tolist() == [17, 17, 3]
    assert build_op("identity", 8, 8)(x) is x
    zero = build_op("zero", 8, 4)(x)
    assert zero.shape == (3, 50, 4) and zero.abs().sum() == 0
    assert zero.untyped_storage().nbytes() <= 8      # a view of one zero: kept by autograd at no cost
    assert build_op("linear", 8, 5)(x).shape == (3, 50, 5)


@pytest.mark.parametrize("name,msg", [
    ("conv-3", "unknown operation 'conv-3'; known: dropout, identity, layernorm, linear, lstm, nblinear, zero, nbconv-..., tdnn-..."),
    ("tdnn-K1D1", "expected C{half context} (e.g. C1) right after 'tdnn-'"),
    ("tdnn-C1X2", "expected D{dilation} (e.g. D2) after the C part"),
    ("tdnn-C1D2Q3", "expected nothing, or S{stride} (e.g. S3), after the D part"),
    ("tdnn-C1D0", "dilation and stride must be >= 1"),
])
def test_bad_names(name, msg):
    with pytest.raises(OpNameError) as e:
        build_op(name, 4, 4)
    assert msg in str(e.value)


def test_registry_is_extensible():
    class Double(Op):
        def forward(self, x):
            return 2 * x

    register_op("double-test")(lambda name, i, o, cfg: Double())
    assert torch.equal(build_op("double-test", 3, 3)(torch.ones(1, 2, 3)), 2 * torch.ones(1, 2, 3))


def test_shipped_spaces(capsys):
    wsj, swbd = load_space("wsj"), load_space("swbd")
    assert wsj.size == 4096 and swbd.size == 46656
    assert "6 searching blocks, 4096 sub-graphs" in capsys.readouterr().out
    assert wsj.hidden == 640 and wsj.op_config.dropout == 0.5 and wsj.op_config.layer_norm
    tdnn_d = json.loads((SPACES_DIR / "wsj_tdnn_d.arch.json").read_text())
    wsj.check_arch(tdnn_d["choices"])
    model = SuperNet(wsj, 120, 46, arch=tdnn_d["choices"])
    # the paper's Table 3 gives 7.64M parameters for TDNN-D-Small (hidden 640, 46 outputs)
    assert sum(p.numel() for p in model.parameters()) == pytest.approx(7.64e6, rel=0.01)
    y, lengths = model(torch.randn(2, 90, 120), torch.tensor([90, 61]))
    assert y.shape == (2, 30, 46) and lengths.tolist() == [30, 21]
    torch.testing.assert_close(y.exp().sum(-1), torch.ones(2, 30))
    with pytest.raises(SpaceError, match="no search space 'nope'; shipped: nb_asr, nb_asr_small, swbd, wsj"):
        load_space("nope")


def test_dag_space_sums_inputs():
    cfg = {"name": "cell", "hidden": 6, "candidates": ["tdnn-C1D1", "identity", "zero"], "nodes": [
        {"name": "a", "op": "linear"},
        {"name": "b", "search": True},
        {"name": "c", "inputs": ["a", "b"], "search": True, "candidates": ["identity", "zero"]},
        {"name": "out", "op": "linear", "out": "tokens"}]}
    space = parse_space(cfg)
    assert list(space.blocks) == ["b", "c<-a", "c<-b"] and space.size == 3 * 2 * 2
    arch = {"b": "identity", "c<-a": "identity", "c<-b": "zero"}
    net = SuperNet(space, 4, 5, arch=arch)
    x = torch.randn(2, 7, 4)
    y, _ = net(x, torch.tensor([7, 7]))
    a = net.edges["a<-input"](x)
    expected = torch.log_softmax(net.edges["out<-c"](a), -1)   # c = a + b(zero) = a
    torch.testing.assert_close(y, expected)


@pytest.mark.parametrize("cfg,msg", [
    ({"name": "x", "hidden": 4, "nodes": [{"name": "a", "search": True}]}, "needs candidates"),
    ({"name": "x", "hidden": 4, "nodes": [{"name": "a", "op": "tdnn-C1"}]}, "node a: malformed operation"),
    ({"name": "x", "hidden": 4, "nodes": [{"name": "a", "op": "linear", "inputs": ["z"]}]}, "input 'z' is not an earlier node"),
    ({"name": "x", "hidden": 4, "nodes": [{"name": "a", "op": "linear", "search": True}]}, "either \"op\""),
    ({"name": "x", "hidden": 4, "nodes": [{"name": "a", "search": True, "candidates": ["tdnn-C1D1", "tdnn-C1D1S3"]}]},
     "different strides"),
    ({"name": "x", "hidden": 4, "nodes": [{"name": "a", "op": "tdnn-C1D1S3"},
                                          {"name": "b", "op": "linear", "inputs": ["input", "a"]}]}, "cannot be summed"),
    ({"hidden": 4, "nodes": []}, "missing key 'name'"),
])
def test_space_errors(cfg, msg):
    with pytest.raises(SpaceError, match=msg):
        parse_space(cfg, "test.json")


def test_supernet_needs_a_mixer_and_bad_arch():
    space = load_space("wsj", verbose=False)
    net = SuperNet(space, 12, 5)
    assert len(net.blocks) == 6 and all(len(b.ops) == 4 for b in net.blocks)
    with pytest.raises(RuntimeError, match="block block1 has 4 candidates and no mixer"):
        net(torch.randn(1, 9, 12), torch.tensor([9]))
    net.set_mixer(lambda block, x: block.ops[0](x))
    assert net(torch.randn(1, 9, 12), torch.tensor([9]))[0].shape == (1, 3, 5)
    with pytest.raises(SpaceError, match="block block2 has no candidate 'tdnn-C9D9'"):
        space.check_arch({**{f"block{i}": "tdnn-C1D1" for i in range(1, 7)}, "block2": "tdnn-C9D9"})
    with pytest.raises(SpaceError, match="missing blocks \\['block6'\\]"):
        space.check_arch({f"block{i}": "tdnn-C1D1" for i in range(1, 6)})


@pytest.mark.parametrize("p", [0.5, 0.1])
def test_dropout_rate_scale_and_gradient(p):
    from nas.models.ops import Dropout
    drop = Dropout(p).train()
    x = torch.ones(64, 100, 50, requires_grad=True)
    torch.manual_seed(3)
    y = drop(x)
    kept = y != 0
    assert abs(1 - kept.float().mean().item() - p) < 0.01          # 320k draws: rate within 1%
    torch.testing.assert_close(y[kept], torch.full_like(y[kept], 1 / (1 - p)))
    g = torch.randn_like(y)
    y.backward(g)
    torch.testing.assert_close(x.grad, torch.where(kept, g / (1 - p), torch.zeros_like(g)))
    torch.manual_seed(3)
    assert torch.equal(drop(x), y)                                    # seeded like torch's RNG
    assert torch.equal(drop.eval()(x), x)
    with pytest.raises(ValueError, match="dropout probability"):
        Dropout(1.0)


def test_output_does_not_depend_on_batch_padding():
    space = load_space("wsj", verbose=False)
    net = SuperNet(space, 12, 7, arch={f"block{i}": "tdnn-C2D2" for i in range(1, 7)}).eval()
    short, long_ = torch.randn(1, 40, 12), torch.randn(1, 70, 12)
    alone, n_alone = net(short, torch.tensor([40]))
    padded = torch.zeros(2, 70, 12)
    padded[0, :40], padded[1] = short[0], long_[0]
    batched, n_batched = net(padded, torch.tensor([40, 70]))
    assert int(n_alone[0]) == int(n_batched[0]) == 14
    torch.testing.assert_close(batched[0, :14], alone[0], rtol=1e-5, atol=1e-5)


def test_inherit_keeps_the_function_for_the_same_dilation():
    torch.manual_seed(0)
    src = build_op("tdnn-C1D1", 8, 6)
    x = torch.randn(2, 20, 8)
    src.eval()
    wider, dilated, other = build_op("tdnn-C2D1", 8, 6), build_op("tdnn-C1D2", 8, 6), build_op("tdnn-C1D1", 8, 5)
    for op in (wider, dilated):
        assert op.inherit(src)
        op.eval()
    assert torch.allclose(wider(x), src(x), atol=1e-6)                   # zero-padded taps: the same function
    assert torch.equal(dilated.conv.weight, src.conv.weight)              # same taps, stretched in time
    assert not torch.allclose(dilated(x), src(x), atol=1e-3)
    assert not other.inherit(src) and not build_op("identity", 6, 6).inherit(src)    # shapes that do not fit
    narrow = build_op("tdnn-C1D1", 8, 6)
    assert narrow.inherit(wider) and torch.equal(narrow.conv.weight, src.conv.weight)   # middle taps back


def test_supernet_inherit_from_one_sub_graph():
    space = load_space("wsj")
    net = SuperNet(parse_space(dict(space.to_dict(), hidden=16)), 12, 5)
    choice = [2] * len(net.blocks)
    assert net.inherit_from(choice) == 3 * len(net.blocks)
    for b in net.blocks:
        src = b.ops[2].conv.weight
        for k, op in enumerate(b.ops):
            w = op.conv.weight
            if w.shape == src.shape:
                assert torch.equal(w, src)
            else:       # C1 from C2: the middle taps
                assert torch.equal(w, src[:, :, 1:4])
