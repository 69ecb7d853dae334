"""SNAS: blocks mix their candidates with a Gumbel-softmax relaxed sample, temperature annealed.

tau = max(tau_min, tau0 * decay ** epoch) (call `set_epoch`). Both kinds of steps
compute all candidates; architecture steps update alpha, weight steps the weights.
"""
from __future__ import annotations

import torch

from nas.strategies.base import Batch, LossFn, Strategy
from nas.strategies.darts import mixture


class SnasStrategy(Strategy):
    name = "snas"

    def __init__(self, net, resource_coef: float = 0.0, seed: int = 0, tau0: float = 1.0,
                 tau_min: float = 0.1, decay: float = 0.9):
        super().__init__(net, resource_coef, seed)
        self.tau0, self.tau_min, self.decay = tau0, tau_min, decay
        self.tau = tau0

    def set_epoch(self, epoch: int) -> None:
        self.tau = max(self.tau_min, self.tau0 * self.decay ** epoch)

    def relaxed(self, detach: bool):
        out = []
        for a in self.alpha:
            u = torch.rand(len(a), generator=self.generator).clamp_(1e-10, 1 - 1e-10)
            gumbel = -torch.log(-torch.log(u)).to(a)
            logits = (a.detach() if detach else a) + gumbel
            out.append(torch.softmax(logits / self.tau, dim=0))
        return out

    def arch_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        w = self.relaxed(detach=False)
        return self._arch_update(lambda b, x: mixture(b, x, w[b.index]), batch, loss_fn, optimizer)

    def weight_step(self, batch: Batch, loss_fn: LossFn, optimizer) -> float:
        w = self.relaxed(detach=True)
        with self.mixing(lambda b, x: mixture(b, x, w[b.index])):
            return self._step(batch, loss_fn, optimizer)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "tau": self.tau}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tau = state["tau"]
