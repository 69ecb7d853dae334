"""Per-speaker CMVN statistics in Kaldi's layout.

A stats matrix is 2 x (D+1): row 0 holds the per-dimension sums and the frame
count in the last column, row 1 the sums of squares (last column 0).
"""
from __future__ import annotations

from typing import Iterable, Optional

import kaldi_native_fbank as knf
import numpy as np


def accumulate(feats_list: Iterable[np.ndarray]) -> Optional[np.ndarray]:
    """Sum the stats of several utterances (float64); None when there are none."""
    total: Optional[np.ndarray] = None
    for feats in feats_list:
        stats = knf.compute_cmvn_stats(np.ascontiguousarray(feats, dtype=np.float32))
        total = stats if total is None else total + stats
    return total


def apply_cmvn(feats: np.ndarray, stats: np.ndarray, norm_vars: bool = True) -> np.ndarray:
    """Normalize with stats: subtract the mean, and divide by the standard deviation if norm_vars."""
    opts = knf.CmvnOptions()
    opts.norm_vars = norm_vars
    return knf.apply_cmvn(np.asarray(stats, dtype=np.float64), opts,
                          np.ascontiguousarray(feats, dtype=np.float32))
