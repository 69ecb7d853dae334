"""Stage 5, the search plan: a strategy's updates on the warmed-up super-network.

Starts from the warm-up's weights (--init: its best.pt) with fresh optimizers; the strategy
(--method) yields each training batch's updates (nas.strategies), alpha has its own Adam with
the method's settings unless --arch-* say otherwise. The weights' lr decays by `lr_decay`
after `plateau_epochs` epochs without held-out improvement and the stage stops when it falls
below `stop_lr`; the held-out loss averages a sub-graph sampled from pi per held-out batch.
At the end the strategy derives the architecture (Strategy.derive: argmax, or the best
scored sample for random search), which final.pt keeps with the probabilities, the space and
the feature pipeline, for stage 6 (nas.bin.derive) to write as arch.json: arch_from_search reads
it back as an Arch.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple, Union

import torch

from nas.features.pipeline import FeaturePipeline
from nas.models.arch import Arch
from nas.models.space import SearchSpace, SpaceError, load_space, parse_space
from nas.models.supernet import Mixer, SuperNet
from nas.options import NON_NEGATIVE, POSITIVE, Range, option, restate, section
from nas.strategies import STRATEGIES, StrategyOptions, get_strategy
from nas.strategies.update import Update, path
from nas.train.checkpoint import load_checkpoint
from nas.train.config import PlateauOptions, SpaceOptions, TrainOptions
from nas.train.plan import Evaluate, Plan
from nas.train.schedule import EpochEnd, LrPlateau

log = logging.getLogger("nas")


def _method_defaults(attr: str) -> str:
    return "the method's own: " + ", ".join(f"{n} {getattr(c.arch_adam, attr):g}"
                                            for n, c in STRATEGIES.items() if c.trains)


@dataclass
class SearchConfig(SpaceOptions, PlateauOptions, TrainOptions):
    init: str = option("", "the warm-up's exp dir (its best.pt) or a checkpoint file to start from")
    method: str = option("st", "search method", choices=tuple(STRATEGIES))
    arch_lr: Optional[float] = option(None, f"Adam lr of the architecture weights ({_method_defaults('lr')})",
                                      type=float, check=POSITIVE)
    arch_beta1: Optional[float] = option(None, f"Adam beta1 of alpha ({_method_defaults('beta1')})", type=float,
                                         check=Range(0, 1, hi_open=True))
    arch_beta2: Optional[float] = option(None, f"Adam beta2 of alpha ({_method_defaults('beta2')})", type=float,
                                         check=Range(0, 1, hi_open=True))
    arch_weight_decay: Optional[float] = option(None, f"Adam weight decay of alpha "
                                                      f"({_method_defaults('weight_decay')})", type=float,
                                                check=NON_NEGATIVE)
    resource_coef: float = option(0.0, "weight of the expected parameter count (millions) in alpha's loss")
    batch_size: int = restate(TrainOptions, "batch_size", 64)
    strategy: StrategyOptions = section(StrategyOptions)


class SearchPlan(Plan):
    kind = "search"
    Config = SearchConfig
    description = "stage 5: architecture search (ST-NAS by default; --method picks another)"
    example = "--data data/train_sp --lang data/lang_phn --init exp/nas/warmup exp/nas/search"

    def __init__(self, cfg: SearchConfig):
        super().__init__(cfg)
        self._space = load_space(cfg.space, verbose=False, params=cfg.space_params)
        self.rule = LrPlateau(cfg.plateau_epochs, cfg.lr_decay, cfg.stop_lr)

    @property
    def epochs(self) -> int:
        return self.cfg.max_epochs if self.strategy.trains else 0

    def space(self) -> SearchSpace:
        return self._space

    def features(self) -> FeaturePipeline:
        return self.cfg.features

    def build(self, input_dim: int, num_outputs: int) -> SuperNet:
        c = self.cfg
        self.net = SuperNet(self._space, input_dim, num_outputs)
        self.strategy = get_strategy(c.method, self.net, c.strategy, seed=c.seed, resource_coef=c.resource_coef,
                                     max_epochs=c.max_epochs)
        return self.net

    def to(self, device: torch.device) -> None:
        self.strategy.to(device)

    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        c = self.cfg
        if not self.strategy.trains:
            return {}
        return {"arch": self.strategy.arch_optimizer(c.arch_lr, c.arch_beta1, c.arch_beta2, c.arch_weight_decay)}

    def _init_file(self) -> Path:
        p = Path(self.cfg.init)
        return p / "best.pt" if p.is_dir() or not p.suffix else p

    def inputs(self) -> List[Tuple[Path, str]]:
        return [(self._init_file(), "stage 4, the warm-up (--init)")] if self.cfg.init else []

    def start(self) -> None:
        if not self.cfg.init:
            return
        f = self._init_file()
        state = load_checkpoint(f)
        for what, ours in (("features", self.cfg.features.to_dict()), ("space", self._space.to_dict())):
            theirs = state.get(what)
            same = (theirs is None or (self._space.same_as(theirs, f"{f} (space)") if what == "space"
                                       else theirs == ours))
            if not same:
                raise SystemExit(f"--init {f}: the warm-up ran with other {what} than this search:\n  warm-up: "
                                 f"{json.dumps(theirs)}\n  search:  {json.dumps(ours)}\n"
                                 f"give the search the warm-up's --space and feature options")
        self.net.load_state_dict(state["model"])
        log.info("search starts from the weights of %s (fresh optimizers)", f)

    def begin_epoch(self, epoch: int) -> None:
        self.strategy.set_epoch(epoch)

    def updates(self) -> Iterator[Update]:
        return self.strategy.updates()

    def after_step(self, step: int, observer) -> None:
        observer.probs(step, [b.name for b in self.net.blocks], {b.name: b.candidates for b in self.net.blocks},
                       [p.detach().cpu() for p in self.strategy.probs()])

    def eval_mixer(self) -> Mixer:
        return path(self.strategy.sample())

    def end_epoch(self, epoch: int, valid_loss: float, lr: float) -> EpochEnd:
        return self.rule.update(valid_loss, lr)

    def finish(self, evaluate: Evaluate, exp_dir: Path, main: bool) -> dict:
        def score(arch: Dict[str, str]) -> float:
            z = [b.candidates.index(arch[b.name]) for b in self.net.blocks]
            return evaluate(lambda: path(z))
        choice = self.strategy.derive(score)
        log.info("%s derived: %s", self.cfg.method, " ".join(f"{b}={op}" for b, op in choice.items()))
        if main:
            for name, obj in self.strategy.reports().items():
                (exp_dir / name).write_text(json.dumps(obj, indent=2) + "\n")
        return {"choice": choice, "probs": self.strategy.final_probs()}

    def state_dict(self) -> dict:
        return {"strategy": self.strategy.state_dict(), "rule": self.rule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.strategy.load_state_dict(state["strategy"])
        self.rule.load_state_dict(state["rule"])


def arch_from_search(state: dict, where: Union[str, Path]) -> Arch:
    """The architecture a finished search derived (Strategy.derive, kept in its final.pt as
    `choice`), with the space, input features, final probabilities and provenance it recorded."""
    if "choice" not in state:
        raise SpaceError(f"{where}: holds no derived architecture (not a finished search, or one written by an "
                         f"older version of this toolkit: run stage 5 again)")
    cfg = state["config"]
    space = parse_space(state["space"], f"{where} (space)")
    source = {"search_dir": str(Path(where).resolve().parent), "method": cfg["method"], "seed": cfg["seed"],
              "epochs": state["epoch"], "steps": state["step"], "data": cfg["data"]}
    return Arch(space, state["choice"], state.get("features"), state.get("probs"), source,
                f"derived by {cfg['method']} from {Path(where).parent}")
