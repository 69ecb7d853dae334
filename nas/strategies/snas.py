"""SNAS: blocks mix their candidates with a Gumbel-softmax relaxed sample, temperature annealed.

`--snas-update joint` (the default, as SNAS): one forward and backward pass on a training batch
updates the weights and alpha together (a single-level objective). `alternate`: an update of
alpha on a held-out batch, then one of the weights on the training batch with a fresh relaxed
sample (DARTS' bi-level alternation), as this toolkit did before.
Temperature: linear from tau0 to tau_min over E = `anneal_epochs` epochs (default: the stage's
max_epochs), as the released SNAS code's scheduler (1.0 to 0.03 over its 150 epochs, the last
epoch at 0.03), but per training step instead of per epoch: before step s (0-based) of the
S = E x steps-per-epoch steps, tau = tau0 - (tau0 - tau_min) (s + 1) / S, so that the last step
of the anneal runs at tau_min however few epochs there are. The search runs at least E epochs
(`min_epochs`): no stop rule ends it before the temperature is down. Alpha: Adam lr 3e-4, betas
(0.5, 0.999), weight decay 1e-3, its gradient norm clipped at 10, as SNAS's code does (its
multi-GPU path; its single-GPU path steps alpha with plain SGD at lr 3e-4).
A latency term (nas.strategies.latency) joins alpha's loss in either mode; a hard budget binds
the derivation only, since the relaxed sample mixes every candidate.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, List

import torch

from nas.options import NON_NEGATIVE, POSITIVE, option
from nas.strategies.base import AdamSettings, Strategy
from nas.strategies.darts import mixture
from nas.strategies.update import Update


@dataclass
class SnasOptions:
    update: str = option("joint", "joint: weights and alpha from one backward pass on training batches (SNAS); "
                         "alternate: alpha on held-out batches, then the weights", choices=("joint", "alternate"))
    tau0: float = option(1.0, "Gumbel-softmax temperature the linear fall starts from", check=POSITIVE)
    tau_min: float = option(0.03, "the temperature it falls to by the last step of the anneal, and stays at",
                           check=POSITIVE)
    anneal_epochs: int = option(0, "epochs of the linear fall, per step (0: the stage's --max-epochs); the "
                                   "search stops no earlier", check=NON_NEGATIVE)


class SnasStrategy(Strategy):
    name = "snas"
    Options = SnasOptions
    arch_adam = AdamSettings(lr=3e-4, beta1=0.5, beta2=0.999, weight_decay=1e-3)
    arch_clip = 10.0

    def __init__(self, net, options=None, **kw):
        super().__init__(net, options, **kw)
        self.tau = self.options.tau0

    @property
    def min_epochs(self) -> int:
        return self.options.anneal_epochs or self.max_epochs

    def set_progress(self, step: int, steps_per_epoch: int) -> None:
        o = self.options
        total = max(1, self.min_epochs * max(1, steps_per_epoch))
        self.tau = max(o.tau_min, o.tau0 - (o.tau0 - o.tau_min) * min(step + 1, total) / total)

    def relaxed(self, detach: bool) -> List[torch.Tensor]:
        """A Gumbel-softmax sample per block: softmax((alpha + g) / tau), g = -log(-log u)."""
        out = []
        for a in self.alpha:
            u = torch.rand(len(a), generator=self.generator, device="cpu").clamp_(1e-10, 1 - 1e-10)  # CPU RNG
            gumbel = -torch.log(-torch.log(u)).to(a)
            logits = (a.detach() if detach else a) + gumbel
            out.append(torch.softmax(logits / self.tau, dim=0))
        return out

    def updates(self) -> Iterator[Update]:
        w = self.relaxed(detach=False)
        mix = lambda b, x: mixture(b, x, w[b.index])      # noqa: E731
        if self.options.update == "joint":
            yield Update("train_loss", mix, ("weights", "arch"), extra=self.arch_extra(),
                         objective=self.arch_objective())
            return
        yield self.arch_update(mix)
        fixed = self.relaxed(detach=True)
        yield Update("train_loss", lambda b, x: mixture(b, x, fixed[b.index]))

    def state_dict(self) -> dict:
        return {**super().state_dict(), "tau": self.tau}

    def load_state_dict(self, state: dict) -> None:
        super().load_state_dict(state)
        self.tau = state["tau"]
