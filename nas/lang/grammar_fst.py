"""G.fst from an ARPA LM (kaldilm's port of Kaldi's arpa2fst).

Backoff arcs carry `#0` on the input (epsilon output); <s> and </s> become
epsilon, as Kaldi's utils/format_lm.sh does. N-grams with words missing from
words.txt are skipped by arpa2fst; `arpa_oov_words` lists them beforehand so the
log can say how many and which. The ARPA file is validated first (nas.lm.arpa).
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Union

import kaldifst

from nas.lm.arpa import open_text, validate_arpa

PathLike = Union[str, Path]


def arpa_oov_words(path: PathLike, words: Dict[str, int]) -> List[str]:
    """The 1-gram words of an ARPA file that are not in `words` (words.txt); the file is validated
    (nas.lm.arpa) on the way, so a corrupt one fails here naming its line."""
    return [w for w in validate_arpa(path).unigrams if w not in words]


def make_grammar_fst(arpa: PathLike, words_txt: PathLike, out_fst: PathLike) -> kaldifst.StdVectorFst:
    """Convert `arpa` (optionally .gz) to G with word ids of `words_txt`; writes and returns it."""
    import kaldilm

    validate_arpa(arpa)         # kaldilm dies on a corrupt number with a bare "Exception: <token>"
    src = str(arpa)
    tmp = None
    if src.endswith(".gz"):     # kaldilm reads plain files only
        fd, tmp = tempfile.mkstemp(suffix=".arpa")
        with os.fdopen(fd, "w", encoding="utf-8") as out, open_text(src) as inp:
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
