"""Random search: sample M architectures uniformly, score each with the warmed-up shared weights
on held-out data, keep the best. M = 1 is a plain random pick. It trains nothing: the search
stage runs no epochs and derives at once."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Optional

from nas.options import AT_LEAST_1, option
from nas.strategies.base import Strategy
from nas.strategies.update import sample_choice


@dataclass
class RandomOptions:
    num_samples: int = option(10, "architectures drawn uniformly and scored on held-out data",
                              check=AT_LEAST_1)


class RandomStrategy(Strategy):
    name = "random"
    Options = RandomOptions
    trains = False

    def __init__(self, net, options=None, **kw):
        super().__init__(net, options, **kw)
        self.scores: Dict[str, float] = {}

    def updates(self):
        raise RuntimeError("random search trains nothing; call derive(evaluate)")

    def derive(self, evaluate: Optional[Callable[[Dict[str, str]], float]] = None) -> Dict[str, str]:
        """The best of `num_samples` uniform samples under `evaluate(arch) -> held-out loss`."""
        best, best_score = None, float("inf")
        for _ in range(self.options.num_samples):
            arch = self.arch_of(sample_choice(self.net, self.generator))
            if evaluate is None:
                return arch
            score = float(evaluate(arch))
            self.scores[" ".join(arch.values())] = score
            if score < best_score:
                best, best_score = arch, score
        return best

    def final_probs(self):
        return None

    def reports(self) -> Dict[str, object]:
        return {"random_scores.json": self.scores}
