"""What a tabular search method sees of a benchmark: a table lookup per architecture.

A method proposes arch vectors and learns their validation error; the regret curves score the
incumbent (the best validation error found so far) by its test error against the best the
table holds. Costs, when the table has training times, let a budget be simulated time instead
of a number of queries.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Protocol, Sequence

from nas.bench.archvec import ArchVec


@dataclass(frozen=True)
class Eval:
    """One architecture's entry: errors are rates (PER or WER, lower is better)."""
    model_hash: str
    val: float                     # what the search may see (best validation error within the epochs)
    test: float                    # what it is judged by
    cost: Optional[float] = None   # seconds to train it, when the table records it


class Objective(Protocol):
    """A benchmark table as a search problem.

    An objective may also have a `codec` attribute (a nas.bench.codec.Codec): the search space
    its vectors belong to, which gives the tabular methods each position's number of choices and
    the model hash (nas.bench.tabular.Space.of). One without it is taken to be NAS-Bench-ASR's
    (nas.bench.codec.NB_ASR). TableObjective has the codec of its table's header."""

    def vectors(self) -> List[ArchVec]:
        """Every arch vector the table answers for (several may share a model hash)."""

    def evaluate(self, vec: Sequence[Sequence[int]]) -> Eval:
        """The table's entry of `vec`'s model; KeyError (with the vector) when it has none."""

    def optimum(self) -> Eval:
        """The table's best model: the lowest validation error and, separately, the lowest test error
        (`val` and `test` of the returned Eval may come from different models; `model_hash` is the
        best-test model's)."""
