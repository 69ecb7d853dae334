"""DARTS, first order: every block is the softmax(alpha) mixture of all its candidates.

Architecture steps update alpha on held-out batches with the weights fixed; weight
steps update the weights on training batches with alpha fixed. Memory and time are
about K times a single model's.
"""
from __future__ import annotations

import torch

from nas.strategies.base import Batch, LossFn, Strategy


def mixture(block, x, weights: torch.Tensor) -> torch.Tensor:
    y = None
    for w, op in zip(weights, block.ops):
        term = w * op(x)
        y = term if y is None else y + term
    return y


class DartsStrategy(Strategy):
    name = "darts"

    def arch_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        probs = self.probs()
        return self._arch_update(lambda b, x: mixture(b, x, probs[b.index]), batch, loss_fn, optimizer)

    def weight_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        probs = [p.detach() for p in self.probs()]
        with self.mixing(lambda b, x: mixture(b, x, probs[b.index])):
            return self._step(batch, loss_fn, optimizer)
