"""LM rescoring of a first pass's n-best lists: its LM out, a larger LM in, the LM-weight sweep after.

The first pass (steps/decode.sh --nbest N, mode lattice) keeps each utterance's N best distinct
word sequences of its lattice (nas.decoding.wfst.WfstDecoder.nbest), one line each:

    <utt> <rank> <graph-cost> <acoustic-cost> <word-id> ...

graph-cost is the TLG path's cost (the first-pass LM's -ln probability, as G holds it: ARPA
log10 probabilities times -ln 10), acoustic-cost is -sum log p of the path (unscaled), rank counts
from 1 in the order of the lattice pass's total cost. The same three numbers per hypothesis as
Kaldi's lattice-to-nbest | nbest-to-linear (its lm-costs, ac-costs and words), in one file.

Rescoring replaces, per hypothesis, the old LM's cost of the word sequence by the new LM's:

    graph' = graph - C_old(words) + C_new(words),  C(words) = -ln 10 * sum log10 p(w | h)

(with </s>; ARPA probabilities with back-off, as Kaldi's lmrescore_const_arpa.sh gets from a
ConstArpaLm), then for each LM weight w picks the hypothesis minimising w * graph' + acwt * am.
C_old is computed from the first pass's ARPA file as well, so the difference is exact where the
decoder's path through G is the ARPA's back-off path (G's epsilon back-off arcs may give a word
sequence a cheaper path than the ARPA's; Kaldi subtracts through G itself). A word the LM does not
know is scored as its unknown word (<unk>) if it has one, else left out of that LM's cost.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Sequence, TextIO, Tuple

from nas.lm.arpa import validate_arpa

LN10 = math.log(10.0)


@dataclass
class NbestEntry:
    utt: str
    rank: int
    graph_cost: float
    am_cost: float
    words: List[int]


def write_nbest(f: TextIO, utt: str, hyps: Iterable) -> int:
    """One line per hypothesis (objects with words, graph_cost, am_cost); returns how many."""
    n = 0
    for n, h in enumerate(hyps, 1):
        f.write(" ".join([utt, str(n), f"{h.graph_cost:.6g}", f"{h.am_cost:.6g}"] + [str(w) for w in h.words]) + "\n")
    return n


def read_nbest(path: Path) -> Iterator[List[NbestEntry]]:
    """The n-best list of each utterance, in file order (an utterance's lines are together)."""
    group: List[NbestEntry] = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            p = line.split()
            if not p:
                continue
            try:
                e = NbestEntry(p[0], int(p[1]), float(p[2]), float(p[3]), [int(w) for w in p[4:]])
            except (IndexError, ValueError):
                raise ValueError(f"{path}:{lineno}: not '<utt> <rank> <graph-cost> <acoustic-cost> <word-id>...': "
                                 f"{line.strip()[:120]!r}") from None
            if group and e.utt != group[0].utt:
                yield group
                group = []
            group.append(e)
    if group:
        yield group


class ArpaScorer:
    """-ln probability of word sequences under an ARPA LM (kaldingram's parser, back-off included)."""

    def __init__(self, arpa: Path, unk: str = "<unk>"):
        from kaldingram.prune import ArpaParser
        self.path = Path(arpa)
        validate_arpa(self.path)            # kaldingram stops on a corrupt number with a bare "Exception: -2.18x"
        self.lm = ArpaParser().loadf(str(arpa), encoding="utf-8")[0]
        self.order = self.lm.order()
        self.unk = unk if self.lm.contains_word(unk) else None
        self.unknown = 0                     # words scored as <unk> or left out, over all calls

    def cost(self, words: Sequence[str]) -> float:
        ctx: Tuple[str, ...] = ("<s>",)
        log10 = 0.0
        for w in list(words) + ["</s>"]:
            if w != "</s>" and not self.lm.contains_word(w):
                self.unknown += 1
                if self.unk is None:
                    ctx = ()                 # a history with an unknown word backs off past it
                    continue
                w = self.unk
            log10 += self.lm.log_p_raw((ctx + (w,))[-self.order:])
            ctx = (ctx + (w,))[-(self.order - 1):] if self.order > 1 else ()
        return -LN10 * log10


def rescore(entries: Sequence[NbestEntry], old: ArpaScorer, new: ArpaScorer,
            words: Dict[int, str]) -> List[Tuple[NbestEntry, float]]:
    """(entry, rescored graph cost) for each hypothesis of one utterance."""
    out = []
    for e in entries:
        text = [words[w] for w in e.words]
        out.append((e, e.graph_cost - old.cost(text) + new.cost(text)))
    return out


def best_per_weight(scored: Sequence[Tuple[NbestEntry, float]], weights: Sequence[float],
                    acwt: float = 1.0) -> Dict[float, List[int]]:
    """The word ids minimising w * graph + acwt * am, per LM weight w (empty for no hypotheses)."""
    out: Dict[float, List[int]] = {}
    for w in weights:
        best = min(scored, key=lambda t: w * t[1] + acwt * t[0].am_cost, default=None)
        out[w] = best[0].words if best is not None else []
    return out
