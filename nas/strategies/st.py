"""ST-NAS (the default): the SNAS objective optimized with straight-through gradients (Algorithm 1).

Architecture step, on a held-out batch: sample z ~ Cat(pi) per block, compute all
candidates (only the sampled one with autograd history), forward the sampled
sub-graph's value and back-propagate the ST gradient into alpha. Weight step,
on a training batch: a freshly sampled sub-graph, only its ops computed.

With `recompute` (the default) the non-sampled candidates run in the backward pass
instead of being stored from the forward: the same compute, about one model's memory
(see `straight_through`); `recompute=False` is the paper's C1 + (K-1) C2.
"""
from __future__ import annotations

from nas.strategies.base import Batch, LossFn, Strategy, straight_through


class STStrategy(Strategy):
    name = "st"

    def __init__(self, net, resource_coef: float = 0.0, seed: int = 0, recompute: bool = True):
        super().__init__(net, resource_coef, seed)
        self.recompute = recompute

    def arch_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        choice = self.sample()
        probs = self.probs()

        def mix(b, x):
            return straight_through(b, x, probs[b.index], choice[b.index], recompute=self.recompute)
        return self._arch_update(mix, batch, loss_fn, optimizer)
