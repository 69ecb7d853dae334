"""Random search: sample M architectures uniformly, score each with the warmed-up shared weights
on held-out data, keep the best. M = 1 is a plain random pick. It trains nothing: the search
stage runs no epochs and derives at once. It has no alpha for a soft latency term to act on; a
hard budget (--latency-mode hard) restricts the uniform samples to the architectures within it
(rejection, nas.strategies.latency), so the best scored sample is within it too."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

import torch

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
            arch = self.arch_of(self._uniform())
            if evaluate is None:
                return arch
            score = float(evaluate(arch))
            self.scores[" ".join(arch.values())] = score
            if score < best_score:
                best, best_score = arch, score
        return best

    def _uniform(self) -> List[int]:
        """A uniform sample of the space, within the latency budget in hard mode."""
        if self.latency is not None and self.latency.hard:
            return self.latency.sample([torch.ones(len(b.ops)) / len(b.ops) for b in self.net.blocks],
                                       self.generator)
        return sample_choice(self.net, self.generator)

    def final_probs(self):
        return None

    def reports(self) -> Dict[str, object]:
        return {"random_scores.json": self.scores}
