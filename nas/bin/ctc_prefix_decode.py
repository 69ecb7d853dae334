"""CTC prefix beam search decoding of log-probability matrices (no LM), and the token error rate.

No graph: the most probable labeling that a prefix beam search of width --beam finds
(summed over its alignments), as NAS-Bench-ASR decodes TIMIT (beam 12, ctcdecode without
an LM). Writes `utt unit unit ...` lines in scp order; --ref-text and the scoring options
are greedy_decode's, and so is the printed %TER (--label) and %SER line.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from nas.bin.greedy_decode import add_arguments, decode_and_score
from nas.decoding.prefix_beam import prefix_beam_search

PROG = "ctc_prefix_decode"


def positive_int(s: str) -> int:
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {s!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--beam", type=positive_int, default=12, help="prefixes kept per frame (default 12)")
    p.add_argument("--cutoff-top-n", type=positive_int, default=None,
                   help="try only each frame's N most probable outputs (ctcdecode's cutoff_top_n); "
                        "default: all of them")
    add_arguments(p)
    a = p.parse_args(argv)
    return decode_and_score(PROG, a, lambda x: prefix_beam_search(x, a.beam, a.cutoff_top_n))


if __name__ == "__main__":
    sys.exit(main())
