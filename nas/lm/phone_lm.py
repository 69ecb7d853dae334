"""A phone (token) n-gram LM with a bounded set of history states, for the CTC-CRF denominator.

Why not a standard backoff LM: its FST needs epsilon backoff arcs, and removing
them by determinization explodes in memory. Like Kaldi's chain phone LM, this
model keeps every history of length <= `no_prune_order` - 1 that occurs in the
data, plus at most `num_extra_states` longer ones (the most frequent), and gives
each kept history a full distribution over all tokens and end-of-sentence. The
FST is then epsilon-free: one arc per (state, token), to the longest kept suffix
of the extended history, so its size is predictable (states x tokens).

Smoothing is interpolated Witten-Bell down to a uniform distribution, so every
state's probabilities (arcs plus final) sum to one.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np

History = Tuple[int, ...]
BOS = -1   # internal ids of the sentence boundaries, never FST labels
EOS = -2


@dataclass
class PhoneLMArrays:
    """The LM as an epsilon-free acceptor: arrays of arcs (natural-log probabilities)."""
    num_states: int
    start: int
    src: np.ndarray       # (A,) int32
    label: np.ndarray     # (A,) int32, token ids
    dst: np.ndarray       # (A,) int32
    logp: np.ndarray      # (A,) float64
    final_logp: np.ndarray  # (S,) float64


class PhoneLM:
    """Estimate with `PhoneLM.estimate(sequences, tokens)`; score with `log_prob(seq)`."""

    def __init__(self, order: int, tokens: Sequence[int], histories: List[History],
                 dists: Dict[History, Dict[int, float]], seen: Dict[History, List[int]]):
        self.order = order
        self.seen = seen                      # history -> outcomes observed after it
        self.tokens = list(tokens)
        self.histories = histories            # state i has history histories[i]
        self.index = {h: i for i, h in enumerate(histories)}
        self.dists = dists                    # history -> {token or EOS: probability}

    @classmethod
    def estimate(cls, sequences: Iterable[Sequence[int]], tokens: Sequence[int], order: int = 4,
                 no_prune_order: int = 3, num_extra_states: int = 1000) -> "PhoneLM":
        """Count n-grams of `sequences` (lists of token ids) and build the bounded-history model.

        tokens: the full token inventory (ids > 0); unseen ones still get probability mass.
        """
        if order < 1 or no_prune_order < 1:
            raise ValueError("order and no_prune_order must be >= 1")
        no_prune_order = min(no_prune_order, order)
        vocab = sorted(set(tokens))
        if not vocab or vocab[0] <= 0:
            raise ValueError("tokens must be positive ids")
        vocab_set = set(vocab)
        counts: Dict[History, Counter] = defaultdict(Counter)   # history -> next-token counts
        n_seq = 0
        for lineno, seq in enumerate(sequences, 1):
            seq = list(seq)
            bad = [t for t in seq if t not in vocab_set]
            if bad:
                raise ValueError(f"sequence {lineno}: token id {bad[0]} is not in the token inventory")
            n_seq += 1
            padded = [BOS] + seq + [EOS]
            for i in range(1, len(padded)):
                for k in range(0, order):
                    if i - k < 0:
                        break
                    counts[tuple(padded[i - k:i])][padded[i]] += 1
        if n_seq == 0:
            raise ValueError("no training sequences")

        # kept histories: all of length < no_prune_order, plus the most frequent longer ones
        short = [h for h in counts if len(h) < no_prune_order]
        long_ = [h for h in counts if len(h) >= no_prune_order]
        long_.sort(key=lambda h: (-sum(counts[h].values()), h))
        kept = set(short) | set(long_[:num_extra_states])
        # a kept history's suffixes must be kept too (they are, for observed short histories;
        # enforce it for the long ones so that backing off always lands on a state)
        for h in list(kept):
            for k in range(1, len(h)):
                kept.add(h[k:])
        kept.add(())
        # State numbers follow the reversed history, so that histories sharing their recent
        # tokens are neighbours: the states that reach a common successor are then contiguous,
        # which keeps the loss kernels' memory accesses local.
        histories = sorted(kept, key=lambda h: h[::-1])

        outcomes = vocab + [EOS]
        uniform = 1.0 / len(outcomes)
        dists: Dict[History, Dict[int, float]] = {}
        for h in sorted(histories, key=len):  # shorter first: the lower order is ready when needed
            c = counts.get(h, Counter())
            total, distinct = sum(c.values()), len(c)
            lower = dists[h[1:]] if h else None
            denom = total + distinct
            d = {}
            for w in outcomes:
                base = lower[w] if lower is not None else uniform
                d[w] = (c.get(w, 0) + distinct * base) / denom if denom > 0 else base
            dists[h] = d
        seen = {h: sorted(counts[h], key=lambda w: (w == EOS, w)) for h in histories if h in counts}
        return cls(order, vocab, histories, dists, seen)

    @property
    def start_history(self) -> History:
        return (BOS,) if (BOS,) in self.index else ()

    def next_history(self, h: History, w: int) -> History:
        """The longest kept suffix of h + (w,), at most order - 1 long."""
        ext = (h + (w,))[-(self.order - 1):] if self.order > 1 else ()
        while ext not in self.index:
            ext = ext[1:]
        return ext

    def log_prob(self, seq: Sequence[int]) -> float:
        """Natural-log probability of a whole sequence, end-of-sentence included."""
        h, total = self.start_history, 0.0
        for w in seq:
            total += math.log(self.dists[h][w])
            h = self.next_history(h, w)
        return total + math.log(self.dists[h][EOS])

    def to_arrays(self) -> PhoneLMArrays:
        src, label, dst, logp = [], [], [], []
        final = np.empty(len(self.histories))
        for i, h in enumerate(self.histories):
            d = self.dists[h]
            for w in self.tokens:
                src.append(i)
                label.append(w)
                dst.append(self.index[self.next_history(h, w)])
                logp.append(math.log(d[w]))
            final[i] = math.log(d[EOS])
        return PhoneLMArrays(len(self.histories), self.index[self.start_history],
                             np.array(src, np.int32), np.array(label, np.int32), np.array(dst, np.int32),
                             np.array(logp, np.float64), final)

    def write_arpa(self, path: str, symbols: Optional[Dict[int, str]] = None) -> None:
        """ARPA rendering for inspection: each kept history's seen continuations, with
        backoff weights so that a backoff reader gives the same probabilities."""
        name = (lambda t: "<s>" if t == BOS else "</s>" if t == EOS else (symbols or {}).get(t, str(t)))
        by_order: Dict[int, List[str]] = defaultdict(list)
        # unigrams: every token, </s>, and <s> (never predicted)
        u = self.dists[()]
        bows = {h: self._backoff_weight(h) for h in self.histories if h}
        by_order[1].append(f"-99\t<s>\t{math.log10(bows[(BOS,)]) if (BOS,) in bows else 0.0:.6f}")
        for w in self.tokens + [EOS]:
            bow = bows.get((w,))
            by_order[1].append(f"{math.log10(u[w]):.6f}\t{name(w)}" + (f"\t{math.log10(bow):.6f}" if bow else ""))
        for h in self.histories:
            if not h:
                continue
            for w in self._seen_after(h):
                ng = h + (w,)
                bow = bows.get(ng)
                by_order[len(ng)].append(f"{math.log10(self.dists[h][w]):.6f}\t{' '.join(map(name, ng))}"
                                         + (f"\t{math.log10(bow):.6f}" if bow else ""))
        with open(path, "w") as f:
            f.write("\\data\\\n")
            for k in sorted(by_order):
                f.write(f"ngram {k}={len(by_order[k])}\n")
            for k in sorted(by_order):
                f.write(f"\n\\{k}-grams:\n" + "\n".join(by_order[k]) + "\n")
            f.write("\n\\end\\\n")

    # --- helpers for the ARPA rendering
    def _seen_after(self, h: History) -> List[int]:
        return self.seen.get(h, [])

    def _backoff_weight(self, h: History) -> float:
        if h not in self.index:
            return 1.0
        seen = self._seen_after(h)
        lower = self.dists[h[1:]] if h else None
        if lower is None:
            return 1.0
        num = 1.0 - sum(self.dists[h][w] for w in seen)
        den = 1.0 - sum(lower[w] for w in seen)
        return num / den if den > 0 else 1.0
