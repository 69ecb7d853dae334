"""Fold TIMIT phone transcripts to a smaller set: Kaldi text lines (`utt phone phone ...`) on
stdin, the same lines with every phone folded on stdout.

egs/timit's scoring filter (local/score.sh): references and hypotheses in the 48 training
phones are both folded to Lee and Hon's 39 before the PER is counted. Repeated neighbours are
kept, as NAS-Bench-ASR's and Kaldi's TIMIT scoring keep them. --from 61 folds raw .PHN phones
(q dropped) to --to 48 or 39.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from nas.data.timit import TimitError, read_phone_map

PROG = "fold_phones"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--map", required=True, help="the 61-48-39 table (egs/timit/conf/phones.61-48-39.map)")
    p.add_argument("--from", dest="src", type=int, choices=(61, 48), default=48, help="the input's phone set")
    p.add_argument("--to", type=int, choices=(48, 39), default=39, help="the output's phone set")
    a = p.parse_args(argv)
    try:
        table = read_phone_map(a.map)
    except (TimitError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    if a.src == 48 and a.to == 48:
        p.error("--from 48 --to 48 folds nothing")
    known = set(table.to48) | table.dropped if a.src == 61 else set(table.to39)
    for n, line in enumerate(sys.stdin, 1):
        utt, *phones = line.split()
        bad = [x for x in phones if x not in known]
        if bad:
            print(f"{PROG}: ERROR: stdin line {n} ({utt}): {', '.join(sorted(set(bad)))} not in the "
                  f"{a.src}-phone set of {a.map}", file=sys.stderr)
            return 1
        if a.src == 61:
            phones = table.fold48(phones)
        if a.to == 39:
            phones = table.fold39(phones)
        print(" ".join([utt] + phones))
    return 0


if __name__ == "__main__":
    sys.exit(main())
