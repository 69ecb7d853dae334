"""What a strategy (or a training plan) hands the training loop: one optimizer update, as data.

An `Update` says how the super-network's blocks combine their candidates for one forward
pass (the mixer), which of the stage's optimizers step afterwards ("weights", "arch" or both),
whether it runs on a held-out batch, and what to add to the loss or do after the step. The
loop (nas.train.step.apply_update) runs the forward and backward pass, drops and averages
gradients, checks them for NaN/inf and steps the optimizers; a strategy only decides the
mixing. Updates that do not step "weights" run with the weights frozen (no weight gradients
are computed). The loss the optimizers follow is `total(loss)`: the objective (a factor on the
network's loss: the multiplicative latency forms, nas.strategies.latency) and then the extra term.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from nas.models.supernet import Mixer, SearchBlock, SuperNet


@dataclass
class Update:
    name: str                                   # the loss it reports: "train_loss" or "arch_loss"
    mixer: Optional[Mixer]                      # None: a single model (one op per block)
    optimizers: Tuple[str, ...] = ("weights",)  # which of the stage's optimizers step
    heldout: bool = False                       # on the next held-out batch instead of the training batch
    extra: Optional[Callable[[], torch.Tensor]] = None   # added to the loss (a resource term)
    objective: Optional[Callable[[torch.Tensor], torch.Tensor]] = None   # the network's loss -> the loss
    unused: Sequence[nn.Parameter] = ()         # gradients dropped before the step (ops that did not run)
    after: Optional[Callable[[], None]] = None  # called once the optimizers have stepped

    @property
    def trains_weights(self) -> bool:
        return "weights" in self.optimizers

    def total(self, loss: torch.Tensor) -> torch.Tensor:
        """What the optimizers minimize given the network's loss: objective(loss) + extra()."""
        out = loss if self.objective is None else self.objective(loss)
        return out if self.extra is None else out + self.extra()


def path(choice: Sequence[int]) -> Mixer:
    """The mixer of one sub-graph: candidate choice[i] of block i, only it computed."""
    def mix(block: SearchBlock, x: torch.Tensor) -> torch.Tensor:
        return block.ops[choice[block.index]](x)
    return mix


def single_path(net: SuperNet, choice: Sequence[int], name: str = "train_loss") -> Update:
    """A weight update of one sub-graph. Under DistributedDataParallel the ops that did not run
    get zero gradients, which Adam's momentum would then move; a single process leaves them
    None: they are dropped so that both agree."""
    unused = [p for b in net.block_modules for k, op in enumerate(b.ops) if k != choice[b.index] for p in op.parameters()]
    return Update(name, path(choice), ("weights",), unused=unused)


def sample_choice(net: SuperNet, generator: torch.Generator,
                  probs: Optional[Sequence[torch.Tensor]] = None) -> List[int]:
    """One candidate index per block, drawn from `probs` (uniformly when None) with `generator`."""
    out = []
    for b in net.blocks:
        p = torch.ones(len(b.ops)) if probs is None else probs[b.index].detach().cpu()
        out.append(int(torch.multinomial(p, 1, generator=generator)))
    return out
