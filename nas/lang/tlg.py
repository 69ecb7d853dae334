"""TLG = T o min(det(L o G)), the decoding graph, as Kaldi's mkgraph.sh and CAT's mkgraph_ctc.sh build it.

L o G is determinized in the log semiring (determinize_star also removes input
epsilons; the disambiguation symbols make it determinizable) and minimized after
encoding labels and weights. T, with `<eps>:#n` loops, then consumes the
disambiguation symbols, so TLG's input labels are token ids (blank 1, units 2...)
and epsilons, and its outputs are word ids.

The operations run in this process; `limit_memory` caps its address space so
that a too-large G raises MemoryError (reported by the caller) instead of
driving the machine into swap or the OOM killer.
"""
from __future__ import annotations

import resource
import time
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import kaldifst

from nas.lang.fst_text import fst_size


@dataclass
class BuildStep:
    name: str
    seconds: float
    states: int
    arcs: int


@dataclass
class BuildLog:
    steps: List[BuildStep] = field(default_factory=list)

    def add(self, name: str, start: float, fst: kaldifst.StdVectorFst) -> None:
        seconds = time.perf_counter() - start
        s, a = fst_size(fst)
        self.steps.append(BuildStep(name, seconds, s, a))


def _warm_up_exceptions() -> None:
    """Throw and catch one C++ exception through kaldifst before the cap is set.

    glibc gives a dlopen()ed library its thread-local storage on first use; the
    C++ runtime's exception state lives there. If the first exception ever thrown
    is the std::bad_alloc at the cap, that allocation fails too and glibc aborts
    ("cannot allocate memory for thread-local data") instead of raising MemoryError.
    """
    from nas.lang.fst_text import compile_fst

    nonfunctional = compile_fst(0, [(0, 0, 1, 1, 0.0), (0, 0, 1, 2, 0.0)], [(0, 0.0)])
    try:
        kaldifst.determinize_star(nonfunctional)
    except RuntimeError:
        pass


def limit_memory(max_gb: Optional[float]) -> None:
    """Cap this process's address space at `max_gb` GiB (None or <= 0: no cap)."""
    if max_gb is None or max_gb <= 0:
        return
    _warm_up_exceptions()
    limit = int(max_gb * (1 << 30))
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def compose_lg(lexicon: kaldifst.StdVectorFst, grammar: kaldifst.StdVectorFst, log: Optional[BuildLog] = None,
               max_states: int = -1) -> kaldifst.StdVectorFst:
    """min(det(L o G)), input-label sorted. max_states > 0 stops determinization beyond that size."""
    t = time.perf_counter()
    kaldifst.arcsort(lexicon, sort_type="olabel")
    lg = kaldifst.compose(lexicon, grammar)
    if log is not None:
        log.add("L o G", t, lg)
    t = time.perf_counter()
    stopped = kaldifst.determinize_star(lg, use_log=True, max_states=max_states)
    if stopped:
        raise MemoryError(f"det(L o G) has more than {max_states} states")
    if log is not None:
        log.add("det", t, lg)
    t = time.perf_counter()
    kaldifst.minimize_encoded(lg)
    kaldifst.arcsort(lg, sort_type="ilabel")
    if log is not None:
        log.add("min", t, lg)
    return lg


def compose_tlg(topo: kaldifst.StdVectorFst, lg: kaldifst.StdVectorFst, log: Optional[BuildLog] = None
                ) -> kaldifst.StdVectorFst:
    """T o LG, input-label sorted (as the decoders expect)."""
    t = time.perf_counter()
    kaldifst.arcsort(topo, sort_type="olabel")
    tlg = kaldifst.compose(topo, lg)
    kaldifst.arcsort(tlg, sort_type="ilabel")
    if log is not None:
        log.add("T o LG", t, tlg)
    return tlg


def check_no_disambig(tlg: kaldifst.StdVectorFst, first_disambig: int) -> Optional[Tuple[int, int]]:
    """(state, label) of an arc whose input is a disambiguation symbol (id >= first_disambig), or None."""
    for s in range(tlg.num_states):
        for arc in kaldifst.ArcIterator(tlg, s):
            if arc.ilabel >= first_disambig:
                return s, arc.ilabel
    return None
