"""G.fst from an ARPA LM (kaldilm's port of Kaldi's arpa2fst).

Backoff arcs carry `#0` on the input (epsilon output); <s> and </s> become
epsilon, as Kaldi's utils/format_lm.sh does. N-grams with words missing from
words.txt are skipped by arpa2fst; `arpa_oov_words` lists them beforehand so the
log can say how many and which.
"""
from __future__ import annotations

import gzip
import io
import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, Iterator, List, Tuple, Union

import kaldifst

from nas.data.table import TableError

PathLike = Union[str, Path]


def _open_text(path: PathLike) -> io.TextIOBase:
    p = str(path)
    if p.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8")
    return open(p, encoding="utf-8")


def arpa_unigrams(path: PathLike) -> Iterator[Tuple[int, str]]:
    """(line number, word) for each 1-gram of an ARPA file; errors name the file and line."""
    section = None
    seen_data = False
    with _open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if s == "\\data\\":
                seen_data = True
                continue
            if s.startswith("\\") and s.endswith("-grams:"):
                section = s
                continue
            if s == "\\end\\":
                return
            if section == "\\1-grams:" and s:
                fields = s.split()
                if len(fields) < 2:
                    raise TableError(f"{path}:{lineno}: malformed 1-gram line {s!r}")
                yield lineno, fields[1]
            elif section is not None and section != "\\1-grams:":
                return
    if not seen_data:
        raise TableError(f"{path}: not an ARPA file (no \\data\\ section)")


def arpa_oov_words(path: PathLike, words: Dict[str, int]) -> List[str]:
    """The 1-gram words of an ARPA file that are not in `words` (words.txt)."""
    return [w for _, w in arpa_unigrams(path) if w not in words]


def make_grammar_fst(arpa: PathLike, words_txt: PathLike, out_fst: PathLike) -> kaldifst.StdVectorFst:
    """Convert `arpa` (optionally .gz) to G with word ids of `words_txt`; writes and returns it."""
    import kaldilm

    src = str(arpa)
    tmp = None
    if src.endswith(".gz"):     # kaldilm reads plain files only
        fd, tmp = tempfile.mkstemp(suffix=".arpa")
        with os.fdopen(fd, "w", encoding="utf-8") as out, _open_text(src) as inp:
            for line in inp:
                out.write(line)
        src = tmp
    try:
        sys.stderr.flush()
        kaldilm.arpa2fst(input_arpa=src, output_fst=str(out_fst), disambig_symbol="#0",
                         read_symbol_table=str(words_txt), max_arpa_warnings=10)
    finally:
        if tmp:
            os.unlink(tmp)
    return kaldifst.StdVectorFst.read(str(out_fst))     # arpa2fst sorts its arcs by input label
