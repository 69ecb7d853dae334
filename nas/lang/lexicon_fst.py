"""L.fst: the lexicon transducer from token ids to word ids, with disambiguation symbols.

One loop state (0, start and final); each pronunciation is a path from 0 back to
0 whose first arc outputs the word, followed by its `#k` when it needs one (see
`add_disambig`). A `#0:#0` self-loop on state 0 lets G's backoff symbol pass, so
that L o G stays determinizable. There is no optional silence: CTC has blank.
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import kaldifst

from nas.lang.fst_text import Arc, compile_fst


def make_lexicon_fst(entries: Sequence[Tuple[str, Sequence[str], int]], tokens: Dict[str, int],
                     words: Dict[str, int]) -> kaldifst.StdVectorFst:
    """L from [(word, units, k)] (k > 0: append #k), tokens.txt and words.txt tables; olabel-sorted."""
    arcs: List[Arc] = []
    next_state = 1
    for word, pron, k in entries:
        ilabels = [tokens[u] for u in pron] + ([tokens[f"#{k}"]] if k else [])
        wid = words[word]
        src = 0
        for j, il in enumerate(ilabels):
            last = j == len(ilabels) - 1
            dst = 0 if last else next_state
            if not last:
                next_state += 1
            arcs.append((src, dst, il, wid if j == 0 else 0, 0.0))
            src = dst
    arcs.append((0, 0, tokens["#0"], words["#0"], 0.0))
    fst = compile_fst(0, arcs, [(0, 0.0)])
    kaldifst.arcsort(fst, sort_type="olabel")
    return fst
