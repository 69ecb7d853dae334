"""How decided a search left each block: entropy relative to the uniform distribution, and margin.

A search's final probabilities say which candidate it would pick (the top-1) and how sure it is.
Two numbers per block, the same for every method, so that runs can be compared and an undecided
pick is not read as a finding:

- relative entropy H(pi) / log K: 1 for the uniform distribution over K candidates, 0 for a
  one-hot one (a block of one candidate is decided: 0);
- margin: the top-1 probability minus the top-2 one (1 for a one-hot, 0 for a tie).

A block is *decided* when its relative entropy is below a threshold (DECIDED_ENTROPY by default),
and a search has *converged* when every block is decided (docs/nas.md, "Convergence").
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping, Sequence

DECIDED_ENTROPY = 0.5      # the default threshold of a decided block


def relative_entropy(probs: Sequence[float]) -> float:
    """H(p) / log K in [0, 1]; the probabilities are renormalized (arch.json rounds them)."""
    total = float(sum(probs))
    if len(probs) < 2 or total <= 0:
        return 0.0
    h = -sum((p / total) * math.log(p / total) for p in probs if p > 0)
    return min(1.0, max(0.0, h / math.log(len(probs))))


def margin(probs: Sequence[float]) -> float:
    """The top-1 probability minus the top-2 one (1.0 for a single candidate)."""
    top = sorted((float(p) for p in probs), reverse=True)
    return top[0] - top[1] if len(top) > 1 else 1.0


def decisions(probs: Mapping[str, Mapping[str, float]]) -> Dict[str, Dict[str, float]]:
    """Per block (arch.json's "probs" layout): {"rel_entropy": ..., "margin": ...}, rounded to 4 places."""
    return {b: {"rel_entropy": round(relative_entropy(list(p.values())), 4),
                "margin": round(margin(list(p.values())), 4)} for b, p in probs.items()}


def undecided(decided: Mapping[str, Mapping[str, float]], threshold: float = DECIDED_ENTROPY) -> List[str]:
    """The blocks whose relative entropy is not below `threshold`, in order."""
    return [b for b, d in decided.items() if d["rel_entropy"] >= threshold]
