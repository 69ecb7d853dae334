"""Stage 4, the warm-up plan: the super-network's weights trained on uniformly sampled sub-graphs.

Per training batch one sub-graph drawn uniformly, only its ops computed and updated; the
held-out loss averages a fresh uniform sub-graph per held-out batch (the expected
performance of the super-network). Stops after `patience` epochs without held-out
improvement; best.pt is the best super-network (the search starts from it).

With `anchor_epochs` N > 0 the first N epochs train one fixed sub-graph (`anchor`, by default
every block's first candidate), whose ops then seed every other candidate
(SuperNet.inherit_from) before the uniform epochs; best.pt and the patience count start again
there (docs/nas.md says why: uniform sampling from scratch can stay on CTC's blank plateau).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Iterator, List, Optional

import torch

from nas.features.pipeline import FeaturePipeline
from nas.models.arch import read_arch
from nas.models.space import SearchSpace, SpaceError, load_space
from nas.models.supernet import Mixer, SuperNet
from nas.options import AT_LEAST_1, NON_NEGATIVE, option
from nas.strategies.update import Update, path, sample_choice, single_path
from nas.train.config import SpaceOptions, TrainOptions
from nas.train.plan import Plan
from nas.train.schedule import EarlyStop, EpochEnd

log = logging.getLogger("nas")


@dataclass
class WarmupConfig(SpaceOptions, TrainOptions):
    patience: int = option(3, "stop after this many epochs without held-out improvement",
                           check=AT_LEAST_1)
    anchor_epochs: int = option(0, "epochs training one fixed sub-graph (--anchor) before uniform sampling; its "
                                   "ops then seed every candidate (0: off)", check=NON_NEGATIVE)
    anchor: str = option("", "arch.json of the anchor sub-graph (default: the first candidate of every block)")


class WarmupPlan(Plan):
    kind = "warmup"
    Config = WarmupConfig
    description = ("stage 4: NAS warm-up of the super-network (uniform sub-graphs, weights only; optionally first "
                   "one anchor sub-graph whose ops then seed every candidate)")
    example = "--data data/train_sp --lang data/lang_phn exp/nas/warmup"

    def __init__(self, cfg: WarmupConfig):
        super().__init__(cfg)
        if cfg.anchor_epochs and cfg.anchor_epochs >= cfg.max_epochs:
            raise SystemExit(f"--anchor-epochs {cfg.anchor_epochs} leaves no uniform warm-up epoch within "
                             f"--max-epochs {cfg.max_epochs}")
        self._space = load_space(cfg.space, verbose=False, params=cfg.space_params)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.rule = EarlyStop(cfg.patience)
        self.epoch = 0
        self.anchor: Optional[List[int]] = None

    def space(self) -> SearchSpace:
        return self._space

    def features(self) -> FeaturePipeline:
        return self.cfg.features

    def build(self, input_dim: int, num_outputs: int) -> SuperNet:
        self.net = SuperNet(self._space, input_dim, num_outputs)
        if self.cfg.anchor_epochs > 0:
            self.anchor = self._anchor_choice()
        return self.net

    def _anchor_choice(self) -> List[int]:
        if not self.cfg.anchor:
            return [0] * len(self.net.blocks)
        try:
            choices = read_arch(self.cfg.anchor).choices
        except SpaceError as e:
            raise SystemExit(f"--anchor: {e}") from None
        out = []
        for b in self.net.blocks:
            if choices.get(b.name) not in b.candidates:
                raise SystemExit(f"--anchor {self.cfg.anchor}: block {b.name} chooses {choices.get(b.name)!r}, "
                                 f"not one of this space's candidates {b.candidates}")
            out.append(b.candidates.index(choices[b.name]))
        return out

    def _in_anchor_phase(self) -> bool:
        return self.anchor is not None and self.epoch < self.cfg.anchor_epochs

    def _choice(self) -> List[int]:
        return list(self.anchor) if self._in_anchor_phase() else sample_choice(self.net, self.generator)

    def begin_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def updates(self) -> Iterator[Update]:
        yield single_path(self.net, self._choice())

    def eval_mixer(self) -> Mixer:
        return path(self._choice())

    def end_epoch(self, epoch: int, valid_loss: float, lr: float) -> EpochEnd:
        end = self.rule.update(valid_loss, lr)
        n = self.cfg.anchor_epochs
        if self.anchor is not None and epoch < n:           # the anchor phase runs all its epochs
            end = EpochEnd(end.improved, lr)
            if epoch == n - 1:
                k = self.net.inherit_from(self.anchor)
                end.note = (f"anchor sub-graph trained for {n} epochs: {k} candidate ops start from its weights; "
                            f"uniform sub-graphs from now on")
                self.rule = EarlyStop(self.cfg.patience)
        return end

    def state_dict(self) -> dict:
        return {"generator": self.generator.get_state(), "rule": self.rule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.generator.set_state(state["generator"])
        self.rule.load_state_dict(state["rule"])
