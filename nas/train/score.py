"""The score plan: architectures judged by a super-network's weights, without training.

A one-shot method ranks architectures by how well they do with the weights they inherit from
its super-network; whether that ranking agrees with the stand-alone one is what a ground-truth
table can tell (docs/bench.md). This plan loads a warm-up's or a search's super-network, runs no
epoch, and scores every architecture of a list by its held-out loss with those weights (the
random search's criterion), writing scores.json: one {"id", "loss"} per architecture.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from nas.features.pipeline import FeaturePipeline
from nas.files import write_text_atomic
from nas.models.arch import read_arch
from nas.models.space import SearchSpace, SpaceError, load_space
from nas.models.supernet import SuperNet
from nas.options import NON_NEGATIVE, option, restate
from nas.strategies.update import path
from nas.train.checkpoint import load_checkpoint
from nas.train.config import SpaceOptions, TrainOptions
from nas.train.plan import Evaluate, Plan

log = logging.getLogger("nas")


@dataclass
class ScoreConfig(SpaceOptions, TrainOptions):
    init: str = option("", "the super-network: a warm-up's or search's exp dir (its final.pt, else best.pt) "
                           "or a checkpoint", required=True)
    archs: str = option("", "the architectures: a bench dir (its plan.json's entries of this space) or "
                            "comma-separated arch.json files", required=True)
    max_epochs: int = restate(TrainOptions, "max_epochs", 0, check=NON_NEGATIVE)


class ScorePlan(Plan):
    kind = "score"
    Config = ScoreConfig
    description = "score architectures by their held-out loss with a super-network's weights (no training)"
    example = ("--data data/train --valid-data data/dev --lang data/lang_phn --init exp/nas/search "
               "--archs exp/bench exp/nas/search/score")

    def __init__(self, cfg: ScoreConfig):
        super().__init__(cfg)
        self._space = load_space(cfg.space, verbose=False, params=cfg.space_params)
        self.archs = self._read_archs()

    @property
    def epochs(self) -> int:
        return 0

    def _read_archs(self) -> List[Tuple[str, Dict[str, str]]]:
        src = Path(self.cfg.archs)
        if src.is_dir():
            plan_file = src / "plan.json"
            try:
                entries = json.loads(plan_file.read_text())["entries"]
            except (OSError, ValueError, KeyError) as e:
                raise SystemExit(f"--archs {src}: no bench plan ({plan_file}: {e})") from None
            out = [(e["id"], e["choices"]) for e in entries if set(e["choices"]) == set(self._space.blocks)]
            if not out:
                raise SystemExit(f"--archs {src}: no architecture of space {self._space.name} in {plan_file}")
            return out
        out = []
        for f in filter(None, self.cfg.archs.split(",")):
            try:
                out.append((Path(f).name.replace(".arch.json", "").replace(".json", ""), read_arch(f).choices))
            except SpaceError as e:
                raise SystemExit(f"--archs: {e}") from None
        return out

    def _init_file(self) -> Path:
        p = Path(self.cfg.init)
        if p.is_dir():
            return p / "final.pt" if (p / "final.pt").is_file() else p / "best.pt"
        return p

    def inputs(self) -> List[Tuple[Path, str]]:
        return [(self._init_file(), "stage 4 or 5 (--init)")]

    def space(self) -> SearchSpace:
        return self._space

    def features(self) -> FeaturePipeline:
        return self.cfg.features

    def build(self, input_dim: int, num_outputs: int) -> SuperNet:
        self.net = SuperNet(self._space, input_dim, num_outputs)
        for name, choices in self.archs:
            try:
                self._space.check_arch(choices)
            except SpaceError as e:
                raise SystemExit(f"--archs {name}: {e}") from None
        return self.net

    def start(self) -> None:
        state = load_checkpoint(self._init_file())
        if state.get("space") is not None and not self._space.same_as(state["space"], str(self._init_file())):
            raise SystemExit(f"--init {self._init_file()}: its super-network has another space than --space "
                             f"{self.cfg.space}; give the stage's --space and --space-params")
        self.net.load_state_dict(state["model"])
        log.info("scoring %d architectures with the weights of %s", len(self.archs), self._init_file())

    def finish(self, evaluate: Evaluate, exp_dir: Path, main: bool) -> dict:
        scores = []
        for name, choices in self.archs:
            z = [b.candidates.index(choices[b.name]) for b in self.net.blocks]
            scores.append({"id": name, "loss": round(evaluate(lambda: path(z)), 6)})
        if main:
            write_text_atomic(exp_dir / "scores.json", json.dumps(
                {"init": str(self._init_file()), "space": self._space.name, "scores": scores}, indent=1) + "\n")
        log.info("scored %d architectures: scores.json", len(scores))
        return {"scores": scores}
