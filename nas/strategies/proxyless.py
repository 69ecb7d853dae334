"""ProxylessNAS-style binary gates with the BinaryConnect-style gradient (its paper's "two paths").

Architecture update, on a held-out batch: per block, two distinct candidates are sampled from
pi, their probabilities renormalized between them, one gate opened by sampling; the gate
gradient <dL/dy, out_k> of the two goes into their alphas (the straight-through gradient the
ST-NAS paper identifies). After the step the two alphas are shifted together so that their
total probability against the unsampled candidates is unchanged, as ProxylessNAS does. That
holds only if the optimizer leaves the unsampled alphas alone: they get zero gradient, and
Adam with beta1 = 0 (ProxylessNAS's arch_adam_beta1, with lr 1e-3, beta2 0.999, no weight
decay) then moves them by exactly zero, where momentum would keep moving them (a resource
term, which covers every candidate, moves them too). Weight updates train one sampled path.
The released ProxylessNAS code by default computes every candidate for the gate gradient
("full_v2") and updates alpha every 5 weight steps; this is the paper's two-path version.
In hard latency mode the open gates are one architecture drawn from pi within the budget
(Strategy.sample) and each block's second path is drawn from pi among the other candidates:
the sub-graph whose output the forward passes on always fits the budget.
"""
from __future__ import annotations

from typing import Iterator, List, Tuple

import torch

from nas.strategies.base import AdamSettings, Strategy, straight_through
from nas.strategies.st import STOptions
from nas.strategies.update import Update


class ProxylessStrategy(Strategy):
    name = "proxyless"
    Options = STOptions             # --proxyless-recompute
    arch_adam = AdamSettings(lr=1e-3, beta1=0.0, beta2=0.999)

    def updates(self) -> Iterator[Update]:
        pairs, gates = self._within_budget() if self.latency is not None and self.latency.hard else self._paths()
        self.sampled = (pairs, gates)      # the last architecture update's pairs and open gates
        before = [torch.logsumexp(a.detach()[pair], 0) for a, pair in zip(self.alpha, pairs)]
        recompute = self.options.recompute

        def mix(block, x):
            pair = pairs[block.index]
            pi = torch.softmax(self.alpha[block.index][pair], 0)
            return straight_through(block, x, pi, gates[block.index], candidates=pair, recompute=recompute)

        @torch.no_grad()
        def keep_mass() -> None:
            for a, pair, old in zip(self.alpha, pairs, before):
                a[pair] += old - torch.logsumexp(a[pair], 0)

        u = self.arch_update(mix)
        u.after = keep_mass
        yield u
        yield self.weight_update()

    def _paths(self) -> Tuple[List[List[int]], List[int]]:
        """Per block two distinct candidates drawn from pi, and the open gate drawn between them."""
        pairs, gates = [], []
        for a in self.alpha:
            p = torch.softmax(a.detach().cpu(), 0)
            pair = torch.multinomial(p, min(2, len(a)), replacement=False, generator=self.generator).tolist()
            q = torch.softmax(a.detach().cpu()[pair], 0)
            gates.append(pair[int(torch.multinomial(q, 1, generator=self.generator))])
            pairs.append(pair)
        return pairs, gates

    def _within_budget(self) -> Tuple[List[List[int]], List[int]]:
        """The open gates: one architecture within the latency budget; each block's other path from pi."""
        gates = self.sample()
        pairs = []
        for a, g in zip(self.alpha, gates):
            p = torch.softmax(a.detach().cpu(), 0)
            p[g] = 0.0
            p = p if float(p.sum()) > 0 else (torch.arange(len(a)) != g).double()
            pairs.append([g, int(torch.multinomial(p, 1, generator=self.generator))] if len(a) > 1 else [g])
        return pairs, gates
