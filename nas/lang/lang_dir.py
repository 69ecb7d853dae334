"""Write a lang dir from a lexicon: the tables the CTC-CRF stages and the decoder read, plus L.fst and T.fst.

Files (CAT's layout, Kaldi's formats):
  tokens.txt          <eps> 0, <blk> 1, the units 2..V, then #0, #1, ... (disambiguation)
  units.txt           unit and its network output column (1..V-1; column 0 is blank) = token id - 1
  words.txt           <eps> 0, the words, then #0, <s>, </s>
  lexicon.txt         word and units (no disambiguation symbols)
  lexicon_numbers.txt word and unit token ids (what steps/prep_den_lm.sh reads)
  oov.txt             the word that stands for unknown words (when the lexicon has it)
  L.fst               lexicon FST with disambiguation symbols (OpenFst binary)
  T.fst               CTC topology for decoding

With `tokens` (a trained model's tokens.txt, Kaldi's --phone-symbol-table) the
token ids are those of that file, whatever units the lexicon uses: the ids are
the network's output columns, so a lexicon of another vocabulary must not
renumber them. Only disambiguation symbols the lexicon needs beyond the file's
are appended (they lie above the network outputs).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

from nas.data.table import TableError, text_lines
from nas.lang.ctc_topo import make_ctc_topo
from nas.lang.lexicon import Lexicon, Pron, add_disambig, check_entry, dedup, sort_lexicon, units_of, write_lexicon
from nas.lang.lexicon_fst import make_lexicon_fst
from nas.lang.symbols import invert, read_symbols, write_symbols

PathLike = Union[str, Path]


@dataclass
class LangSummary:
    num_words: int
    num_entries: int
    num_units: int
    num_disambig: int      # #1..#K used by the lexicon (#0 is always there)
    num_outputs: int       # network outputs V = blank + units


def build_tables(lexicon: Lexicon, tokens: Optional[Sequence[str]] = None
                 ) -> Tuple[Lexicon, List[Tuple[str, Pron, int]], List[str], List[str], List[str]]:
    """Sorted lexicon, its disambiguated entries, and the token and word symbol lists in id order.

    `tokens` (symbols in id order, from `read_token_set`) fixes the token list; the lexicon
    must then use only its units."""
    lex = sort_lexicon(dedup(lexicon))
    for word, pron in lex:
        check_entry(word, pron, "lexicon")
    entries, max_k = add_disambig(lex)
    if tokens is None:
        units = units_of(lex)
        token_list = ["<eps>", "<blk>"] + units + [f"#{k}" for k in range(max_k + 1)]
    else:
        units = [t for t in tokens[2:] if not is_disambig(t)]
        known = set(units)
        for word, pron in lex:
            outside = [u for u in pron if u not in known]
            if outside:
                raise TableError(f"lexicon: unit {outside[0]!r} of word {word!r} is not in the given token set")
        token_list = with_disambig(tokens, max_k)
    words = ["<eps>"] + sorted({w for w, _ in lex}) + ["#0", "<s>", "</s>"]
    return lex, entries, token_list, words, units


def write_lang_dir(out_dir: PathLike, lexicon: Lexicon, oov_word: Optional[str] = "<UNK>",
                   topo: str = "ctc", tokens: Optional[Sequence[str]] = None) -> LangSummary:
    """Write the lang dir; `oov_word` goes to oov.txt when the lexicon has that word;
    `tokens` (from `read_token_set`) fixes tokens.txt, units.txt and T.fst to a trained model's ids."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if not lexicon:
        raise TableError("the lexicon is empty")
    lex, entries, token_list, word_list, units = build_tables(lexicon, tokens)
    tokens = write_symbols(out / "tokens.txt", token_list)
    words = write_symbols(out / "words.txt", word_list)
    write_symbols(out / "units.txt", units, start=1)
    write_lexicon(out / "lexicon.txt", lex)
    with open(out / "lexicon_numbers.txt", "w", encoding="utf-8") as f:
        for word, pron in lex:
            f.write(f"{word} {' '.join(str(tokens[u]) for u in pron)}\n")
    oov_path = out / "oov.txt"
    if oov_word and oov_word in words:
        oov_path.write_text(oov_word + "\n", encoding="utf-8")
    elif oov_path.exists():
        oov_path.unlink()
    disambig = [tokens[t] for t in token_list if t.startswith("#")]
    make_lexicon_fst(entries, tokens, words).write(str(out / "L.fst"))
    make_ctc_topo([tokens[u] for u in units], disambig, topo).write(str(out / "T.fst"))
    return LangSummary(num_words=len(word_list) - 4, num_entries=len(lex), num_units=len(units),
                       num_disambig=len(disambig) - 1, num_outputs=len(units) + 1)


def first_disambig_id(tokens: Dict[str, int]) -> int:
    """The id of #0 in tokens.txt (all disambiguation ids are at or above it)."""
    if "#0" not in tokens:
        raise TableError("tokens.txt has no #0")
    return tokens["#0"]


def unit_token_ids(tokens: Dict[str, int]) -> List[int]:
    """Token ids of the units (not <eps>, <blk> or #n), checked to run from 2 without gaps."""
    ids = sorted(i for s, i in tokens.items() if s not in ("<eps>", "<blk>") and not s.startswith("#"))
    if tokens.get("<eps>") != 0 or tokens.get("<blk>") != 1:
        raise TableError("tokens.txt must start with '<eps> 0' and '<blk> 1'")
    if ids != list(range(2, len(ids) + 2)):
        raise TableError("unit token ids must run from 2 without gaps")
    return ids


def is_disambig(symbol: str) -> bool:
    """#0, #1, ...: the disambiguation symbols of tokens.txt and words.txt."""
    return re.fullmatch(r"#[0-9]+", symbol) is not None


def with_disambig(tokens: Sequence[str], max_k: int) -> List[str]:
    """`tokens` with #0..#max_k present: the ones it lacks appended after its last symbol."""
    have = sum(1 for t in tokens if is_disambig(t))
    return list(tokens) + [f"#{k}" for k in range(have, max_k + 1)]


def read_token_set(path: PathLike) -> List[str]:
    """A tokens.txt to build over, as symbols in id order (index = id).

    It must have this module's layout (<eps> 0, <blk> 1, the units from 2, then
    #0, #1, ... if any), ids without gaps, so that its unit ids are a network's
    output columns + 1; anything else fails here, naming the file and line,
    instead of silently giving a graph with shifted labels."""
    table = read_symbols(path)
    line = {text.split()[0]: lineno for lineno, text in text_lines(path)}     # well-formed: read above
    by_id = invert(table)
    gap = next((i for i in range(len(by_id)) if i not in by_id), None)
    if gap is not None:
        raise TableError(f"{path}: ids must run from 0 without gaps; there is no id {gap}")
    symbols = [by_id[i] for i in range(len(by_id))]
    for i, want in enumerate(("<eps>", "<blk>")):
        if len(symbols) <= i or symbols[i] != want:
            where = f"{path}:{line[symbols[i]]}" if len(symbols) > i else str(path)
            raise TableError(f"{where}: id {i} must be {want!r} (tokens.txt starts '<eps> 0', '<blk> 1')")
    k = 0
    for i, s in enumerate(symbols[2:], 2):
        if s.startswith("#"):
            if s != f"#{k}":
                raise TableError(f"{path}:{line[s]}: expected the disambiguation symbol '#{k}' at id {i}, "
                                 f"got {s!r}")
            k += 1
        elif k:
            raise TableError(f"{path}:{line[s]}: unit {s!r} (id {i}) comes after the disambiguation symbols; "
                             f"units run from id 2 without gaps")
    if len(symbols) - k <= 2:
        raise TableError(f"{path}: no units (ids >= 2 other than #n)")
    return symbols


def split_extra(spec: Sequence[str]) -> Lexicon:
    """Extra lexicon entries from 'WORD UNIT...' strings (e.g. '<UNK> <SPN>')."""
    out: Lexicon = []
    for s in spec:
        parts = s.split()
        if len(parts) < 2:
            raise TableError(f"extra lexicon entry {s!r} needs a word and at least one unit")
        out.append((parts[0], tuple(parts[1:])))
    return out
