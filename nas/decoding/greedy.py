"""Greedy (best path) CTC decoding: the arg-max unit per frame, repeats merged, blanks removed.

No graph is needed, so it gives a quick token error rate (PER for phone units)
while a model trains, and a baseline for the WFST decoder.
"""
from __future__ import annotations

from typing import List

import numpy as np


def greedy_ctc(logprobs: np.ndarray) -> List[int]:
    """Token ids (column + 1) of the best path of a (T, V) matrix whose column 0 is blank."""
    x = np.asarray(logprobs)
    if x.ndim != 2:
        raise ValueError(f"log-probabilities must be a (frames, outputs) matrix, got shape {x.shape}")
    if x.shape[0] == 0:
        return []
    best = x.argmax(axis=1)
    keep = np.ones(len(best), bool)
    keep[1:] = best[1:] != best[:-1]
    keep &= best != 0
    return (best[keep] + 1).tolist()
