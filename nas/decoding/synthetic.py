"""Synthetic CTC log-probabilities for tests and benchmarks, before a trained network exists.

A CTC network's output is peaky: each unit shows as a spike of one or two
frames, blank elsewhere. `spiky_logprobs` draws that for a token sequence at the
network's frame rate (100 frames/s subsampled by 3: one frame per 30 ms), with
Gaussian logit noise and a chance that a spike goes to a wrong unit, so the
greedy output has errors that a graph with an LM can fix.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

FRAME_SHIFT_S = 0.03   # one output frame per 30 ms (10 ms features, subsampling 3)


def spiky_logprobs(token_ids: Sequence[int], num_outputs: int, rng: np.random.Generator,
                   mean_frames: float = 2.7, peak: float = 7.0, noise: float = 1.0,
                   sub_prob: float = 0.1, lead_frames: int = 5) -> np.ndarray:
    """(T, num_outputs) float32 log-probabilities; column 0 blank, token id t at column t - 1.

    Each token gets 1 + Poisson(mean_frames - 1) frames: one spike (its column
    raised by `peak`, or with `sub_prob` a random unit's), then blanks;
    `lead_frames` blank frames before and after the utterance.
    """
    if num_outputs < 2:
        raise ValueError("num_outputs counts blank and at least one unit")
    cols = []
    for t in token_ids:
        c = t - 1
        if not 1 <= c < num_outputs:
            raise ValueError(f"token id {t} is not a unit of a {num_outputs}-output network")
        d = 1 + rng.poisson(max(mean_frames - 1.0, 0.0))
        if rng.random() < sub_prob:
            c = int(rng.integers(1, num_outputs))
        cols += [c] + [0] * (d - 1)
    cols = [0] * lead_frames + cols + [0] * lead_frames
    # a repeated unit must have a blank between its spikes, or CTC reads one unit
    fixed = []
    for c in cols:
        if fixed and c != 0 and fixed[-1] == c:
            fixed.append(0)
        fixed.append(c)
    n = len(fixed)
    logits = rng.normal(0.0, noise, size=(n, num_outputs)).astype(np.float32)
    logits[np.arange(n), fixed] += peak
    logits -= logits.max(axis=1, keepdims=True)
    return (logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))).astype(np.float32)
