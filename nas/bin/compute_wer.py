"""Word error rate of a hypothesis text against a reference text (Kaldi text files: utt word ...).

Prints Kaldi's `%WER` and `%SER` lines and how many utterances were scored. Every
reference utterance is scored: a missing hypothesis counts as all deletions and
is reported; hypotheses without a reference are reported and ignored.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from nas.data.table import TableError
from nas.decoding.texts import read_text
from nas.decoding.wer import SCLITE_COSTS, UNIT_COSTS, normalize, score

PROG = "compute_wer"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--ignore-words", default="", help="space-separated words removed from both sides first")
    p.add_argument("--costs", choices=("levenshtein", "sclite"), default="levenshtein",
                   help="alignment costs: plain edit distance (Kaldi) or sclite's 3/3/4 weights")
    p.add_argument("--details", help="write per-utterance alignments (ref / hyp / op / #csid) here")
    p.add_argument("--label", default="WER", help="name in the first line, e.g. PER or TER")
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
    counts, details = score(refs, hyps, SCLITE_COSTS if a.costs == "sclite" else UNIT_COSTS)
    extra = sorted(set(hyps) - set(refs))
    if counts.missing:
        print(f"{PROG}: WARNING: {len(counts.missing)} utterances of {a.ref} have no hypothesis in {a.hyp} "
              f"(counted as deletions): {' '.join(counts.missing[:10])}{' ...' if len(counts.missing) > 10 else ''}",
              file=sys.stderr)
    if extra:
        print(f"{PROG}: WARNING: {len(extra)} hypotheses of {a.hyp} have no reference (ignored): "
              f"{' '.join(extra[:10])}{' ...' if len(extra) > 10 else ''}", file=sys.stderr)
    if a.details:
        with open(a.details, "w", encoding="utf-8") as f:
            for d in details:
                f.write("\n".join(d.detail_lines()) + "\n")
    print(counts.wer_line().replace("%WER", f"%{a.label}", 1))
    print(counts.ser_line())
    print(f"Scored {counts.sentences} sentences, {len(counts.missing)} not present in hyp.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
