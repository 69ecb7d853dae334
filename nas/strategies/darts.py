"""DARTS, first order: every block is the softmax(alpha) mixture of all its candidates.

Per training batch: an update of alpha on the next held-out batch with the weights fixed,
then an update of the weights on the training batch with alpha fixed (the first-order
alternation of the DARTS paper). Alpha: Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3,
the DARTS release's settings, its gradient norm clipped at 10 as the first DARTS release
(2018-06-25) did before its step (the release of 2018-08-03 dropped that clipping). Memory and
time are about K times a single model's. A hard latency budget binds the derivation only: the
mixture samples nothing.
"""
from __future__ import annotations

from typing import Iterator

import torch

from nas.strategies.base import AdamSettings, Strategy
from nas.strategies.update import Update


def mixture(block, x, weights: torch.Tensor) -> torch.Tensor:
    y = None
    for w, op in zip(weights, block.ops):
        term = w * op(x)
        y = term if y is None else y + term
    return y


class DartsStrategy(Strategy):
    name = "darts"
    arch_adam = AdamSettings(lr=3e-4, beta1=0.5, beta2=0.999, weight_decay=1e-3)
    arch_clip = 10.0

    def updates(self) -> Iterator[Update]:
        probs = self.probs()
        yield self.arch_update(lambda b, x: mixture(b, x, probs[b.index]))
        fixed = [p.detach() for p in self.probs()]
        yield Update("train_loss", lambda b, x: mixture(b, x, fixed[b.index]))
