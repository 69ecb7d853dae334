"""Losses per stage: CTC, or CTC-CRF + lambda * CTC over the stage-3 denominator graph.

Both take (log_probs (N, T, V), out_lengths, targets (N, S), target_lengths) and return the
mean over utterances, the form the search strategies call. The CTC-CRF loss is returned without
the path weights (constants per utterance that do not change gradients); `logged` adds them
back, so that the reported figure is -log p(l | x) of CAT's formulation.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional, Union

import torch
import torch.nn.functional as F

LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


class StageLoss:
    """`kind` is "ctc" or "ctc-crf"; CTC-CRF needs `den_dir` (den_lm.fst, path_weight.txt)."""

    def __init__(self, kind: str = "ctc", den_dir: Optional[Union[str, Path]] = None, lamb: float = 0.01,
                 device: Union[str, torch.device] = "cpu"):
        if kind not in ("ctc", "ctc-crf"):
            raise ValueError(f"loss must be 'ctc' or 'ctc-crf', got {kind!r}")
        self.kind, self.lamb = kind, float(lamb)
        self.crf = None
        self.path_weights: Optional[Path] = None
        if kind == "ctc-crf":
            from ctc_crf import CTCCRFLoss, DenGraph
            if den_dir is None:
                raise ValueError("the CTC-CRF loss needs the den graph dir of stage 3 (--den-dir)")
            d = Path(den_dir)
            for f in ("den_lm.fst", "path_weight.txt"):
                if not (d / f).is_file():
                    raise FileNotFoundError(f"{d / f}: no such file (run stage 3, steps/prep_den_lm.sh)")
            self.crf = CTCCRFLoss(DenGraph.from_file(d / "den_lm.fst", device=device), lamb=self.lamb)
            self.path_weights = d / "path_weight.txt"

    def __call__(self, log_probs: torch.Tensor, out_lengths: torch.Tensor, targets: torch.Tensor,
                 target_lengths: torch.Tensor) -> torch.Tensor:
        if self.crf is not None:
            return self.crf(log_probs, targets, out_lengths, target_lengths)
        # per-utterance -log p(l|x), averaged over utterances (torch's "mean" also divides by label counts)
        return F.ctc_loss(log_probs.transpose(0, 1).float(), targets, out_lengths, target_lengths,
                          blank=0, reduction="none").mean()

    def logged(self, loss: float, path_weights: torch.Tensor) -> float:
        """The figure to report: minus the mean path weight under CTC-CRF, the loss itself under CTC."""
        if self.crf is None or path_weights.numel() == 0:
            return loss
        return loss - float(path_weights.mean())
