"""The training step makes no tensor on the default device: on a GPU such a tensor would be a CPU
tensor meeting CUDA ones. Checked without a GPU by making "meta" the default device while the
network, the batch and the loss live on the CPU: a tensor made without naming its device lands on
meta, and mixing it with the CPU tensors fails, as CPU and CUDA tensors would."""
import random

import pytest
import torch

from ctc_crf import CTCCRFLoss, DenGraph
from ctc_crf.fst import write_fst
from nas.graphs.den_graph import compose_ctc_lm
from nas.lm.phone_lm import PhoneLM
from nas.models.space import load_space
from nas.models.supernet import SuperNet
from nas.strategies import StrategyOptions, get_strategy
from nas.train.data import Batch
from nas.train.metrics import greedy_token_errors
from nas.train.step import apply_update, network_output

TOKENS = 6


@pytest.fixture(scope="module")
def crf(tmp_path_factory):
    rng = random.Random(0)
    lm = PhoneLM.estimate([[rng.randint(2, TOKENS) for _ in range(5)] for _ in range(30)], range(2, TOKENS + 1),
                          order=3)
    path = tmp_path_factory.mktemp("den") / "den_lm.fst"
    write_fst(path, compose_ctc_lm(lm.to_arrays(), TOKENS))
    return CTCCRFLoss(DenGraph.from_file(path), lamb=0.01)


@pytest.mark.parametrize("space_name,method", [("wsj", "st"), ("nb_asr_small", "st"), ("wsj", "darts"),
                                               ("nb_asr_small", "snas"), ("wsj", "proxyless")])
def test_training_steps_name_their_devices(space_name, method, crf):
    """Every kind of update (architecture and weight steps) in bf16, as a GPU run would make them."""
    g = torch.Generator().manual_seed(0)
    batch = Batch(["a", "b"], torch.randn(2, 80, 40, generator=g), torch.tensor([80, 60]),
                  torch.randint(1, TOKENS, (2, 5), generator=g), torch.tensor([5, 4]), torch.zeros(2))
    net = SuperNet(load_space(space_name, verbose=False), 40, TOKENS)
    strategy = get_strategy(method, net, StrategyOptions(), seed=0)
    opts = {"weights": torch.optim.Adam(net.parameters()), "arch": strategy.arch_optimizer()}
    loss = lambda lp, tgt, ol, tl, pw: crf(lp, tgt, ol, tl, pw)       # noqa: E731
    with torch.device("meta"):
        updates = [u for _, u in zip(range(2), strategy.updates())] + [strategy.weight_update()]
        for u in updates:
            value, applied = apply_update(u, batch, net, loss, {k: opts[k] for k in u.optimizers}, dtype="bf16")
            assert applied and value == value
        with torch.no_grad(), net.mixing(strategy.weight_update().mixer):
            lp, out_len = network_output(net, batch)
            errors, tokens = greedy_token_errors(lp, out_len, batch.targets, batch.target_lengths)
    assert tokens == 9 and 0 <= errors
    assert all(p.device.type == "cpu" for p in net.parameters())
