"""The benchmark's model hash: which arch vectors are the same network.

The graph (NAS-Bench-101 style, as NAS-Bench-ASR builds it): vertex 0 the cell input, vertices
1..3 the main ops, vertex 4 the output. Edges: k -> k+1 for every k, and for each set skip bit
of node k's entry, an edge from vertex i to vertex k+1 (the input of the next op, or the output).
Minimization removes every edge of a `zero` vertex, then every vertex that is not on some
input -> output path. The hash is NAS-Bench-101's: each vertex starts from the MD5 of
(out-degree, in-degree, label), with the degrees as floats and labels -1 (input), -2 (output)
or the op's index; then, as many rounds as there are vertices, the MD5 of its sorted
in-neighbours' hashes, '|', its sorted out-neighbours' hashes, '|', its own; the model hash is
the MD5 of the sorted final hashes. These details (the float degrees included) are what make the
hashes equal to the released tables' keys.
"""
from __future__ import annotations

import functools
import hashlib
from collections import Counter
from typing import Dict, List, Sequence, Tuple

import numpy as np

from nas.bench.archvec import OPS, all_vectors, check_vector

Graph = Tuple[np.ndarray, List[int]]     # adjacency matrix (float, upper triangular), vertex labels
INPUT_LABEL, OUTPUT_LABEL = -1, -2


def model_graph(vec: Sequence[Sequence[int]], minimize: bool = True) -> Graph:
    """The benchmark's graph of `vec` (minimized unless asked not to)."""
    vec = check_vector(vec)
    n = len(vec) + 2
    mat = np.zeros((n, n))
    labels = [INPUT_LABEL] + [node[0] for node in vec] + [OUTPUT_LABEL]
    for k, node in enumerate(vec):
        mat[k, k + 1] = 1
        for i, bit in enumerate(node[1:]):
            if bit:
                mat[i, k + 2] = 1
    mat[len(vec), len(vec) + 1] = 1
    if not minimize:
        return mat, labels
    zero = OPS.index("zero")
    for v, label in enumerate(labels):
        if label == zero:
            mat[v, :] = 0
            mat[:, v] = 0
    keep = _reachable(mat, 0, forward=True) & _reachable(mat, n - 1, forward=False)
    idx = np.flatnonzero(keep)
    return mat[np.ix_(idx, idx)], [labels[i] for i in idx]


def _reachable(mat: np.ndarray, start: int, forward: bool) -> np.ndarray:
    adj = mat if forward else mat.T
    seen = np.zeros(len(mat), dtype=bool)
    seen[start] = True
    todo = [start]
    while todo:
        v = todo.pop()
        for w in np.flatnonzero(adj[v]):
            if not seen[w]:
                seen[w] = True
                todo.append(int(w))
    return seen


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def graph_hash(graph: Graph) -> str:
    """NAS-Bench-101's Weisfeiler-Lehman MD5 hash of a labelled DAG."""
    mat, labels = graph
    n = len(labels)
    ins, outs = mat.sum(axis=0).tolist(), mat.sum(axis=1).tolist()
    hashes = [_md5(str((o, i, label))) for o, i, label in zip(outs, ins, labels)]
    for _ in range(n):
        hashes = [_md5("".join(sorted(hashes[w] for w in range(n) if mat[w, v])) + "|"
                       + "".join(sorted(hashes[w] for w in range(n) if mat[v, w])) + "|" + hashes[v])
                  for v in range(n)]
    return _md5(str(sorted(hashes)))


def model_hash(vec: Sequence[Sequence[int]]) -> str:
    """The key of `vec` in the benchmark's tables. Memoized per process (the space has 13,824
    vectors): listing its models, grouping a table's vectors and counting a model's equivalent
    vectors each hash the whole space, about 4 s on one core."""
    return _hash_of(tuple(tuple(node) for node in check_vector(vec)))


@functools.lru_cache(maxsize=1 << 15)
def _hash_of(vec: Tuple[Tuple[int, ...], ...]) -> str:
    return graph_hash(model_graph(vec))


def classes() -> Dict[str, List[List[List[int]]]]:
    """Every vector of the space grouped by model hash (about 4 s on one core)."""
    out: Dict[str, list] = {}
    for vec in all_vectors():
        out.setdefault(model_hash(vec), []).append(vec)
    return out


def class_sizes() -> List[int]:
    """Sizes of the isomorphism classes, largest first."""
    return sorted(Counter(model_hash(v) for v in all_vectors()).values(), reverse=True)
