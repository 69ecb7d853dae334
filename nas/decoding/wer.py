"""Word (or token) error rates: alignments, counts and Kaldi's %WER / %SER lines.

The default costs (insertion 1, deletion 1, substitution 1) give the plain edit
distance, as Kaldi's compute-wer; among alignments of equal cost the backtrace
prefers a match or substitution to an insertion or deletion. `SCLITE_COSTS`
(3, 3, 4) are sclite's weights: they minimise 3 (I + D) + 4 S, which can pick a
different split of the errors, or occasionally more errors, than the plain edit
distance (docs/decoding.md has an example).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

EPS = "***"
UNIT_COSTS = (1, 1, 1)      # insertion, deletion, substitution
SCLITE_COSTS = (3, 3, 4)

Pair = Tuple[Optional[str], Optional[str]]   # (ref word or None, hyp word or None)


def align(ref: Sequence[str], hyp: Sequence[str], costs: Tuple[int, int, int] = UNIT_COSTS) -> List[Pair]:
    """A minimum-cost alignment of `ref` and `hyp` as (ref, hyp) pairs; None marks the gap."""
    ci, cd, cs = costs
    n, m = len(ref), len(hyp)
    # cost[i][j]: aligning ref[:i] with hyp[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for j in range(1, m + 1):
        cost[0][j] = j * ci
    for i in range(1, n + 1):
        cost[i][0] = i * cd
        ri = ref[i - 1]
        prev, row = cost[i - 1], cost[i]
        for j in range(1, m + 1):
            diag = prev[j - 1] + (0 if ri == hyp[j - 1] else cs)
            dele = prev[j] + cd
            ins = row[j - 1] + ci
            row[j] = min(diag, dele, ins)
    pairs: List[Pair] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (0 if ref[i - 1] == hyp[j - 1] else cs):
            pairs.append((ref[i - 1], hyp[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + cd:
            pairs.append((ref[i - 1], None))
            i -= 1
        else:
            pairs.append((None, hyp[j - 1]))
            j -= 1
    pairs.reverse()
    return pairs


def op(pair: Pair) -> str:
    """'C', 'S', 'I' or 'D' for one aligned pair."""
    r, h = pair
    if r is None:
        return "I"
    if h is None:
        return "D"
    return "C" if r == h else "S"


@dataclass
class ErrorCounts:
    ref_words: int = 0
    corr: int = 0
    ins: int = 0
    dels: int = 0
    subs: int = 0
    sentences: int = 0
    sent_errors: int = 0
    missing: List[str] = field(default_factory=list)     # utterances with no hypothesis

    @property
    def errors(self) -> int:
        return self.ins + self.dels + self.subs

    @property
    def wer(self) -> float:
        """Percent; 0 when there are no reference words and no errors, inf with errors."""
        if self.ref_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return 100.0 * self.errors / self.ref_words

    @property
    def ser(self) -> float:
        return 100.0 * self.sent_errors / self.sentences if self.sentences else 0.0

    def add(self, pairs: Iterable[Pair]) -> Dict[str, int]:
        """Count one utterance's alignment; returns its own C/S/I/D counts."""
        c = {"C": 0, "S": 0, "I": 0, "D": 0}
        for p in pairs:
            c[op(p)] += 1
        self.corr += c["C"]
        self.subs += c["S"]
        self.ins += c["I"]
        self.dels += c["D"]
        self.ref_words += c["C"] + c["S"] + c["D"]
        self.sentences += 1
        if c["S"] + c["I"] + c["D"]:
            self.sent_errors += 1
        return c

    def wer_line(self, name: str = "") -> str:
        s = (f"%WER {self.wer:.2f} [ {self.errors} / {self.ref_words}, {self.ins} ins, "
             f"{self.dels} del, {self.subs} sub ]")
        return f"{s} {name}" if name else s

    def ser_line(self) -> str:
        return f"%SER {self.ser:.2f} [ {self.sent_errors} / {self.sentences} ]"


@dataclass
class UttAlignment:
    utt: str
    pairs: List[Pair]
    counts: Dict[str, int]

    def detail_lines(self) -> List[str]:
        """Kaldi's per-utterance lines: ref, hyp, op (aligned with ***), #csid."""
        ref = " ".join(r if r is not None else EPS for r, _ in self.pairs)
        hyp = " ".join(h if h is not None else EPS for _, h in self.pairs)
        ops = " ".join(op(p) for p in self.pairs)
        c = self.counts
        return [f"{self.utt} ref  {ref}".rstrip(), f"{self.utt} hyp  {hyp}".rstrip(),
                f"{self.utt} op   {ops}".rstrip(), f"{self.utt} #csid {c['C']} {c['S']} {c['I']} {c['D']}"]


def score(refs: Dict[str, List[str]], hyps: Dict[str, List[str]],
          costs: Tuple[int, int, int] = UNIT_COSTS) -> Tuple[ErrorCounts, List[UttAlignment]]:
    """Score every reference utterance (sorted); a missing hypothesis counts as all deletions."""
    counts = ErrorCounts()
    details: List[UttAlignment] = []
    for utt in sorted(refs):
        hyp = hyps.get(utt)
        if hyp is None:
            counts.missing.append(utt)
            hyp = []
        pairs = align(refs[utt], hyp, costs)
        details.append(UttAlignment(utt, pairs, counts.add(pairs)))
    return counts, details


def normalize(words: Sequence[str], remove: Iterable[str] = ()) -> List[str]:
    """Drop the words in `remove` (e.g. noise tokens) before scoring."""
    drop = set(remove)
    return [w for w in words if w not in drop] if drop else list(words)
