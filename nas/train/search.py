"""Stage 5, the search plan: a strategy's updates on the warmed-up super-network.

Starts from the warm-up's weights (--init: its best.pt) with fresh optimizers, and holds out
exactly the utterances the warm-up held out (its heldout.list, or the same --valid-data): a
search that drew its own split would fit alpha on utterances the shared weights were trained on,
so another held-out set is refused. The strategy (--method) yields each training batch's
updates (nas.strategies), alpha has its own Adam with the method's settings unless --arch-* say
otherwise. The weights' lr decays by `lr_decay` after `plateau_epochs` epochs without held-out
improvement and the stage stops when it falls below `stop_lr`; with --until-converged true it
stops instead once every block is decided (relative entropy below --converge-entropy, checked
at each epoch end), --max-epochs being the cap; no rule stops it before the strategy's
`min_epochs` (SNAS's anneal). The held-out loss averages a sub-graph sampled from pi per
held-out batch. At the end the strategy derives the architecture (Strategy.derive: argmax, or
the best scored sample for random search), which final.pt keeps with the probabilities, the
convergence record (also convergence.json), the space and the feature pipeline, for stage 6
(nas.bin.derive) to write as arch.json: arch_from_search reads it back as an Arch.
With --latency-table (nas.strategies.latency) alpha's loss gets an expected-latency term (soft
mode), or sampling and derivation keep within --latency-target ms (hard mode); final.pt and
latency.json keep the derived architecture's predicted latency, which arch.json records.
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
from nas.models.decision import DECIDED_ENTROPY, decisions, undecided
from nas.models.space import SearchSpace, SpaceError, load_space, parse_space
from nas.models.supernet import Mixer, SuperNet
from nas.options import FRACTION, NON_NEGATIVE, POSITIVE, Range, option, restate, section
from nas.bench.latency import LatencyError
from nas.strategies import STRATEGIES, StrategyOptions, get_strategy
from nas.strategies.latency import LatencyModel, LatencyOptions, load_latency
from nas.strategies.update import Update, path
from nas.train.checkpoint import load_checkpoint
from nas.train.config import PlateauOptions, SpaceOptions, TrainOptions
from nas.train.heldout import warmup_heldout
from nas.train.plan import Evaluate, Plan
from nas.train.schedule import EpochEnd, LrPlateau

log = logging.getLogger("nas")


def _method_defaults(attr: str) -> str:
    return "the method's own: " + ", ".join(f"{n} {getattr(c.arch_adam, attr):g}"
                                            for n, c in STRATEGIES.items() if c.trains)


@dataclass
class SearchConfig(LatencyOptions, SpaceOptions, PlateauOptions, TrainOptions):
    init: str = option("", "the warm-up's exp dir (its best.pt) or a checkpoint file to start from")
    method: str = option("st", "search method", choices=tuple(STRATEGIES))
    arch_lr: Optional[float] = option(None, f"Adam lr of the architecture weights ({_method_defaults('lr')})",
                                      type=float, check=POSITIVE)
    arch_lr_scale: float = option(1.0, "multiply alpha's Adam lr (the method's own, or --arch-lr) by this: one "
                                       "setting that scales every method's reference lr alike", check=POSITIVE)
    arch_beta1: Optional[float] = option(None, f"Adam beta1 of alpha ({_method_defaults('beta1')})", type=float,
                                         check=Range(0, 1, hi_open=True))
    arch_beta2: Optional[float] = option(None, f"Adam beta2 of alpha ({_method_defaults('beta2')})", type=float,
                                         check=Range(0, 1, hi_open=True))
    arch_weight_decay: Optional[float] = option(None, f"Adam weight decay of alpha "
                                                      f"({_method_defaults('weight_decay')})", type=float,
                                                check=NON_NEGATIVE)
    arch_grad_clip: Optional[float] = option(None, "clip the global norm of alpha's gradient to this before each "
                                                   "step, 0: off (the method's own: " + ", ".join(
                                                       f"{n} {c.arch_clip:g}" for n, c in STRATEGIES.items()
                                                       if c.trains) + ")", type=float, check=NON_NEGATIVE)
    resource_coef: float = option(0.0, "weight of the expected parameter count (millions) in alpha's loss")
    converge_entropy: float = option(DECIDED_ENTROPY, "a block is decided once its entropy relative to the uniform "
                                                      "distribution is below this; converged: every block decided",
                                     check=FRACTION)
    until_converged: bool = option(False, "stop once converged (checked at each epoch end) instead of at the lr "
                                          "plateau's stop, --max-epochs being the cap")
    batch_size: int = restate(TrainOptions, "batch_size", 64)
    strategy: StrategyOptions = section(StrategyOptions)


class SearchPlan(Plan):
    kind = "search"
    Config = SearchConfig
    description = "stage 5: architecture search (ST-NAS by default; --method picks another)"
    example = "--data data/train_sp --lang data/lang_phn --init exp/nas/warmup exp/nas/search"

    def __init__(self, cfg: SearchConfig):
        super().__init__(cfg)
        anneal = cfg.strategy.snas.anneal_epochs
        if cfg.method == "snas" and anneal > cfg.max_epochs:
            raise SystemExit(f"--snas-anneal-epochs {anneal} exceeds --max-epochs {cfg.max_epochs}: the temperature "
                             f"would never reach --snas-tau-min")
        self._space = load_space(cfg.space, verbose=False, params=cfg.space_params)
        self.latency = self._latency(cfg)
        self.rule = LrPlateau(cfg.plateau_epochs, cfg.lr_decay, cfg.stop_lr)
        self.steps_done, self.steps_per_epoch = 0, 1
        self.epochs_done, self.stopped_by = 0, ""

    def _latency(self, cfg: SearchConfig) -> Optional[LatencyModel]:
        """The latency table and options, checked against the space before any work."""
        if cfg.latency_table and cfg.method == "random" and cfg.latency_mode == "soft":
            raise SystemExit("--method random has no architecture weights for a soft latency term to act on: use "
                             "--latency-mode hard (uniform samples within --latency-target ms)")
        try:
            model = load_latency(cfg, self._space, list(self._space.blocks))
        except LatencyError as e:
            raise SystemExit(f"--latency-table: {e}") from None
        if model is not None and model.hard and cfg.method in ("darts", "snas"):
            log.info("%s mixes every candidate: the latency budget binds its derivation only", cfg.method)
        return model

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
        if self.latency is not None:      # the same model over the network's block order
            self.latency = LatencyModel(c, self.latency.table, [b.name for b in self.net.blocks])
        self.strategy = get_strategy(c.method, self.net, c.strategy, seed=c.seed, resource_coef=c.resource_coef,
                                     max_epochs=c.max_epochs, latency=self.latency)
        return self.net

    def to(self, device: torch.device) -> None:
        self.strategy.to(device)

    def optimizers(self) -> Dict[str, torch.optim.Optimizer]:
        c = self.cfg
        if not self.strategy.trains:
            return {}
        lr = (self.strategy.arch_adam.lr if c.arch_lr is None else c.arch_lr) * c.arch_lr_scale
        return {"arch": self.strategy.arch_optimizer(lr, c.arch_beta1, c.arch_beta2, c.arch_weight_decay,
                                                     c.arch_grad_clip)}

    def _init_file(self) -> Path:
        p = Path(self.cfg.init)
        return p / "best.pt" if p.is_dir() or not p.suffix else p

    def inputs(self) -> List[Tuple[Path, str]]:
        table = ([(Path(self.cfg.latency_table), "python -m nas.bin.bench latency (--latency-table)")]
                 if self.cfg.latency_table else [])
        if not self.cfg.init:
            return table
        held = self._init_file().parent / "heldout.list"
        return [(self._init_file(), "stage 4, the warm-up (--init)")] + (
            [(held, "stage 4, the warm-up (--init)")] if held.is_file() else []) + table

    def heldout_list(self) -> Optional[Path]:
        """The warm-up's held-out list, which this search must hold out too (None: no --init, or
        the warm-up held out --valid-data, which the search then must give as well)."""
        return warmup_heldout(self._init_file(), self.cfg.valid_data) if self.cfg.init else None

    def epoch_length(self, epoch: int, steps: int) -> None:
        """The loop's count of training batches in `epoch` (SNAS anneals over steps)."""
        self.steps_per_epoch = steps

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

    def updates(self) -> Iterator[Update]:
        self.strategy.set_progress(self.steps_done, self.steps_per_epoch)
        return self.strategy.updates()

    def after_step(self, step: int, observer) -> None:
        self.steps_done = step
        observer.probs(step, [b.name for b in self.net.blocks], {b.name: b.candidates for b in self.net.blocks},
                       [p.detach().cpu() for p in self.strategy.probs()])

    def eval_mixer(self) -> Mixer:
        return path(self.strategy.sample())

    def decisions(self) -> Dict[str, Dict[str, float]]:
        """Every block's relative entropy and top-1/top-2 margin under the current alpha."""
        return decisions(self.strategy.final_probs() or {})

    def end_epoch(self, epoch: int, valid_loss: float, lr: float) -> EpochEnd:
        """The lr plateau rule, or with --until-converged the convergence criterion, deciding the
        stop; neither before the strategy's min_epochs."""
        end = self.rule.update(valid_loss, lr)
        self.epochs_done = epoch + 1
        floor = self.strategy.min_epochs
        if self.cfg.until_converged:
            left = undecided(self.decisions(), self.cfg.converge_entropy)
            end.stop = not left and self.epochs_done >= floor
            if end.stop:
                end.note = (end.note + "; " if end.note else "") + (
                    f"converged: every block's relative entropy below {self.cfg.converge_entropy:g}: stop")
            self.stopped_by = "converged" if end.stop else ""
        elif end.stop and self.epochs_done < floor:
            end.stop = False
            end.note += f"; no stop before epoch {floor}, where {self.cfg.method}'s schedule ends"
        elif end.stop:
            self.stopped_by = "plateau"
        return end

    def convergence(self) -> Dict[str, object]:
        """What the search's end was: converged or not under the criterion, why it stopped."""
        c = self.cfg
        if not self.strategy.trains:
            return {"converged": None, "stopped_by": "no training (random search)", "epochs": 0}
        dec = self.decisions()
        left = undecided(dec, c.converge_entropy)
        return {"criterion": f"every block's entropy relative to the uniform distribution below {c.converge_entropy:g}",
                "threshold": c.converge_entropy, "converged": not left, "undecided": left,
                "until_converged": c.until_converged, "stopped_by": self.stopped_by or "max_epochs",
                "epochs": self.epochs_done, "max_epochs": c.max_epochs, "steps": self.steps_done,
                "heldout": "the warm-up's" if c.init else "its own split", "decisions": dec}

    def finish(self, evaluate: Evaluate, exp_dir: Path, main: bool) -> dict:
        def score(arch: Dict[str, str]) -> float:
            z = [b.candidates.index(arch[b.name]) for b in self.net.blocks]
            return evaluate(lambda: path(z))
        choice = self.strategy.derive(score)
        log.info("%s derived: %s", self.cfg.method, " ".join(f"{b}={op}" for b, op in choice.items()))
        conv = self.convergence()
        if conv["converged"] is False:
            log.warning("the search ended (%s, after %d epochs) unconverged: undecided blocks %s",
                        conv["stopped_by"], conv["epochs"], " ".join(conv["undecided"]))
        latency = self.strategy.latency_record(choice)
        reports = {**self.strategy.reports(), "convergence.json": conv}
        if latency is not None:
            log.info("predicted latency of the derived architecture: %.4g ms (%s)", latency["predicted_ms"],
                     f"budget {latency['budget_ms']:g} ms" if "budget_ms" in latency else "soft term")
            reports["latency.json"] = latency
        if main:
            for name, obj in reports.items():
                (exp_dir / name).write_text(json.dumps(obj, indent=2) + "\n")
        return {"choice": choice, "probs": self.strategy.final_probs(), "convergence": conv, "latency": latency}

    def state_dict(self) -> dict:
        return {"strategy": self.strategy.state_dict(), "rule": self.rule.state_dict(), "steps_done": self.steps_done,
                "epochs_done": self.epochs_done, "stopped_by": self.stopped_by}

    def load_state_dict(self, state: dict) -> None:
        self.strategy.load_state_dict(state["strategy"])
        self.rule.load_state_dict(state["rule"])
        self.steps_done = state.get("steps_done", 0)
        self.epochs_done, self.stopped_by = state.get("epochs_done", 0), state.get("stopped_by", "")


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
    if state.get("convergence") is not None:
        source["convergence"] = {k: v for k, v in state["convergence"].items() if k != "decisions"}
    return Arch(space, state["choice"], state.get("features"), state.get("probs"), source,
                f"derived by {cfg['method']} from {Path(where).parent}", latency=state.get("latency"))
