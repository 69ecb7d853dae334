"""Training losses: CTC, or CTC-CRF + lambda * CTC over the stage-3 denominator graph.

Both take torch's CTC argument order, (log_probs (N, T, V), targets (N, S), input_lengths,
target_lengths, path_weights), and return the mean per utterance; with norm="frames" each
utterance's loss is first divided by its output frames (NAS-Bench-ASR's CTC). CTC-CRF gives
-log p(l | x) of CAT's formulation, the path weights (log p_LM(l), constants per utterance
that do not change gradients) included; CTC ignores them.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import torch
import torch.nn.functional as F

PathLike = Union[str, Path]


@dataclass(frozen=True)
class DenDir:
    """Stage 3's output dir: the den graph and each training utterance's path weight."""
    path: Path

    @property
    def graph(self) -> Path:
        return self.path / "den_lm.fst"

    @property
    def path_weights(self) -> Path:
        return self.path / "path_weight.txt"

    @classmethod
    def open(cls, path: PathLike) -> "DenDir":
        d = cls(Path(path))
        for f in (d.graph, d.path_weights):
            if not f.is_file():
                raise FileNotFoundError(f"{f}: no such file (run stage 3, steps/prep_den_lm.sh)")
        return d


class StageLoss:
    """`kind` is "ctc" or "ctc-crf"; CTC-CRF needs the den dir of stage 3."""

    def __init__(self, kind: str = "ctc", den: Optional[DenDir] = None, lamb: float = 0.01,
                 device: Union[str, torch.device] = "cpu", norm: str = "utterance"):
        if kind not in ("ctc", "ctc-crf"):
            raise ValueError(f"loss must be 'ctc' or 'ctc-crf', got {kind!r}")
        if norm not in ("utterance", "frames"):
            raise ValueError(f"loss norm must be 'utterance' or 'frames', got {norm!r}")
        self.kind, self.lamb, self.norm = kind, float(lamb), norm
        self.crf = None
        if kind == "ctc-crf":
            from ctc_crf import CTCCRFLoss, DenGraph
            if den is None:
                raise ValueError("the CTC-CRF loss needs the den graph dir of stage 3 (--den-dir)")
            self.crf = CTCCRFLoss(DenGraph.from_file(den.graph, device=device), lamb=self.lamb, reduction="none")

    def __call__(self, log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
                 target_lengths: torch.Tensor, path_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if self.crf is not None:
            per_utt = self.crf(log_probs, targets, input_lengths, target_lengths, path_weights)
        else:   # per-utterance -log p(l|x) (torch's "mean" would divide by label counts)
            per_utt = F.ctc_loss(log_probs.transpose(0, 1).float(), targets, input_lengths, target_lengths,
                                 blank=0, reduction="none")
        if self.norm == "frames":
            per_utt = per_utt / input_lengths.to(per_utt.dtype).clamp(min=1)
        return per_utt.mean()
