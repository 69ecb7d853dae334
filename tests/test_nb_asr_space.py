"""The space format's params, bases, repeated cells and tied blocks; NAS-Bench-ASR's macro
network and ops in it (nas/spaces/nb_asr*.json); every strategy searching its cell; a cell
searched small and retrained deep and wide."""
import copy
import json
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from nas.bench.archvec import to_choices
from nas.bench.model import build_model, param_counts
from nas.models.arch import Arch
from nas.models.ops import PaddedConv, build_op
from nas.models.space import SpaceError, load_space, parse_space
from nas.models.supernet import SuperNet
from nas.strategies import STRATEGIES, get_strategy
from nas.strategies.update import path, single_path
from nas.train.data import Batch
from nas.train.retrain import RetrainPlan
from nas.train.step import apply_update

CELL = [{"name": "a", "edges": [{"from": "in", "search": True, "block": "op", "candidates": ["linear", "zero"]},
                                {"from": "in", "search": True, "block": "skip", "candidates": ["zero", "identity"]}],
         "out": "input"},
        {"name": "b", "op": "layernorm", "out": "input"}]


def base_cfg():
    return {"name": "base", "params": {"width": 2, "depth": [2, 1]}, "cells": {"c": copy.deepcopy(CELL)},
            "nodes": [{"name": "in1", "op": "linear", "out": "${4 * width}"},
                      {"name": "s1", "cell": "c", "repeat": "${depth[0]}"},
                      {"name": "in2", "op": "nbconv-K3G${width}", "out": "${round(3 * width)}"},
                      {"name": "s2", "cell": "c", "repeat": "${depth[1]}"},
                      {"name": "out", "op": "linear", "out": "tokens"}]}


def test_params_cells_and_tied_blocks():
    space = parse_space(base_cfg())
    names = [n.name for n in space.nodes]
    assert names == ["in1", "s1.cell1.a", "s1.cell1.b", "s1.cell2.a", "s1.cell2.b", "in2", "s2.cell1.a",
                     "s2.cell1.b", "out"]
    assert space.nodes[3].edges[0].src == "s1.cell1.b"            # `in` of repetition 2: repetition 1's last node
    assert space.blocks == {"op": ["linear", "zero"], "skip": ["zero", "identity"]} and space.uses == {"op": 3, "skip": 3}
    net = SuperNet(space, 5, 7)
    assert len(net.blocks) == 2 and len(net.block_modules) == 6
    assert {m.index for m in net.block_modules} == {0, 1}
    ops = [m.ops[0] for m in net.block_modules if m.name == "op"]
    assert len({id(o.linear.weight) for o in ops}) == 3                 # tied: one choice, separate weights
    assert [o.linear.weight.shape[0] for o in ops] == [8, 8, 6]         # `out: input` follows the stage width
    assert net.op_params()[0] == [sum(o.num_params() for o in ops), 0]  # summed over the tied edges
    # the same choice reaches every repetition, and only it runs
    calls = {}
    for m in net.block_modules:
        for k, op in enumerate(m.ops):
            op.register_forward_hook(lambda mod, i, o, key=(m.name, k): calls.__setitem__(key, calls.get(key, 0) + 1))
    with net.mixing(path([0, 1])):
        net(torch.randn(2, 9, 5), torch.tensor([9, 6]))
    assert calls == {("op", 0): 3, ("skip", 1): 3}
    # params given by the caller win; the base's are merged under a child's
    wide = parse_space(base_cfg(), params={"width": 4, "depth": [1, 3]})
    assert len(wide.nodes) == 11 and wide.uses["op"] == 4 and wide.to_dict()["params"]["width"] == 4
    assert parse_space(wide.to_dict()).uses == wide.uses                  # stored config re-parses the same


def test_extends_a_base_file(tmp_path):
    (tmp_path / "base.json").write_text(json.dumps(base_cfg()))
    (tmp_path / "child.json").write_text(json.dumps({"extends": "base.json", "name": "child",
                                                     "params": {"depth": [1, 1]}}))
    child = load_space(tmp_path / "child.json", verbose=False)
    assert child.name == "child" and child.params == {"width": 2, "depth": [1, 1]} and child.uses["op"] == 2
    assert "extends" not in child.to_dict()


@pytest.mark.parametrize("change,msg", [
    (lambda c: c["nodes"][0].update(out="${4 * wdth}"), "uses 'wdth', which is not a param"),
    (lambda c: c["nodes"][0].update(out="${4 * width"), "unclosed ${"),
    (lambda c: c["nodes"][0].update(out="${__import__('os')}"), "only numbers, params"),
    (lambda c: c["nodes"][1].update(cell="d"), "no cell 'd'"),
    (lambda c: c["nodes"][1].update(repeat=-1), "repeat must be a whole number"),
    (lambda c: c["cells"]["c"][0]["edges"][1].update(block="op"), "a tied block has one candidate list"),
    (lambda c: [e.pop("block") for e in c["cells"]["c"][0]["edges"]], "name the block"),
    (lambda c: c["nodes"][2].update(op="nbconv-K3G3"), "divisible by 3"),
])
def test_space_config_errors(change, msg):
    cfg = base_cfg()
    change(cfg)
    with pytest.raises(SpaceError, match=msg.replace("(", r"\(").replace("$", r"\$").replace("{", r"\{")):
        parse_space(cfg, "s.json")


def test_unknown_param_override_is_refused():
    with pytest.raises(SpaceError, match="no params \\['widht'\\]"):
        load_space("nb_asr_small", verbose=False, params="widht=1")
    with pytest.raises(SpaceError, match="not NAME=VALUE"):
        load_space("nb_asr_small", verbose=False, params="width")


def test_nb_asr_macro_and_published_parameter_counts():
    space = load_space("nb_asr", verbose=False)
    assert space.stride == 4 and space.size == 6 ** 3 * 2 ** 6
    assert set(space.uses.values()) == {18}                                # 3 + 4 + 5 + 6 cells share the genotype
    net = build_model([[1, 0], [1, 0, 0], [1, 0, 0, 0]], space, device="meta")
    convs = [m for m in net.edges.values() if isinstance(m, PaddedConv)]
    assert [(c.conv.out_channels, c.stride, c.conv.kernel_size[0]) for c in convs] == \
        [(600, 1, 8), (800, 1, 8), (1000, 2, 8), (1200, 2, 8)]
    # the benchmark's published counts (TF: one LSTM bias, 48 outputs) and ours (torch, 49 outputs)
    assert param_counts([[1, 0], [1, 0, 0], [1, 0, 0, 0]], space) == {"tf": 26338848, "torch": 26341349}
    assert param_counts([[0, 1], [1, 1, 0], [4, 1, 0, 1]], space) == {"tf": 43100448, "torch": 43102949}


@pytest.mark.parametrize("name,lpad,rpad", [("nbconv-K5G4", 0, 4), ("nbconv-K5D2G4", 4, 4), ("nbconv-K7G4", 2, 4),
                                            ("nbconv-K7D2G4", 8, 4), ("nbconv-K8", 3, 4), ("nbconv-K8S2", 5, 2)])
def test_padded_conv_sees_four_frames_ahead(name, lpad, rpad):
    op = build_op(name, 8, 8).eval()
    assert (op.lpad, op.rpad) == (lpad, rpad)
    x = torch.randn(1, 30, 8)
    y = op(x)
    assert y.shape[1] == -(-30 // op.stride) and float(y.detach().max()) <= 20.0 and float(y.detach().min()) >= 0.0
    t = 8                                                   # output frame t sees input frames up to t*S + rpad
    x2 = x.clone()
    x2[0, t * op.stride + rpad + 1:] += 100.0
    assert torch.equal(op(x2)[0, :t + 1], y[0, :t + 1])
    x2 = x.clone()
    x2[0, t * op.stride + rpad] += 100.0
    assert not torch.equal(op(x2)[0, t], y[0, t])


@pytest.mark.parametrize("vec", [[[0, 1], [3, 1, 1], [2, 1, 1, 1]], [[1, 0], [0, 1, 0], [4, 1, 0, 1]],
                                 [[2, 1], [5, 0, 1], [1, 0, 1, 0]]])
def test_the_cell_computes_the_benchmark_cell(vec):
    """x1 = op1(x0) + s10 x0, x2 = op2(x1) + s20 x0 + s21 x1, x3 = op3(x2) + sum s3i xi, LayerNorm(x3)."""
    torch.manual_seed(0)
    net = build_model(vec, "nb_asr_small", input_dim=12, num_tokens=5).eval()
    seen = {}
    norm = net.edges["stage1_cell1_norm<-stage1_cell1_x3"]
    net.edges["norm1<-conv1"].register_forward_hook(lambda m, i, o: seen.__setitem__("x0", o))
    norm.register_forward_hook(lambda m, i, o: seen.__setitem__("y", o))
    net(torch.randn(2, 16, 12), torch.tensor([16, 16]))
    e = {k.split("#")[-1]: m.ops[0] for k, m in net.edges.items() if k.startswith("stage1_cell1_") and "#" in k}
    xs = [seen["x0"]]
    for k, (op, *skips) in enumerate(vec, start=1):
        xs.append(e[f"op{k}"](xs[-1]) + sum(x for x, s in zip(xs, skips) if s))
    assert torch.allclose(seen["y"], norm(xs[3]), atol=1e-6)
    names = ["ClippedLinear", "PaddedConv", "PaddedConv", "PaddedConv", "PaddedConv", "Zero"]
    assert [type(e[f"op{k}"]).__name__ for k in (1, 2, 3)] == [names[node[0]] for node in vec]


def tiny_cell_space():
    return load_space("nb_asr_small", verbose=False, params={"width": 0.05})   # 30-60 channels, 5 groups


def ctc(log_probs, targets, lengths, target_lengths, path_weights=None):
    return F.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths, zero_infinity=True)


def batch(seed):
    g = torch.Generator().manual_seed(seed)
    return Batch(["a", "b"], torch.randn(2, 24, 6, generator=g), torch.tensor([24, 17]),
                 torch.randint(1, 5, (2, 3), generator=g), torch.tensor([3, 2]), torch.zeros(2))


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_strategy_searches_the_cell_space(name):
    torch.manual_seed(0)
    net = SuperNet(tiny_cell_space(), 6, 5)
    s = get_strategy(name, net, seed=0)
    assert len(s.alpha) == 9 and [len(a) for a in s.alpha] == [6, 2, 6, 2, 2, 6, 2, 2, 2]
    opts = {"weights": torch.optim.Adam(net.parameters(), lr=1e-2)}
    apply_update(single_path(net, [1, 1, 1, 1, 1, 1, 1, 1, 1]), batch(0), net, ctc, opts)
    alpha0 = [a.detach().clone() for a in s.alpha]
    if s.trains:
        opts["arch"] = s.arch_optimizer(lr=0.1)
        for i in range(2):
            for u in s.updates():
                loss, applied = apply_update(u, batch(1 + i), net, ctc, opts)
                assert applied and torch.isfinite(torch.tensor(loss))
        moved = [not torch.equal(a, b) for a, b in zip(alpha0, s.alpha)]
        assert moved[0] or moved[2] or moved[5]                # the tied op blocks learn
    arch = s.derive(lambda arch: float(len(" ".join(arch.values()))))
    net.space.check_arch(arch)


def test_retrain_stacks_a_searched_cell_deeper_and_wider():
    small = load_space("nb_asr_small", verbose=False)
    arch = Arch(small, to_choices([[1, 1], [0, 1, 0], [3, 0, 1, 1]], small.blocks))
    cfg = SimpleNamespace(space="", space_params="cells=[1,2,2,3]", arch="a.json")
    deep = RetrainPlan._transfer(arch, cfg)
    assert deep.choices == arch.choices and deep.space.uses["op1"] == 8 and deep.space.params["width"] == 0.1
    assert "cells" in json.dumps(deep.to_dict()["space"]["params"])
    full = RetrainPlan._transfer(arch, SimpleNamespace(space="nb_asr", space_params="", arch="a.json"))
    assert full.choices == arch.choices and full.space.uses["op1"] == 18
    net = full.build(80, 49)
    convs = [m.ops[0] for m in net.block_modules if m.name == "op1"]
    assert [c.conv.groups for c in convs[::6]] == [100, 100, 100] and convs[-1].conv.in_channels == 1200


def test_retrain_transfer_errors():
    small = load_space("nb_asr_small", verbose=False)
    arch = Arch(small, to_choices([[1, 1], [0, 1, 0], [3, 0, 1, 1]], small.blocks))
    with pytest.raises(SystemExit, match="no params \\['depth'\\]"):
        RetrainPlan._transfer(arch, SimpleNamespace(space="", space_params="depth=3", arch="a.json"))


def test_a_space_is_recognized_whatever_form_its_config_was_stored_in():
    space = parse_space(base_cfg())
    # the plain node list this toolkit stored before params and cells existed
    old_form = {"name": "base", "hidden": None, "dropout": 0.0, "layer_norm": True,
                "nodes": [{"name": n.name, "out": n.out,
                           "edges": [dict({"from": e.src}, **({"op": e.candidates[0]} if e.block is None else
                                                               {"search": True, "block": e.block,
                                                                "candidates": e.candidates}))
                                     for e in n.edges]} for n in space.nodes]}
    assert old_form != space.to_dict() and space.same_as(old_form)
    assert space.same_as(parse_space(base_cfg(), params={"width": 2}).to_dict())
    assert not space.same_as(parse_space(base_cfg(), params={"width": 4}).to_dict())
    assert not space.same_as({"name": "broken"})
    wsj = load_space("wsj", verbose=False)
    assert not wsj.same_as(dict(wsj.to_dict(), hidden=320))
