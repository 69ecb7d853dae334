"""What a stage trains and how: the part of a training stage that is not the loop.

The loop (nas.train.loop) knows epochs, batches, evaluation, checkpoints, resume, signals and
the optimizer step, and nothing about stage kinds or search methods. A plan (warm-up, search,
retrain; one module each) owns its config dataclass and decides the rest through the hooks
below, which the loop calls in this order:

  space(), features()          the model's space (its strides give output lengths) and inputs
  inputs()                     files its options name, with the stage that makes each
  build(input_dim, outputs)    the network (and the plan's strategy, sub-graph sampler, ...)
  optimizers()                 optimizers besides the loop's "weights" (Adam over the network)
  prepare(exp_dir, main)       files the exp dir gets before training (retrain: arch.json)
  start()                      initial weights from elsewhere (search: the warm-up's best.pt)
  per epoch: frame_limit(epoch) (a curriculum: only shorter utterances), begin_epoch(epoch);
             per training batch: updates(), after_step(step, observer); then eval_mixer() per
             held-out batch, end_epoch(epoch, value, lr) -> EpochEnd, where value is the held-out
             loss or, when `monitor` is "ter", the greedy token error rate
  finish(evaluate)             entries for final.pt (search: the derived architecture)

and state_dict() / load_state_dict() for what a checkpoint must keep of the plan.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from nas.features.pipeline import FeaturePipeline
from nas.models.space import SearchSpace
from nas.models.supernet import Mixer
from nas.strategies.update import Update
from nas.train.schedule import EpochEnd

Evaluate = Callable[[Optional[Callable[[], Optional[Mixer]]]], float]


class Plan:
    kind = "stage"
    Config: type = object
    description = ""            # --help's first line
    example = ""                # --help's example arguments
    find_unused_parameters = True   # DistributedDataParallel: not every op runs in every step
    monitor = "loss"                # what end_epoch() judges the epoch by: held-out "loss" or "ter"

    def __init__(self, cfg):
        self.cfg = cfg

    @property
    def epochs(self) -> int:
        return self.cfg.max_epochs

    def space(self) -> SearchSpace:
        raise NotImplementedError

    def features(self) -> FeaturePipeline:
        raise NotImplementedError

    def build(self, input_dim: int, num_outputs: int) -> nn.Module:
        raise NotImplementedError

    def inputs(self) -> List[Tuple[Path, str]]:
        """Input files of the plan's own options, each with what makes it (checked before loading)."""
        return []

    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        return {}

    def to(self, device: torch.device) -> None:
        """Move what the plan owns besides the network (alpha) to `device`."""

    def prepare(self, exp_dir: Path, main: bool) -> None:
        pass

    def start(self) -> None:
        pass

    def frame_limit(self, epoch: int) -> int:
        """Train this epoch only on utterances of fewer input frames than this (0: all of them)."""
        return 0

    def begin_epoch(self, epoch: int) -> None:
        pass

    def epoch_length(self, epoch: int, steps: int) -> None:
        """The loop's count of training batches in `epoch`, before it starts (a schedule over steps)."""

    def heldout_list(self) -> Optional[Path]:
        """The held-out utterances this stage must use (a search: its warm-up's), None: its own split."""
        return None

    def updates(self) -> Iterator[Update]:
        raise NotImplementedError

    def after_step(self, step: int, observer) -> None:
        pass

    def eval_mixer(self) -> Optional[Mixer]:
        """How the held-out loss is measured, drawn anew for every held-out batch (None: a single model)."""
        return None

    def end_epoch(self, epoch: int, valid_loss: float, lr: float) -> EpochEnd:
        raise NotImplementedError

    def finish(self, evaluate: Evaluate, exp_dir: Path, main: bool) -> dict:
        return {}

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass
