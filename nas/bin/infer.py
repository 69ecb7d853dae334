"""Network outputs for a data dir: log-probabilities (T', V) per utterance into Kaldi ark/scp.

Column j of a matrix is the lang dir's token with id j + 1 (column 0 = <blk>), the order the
decoding graph's input labels use (label = column + 1). steps/nas_infer.sh runs this per job
of a split data dir; an utterance that fails is reported by name and skipped.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import List, Optional

import kaldiio
import numpy as np
import torch

from nas.features.pipeline import FeatureReader
from nas.models.arch import read_arch
from nas.train.checkpoint import CheckpointError, load_checkpoint
from nas.train.data import count_outputs

log = logging.getLogger("nas")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nas.bin.infer", description=__doc__.split("\n\n")[0],
                                epilog="example: python -m nas.bin.infer exp/nas/retrain data/test data/lang_phn "
                                       "exp/nas/retrain/logits/test/logprobs.1")
    p.add_argument("model_dir", help="a retrain exp dir (arch.json and best.pt)")
    p.add_argument("data_dir")
    p.add_argument("lang_dir", help="its tokens.txt fixes the output count and order")
    p.add_argument("out_prefix", help="writes OUT_PREFIX.ark and OUT_PREFIX.scp")
    p.add_argument("--checkpoint", default="best.pt", help="checkpoint file in MODEL_DIR (default: best.pt)")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    mdir = Path(args.model_dir)
    arch = read_arch(mdir / "arch.json")
    tokens = count_outputs(Path(args.lang_dir) / "tokens.txt")
    try:
        state = load_checkpoint(mdir / args.checkpoint)
    except CheckpointError as e:
        raise SystemExit(str(e)) from None
    reader = FeatureReader(args.data_dir, arch.pipeline())
    keys = list(reader.keys())
    if not keys:
        raise SystemExit(f"{args.data_dir}/feats.scp: no utterances")
    dim = int(reader[keys[0]].shape[1])
    net = arch.build(dim, tokens)
    try:
        net.load_state_dict(state["model"])
    except RuntimeError as e:
        raise SystemExit(f"{mdir / args.checkpoint} does not fit arch.json with input {dim} and {tokens} outputs "
                         f"({args.lang_dir}/tokens.txt): {e}") from None
    net.to(args.device).eval()
    out = Path(args.out_prefix)
    out.parent.mkdir(parents=True, exist_ok=True)
    done = failed = frames = 0
    with torch.no_grad(), kaldiio.WriteHelper(f"ark,scp:{out}.ark,{out}.scp") as writer:
        for key in keys:
            try:
                x = torch.from_numpy(reader[key]).unsqueeze(0).to(args.device)
                log_probs, _ = net(x, torch.tensor([x.shape[1]], device=args.device))
            except Exception as e:      # a bad utterance is reported and skipped, not fatal
                log.warning("%s: utterance %s failed: %s", args.data_dir, key, e)
                failed += 1
                continue
            m = log_probs[0].float().cpu().numpy().astype(np.float32)
            writer(key, m)
            done += 1
            frames += m.shape[0]
    log.info("infer: %d utterances (%d output frames) to %s.scp; %d failed", done, frames, out, failed)
    return 1 if done == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
