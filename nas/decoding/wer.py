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
    missing: List[str] = field(default_factory=list)     # reference utterances with no hypothesis
    extra: List[str] = field(default_factory=list)       # hypotheses with no reference (never scored)
    mode: str = "all"                                    # how `missing` were scored (see MODES)
    partial_list: str = ""                               # the file that names them, for the note

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

    def partial_note(self) -> str:
        """'' when every reference and every hypothesis was scored; else what was not, e.g.
        'over 9 of 12 utterances (PARTIAL: 3 without hypothesis, not scored; see F)'."""
        if not self.missing and not self.extra:
            return ""
        n_ref = self.sentences + (len(self.missing) if self.mode == "present" else 0)
        parts = []
        if self.missing:
            how = "scored as all deletions" if self.mode == "all" else "not scored"
            parts.append(f"{len(self.missing)} without hypothesis, {how}")
        if self.extra:
            n = len(self.extra)
            parts.append(f"{n} {'hypothesis' if n == 1 else 'hypotheses'} without reference, not scored")
        parts.append(f"see {self.partial_list}" if self.partial_list else "named on stderr")
        over = f"{self.sentences} of {n_ref}" if self.sentences != n_ref else f"{n_ref}"
        return f"over {over} utterances (PARTIAL: {'; '.join(parts)})"

    def wer_line(self, name: str = "") -> str:
        """Kaldi's %WER line; a partial score says so before the name (utils/best_wer.sh and
        steps/report_wer.sh carry the mark to best_wer and RESULTS)."""
        s = (f"%WER {self.wer:.2f} [ {self.errors} / {self.ref_words}, {self.ins} ins, "
             f"{self.dels} del, {self.subs} sub ]")
        note = self.partial_note()
        return " ".join(x for x in (s, note, name) if x)

    def scored_line(self) -> str:
        """Kaldi's third line."""
        return f"Scored {self.sentences} sentences, {len(self.missing)} not present in hyp."

    def partial_lines(self) -> List[str]:
        """'<utt> no-hypothesis' / '<utt> no-reference' for the partial list file."""
        return [f"{u} no-hypothesis" for u in self.missing] + [f"{u} no-reference" for u in self.extra]

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


# What a reference utterance without a hypothesis counts for, as Kaldi's compute-wer --mode:
# all (our default): all deletions, so a decode that lost utterances cannot look better;
# present (Kaldi's local/score.sh): not scored, the WER is over the others; strict: an error.
MODES = ("all", "present", "strict")


def score(refs: Dict[str, List[str]], hyps: Dict[str, List[str]], costs: Tuple[int, int, int] = UNIT_COSTS,
          mode: str = "all") -> Tuple[ErrorCounts, List[UttAlignment]]:
    """Score the reference utterances (sorted) with their hypotheses; `mode` (MODES) says what a
    missing hypothesis counts for. Missing and extra utterances are recorded in the counts, whose
    %WER line then says PARTIAL."""
    if mode not in MODES:
        raise ValueError(f"scoring mode must be one of {', '.join(MODES)}, not {mode!r}")
    counts = ErrorCounts(mode=mode, extra=sorted(set(hyps) - set(refs)))
    details: List[UttAlignment] = []
    for utt in sorted(refs):
        hyp = hyps.get(utt)
        if hyp is None:
            counts.missing.append(utt)
            if mode != "all":
                continue
            hyp = []
        pairs = align(refs[utt], hyp, costs)
        details.append(UttAlignment(utt, pairs, counts.add(pairs)))
    if mode == "strict" and counts.missing:
        raise ValueError(f"{len(counts.missing)} reference utterances have no hypothesis (--mode strict): "
                         f"{' '.join(counts.missing[:10])}{' ...' if len(counts.missing) > 10 else ''}")
    return counts, details


def partial_warnings(counts: ErrorCounts, ref: str, hyp: str) -> List[str]:
    """What a partial score left out or counted as deletions, naming the utterances (for stderr)."""
    def some(utts: List[str]) -> str:
        return " ".join(utts[:10]) + (" ..." if len(utts) > 10 else "")
    out = []
    if counts.missing:
        how = "counted as deletions" if counts.mode == "all" else "not scored"
        out.append(f"{len(counts.missing)} utterances of {ref} have no hypothesis in {hyp} ({how}): "
                   f"{some(counts.missing)}")
    if counts.extra:
        out.append(f"{len(counts.extra)} hypotheses of {hyp} have no reference in {ref} (not scored): "
                   f"{some(counts.extra)}")
    return out


def normalize(words: Sequence[str], remove: Iterable[str] = ()) -> List[str]:
    """Drop the words in `remove` (e.g. noise tokens) before scoring."""
    drop = set(remove)
    return [w for w in words if w not in drop] if drop else list(words)
