"""Command lines of the training stages: `python -m nas.bin.{warmup,search,retrain} [options] EXP_DIR`."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import List, Optional

from nas.train.config import add_config_args, build_config
from nas.train.stage import HELP, Stage, StageConfig


@dataclass
class WarmupConfig(StageConfig):
    pass


@dataclass
class SearchConfig(StageConfig):
    batch_size: int = 64


@dataclass
class RetrainConfig(StageConfig):
    loss: str = "ctc-crf"
    plateau_epochs: int = 1
    stop_lr: float = 1e-5


STAGES = {
    "warmup": (WarmupConfig, "stage 4: NAS warm-up of the super-network (uniform sub-graphs, weights only; "
               "optionally first one anchor sub-graph whose ops then seed every candidate)",
               ("arch", "init", "method", "arch_lr", "num_samples", "recompute", "plateau_epochs",
                "lr_decay", "stop_lr", "resource_coef"), "--data data/train_sp --lang data/lang_phn exp/nas/warmup"),
    "search": (SearchConfig, "stage 5: architecture search (ST-NAS by default; --method picks another)",
               ("arch", "patience", "anchor", "anchor_epochs"), "--data data/train_sp --lang data/lang_phn --init exp/nas/warmup exp/nas/search"),
    "retrain": (RetrainConfig, "stage 7: retrain an arch.json from scratch (CTC-CRF + lambda * CTC by default)",
                ("space", "init", "method", "arch_lr", "num_samples", "recompute", "patience", "resource_coef",
                 "anchor", "anchor_epochs"),
                "--data data/train_sp --valid-data data/dev --lang data/lang_phn --den-dir data/den_meta "
                "--arch exp/nas/derive/arch.json exp/nas/retrain"),
}


def stage_main(kind: str, argv: Optional[List[str]] = None) -> int:
    cls, desc, skip, example = STAGES[kind]
    p = argparse.ArgumentParser(prog=f"python -m nas.bin.{kind}", description=desc,
                                epilog=f"example: python -m nas.bin.{kind} {example}   "
                                       f"(multi-process: torchrun --nproc_per_node N -m nas.bin.{kind} ...)")
    p.add_argument("exp_dir", help="output dir (checkpoints, logs, plots)")
    add_config_args(p, cls, HELP, skip)
    args = p.parse_args(argv)
    cfg = build_config(cls, args, required=["data", "lang"])
    Stage(kind, cfg, args.exp_dir).run()
    return 0
