"""ST-NAS (the default): the SNAS objective optimized with straight-through gradients (Algorithm 1).

Per training batch: an architecture update on the next held-out batch (sample z ~ Cat(pi)
per block, forward the sampled sub-graph's value, back-propagate the ST gradient
<dL/dy, out_k> into every pi_k, paper eq. 10), then a weight update of a sub-graph freshly
sampled from the updated pi (only its ops run). Alpha: Adam with PyTorch's defaults (lr 1e-3,
betas (0.9, 0.999)), as the paper states for all its optimizers.

With `recompute` (the default) the non-sampled candidates run in the backward pass instead of
being stored from the forward: the same gradient and compute, about one model's memory (see
`straight_through`); `--st-recompute false` is the paper's C1 + (K-1) C2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

from nas.options import option
from nas.strategies.base import AdamSettings, Strategy, straight_through
from nas.strategies.update import Update

@dataclass
class STOptions:
    """ST-NAS's options; ProxylessNAS, which combines its two paths the same way, shares them."""
    recompute: bool = option(True, "compute the non-sampled candidates in the backward pass instead of storing "
                                   "their outputs from the forward (the same gradient in about one model's memory)")


class STStrategy(Strategy):
    name = "st"
    Options = STOptions
    arch_adam = AdamSettings(lr=1e-3, beta1=0.9, beta2=0.999)

    def updates(self) -> Iterator[Update]:
        choice, probs = self.sample(), self.probs()
        recompute = self.options.recompute
        yield self.arch_update(lambda b, x: straight_through(b, x, probs[b.index], choice[b.index],
                                                             recompute=recompute))
        yield self.weight_update()
