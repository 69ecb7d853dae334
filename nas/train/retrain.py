"""Stage 7, the retrain plan: the single model of an arch.json, from scratch.

The input features are the arch.json's (the search's, written by derive); the feature
dimension and the output count come from the data and lang dir, so an architecture searched
on one corpus retrains on another. CTC-CRF + lambda * CTC by default; the lr decays on a
held-out plateau and the stage stops below `stop_lr`, or (schedule exponential) decays by a
fixed factor per epoch for a fixed number of epochs. The exp dir gets a copy of the arch.json, so
that it alone is enough for inference (nas.bin.infer).

NAS-Bench-ASR's protocol (egs/timit/conf/retrain_nb_asr.yaml) is these options together:
a curriculum of short-utterance epochs first, the exponential schedule, an L2 penalty on the
conv kernels, the best epoch chosen by held-out token error rate, CTC per output frame.

--space and --space-params rebuild the arch.json's choices in another macro network: a cell
searched on a small proxy (nb_asr_small) stacked deeper and wider for the target (He, Su, Yu),
e.g. `--space nb_asr` or `--space-params width=0.5,cells=[2,2,3,3]`. The copy in the exp dir
records the network actually trained.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, List

import torch
from torch import nn

from nas.features.pipeline import FeaturePipeline
from nas.models.arch import Arch, read_arch
from nas.models.space import SearchSpace, SpaceError, load_space, parse_space
from nas.models.space_config import SpaceConfigError, parse_params
from nas.models.supernet import SuperNet
from nas.options import AT_LEAST_1, NON_NEGATIVE, option, restate
from nas.strategies.update import Update
from nas.train.config import PlateauOptions, SpaceParamsOption, TrainOptions
from nas.train.plan import Plan
from nas.train.schedule import EpochEnd, ExpDecay, LrPlateau

FRAMES_PER_SECOND = 100         # the curriculum's limits are in seconds of 10 ms feature frames


@dataclass
class RetrainConfig(SpaceParamsOption, PlateauOptions, TrainOptions):
    arch: str = option("", "arch.json to retrain (stage 6's, or hand-written)", required=True)
    space: str = option("", "build the arch.json's choices in this space (a shipped name or a JSON file) "
                            "instead of the one it records, e.g. a cell searched in nb_asr_small retrained in nb_asr")
    loss: str = restate(TrainOptions, "loss", "ctc-crf")
    plateau_epochs: int = restate(PlateauOptions, "plateau_epochs", 1)
    stop_lr: float = restate(PlateauOptions, "stop_lr", 1e-5)
    schedule: str = option("plateau", "plateau: lr x lr_decay on a held-out plateau, stop below stop_lr; exponential: "
                                      "max_epochs epochs, lr x lr_decay after each from decay_from on",
                           choices=("plateau", "exponential"))
    decay_from: int = option(5, "exponential: the first epoch (1-based, after the curriculum) after which the lr decays",
                             check=AT_LEAST_1)
    curriculum: str = option("", "epochs run before the counted ones, each only on the training utterances shorter "
                                 "than its limit in seconds, e.g. 1,1,2,2 (NAS-Bench-ASR); they neither decay the "
                                 "lr nor count as the best epoch")
    conv_l2: float = option(0.0, "add this times the sum of the L2 norms (not squared) of every conv kernel to the "
                                 "training loss (NAS-Bench-ASR: 0.01)", check=NON_NEGATIVE)
    select_by: str = option("loss", "the best epoch (best.pt) and the plateau by held-out loss, or by held-out greedy "
                                    "token error rate (ter)", choices=("loss", "ter"))


class RetrainPlan(Plan):
    kind = "retrain"
    Config = RetrainConfig
    description = "stage 7: retrain an arch.json from scratch (CTC-CRF + lambda * CTC by default)"
    example = ("--data data/train_sp --valid-data data/dev --lang data/lang_phn --den-dir data/den_meta "
               "--arch exp/nas/derive/arch.json exp/nas/retrain")
    find_unused_parameters = False

    def __init__(self, cfg: RetrainConfig):
        super().__init__(cfg)
        if not Path(cfg.arch).is_file():
            raise SystemExit(f"retrain: missing input {cfg.arch} (--arch; made by stage 6, python -m nas.bin.derive, "
                             f"or written by hand); run that stage first")
        try:
            self.arch = read_arch(cfg.arch)
        except SpaceError as e:
            raise SystemExit(f"--arch: {e}") from None
        if cfg.space or cfg.space_params:
            self.arch = self._transfer(self.arch, cfg)
        try:
            self.limits = [float(x) for x in cfg.curriculum.replace(",", " ").split()]
        except ValueError:
            raise SystemExit(f"--curriculum {cfg.curriculum!r}: expected seconds separated by commas, e.g. 1,1,2,2") from None
        if any(x <= 0 for x in self.limits):
            raise SystemExit(f"--curriculum {cfg.curriculum!r}: every limit must be > 0 seconds")
        self.rule = (ExpDecay(cfg.decay_from, cfg.lr_decay) if cfg.schedule == "exponential"
                     else LrPlateau(cfg.plateau_epochs, cfg.lr_decay, cfg.stop_lr))
        self.monitor = cfg.select_by
        self.kernels: List[torch.Tensor] = []          # the conv kernels conv_l2 penalizes (build)

    @property
    def epochs(self) -> int:
        return len(self.limits) + self.cfg.max_epochs

    def frame_limit(self, epoch: int) -> int:
        return round(self.limits[epoch] * FRAMES_PER_SECOND) if epoch < len(self.limits) else 0

    @staticmethod
    def _transfer(arch: Arch, cfg: RetrainConfig) -> Arch:
        """The arch.json's choices in the macro network of --space / --space-params."""
        try:
            if cfg.space:
                space = load_space(cfg.space, verbose=False, params=cfg.space_params)
            else:
                space = parse_space(arch.space.to_dict(), arch.space.source, parse_params(cfg.space_params))
            return Arch(space, arch.choices, arch.features, arch.probs, arch.source,
                        f"{arch.description}; retrained in {space.name} {json.dumps(space.params)}".lstrip("; "))
        except (SpaceError, SpaceConfigError) as e:
            raise SystemExit(f"--space/--space-params with --arch {cfg.arch}: {e}") from None

    def space(self) -> SearchSpace:
        return self.arch.space

    def features(self) -> FeaturePipeline:
        return self.arch.pipeline()

    def build(self, input_dim: int, num_outputs: int) -> SuperNet:
        net = self.arch.build(input_dim, num_outputs)
        self.kernels = [m.weight for m in net.modules() if isinstance(m, nn.modules.conv._ConvNd)]
        if self.cfg.conv_l2 > 0 and not self.kernels:
            raise SystemExit(f"--conv-l2 {self.cfg.conv_l2}: the architecture of {self.cfg.arch} has no conv layers")
        return net

    def _conv_penalty(self) -> torch.Tensor:
        """conv_l2 times the sum of the kernels' L2 norms (NAS-Bench-ASR's regularizer)."""
        return self.cfg.conv_l2 * torch.stack([k.float().norm() for k in self.kernels]).sum()

    def prepare(self, exp_dir: Path, main: bool) -> None:
        if main:
            self.arch.write(exp_dir / "arch.json")

    def updates(self) -> Iterator[Update]:
        yield Update("train_loss", None, extra=self._conv_penalty if self.cfg.conv_l2 > 0 else None)

    def end_epoch(self, epoch: int, valid: float, lr: float) -> EpochEnd:
        counted = epoch + 1 - len(self.limits)
        if counted <= 0:
            return EpochEnd(False, lr, note=f"curriculum epoch {epoch + 1}: utterances under {self.limits[epoch]:g} s")
        if isinstance(self.rule, ExpDecay):
            return self.rule.update(valid, lr, counted)
        return self.rule.update(valid, lr)

    def state_dict(self) -> dict:
        return {"rule": self.rule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.rule.load_state_dict(state["rule"])
