"""ProxylessNAS-style binary gates with the BinaryConnect-style gradient.

Each architecture step samples two distinct candidates per block from pi,
renormalizes their probabilities between them, opens one gate by sampling, and
back-propagates <dL/dy, out_k> into the two (the straight-through gradient the
ST-NAS paper identifies). After the update the two alphas are shifted together so
that their total probability against the unsampled candidates is unchanged, as
ProxylessNAS does. Weight steps train one sampled path.
"""
from __future__ import annotations

import torch

from nas.strategies.base import Batch, LossFn, Strategy, straight_through


class ProxylessStrategy(Strategy):
    name = "proxyless"

    def __init__(self, net, resource_coef: float = 0.0, seed: int = 0, recompute: bool = True):
        super().__init__(net, resource_coef, seed)
        self.recompute = recompute

    def arch_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        pairs, gates = [], []
        for a in self.alpha:
            p = torch.softmax(a.detach().cpu(), 0)
            n = min(2, len(a))
            pair = torch.multinomial(p, n, replacement=False, generator=self.generator).tolist()
            q = torch.softmax(a.detach().cpu()[pair], 0)
            gates.append(pair[int(torch.multinomial(q, 1, generator=self.generator))])
            pairs.append(pair)
        old = [torch.logsumexp(a.detach()[pair], 0) for a, pair in zip(self.alpha, pairs)]

        def mix(block, x):
            pair = pairs[block.index]
            pi = torch.softmax(self.alpha[block.index][pair], 0)
            return straight_through(block, x, pi, gates[block.index], candidates=pair, recompute=self.recompute)

        loss = self._arch_update(mix, batch, loss_fn, optimizer)
        with torch.no_grad():
            for a, pair, before in zip(self.alpha, pairs, old):
                a[pair] += before - torch.logsumexp(a[pair], 0)
        return loss
