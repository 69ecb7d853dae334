"""NAS-Bench-ASR architecture vectors, and their arch.json choices in the `nb_asr` spaces.

A vector is `[[op1, s1_0], [op2, s2_0, s2_1], [op3, s3_0, s3_1, s3_2]]`: op_k indexes OPS, and
s_k,i in {0, 1} adds cell node x_i to x_k (x_0 the cell input; the torch code's and the graph
hash's convention, where 1 is the identity skip; the released TF model reads the bit the other
way round, see docs/bench.md). 6^3 * 2^6 = 13,824 vectors.

In the `nb_asr` search spaces (nas/spaces/nb_asr.json) the same cell is nine tied searching
blocks: `op1`, `op2`, `op3` (the candidates in OPS order) and `s1_0` ... `s3_2` (candidates
zero, identity), shared by every cell of the macro network.
"""
from __future__ import annotations

import ast
import itertools
import math
import numbers
import random
from typing import Any, Dict, Iterator, List, Optional, Sequence

OPS = ("linear", "conv5", "conv5d2", "conv7", "conv7d2", "zero")
NODES = 3
SHAPE = [[len(OPS)] + [2] * (k + 1) for k in range(NODES)]   # choices per position
ArchVec = List[List[int]]


class ArchVecError(ValueError):
    """A malformed architecture vector; the message shows the expected form."""


def op_block(k: int) -> str:
    """The searching block of node k's main op (1-based)."""
    return f"op{k}"


def skip_block(k: int, i: int) -> str:
    """The searching block of the skip edge from x_i into x_k."""
    return f"s{k}_{i}"


BLOCKS = [b for k in range(1, NODES + 1) for b in [op_block(k)] + [skip_block(k, i) for i in range(k)]]


def entry_index(x: Any, vec: Any, where: str, form: str) -> int:
    """An entry of a vector as an int. Integers (numpy's too) and integral floats (1.0, as a
    table's float column holds them) are taken; 1.5, "1" and true are refused, naming `where`:
    int() would truncate 1.5 to 1 and silently score another architecture."""
    if type(x) is int:              # the common case, before the slower abstract-class checks
        return x
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return int(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x) and float(x).is_integer():
        return int(x)
    raise ArchVecError(f"architecture vector {vec!r}: {where} is {x!r} ({type(x).__name__}), not an integer; "
                       f"expected {form}")


def check_vector(vec: Sequence[Sequence[int]]) -> ArchVec:
    """`vec` as a list of lists of ints, or ArchVecError naming the bad position."""
    form = "[[op1, s1_0], [op2, s2_0, s2_1], [op3, s3_0, s3_1, s3_2]] with ops 0-5 and skips 0/1"
    try:
        nodes = [list(node) for node in vec]
    except TypeError:
        raise ArchVecError(f"architecture vector {vec!r}: expected {form}") from None
    if any(isinstance(node, (str, bytes)) for node in vec):
        raise ArchVecError(f"architecture vector {vec!r}: expected {form}")
    out = [[entry_index(x, vec, f"node {k + 1} position {j}", form) for j, x in enumerate(node)]
           for k, node in enumerate(nodes)]
    if [len(n) for n in out] != [len(s) for s in SHAPE]:
        raise ArchVecError(f"architecture vector {vec!r}: expected {form}")
    for k, (node, shape) in enumerate(zip(out, SHAPE)):
        for j, (x, n) in enumerate(zip(node, shape)):
            if not 0 <= x < n:
                raise ArchVecError(f"architecture vector {vec!r}: node {k + 1} position {j} is {x}, "
                                   f"not in 0..{n - 1}; expected {form}")
    return out


def parse_vector(text: str) -> ArchVec:
    """A vector from its printed form, e.g. "[[1,0],[1,0,0],[1,0,0,0]]"."""
    try:
        value = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError):
        raise ArchVecError(f"cannot read {text!r} as an architecture vector, e.g. [[1,0],[1,0,0],[1,0,0,0]]") from None
    return check_vector(value)


def flatten(vec: Sequence[Sequence[int]]) -> List[int]:
    return [x for node in vec for x in node]


def unflatten(flat: Sequence[int]) -> ArchVec:
    out, i = [], 0
    for shape in SHAPE:
        out.append([int(x) for x in flat[i:i + len(shape)]])
        i += len(shape)
    return out


def all_vectors() -> Iterator[ArchVec]:
    """Every vector of the space, in lexicographic order of the flattened vector."""
    for flat in itertools.product(*[range(n) for shape in SHAPE for n in shape]):
        yield unflatten(flat)


def random_vector(rng: random.Random) -> ArchVec:
    return [[rng.randrange(n) for n in shape] for shape in SHAPE]


def to_choices(vec: Sequence[Sequence[int]], blocks: Dict[str, List[str]]) -> Dict[str, str]:
    """The arch.json choices of `vec` in a space with the nb_asr blocks (`SearchSpace.blocks`):
    the candidates are taken by position, so the space's candidate order must be OPS's."""
    vec = check_vector(vec)
    missing = [b for b in BLOCKS if b not in blocks]
    if missing:
        raise ArchVecError(f"the space has no searching blocks {missing}: not a NAS-Bench-ASR cell space")
    out = {}
    for k, node in enumerate(vec, start=1):
        out[op_block(k)] = blocks[op_block(k)][node[0]]
        for i, s in enumerate(node[1:]):
            out[skip_block(k, i)] = blocks[skip_block(k, i)][s]
    return out


def from_choices(choices: Dict[str, str], blocks: Dict[str, List[str]]) -> ArchVec:
    """The vector of arch.json choices (the inverse of to_choices)."""
    try:
        return [[blocks[op_block(k)].index(choices[op_block(k)])]
                + [blocks[skip_block(k, i)].index(choices[skip_block(k, i)]) for i in range(k)]
                for k in range(1, NODES + 1)]
    except KeyError as e:
        raise ArchVecError(f"the architecture has no choice for block {e.args[0]!r}: not a NAS-Bench-ASR cell") from None
    except ValueError as e:
        raise ArchVecError(f"the architecture's choice is not a candidate of its block: {e}") from None


def vector_string(vec: Optional[Sequence[Sequence[int]]]) -> str:
    """The compact printed form, "[[1,0],[1,0,0],[1,0,0,0]]"."""
    return "[" + ",".join("[" + ",".join(str(x) for x in node) + "]" for node in vec) + "]"
