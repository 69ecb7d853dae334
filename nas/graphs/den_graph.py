"""The CTC-CRF denominator graph: CAT's CTC topology T composed with a phone LM P.

Labels: the network's output column c (0 = blank) is FST label c + 1, so 0 stays
epsilon; unit tokens of the lang dir (tokens.txt: <eps> 0, <blk> 1, units 2...)
have id = column + 1, and P's labels are those ids.

T (CAT's corrected topology): state 0 is blank and start, state c for each unit
column c, all final; a blank self-loop on 0; unit c from 0 and from every other
unit state into c (output label: the unit); a self-loop on each unit state and a
blank arc from each unit state back to 0 (output: epsilon).

`compose_ctc_lm` builds T o P directly on arrays: its states are pairs (T state,
P state), every arc into (c, p) carries label c + 1, so the emitted label is a
function of the destination state, which the loss kernels rely on. `ctc_topology`
gives T itself, used by the tests to check the composition against kaldifst.
"""
from __future__ import annotations

import numpy as np

from ctc_crf.fst import FstArrays
from nas.lm.phone_lm import PhoneLMArrays


def ctc_topology(num_outputs: int) -> FstArrays:
    """T for a network with `num_outputs` columns (blank + units), as an FST (transducer)."""
    v = num_outputs
    src, il, ol, dst = [0], [1], [0], [0]            # blank self-loop on 0
    for c in range(1, v):
        src += [0, c, c]                              # enter c from 0; self-loop; blank back to 0
        il += [c + 1, c + 1, 1]
        ol += [c + 1, 0, 0]
        dst += [c, c, 0]
        for i in range(1, v):
            if i != c:
                src.append(i); il.append(c + 1); ol.append(c + 1); dst.append(c)
    a = len(src)
    return FstArrays(0, np.zeros(v, np.float32), np.array(src, np.int32), np.array(il, np.int32),
                     np.array(ol, np.int32), np.zeros(a, np.float32), np.array(dst, np.int32))


def compose_ctc_lm(lm: PhoneLMArrays, num_outputs: int) -> FstArrays:
    """den = T o P as an epsilon-free acceptor (input = output = column + 1), weights as costs."""
    v, sp = num_outputs, lm.num_states
    units = np.arange(1, v)                           # unit columns; their P label is column + 1
    if lm.label.min() < 2 or lm.label.max() > v:
        raise ValueError(f"phone LM labels must be unit token ids in [2, {v}] for {v} network outputs")
    nxt = np.full((sp, v + 1), -1, np.int64)          # P transition by label
    cost = np.full((sp, v + 1), np.inf)
    nxt[lm.src, lm.label] = lm.dst
    cost[lm.src, lm.label] = -lm.logp
    missing = np.argwhere(nxt[:, 2:] < 0)
    if len(missing):
        s, l = missing[0]
        raise ValueError(f"phone LM state {s} has no arc for token {l + 2}; it must cover every unit")

    # den states: (0, p) for every P state and each (c, next(p, c+1)); numbered P state first
    # (key p * v + c), so that the few den states of one P state are neighbours in memory
    pair_c = np.repeat(units[None, :], sp, axis=0).ravel()
    pair_p = nxt[:, units + 1].ravel()
    keys = np.unique(np.concatenate([np.arange(sp) * v, pair_p * v + pair_c]))
    n_states = len(keys)
    state_c, state_p = keys % v, keys // v

    def index(c: np.ndarray, p: np.ndarray) -> np.ndarray:
        return np.searchsorted(keys, p * v + c)

    srcs, labels, dsts, costs = [], [], [], []
    ids = np.arange(n_states)
    # blank: to (0, p), free
    srcs.append(ids); labels.append(np.ones(n_states, np.int64)); dsts.append(index(np.zeros_like(state_p), state_p)); costs.append(np.zeros(n_states))
    # unit c from any state whose T state is not c: to (c, next(p, c+1)) at the LM's cost
    s_rep = np.repeat(ids, v - 1)
    c_rep = np.tile(units, n_states)
    keep = state_c[s_rep] != c_rep
    s_rep, c_rep = s_rep[keep], c_rep[keep]
    p_rep = state_p[s_rep]
    srcs.append(s_rep); labels.append(c_rep + 1); dsts.append(index(c_rep, nxt[p_rep, c_rep + 1]))
    costs.append(cost[p_rep, c_rep + 1])
    # self-loop on unit states, free
    u = ids[state_c > 0]
    srcs.append(u); labels.append(state_c[u] + 1); dsts.append(u); costs.append(np.zeros(len(u)))

    src = np.concatenate(srcs).astype(np.int32)
    order = np.argsort(src, kind="stable")
    label = np.concatenate(labels).astype(np.int32)[order]
    den = FstArrays(int(index(np.array([0]), np.array([lm.start]))[0]),
                    (-lm.final_logp[state_p]).astype(np.float32), src[order], label, label.copy(),
                    np.concatenate(costs).astype(np.float32)[order], np.concatenate(dsts).astype(np.int32)[order])
    return trim_inaccessible(den)


def trim_inaccessible(fst: FstArrays) -> FstArrays:
    """Drop states not reachable from the start (e.g. (blank, p) for P states only entered by a unit)."""
    seen = np.zeros(fst.num_states, bool)
    seen[fst.start] = True
    frontier = seen.copy()
    while frontier.any():                       # breadth-first, one vectorized pass per level
        reached = np.zeros_like(seen)
        reached[fst.dst[frontier[fst.src]]] = True
        frontier = reached & ~seen
        seen |= frontier
    if seen.all():
        return fst
    new_id = np.cumsum(seen) - 1
    keep = seen[fst.src]
    return FstArrays(int(new_id[fst.start]), fst.final[seen], new_id[fst.src[keep]].astype(np.int32),
                     fst.ilabel[keep], fst.olabel[keep], fst.weight[keep], new_id[fst.dst[keep]].astype(np.int32))
