"""Stage 6: derive the top-1 architecture of a finished search into arch.json.

Reads SEARCH_DIR/final.pt (the architecture weights, or the random search's pick) and
SEARCH_DIR/config.json (the space), and writes OUT_DIR/arch.json: the op per searching block,
the complete space config, the input features, the final probabilities and the provenance.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

import torch

from nas.features.pipeline import FeaturePipeline
from nas.models.space import parse_space
from nas.train.arch import Arch
from nas.train.checkpoint import load_checkpoint


def derive(search_dir: Path) -> Arch:
    final = search_dir / "final.pt"
    if not final.is_file():
        raise SystemExit(f"{search_dir}: no final.pt; the search has not finished (resume it with --resume true)")
    state = load_checkpoint(final)
    cfg = state["config"]
    space = parse_space(state["space"], f"{final} (space)")
    blocks = list(space.blocks)
    alpha = state["strategy"]["alpha"]
    if len(alpha) != len(blocks):
        raise SystemExit(f"{final}: {len(alpha)} architecture vectors for the {len(blocks)} blocks of {cfg['space']}")
    probs = {b: dict(zip(space.blocks[b], [round(float(x), 6) for x in torch.softmax(a.float(), 0)]))
             for b, a in zip(blocks, alpha)}
    if "choice" in state:                    # random search: its best-scored sample
        choices = dict(state["choice"])
    else:
        choices = {b: space.blocks[b][int(torch.argmax(a))] for b, a in zip(blocks, alpha)}
    source = {"search_dir": str(search_dir.resolve()), "method": cfg["method"], "seed": cfg["seed"],
              "epochs": state["epoch"], "steps": state["step"], "data": cfg["data"]}
    return Arch(space, choices, FeaturePipeline().to_dict(), probs, source,
                f"derived by {cfg['method']} from {search_dir}")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nas.bin.derive", description=__doc__.split("\n\n")[0],
                                epilog="example: python -m nas.bin.derive exp/nas/search exp/nas/derive")
    p.add_argument("search_dir")
    p.add_argument("out_dir")
    p.add_argument("--overwrite", type=lambda s: s.lower() in ("true", "1", "yes"), default=False,
                   metavar="BOOL", help="replace an existing arch.json (default: false)")
    args = p.parse_args(argv)
    out = Path(args.out_dir) / "arch.json"
    if out.exists() and not args.overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite true to replace it")
    arch = derive(Path(args.search_dir))
    out.parent.mkdir(parents=True, exist_ok=True)
    arch.write(out)
    print(f"derive: {out}: " + " ".join(f"{b}={op}" for b, op in arch.choices.items()))
    for b, pr in arch.probs.items():
        print(f"  {b:<10} " + "  ".join(f"{op}={x:.3f}" for op, x in pr.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
