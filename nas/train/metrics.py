"""The training loop's held-out token error rate: greedy CTC decoding of the validation pass's own
outputs against their targets, nearly free beside the loss (PER for phone units). The stage's
per-epoch curve of it is what a benchmark table's validation curve holds."""
from __future__ import annotations

from typing import Sequence, Tuple

import kaldialign
import torch


def greedy_token_errors(log_probs: torch.Tensor, out_lengths: torch.Tensor, targets: torch.Tensor,
                        target_lengths: torch.Tensor) -> Tuple[int, int]:
    """(edit errors, reference tokens) of a batch's greedy decoding, in output columns (N, T, V
    log-probabilities, blank 0; targets zero-padded)."""
    best = log_probs.argmax(-1).cpu()
    errors = tokens = 0
    for b in range(best.shape[0]):
        path = best[b, :int(out_lengths[b])]
        keep = torch.ones(len(path), dtype=torch.bool, device=path.device)
        keep[1:] = path[1:] != path[:-1]
        hyp = path[keep & (path != 0)].tolist()
        ref = targets[b, :int(target_lengths[b])].tolist()
        errors += edit_distance(ref, hyp)
        tokens += len(ref)
    return errors, tokens


def edit_distance(ref: Sequence[int], hyp: Sequence[int]) -> int:
    """Levenshtein distance with unit costs (kaldialign's C++, which scoring uses too)."""
    return int(kaldialign.edit_distance(list(ref), list(hyp))["total"])
