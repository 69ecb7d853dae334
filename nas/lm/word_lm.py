"""Word n-gram LMs for corpora that ship none: Kneser-Ney ARPA with kaldingram, pruning, perplexity.

kaldingram reproduces SRILM's `ngram-count -ukndiscount` (interpolated-free,
backoff Kneser-Ney) and SRILM's entropy pruning (`ngram -prune`). Training text
words outside the vocabulary (the lexicon's words) are mapped to the OOV word
first, so that G only has words the lexicon can spell. Given the vocabulary,
the LM also has every word of it that the text lacks (SRILM's `-vocab`, as
Kaldi's swbd1_train_lms.sh uses it), or G could never emit those words.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from nas.lm.arpa import validate_arpa

if TYPE_CHECKING:
    from kaldingram.train import NgramCounts

PathLike = Union[str, Path]


@dataclass
class Perplexity:
    sentences: int
    words: int
    oov: int               # words not in the LM's vocabulary (excluded, as SRILM does)
    logprob10: float       # total log10 probability of the scored words and </s>
    ppl: float             # per word including </s>
    ppl1: float            # per word excluding </s>

    def report(self, name: str) -> str:
        return (f"{name}: {self.sentences} sentences, {self.words} words, {self.oov} of them not in the LM "
                f"(not scored); logprob= {self.logprob10:.2f} ppl= {self.ppl:.2f} ppl1= {self.ppl1:.2f}")


def map_oov(sentences: Iterable[Sequence[str]], vocab: Optional[Set[str]], oov_word: Optional[str]
            ) -> Tuple[List[List[str]], Counter]:
    """Replace words not in `vocab` by `oov_word` (None: drop them); returns the sentences and OOV counts."""
    out: List[List[str]] = []
    oov: Counter = Counter()
    for s in sentences:
        if vocab is None:
            out.append(list(s))
            continue
        row = []
        for w in s:
            if w in vocab:
                row.append(w)
            else:
                oov[w] += 1
                if oov_word is not None:
                    row.append(oov_word)
        out.append(row)
    return out, oov


def _kn_discount(n1: int, n2: int) -> float:
    """Kneser-Ney's D = n1 / (n1 + 2 n2) from counts of counts, guarded as kaldingram's."""
    return max(0.1, float(n1)) / (n1 + 2 * n2) if n1 + 2 * n2 else 0.1


def add_zerotons(counts: "NgramCounts", vocab: Iterable[str]) -> Tuple[int, float]:
    """Give the words of `vocab` the text lacks (zerotons) unigram probability, as SRILM's
    `ngram-count -vocab` does: the seen unigrams are discounted by Kneser-Ney's D (kaldingram leaves
    them undiscounted, assuming every word seen) and the mass freed is shared evenly by the zerotons.
    To run between cal_f and cal_bow, so that the back-off weights see the new unigrams.
    Returns (number of zerotons, mass they share)."""
    uni = counts.counts[0][()]
    zerotons = sorted(set(vocab) - set(uni.word_to_count) - {counts.bos_symbol, counts.eos_symbol})
    if not zerotons:
        return 0, 0.0
    modified = {w: len(uni.word_to_context.get(w, ())) for w in uni.word_to_count}
    of_count = Counter(modified.values())
    d = _kn_discount(of_count[1], of_count[2])
    total = sum(modified.values())
    for w, c in modified.items():
        uni.word_to_f[w] = max(c - d, 0.0) / total
    mass = 1.0 - sum(uni.word_to_f.values())
    for w in zerotons:
        uni.word_to_count[w] = 0
        uni.word_to_f[w] = mass / len(zerotons)
    return len(zerotons), mass


def train_arpa(sentences: Iterable[Sequence[str]], order: int, out_arpa: PathLike,
               min_counts: Sequence[int] = (), vocab: Optional[Iterable[str]] = None) -> Dict[int, int]:
    """Estimate a Kneser-Ney `order`-gram LM and write it as ARPA; returns {n: number of n-grams}.

    min_counts[n-1]: n-grams seen fewer times are dropped (SRILM's -gtNmin), 0 keeps all.
    vocab: every one of these words gets a unigram, those unseen sharing the mass discounted from
    the seen ones (add_zerotons); None: the words of the text only.
    """
    from kaldingram.train import NgramCounts

    if not 1 <= order <= 5:
        raise ValueError(f"order must be 1..5, not {order}")
    counts = NgramCounts(order)
    n = 0
    for s in sentences:
        if s:
            counts.add_raw_counts_from_line(" ".join(s))
            n += 1
    if n == 0:
        raise ValueError("no training sentences for the word LM")
    gtmin = list(min_counts[:order]) + [0] * (order - len(min_counts[:order]))
    if any(gtmin):
        counts.apply_count_cutoffs(gtmin)
    counts.cal_discounting_constants()
    counts.cal_f()
    if vocab is not None:
        add_zerotons(counts, vocab)
    counts.cal_bow()
    with open(out_arpa, "w", encoding="utf-8") as f:
        counts.print_as_arpa(fout=f)
    return arpa_counts(out_arpa)


def prune_arpa(in_arpa: PathLike, out_arpa: PathLike, threshold: float, min_order: int = 2) -> Dict[int, int]:
    """Entropy-prune (relative perplexity change below `threshold`) n-grams of order >= min_order."""
    from kaldingram.prune import ArpaParser, prune

    validate_arpa(in_arpa)
    parser = ArpaParser()
    lm = parser.loadf(str(in_arpa), encoding="utf-8")[0]
    prune(lm, threshold, min_order)
    parser.dumpf(lm, str(out_arpa), encoding="utf-8")
    return arpa_counts(out_arpa)


def arpa_counts(arpa: PathLike) -> Dict[int, int]:
    """{n: count} from an ARPA file's \\data\\ section."""
    counts: Dict[int, int] = {}
    with open(arpa, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if s.startswith("ngram ") and "=" in s:
                n, c = s[6:].split("=")
                counts[int(n)] = int(c)
            elif s.endswith("-grams:"):
                break
    if not counts:
        raise ValueError(f"{arpa}: no '\\data\\' counts; not an ARPA file")
    return counts


def perplexity(arpa: PathLike, sentences: Iterable[Sequence[str]]) -> Perplexity:
    """Perplexity of `sentences` under the ARPA LM, SRILM's way: OOV words are counted and skipped.

    (kaldingram's own `ppl` maps OOVs to <unk> and drops the whole sentence when the LM has none.)
    """
    from kaldingram.prune import ArpaParser

    validate_arpa(arpa)
    lm = ArpaParser().loadf(str(arpa), encoding="utf-8")[0]
    order = lm.order()
    n_sent = n_words = n_oov = 0
    logprob = 0.0
    for s in sentences:
        if not s:
            continue
        n_sent += 1
        n_words += len(s)
        ctx: Tuple[str, ...] = ("<s>",)
        for w in list(s) + ["</s>"]:
            if w != "</s>" and not lm.contains_word(w):
                n_oov += 1
            else:   # a history with an OOV backs off past it (its n-grams are not in the LM)
                logprob += lm.log_p_raw((ctx + (w,))[-order:])
            ctx = (ctx + (w,))[-(order - 1):] if order > 1 else ()
    scored = n_words - n_oov
    ppl = 10 ** (-logprob / (scored + n_sent)) if n_sent else float("inf")
    ppl1 = 10 ** (-logprob / scored) if scored else float("inf")
    return Perplexity(sentences=n_sent, words=n_words, oov=n_oov, logprob10=logprob, ppl=ppl, ppl1=ppl1)


def format_counts(counts: Dict[int, int]) -> str:
    return " ".join(f"{n}-grams={c}" for n, c in sorted(counts.items()))
