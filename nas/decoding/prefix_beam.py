"""CTC prefix beam search without an LM (Graves 2012; Hannun et al. 2014).

NAS-Bench-ASR scores its TIMIT models by the PER of a prefix beam search of width 12
(ctcdecode's CTCBeamDecoder without an LM), not of the best path: a labeling's probability
is the sum over all its frame alignments, and the most probable labeling can differ from
the collapsed best path. This module gives that search so our numbers can be compared.

Per prefix (a labeling so far) it keeps log P_blank and log P_nonblank, the probability of
the frames so far over the alignments of that prefix ending in blank or in its last unit.
Each frame, every prefix either stays (a blank, or its last unit repeated) or is extended by
a unit; an extension by the prefix's own last unit only comes from its blank-ending mass
(`a a` collapses to `a`, `a - a` is `a a`). Identical prefixes are merged by adding their
probabilities, and the `beam` most probable prefixes (P_blank + P_nonblank) are kept.
Everything is in log space; the extensions of all prefixes by all units are one numpy
matrix per frame, so the Python work per frame is O(beam).

By default every unit is tried at every frame (exact prefix beam search). `cutoff_top_n`
restricts each frame to its n most probable outputs (blank included), as ctcdecode's
option of that name does (ctcdecode's default is 40; with cutoff_prob=1.0 it adds no other
pruning); None, the default here, tries them all.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import numpy as np

NEG_INF = -np.inf


def _check(logprobs: np.ndarray, beam: int, cutoff_top_n: Optional[int]) -> np.ndarray:
    x = np.asarray(logprobs, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"log-probabilities must be a (frames, outputs) matrix, got shape {x.shape}")
    if x.shape[1] == 0:
        raise ValueError("log-probabilities have no columns; column 0 must be blank")
    bad = ~np.isfinite(x)
    if bad.any():
        t, v = np.argwhere(bad)[0]
        raise ValueError(f"log-probabilities must be finite; frame {t}, column {v} is {x[t, v]} "
                         f"({int(bad.sum())} non-finite values in all)")
    if isinstance(beam, bool) or not isinstance(beam, (int, np.integer)) or beam < 1:
        raise ValueError(f"beam must be a positive integer, got {beam!r}")
    if cutoff_top_n is not None and (isinstance(cutoff_top_n, bool)
                                     or not isinstance(cutoff_top_n, (int, np.integer)) or cutoff_top_n < 1):
        raise ValueError(f"cutoff_top_n must be a positive integer or None, got {cutoff_top_n!r}")
    return x


def prefix_beam_nbest(logprobs: np.ndarray, beam: int = 12,
                      cutoff_top_n: Optional[int] = None) -> List[Tuple[List[int], float]]:
    """The final beam, best first: (token ids = column + 1, log P(labeling)) pairs.

    With a beam that never prunes (at least the number of distinct labelings) each score is
    the exact log probability of its labeling, summed over all its alignments.
    """
    x = _check(logprobs, beam, cutoff_top_n)
    n_frames, v = x.shape
    if cutoff_top_n is not None and cutoff_top_n < v:
        # keep each frame's cutoff_top_n best outputs (ties: the lower column), the others impossible
        order = np.argsort(-x, axis=1, kind="stable")
        pruned = np.full_like(x, NEG_INF)
        keep = order[:, :cutoff_top_n]
        rows = np.arange(n_frames)[:, None]
        pruned[rows, keep] = x[rows, keep]
        x = pruned
    prefixes: List[Tuple[int, ...]] = [()]          # units as columns 1..V-1
    pb = np.array([0.0])                            # log P(prefix, alignment ends in blank)
    pnb = np.array([NEG_INF])                       # log P(prefix, alignment ends in its last unit)
    last = np.array([-1])                           # last column of each prefix, -1 for the empty one
    for t in range(n_frames):
        lp = x[t]
        units = lp[1:]                              # (V-1,)
        total = np.logaddexp(pb, pnb)
        has_last = last > 0
        stay_pb = total + lp[0]
        stay_pnb = np.where(has_last, pnb + lp[np.maximum(last, 0)], NEG_INF)
        # extensions: prefix i by column c+1; by its own last unit only from the blank-ending mass
        ext = total[:, None] + units[None, :]
        rows = np.nonzero(has_last)[0]
        if len(rows):
            ext[rows, last[rows] - 1] = pb[rows] + units[last[rows] - 1]
        # an extension that gives a prefix already in the beam is merged into that prefix's stay
        index: Dict[Tuple[int, ...], int] = {p: i for i, p in enumerate(prefixes)}
        for i, p in enumerate(prefixes):
            if p:
                j = index.get(p[:-1])
                if j is not None:
                    stay_pnb[i] = np.logaddexp(stay_pnb[i], ext[j, p[-1] - 1])
                    ext[j, p[-1] - 1] = NEG_INF
        n = len(prefixes)
        scores = np.concatenate([np.logaddexp(stay_pb, stay_pnb), ext.ravel()])
        chosen = np.argsort(-scores, kind="stable")[:beam]     # ties: stays first, then row-major
        chosen = chosen[scores[chosen] > NEG_INF]
        new_prefixes: List[Tuple[int, ...]] = []
        new_pb = np.empty(len(chosen))
        new_pnb = np.empty(len(chosen))
        new_last = np.empty(len(chosen), dtype=np.int64)
        for k, c in enumerate(chosen.tolist()):
            if c < n:
                new_prefixes.append(prefixes[c])
                new_pb[k], new_pnb[k], new_last[k] = stay_pb[c], stay_pnb[c], last[c]
            else:
                i, u = divmod(c - n, v - 1)
                new_prefixes.append(prefixes[i] + (u + 1,))
                new_pb[k], new_pnb[k], new_last[k] = NEG_INF, ext[i, u], u + 1
        prefixes, pb, pnb, last = new_prefixes, new_pb, new_pnb, new_last
    total = np.logaddexp(pb, pnb)
    order = np.argsort(-total, kind="stable")
    return [([u + 1 for u in prefixes[k]], float(total[k])) for k in order.tolist()]


def prefix_beam_search(logprobs: np.ndarray, beam: int = 12, cutoff_top_n: Optional[int] = None) -> List[int]:
    """Token ids (column + 1) of the best labeling that a prefix beam search of width `beam`
    finds in a (T, V) log-probability matrix whose column 0 is blank."""
    return prefix_beam_nbest(logprobs, beam, cutoff_top_n)[0][0]
