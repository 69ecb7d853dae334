"""Build kaldifst FSTs from lists of arcs through OpenFst's text format.

Adding arcs one by one through the Python bindings costs a call per arc; writing
the text format and compiling it in C++ is about twice as fast for large lexicons.
"""
from __future__ import annotations

from typing import Iterable, Tuple

import kaldifst

Arc = Tuple[int, int, int, int, float]   # (src, dst, ilabel, olabel, cost)


def compile_fst(start: int, arcs: Iterable[Arc], finals: Iterable[Tuple[int, float]]) -> kaldifst.StdVectorFst:
    """An FST with the given state numbers and start state `start`."""
    arcs = sorted(arcs, key=lambda a: a[0] != start)    # stable: the text format's start is the first line's
    lines = [f"{s} {d} {i} {o} {w:.7g}" if w else f"{s} {d} {i} {o}" for s, d, i, o, w in arcs]
    fin = [f"{s} {w:.7g}" if w else f"{s}" for s, w in finals]
    if not lines and (not fin or int(fin[0].split()[0]) != start):
        raise ValueError("an FST without arcs must list its start state first among the finals")
    return kaldifst.compile("\n".join(lines + fin) + "\n", keep_state_numbering=True)


def fst_size(fst: kaldifst.StdVectorFst) -> Tuple[int, int]:
    """(states, arcs)."""
    n = fst.num_states
    return n, sum(fst.num_arcs(s) for s in range(n))
