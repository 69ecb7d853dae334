"""Word error rate of a hypothesis text against a reference text (Kaldi text files: utt word ...).

Prints Kaldi's `%WER` and `%SER` lines and how many utterances were scored. A reference
utterance without a hypothesis counts as all deletions (--mode all, the default; Kaldi's
compute-wer --mode present skips it, --mode strict fails); hypotheses without a reference are
not scored. Either way the %WER line says PARTIAL, over how many utterances, and where they are
named (--partial-list FILE, else stderr).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from nas.data.table import TableError
from nas.decoding.texts import read_text
from nas.decoding.wer import MODES, SCLITE_COSTS, UNIT_COSTS, normalize, partial_warnings, score

PROG = "compute_wer"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--ignore-words", default="", help="space-separated words removed from both sides first")
    p.add_argument("--costs", choices=("levenshtein", "sclite"), default="levenshtein",
                   help="alignment costs: plain edit distance (Kaldi) or sclite's 3/3/4 weights")
    p.add_argument("--details", help="write per-utterance alignments (ref / hyp / op / #csid) here")
    p.add_argument("--label", default="WER", help="name in the first line, e.g. PER or TER")
    p.add_argument("--mode", choices=MODES, default="all",
                   help="a reference without hypothesis: all deletions (all), not scored (present), an error (strict)")
    p.add_argument("--partial-list", metavar="FILE",
                   help="write '<utt> no-hypothesis|no-reference' here when the scoring is partial")
    p.add_argument("ref")
    p.add_argument("hyp")
    a = p.parse_args(argv)
    try:
        refs, hyps = read_text(a.ref), read_text(a.hyp)
    except (TableError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    drop = a.ignore_words.split()
    refs = {u: normalize(w, drop) for u, w in refs.items()}
    hyps = {u: normalize(w, drop) for u, w in hyps.items()}
    try:
        counts, details = score(refs, hyps, SCLITE_COSTS if a.costs == "sclite" else UNIT_COSTS, a.mode)
    except ValueError as e:
        print(f"{PROG}: ERROR: {a.hyp}: {e}", file=sys.stderr)
        return 1
    if a.partial_list and counts.partial_lines():
        counts.partial_list = a.partial_list
        with open(a.partial_list, "w", encoding="utf-8") as f:
            f.write("\n".join(counts.partial_lines()) + "\n")
    for line in partial_warnings(counts, a.ref, a.hyp):
        print(f"{PROG}: WARNING: {line}", file=sys.stderr)
    if a.details:
        with open(a.details, "w", encoding="utf-8") as f:
            for d in details:
                f.write("\n".join(d.detail_lines()) + "\n")
    print(counts.wer_line().replace("%WER", f"%{a.label}", 1))
    print(counts.ser_line())
    print(counts.scored_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
