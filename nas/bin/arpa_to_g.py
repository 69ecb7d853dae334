"""Convert an ARPA LM to G.fst over a lang dir's words.txt (Kaldi's utils/format_lm.sh step).

N-grams with words missing from words.txt are skipped (counted here, with
examples); <s> and </s> become epsilons and backoff arcs carry #0.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import List, Optional

from nas.data.table import TableError
from nas.lang.fst_text import fst_size
from nas.lang.grammar_fst import arpa_oov_words, make_grammar_fst
from nas.lang.symbols import read_symbols

PROG = "arpa_to_g"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("arpa", help="ARPA file (plain or .gz)")
    p.add_argument("words_txt")
    p.add_argument("g_fst", help="output G.fst")
    a = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        words = read_symbols(a.words_txt)
        for w in ("#0", "<s>", "</s>"):
            if w not in words:
                raise TableError(f"{a.words_txt} has no {w}")
        oov = [w for w in arpa_oov_words(a.arpa, words) if w not in ("<s>", "</s>")]
        if oov:
            print(f"{PROG}: WARNING: {len(oov)} words of {a.arpa} are not in {a.words_txt}; their n-grams are "
                  f"skipped: {' '.join(oov[:20])}{' ...' if len(oov) > 20 else ''}", file=sys.stderr)
        g = make_grammar_fst(a.arpa, a.words_txt, a.g_fst)
    except (TableError, OSError, ValueError, RuntimeError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    s, n = fst_size(g)
    print(f"{PROG}: {a.g_fst}: {s} states, {n} arcs ({time.perf_counter() - t0:.1f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
