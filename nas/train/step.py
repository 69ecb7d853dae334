"""One optimizer update, the same for every stage and search method.

`apply_update` runs a strategy's (or a plan's) `Update` on a batch: the forward pass under the
update's mixer (with the weights frozen unless the update trains them), the loss, the
backward pass, gradients of ops that did not run dropped, gradients that
DistributedDataParallel does not average (alpha) averaged across ranks, one host sync to
check the loss and every gradient for NaN/inf (a non-finite update changes nothing and is
reported), the weights' global gradient norm clipped, and the optimizers stepped. The network's
forward may run in bfloat16 (network_output); the loss is always computed in float32.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Iterator, List, Mapping, Optional, Tuple

import torch
from torch import nn

from nas.models.supernet import SuperNet
from nas.strategies.update import Update
from nas.train.data import Batch

Loss = Callable[..., torch.Tensor]


DTYPES = {"fp32": None, "bf16": torch.bfloat16}      # the training stages' --dtype


def network_output(net: nn.Module, batch: Batch, dtype: str = "fp32") -> Tuple[torch.Tensor, torch.Tensor]:
    """`net`'s log-probabilities (float32) and output lengths on `batch`. With dtype bf16 the
    network runs under autocast in bfloat16 (its weights, their gradients and the optimizers stay
    float32), and its output is cast back before any loss: the CTC-CRF denominator's
    forward-backward sums over millions of arc-frames and stays float32, as CTC does."""
    if dtype not in DTYPES:
        raise ValueError(f"dtype {dtype!r} is not one of {sorted(DTYPES)}")
    if DTYPES[dtype] is None:
        return net(batch.feats, batch.lengths)
    with torch.autocast(device_type=batch.feats.device.type, dtype=DTYPES[dtype]):
        log_probs, out_lengths = net(batch.feats, batch.lengths)
    return log_probs.float(), out_lengths


def forward_loss(net: nn.Module, batch: Batch, loss_fn: Loss, dtype: str = "fp32") -> torch.Tensor:
    """The loss of `net` on `batch` (its mixer, if any, already installed)."""
    log_probs, out_lengths = network_output(net, batch, dtype)
    return loss_fn(log_probs, batch.targets, out_lengths, batch.target_lengths, batch.path_weights)


@contextlib.contextmanager
def frozen(net: nn.Module, on: bool = True) -> Iterator[None]:
    """No gradients for the weights (updates of alpha alone need none)."""
    if not on:
        yield
        return
    flags = [p.requires_grad for p in net.parameters()]
    for p in net.parameters():
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, f in zip(net.parameters(), flags):
            p.requires_grad_(f)


def apply_update(update: Update, batch: Batch, net: SuperNet, loss_fn: Loss,
                 optimizers: Mapping[str, torch.optim.Optimizer], forward_net: Optional[nn.Module] = None,
                 average: Optional[Callable[[List[torch.Tensor]], None]] = None,
                 grad_clip: float = 0.0, dtype: str = "fp32") -> Tuple[float, bool]:
    """Apply `update` on `batch`; returns (loss, applied). `forward_net` is the
    DistributedDataParallel wrapper of `net` (used when the update trains the weights) and
    `average` averages gradient tensors across ranks in place (both None in one process);
    `dtype` is the network's forward precision (network_output)."""
    opts = [optimizers[name] for name in update.optimizers]
    trains = update.trains_weights
    fwd = (forward_net or net) if trains else net
    with net.mixing(update.mixer), frozen(net, not trains):
        loss = forward_loss(fwd, batch, loss_fn, dtype)
        total = update.total(loss)
        for o in opts:
            o.zero_grad(set_to_none=True)
        total.backward()
    for p in update.unused:
        p.grad = None
    params = [p for o in opts for g in o.param_groups for p in g["params"] if p.grad is not None]
    weights = {id(p) for p in net.parameters()}
    if average is not None:         # DDP averaged the weights' gradients when it ran the forward
        average([p.grad for p in params if fwd is net or id(p) not in weights])
    # every rank sees the averaged gradients, so every rank takes the same decision;
    # one host sync: a NaN or inf anywhere makes its tensor's sum, and so the stack, non-finite
    sums = torch.stack([loss.detach().float().reshape(())] + [p.grad.float().sum() for p in params])
    if not bool(torch.isfinite(sums).all()):
        for o in opts:
            o.zero_grad(set_to_none=True)
        return float(loss.detach()), False
    if grad_clip > 0 and trains:
        nn.utils.clip_grad_norm_([p for p in params if id(p) in weights], grad_clip)
    for o in opts:
        o.step()
    if update.after is not None:
        update.after()
    return float(loss.detach()), True
