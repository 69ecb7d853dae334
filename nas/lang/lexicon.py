"""Pronunciation lexicons: reading, writing, disambiguation symbols, OOV counting.

A lexicon is a list of (word, pronunciation) pairs, a pronunciation being a
tuple of units (phones, characters or BPE pieces); a word may have several.
The file format is Kaldi's lexicon.txt: `word unit unit ...` per line.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from nas.data.table import TableError, text_lines

PathLike = Union[str, Path]
Pron = Tuple[str, ...]
Lexicon = List[Tuple[str, Pron]]

RESERVED_UNITS = ("<eps>", "<blk>")
RESERVED_WORDS = ("<eps>", "<s>", "</s>", "#0")


def read_lexicon(path: PathLike) -> Lexicon:
    """Read `word unit ...` lines; an empty pronunciation or a reserved symbol is an error."""
    lex: Lexicon = []
    for lineno, line in text_lines(path):
        parts = line.split()
        if not parts:
            raise TableError(f"{path}:{lineno}: empty line")
        if len(parts) < 2:
            raise TableError(f"{path}:{lineno}: word {parts[0]!r} has an empty pronunciation")
        word, pron = parts[0], tuple(parts[1:])
        check_entry(word, pron, f"{path}:{lineno}")
        lex.append((word, pron))
    if not lex:
        raise TableError(f"{path}: empty lexicon")
    return lex


def read_lexicon_numbers(path: PathLike) -> Dict[str, List[int]]:
    """lexicon_numbers.txt (`word token-id ...`) -> {word: ids of its first pronunciation}:
    the pronunciation that text is turned into tokens with (targets, path weights, PER)."""
    from nas.data.table import iter_table
    out: Dict[str, List[int]] = {}
    for e in iter_table(path):
        if e.key not in out:
            try:
                out[e.key] = [int(x) for x in e.value.split()]
            except ValueError:
                raise TableError(f"{path}:{e.lineno}: token ids must be integers") from None
    return out


def words_to_ids(words: Sequence[str], lexicon: Dict[str, List[int]], oov_word: str,
                 oov_counts: Dict[str, int]) -> Optional[List[int]]:
    """Token ids of a word sequence through lexicon_numbers; a word not in the lexicon counts in
    `oov_counts` and stands as `oov_word`; None when the lexicon has no such entry either."""
    ids: List[int] = []
    for w in words:
        pron = lexicon.get(w)
        if pron is None:
            oov_counts[w] = oov_counts.get(w, 0) + 1
            pron = lexicon.get(oov_word)
            if pron is None:
                return None
        ids.extend(pron)
    return ids


def check_entry(word: str, pron: Sequence[str], where: str) -> None:
    """Raise TableError when `word` or a unit of `pron` would clash with the lang dir's reserved symbols."""
    if word in RESERVED_WORDS or word.startswith("#"):
        raise TableError(f"{where}: {word!r} is reserved and cannot be a word")
    if not pron:
        raise TableError(f"{where}: word {word!r} has an empty pronunciation")
    for u in pron:
        if u in RESERVED_UNITS or u.startswith("#"):
            raise TableError(f"{where}: unit {u!r} of word {word!r} is reserved (<eps>, <blk>, #n)")


def write_lexicon(path: PathLike, lexicon: Lexicon) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for word, pron in lexicon:
            f.write(f"{word} {' '.join(pron)}\n")


def dedup(lexicon: Lexicon) -> Lexicon:
    """Drop repeated (word, pronunciation) pairs, keeping the first occurrence's order."""
    seen: Set[Tuple[str, Pron]] = set()
    out: Lexicon = []
    for entry in lexicon:
        if entry not in seen:
            seen.add(entry)
            out.append(entry)
    return out


def sort_lexicon(lexicon: Lexicon) -> Lexicon:
    """Sort by word (C locale, i.e. code points), keeping each word's pronunciations in order."""
    return sorted(lexicon, key=lambda e: e[0])


def units_of(lexicon: Lexicon) -> List[str]:
    """The units used by the lexicon, sorted (C locale)."""
    return sorted({u for _, pron in lexicon for u in pron})


def split_by_units(lexicon: Lexicon, units: Set[str]) -> Tuple[Lexicon, List[Tuple[str, Pron, Pron]]]:
    """The entries spelled in `units` only, and the others as (word, pron, its units outside):
    a lang dir over a trained model's token set can only keep the former."""
    kept: Lexicon = []
    dropped: List[Tuple[str, Pron, Pron]] = []
    for word, pron in lexicon:
        outside = tuple(dict.fromkeys(u for u in pron if u not in units))
        if outside:
            dropped.append((word, pron, outside))
        else:
            kept.append((word, pron))
    return kept, dropped


def add_disambig(lexicon: Lexicon) -> Tuple[List[Tuple[str, Pron, int]], int]:
    """Number the pronunciations that need a disambiguation symbol, as Kaldi's add_lex_disambig.pl.

    A pronunciation needs one when another word has the same pronunciation
    (homophones) or when it is a proper prefix of another pronunciation; without
    it L o G could not be determinized. Returns [(word, pron, k)] with k = 0 for
    none, else the k of `#k` to append (1, 2, ... per shared pronunciation),
    and the largest k used (0 if none). `#0` is kept for G's backoff arcs.
    """
    count = Counter(pron for _, pron in lexicon)
    prefixes: Set[Pron] = set()
    for pron in count:
        for i in range(1, len(pron)):
            prefixes.add(pron[:i])
    next_k: Dict[Pron, int] = defaultdict(int)
    out: List[Tuple[str, Pron, int]] = []
    max_k = 0
    for word, pron in lexicon:
        if count[pron] == 1 and pron not in prefixes:
            out.append((word, pron, 0))
            continue
        next_k[pron] += 1
        k = next_k[pron]
        max_k = max(max_k, k)
        out.append((word, pron, k))
    return out, max_k


def count_oov(sentences: Iterable[Sequence[str]], vocab: Union[Set[str], Dict[str, object]]) -> Counter:
    """Count the words of `sentences` that are not in `vocab`."""
    oov: Counter = Counter()
    for words in sentences:
        for w in words:
            if w not in vocab:
                oov[w] += 1
    return oov


def format_oov_report(oov: Counter, total_words: int, limit: int = 20) -> str:
    """One line: how many OOV tokens and types, and the most frequent ones with counts."""
    if not oov:
        return f"no OOV words in {total_words} words"
    n = sum(oov.values())
    top = " ".join(f"{w}({c})" for w, c in sorted(oov.items(), key=lambda kv: (-kv[1], kv[0]))[:limit])
    pct = 100.0 * n / max(total_words, 1)
    return f"{n} of {total_words} words ({pct:.2f}%) are OOV, {len(oov)} distinct; most frequent: {top}"
