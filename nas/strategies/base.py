"""The interface every search strategy implements, and what they share.

A strategy owns the architecture weights alpha (one vector per searching block)
and decides (1) how a block mixes its candidates in a forward pass (the mixer
it installs in the super-network), (2) which parameters each step updates, and
(3) how the final architecture is derived. The trainer calls
`warmup_step`, `arch_step` and `weight_step` with a batch, a loss function and
an optimizer; optimizers are built by the caller over `arch_parameters()` and
the network's weights.

Batches are (features (N, T, D), lengths (N,), targets, target_lengths); the loss
function takes (log_probs, out_lengths, targets, target_lengths).

A step whose loss or gradients are not finite does not update anything: it is
counted in `nonfinite` and returns the loss as computed. For data-parallel
training the trainer sets `forward_net` (the DistributedDataParallel wrapper used
by weight steps) and `sync_grads` (averages the architecture gradients across ranks).
"""
from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from torch import nn

from nas.models.supernet import SearchBlock, SuperNet

Batch = Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class Strategy:
    """Base: alpha, sampling, single-path weight steps, uniform warm-up, argmax derivation."""

    name = "base"
    has_arch_steps = True

    def __init__(self, net: SuperNet, resource_coef: float = 0.0, seed: int = 0):
        self.net = net
        self.alpha = nn.ParameterList([nn.Parameter(torch.zeros(len(b.ops))) for b in net.blocks])
        self.resource_coef = float(resource_coef)
        self.generator = torch.Generator().manual_seed(seed)
        # parameters of every candidate, in millions: the resource term's cost table
        self._costs = [torch.tensor(c, dtype=torch.float32) / 1e6 for c in net.op_params()]
        self.forward_net: nn.Module = net
        self.sync_grads: Optional[Callable[[List[torch.Tensor]], None]] = None
        self.nonfinite = 0

    # --- architecture distribution
    def arch_parameters(self) -> List[nn.Parameter]:
        return list(self.alpha)

    def probs(self) -> List[torch.Tensor]:
        return [torch.softmax(a, dim=0) for a in self.alpha]

    def sample(self, uniform: bool = False) -> List[int]:
        """One candidate index per block, from pi (or uniformly)."""
        out = []
        for a in self.alpha:
            p = torch.ones(len(a)) if uniform else torch.softmax(a.detach().cpu(), 0)
            out.append(int(torch.multinomial(p, 1, generator=self.generator)))
        return out

    def expected_params(self) -> torch.Tensor:
        """E_pi[parameter count] of the sub-graph, in millions; differentiable in alpha."""
        return sum((p * c.to(p)).sum() for p, c in zip(self.probs(), self._costs))

    def resource_loss(self) -> torch.Tensor:
        return self.resource_coef * self.expected_params()

    def derive(self, evaluate: Optional[Callable[[Dict[str, str]], float]] = None) -> Dict[str, str]:
        """The top-1 candidate of every block."""
        return self.arch_of([int(torch.argmax(a.detach())) for a in self.alpha])

    def arch_of(self, choice: Sequence[int]) -> Dict[str, str]:
        return {b.name: b.candidates[k] for b, k in zip(self.net.blocks, choice)}

    # --- steps
    def warmup_step(self, batch: Batch, loss_fn: LossFn, optimizer: torch.optim.Optimizer,
                    choice: Optional[List[int]] = None) -> float:
        """A uniformly sampled sub-graph (or the given `choice`), only its ops computed, weights updated."""
        return self._single_path_step(self.sample(uniform=True) if choice is None else choice,
                                      batch, loss_fn, optimizer)

    def weight_step(self, batch: Batch, loss_fn: LossFn, optimizer: torch.optim.Optimizer) -> float:
        """A sub-graph sampled from pi; only the sampled ops run and get gradients."""
        return self._single_path_step(self.sample(), batch, loss_fn, optimizer)

    def arch_step(self, batch: Batch, loss_fn: LossFn, optimizer: torch.optim.Optimizer) -> float:
        raise NotImplementedError

    # --- helpers for subclasses
    def _single_path_step(self, choice: List[int], batch: Batch, loss_fn: LossFn, optimizer) -> float:
        def mix(block: SearchBlock, x: torch.Tensor) -> torch.Tensor:
            return block.ops[choice[block.index]](x)
        # DistributedDataParallel hands zero gradients to the ops not sampled; Adam would then move
        # them with its momentum, which a single process (gradient None) does not: drop them.
        unused = [p for b in self.net.blocks for k, op in enumerate(b.ops) if k != choice[b.index]
                  for p in op.parameters()]
        with self.mixing(mix):
            return self._step(batch, loss_fn, optimizer, unused=unused)

    def _step(self, batch: Batch, loss_fn: LossFn, optimizer, extra: Optional[Callable[[], torch.Tensor]] = None,
              net: Optional[nn.Module] = None, sync: Optional[Callable[[List[torch.Tensor]], None]] = None,
              unused: Sequence[torch.Tensor] = ()) -> float:
        x, lengths, targets, target_lengths = batch
        log_probs, out_lengths = (net or self.forward_net)(x, lengths)
        loss = loss_fn(log_probs, out_lengths, targets, target_lengths)
        total = loss + extra() if extra is not None else loss
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        for p in unused:
            p.grad = None
        grads = [p.grad for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        if sync is not None:
            sync(grads)
        # every rank sees the averaged gradients, so every rank takes the same decision
        # one host sync: a NaN or inf anywhere makes its tensor's sum, and so the stack, non-finite
        sums = torch.stack([loss.detach().float().reshape(())] + [g.float().sum() for g in grads])
        finite = bool(torch.isfinite(sums).all())
        if finite:
            optimizer.step()
        else:
            self.nonfinite += 1
            optimizer.zero_grad(set_to_none=True)
        return float(loss.detach())

    @contextlib.contextmanager
    def mixing(self, mixer) -> Iterator[None]:
        self.net.set_mixer(mixer)
        try:
            yield
        finally:
            self.net.set_mixer(None)

    @contextlib.contextmanager
    def frozen_weights(self) -> Iterator[None]:
        """Architecture steps need gradients through the network but none for its weights."""
        flags = [p.requires_grad for p in self.net.parameters()]
        for p in self.net.parameters():
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p, f in zip(self.net.parameters(), flags):
                p.requires_grad_(f)

    def _arch_update(self, mixer, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        with self.mixing(mixer), self.frozen_weights():
            return self._step(batch, loss_fn, optimizer, self.resource_loss if self.resource_coef else None,
                              net=self.net, sync=self.sync_grads)

    # --- checkpoints
    def state_dict(self) -> dict:
        return {"alpha": [a.detach().clone() for a in self.alpha], "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            for a, s in zip(self.alpha, state["alpha"]):
                a.copy_(s)
        self.generator.set_state(state["generator"])


class _STCombine(torch.autograd.Function):
    """Forward: the sampled op's output. Backward: dL/dy unchanged into it, <dL/dy, out_k> into pi_k.

    The non-sampled outputs are either given (computed in the forward and stored, the
    paper's C1 + (K-1) C2 memory) or recomputed here one at a time from the block input
    (the same compute, moved from the forward to the backward; memory about C1).
    """

    @staticmethod
    def forward(ctx, y_z, pi, x, block, ks, iz, *stored):
        ctx.block, ctx.ks, ctx.iz, ctx.n_stored = block, ks, iz, len(stored)
        ctx.save_for_backward(y_z, x, *stored)
        return y_z.view_as(y_z)

    @staticmethod
    def backward(ctx, grad_y):
        y_z, x, *stored = ctx.saved_tensors
        grad_pi = torch.empty(len(ctx.ks), dtype=grad_y.dtype, device=grad_y.device)
        others = iter(stored)
        for i, k in enumerate(ctx.ks):
            if i == ctx.iz:
                out = y_z
            elif ctx.n_stored:
                out = next(others)
            else:
                with torch.no_grad():
                    out = ctx.block.ops[k](x)
            grad_pi[i] = torch.sum(grad_y * out)
            del out
        return (grad_y, grad_pi, None, None, None, None) + (None,) * ctx.n_stored


def straight_through(block: SearchBlock, x: torch.Tensor, pi: torch.Tensor, z: int,
                     candidates: Optional[Sequence[int]] = None, recompute: bool = True) -> torch.Tensor:
    """ST combination (paper eq. 10): the value of op z, the gradient <dL/dy, out_k> into every pi_k.

    Only op z keeps autograd history; the others run without it. With `recompute` they run
    in the backward pass, when dL/dy is known, and each output is dropped once its inner
    product is taken; without it they run in the forward and are stored (the (K-1) C2 of the
    paper's Table 1). `candidates` limits the ops computed (ProxylessNAS evaluates two) and
    then `pi` holds their probabilities in that order.
    """
    ks = list(range(len(block.ops))) if candidates is None else list(candidates)
    iz = ks.index(z)
    y_z = block.ops[z](x)
    stored = []
    if not recompute:
        with torch.no_grad():
            stored = [block.ops[k](x) for k in ks if k != z]
    return _STCombine.apply(y_z, pi, x.detach(), block, ks, iz, *stored)
