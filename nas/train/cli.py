"""Command lines of the training stages: `python -m nas.bin.{warmup,search,retrain,score} [options] EXP_DIR`.

Each stage's flags, config-file keys and help come from its plan's config dataclass (nas.options).
"""
from __future__ import annotations

import argparse
from typing import Dict, List, Optional, Type

from nas.options import add_config_args, build_config
from nas.train.checkpoint import CheckpointError
from nas.train.loop import Loop
from nas.train.plan import Plan
from nas.train.retrain import RetrainPlan
from nas.train.score import ScorePlan
from nas.train.search import SearchPlan
from nas.train.warmup import WarmupPlan

PLANS: Dict[str, Type[Plan]] = {p.kind: p for p in (WarmupPlan, SearchPlan, RetrainPlan, ScorePlan)}


def stage_main(kind: str, argv: Optional[List[str]] = None) -> int:
    plan_cls = PLANS[kind]
    p = argparse.ArgumentParser(prog=f"python -m nas.bin.{kind}", description=plan_cls.description,
                                epilog=f"example: python -m nas.bin.{kind} {plan_cls.example}   "
                                       f"(multi-process: torchrun --nproc_per_node N -m nas.bin.{kind} ...)")
    p.add_argument("exp_dir", help="output dir (checkpoints, logs, plots)")
    add_config_args(p, plan_cls.Config)
    args = p.parse_args(argv)
    cfg = build_config(plan_cls.Config, args)
    try:
        Loop(plan_cls(cfg), args.exp_dir).run()
    except CheckpointError as e:        # an input checkpoint (--init's best.pt) damaged: one line, no traceback
        raise SystemExit(f"{kind}: {e}") from None
    return 0
