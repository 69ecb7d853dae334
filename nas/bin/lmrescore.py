"""Rescore a first pass's n-best lists with another ARPA LM, for every LM weight (steps/lmrescore.sh).

Reads <in-dir>/nbest.txt (steps/decode.sh --nbest N), takes the old LM's cost out of each
hypothesis and the new LM's in (nas.decoding.rescore), and writes <out-dir>/<lmwt>.tra
(`utt word-id ...`) per LM weight, as steps/decode.sh does, for steps/score.sh.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import List, Optional

from nas.bin.decode_wfst import lmwt_name, parse_weights
from nas.decoding.rescore import ArpaScorer, best_per_weight, read_nbest, rescore
from nas.lang.symbols import invert, read_symbols

PROG = "lmrescore"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--lm-weights", default="1.0", help="space-separated LM weights")
    p.add_argument("--acwt", type=float, default=1.0, help="acoustic scale (as the first pass's)")
    p.add_argument("old_lm", help="the first pass's ARPA LM (its G.fst's source)")
    p.add_argument("new_lm", help="the ARPA LM to rescore with")
    p.add_argument("words", help="words.txt of the first pass's graph")
    p.add_argument("nbest", help="the first pass's nbest.txt")
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    try:
        weights = parse_weights(a.lm_weights)
        words = invert(read_symbols(Path(a.words)))
        t0 = time.perf_counter()
        old, new = ArpaScorer(Path(a.old_lm)), ArpaScorer(Path(a.new_lm))
        print(f"{PROG}: {a.old_lm} (order {old.order}) out, {a.new_lm} (order {new.order}) in; loaded in "
              f"{time.perf_counter() - t0:.1f}s")
        out = Path(a.out_dir)
        out.mkdir(parents=True, exist_ok=True)
        files = {w: open(out / f"{lmwt_name(w)}.tra", "w", encoding="utf-8") for w in weights}
        n_utt = n_hyp = changed = 0
        try:
            for group in read_nbest(Path(a.nbest)):
                unknown = [w for e in group for w in e.words if w not in words]
                if unknown:
                    raise ValueError(f"{a.nbest}: utterance {group[0].utt}: word id {unknown[0]} is not in {a.words}")
                scored = rescore(group, old, new, words)
                best = best_per_weight(scored, weights, a.acwt)
                first = best_per_weight([(e, e.graph_cost) for e in group], weights, a.acwt)
                for w in weights:
                    files[w].write(" ".join([group[0].utt] + [str(i) for i in best[w]]) + "\n")
                    changed += best[w] != first[w]
                n_utt += 1
                n_hyp += len(group)
        finally:
            for f in files.values():
                f.close()
    except (OSError, ValueError, KeyError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: {n_utt} utterances, {n_hyp / max(n_utt, 1):.1f} hypotheses each; the best hypothesis "
          f"changed in {changed} of {n_utt * len(weights)} (utterance, LM weight) pairs; words unknown to the "
          f"old / new LM: {old.unknown} / {new.unknown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
