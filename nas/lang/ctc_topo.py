"""T.fst for decoding: the CTC topology from network outputs to unit tokens.

Input labels are token ids = network output column + 1 (blank, column 0, is
token 1; 0 is epsilon), matching kaldi-decoder's DecodableCtc and the CTC-CRF
denominator graph (nas.graphs.den_graph). Output labels are unit token ids.

'ctc' (default) is CAT's corrected topology, also used for the denominator:
state 0 is blank (start), state c is "unit c last emitted"; a repeated unit
needs a blank in between, so frames `a a` are one `a`. It has V^2 arcs for V
outputs, fine for phones and characters (V up to a few hundred).
'compact' (Eesen's and k2's modified topology) has O(V) arcs: each unit state
returns to state 0 by an epsilon arc, so it also accepts a repeated unit without
a blank; meant for large BPE inventories, at the price of that ambiguity.

Every state has an `<eps>:#n` self-loop per disambiguation symbol, so that the
symbols on the input of det(L o G) are consumed without forcing a blank.
All states are final.
"""
from __future__ import annotations

from typing import List, Sequence

import kaldifst

from nas.lang.fst_text import Arc, compile_fst

BLANK_ID = 1   # token id of <blk>


def make_ctc_topo(unit_ids: Sequence[int], disambig_ids: Sequence[int] = (), topo: str = "ctc"
                  ) -> kaldifst.StdVectorFst:
    """T over `unit_ids` (token ids >= 2), with `<eps>:#n` loops for `disambig_ids`; olabel-sorted."""
    if topo not in ("ctc", "compact"):
        raise ValueError(f"topo must be 'ctc' or 'compact', not {topo!r}")
    units = list(unit_ids)
    if any(u < 2 for u in units):
        raise ValueError("unit token ids start at 2 (<eps> 0, <blk> 1)")
    state = {u: i + 1 for i, u in enumerate(units)}
    arcs: List[Arc] = [(0, 0, BLANK_ID, 0, 0.0)]
    for u in units:
        s = state[u]
        arcs.append((0, s, u, u, 0.0))          # emit u
        arcs.append((s, s, u, 0, 0.0))          # repeat of u
        if topo == "ctc":
            arcs.append((s, 0, BLANK_ID, 0, 0.0))
            arcs.extend((s, state[v], v, v, 0.0) for v in units if v != u)
        else:
            arcs.append((s, 0, 0, 0, 0.0))
    states = range(len(units) + 1)
    for d in disambig_ids:
        arcs.extend((s, s, 0, d, 0.0) for s in states)
    fst = compile_fst(0, arcs, [(s, 0.0) for s in states])
    kaldifst.arcsort(fst, sort_type="olabel")
    return fst
