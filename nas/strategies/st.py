"""ST-NAS (the default): the SNAS objective optimized with straight-through gradients (Algorithm 1).

Architecture step, on a held-out batch: sample z ~ Cat(pi) per block, compute all
candidates (only the sampled one with autograd history), forward the sampled
sub-graph's value and back-propagate the ST gradient into alpha. Weight step,
on a training batch: a freshly sampled sub-graph, only its ops computed.
"""
from __future__ import annotations

from nas.strategies.base import Batch, LossFn, Strategy, straight_through


class STStrategy(Strategy):
    name = "st"

    def arch_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        choice = self.sample()
        probs = self.probs()
        return self._arch_update(lambda b, x: straight_through(b, x, probs[b.index], choice[b.index]),
                                 batch, loss_fn, optimizer)
