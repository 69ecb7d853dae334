"""Random search: sample M architectures uniformly, score each with the warmed-up shared weights
on held-out data, keep the best. M = 1 is a plain random pick. It trains no alpha."""
from __future__ import annotations

from typing import Callable, Dict, Optional

from nas.strategies.base import Strategy


class RandomStrategy(Strategy):
    name = "random"
    has_arch_steps = False

    def __init__(self, net, resource_coef: float = 0.0, seed: int = 0, num_samples: int = 10):
        super().__init__(net, resource_coef, seed)
        self.num_samples = num_samples
        self.scores: Dict[str, float] = {}

    def arch_step(self, batch, loss_fn, optimizer) -> float:
        raise RuntimeError("random search has no architecture steps; call derive(evaluate)")

    def weight_step(self, batch, loss_fn, optimizer) -> float:
        return self.warmup_step(batch, loss_fn, optimizer)

    def derive(self, evaluate: Optional[Callable[[Dict[str, str]], float]] = None) -> Dict[str, str]:
        """The best of `num_samples` uniform samples under `evaluate(arch) -> held-out loss`."""
        best, best_score = None, float("inf")
        for _ in range(self.num_samples):
            arch = self.arch_of(self.sample(uniform=True))
            if evaluate is None:
                return arch
            score = float(evaluate(arch))
            self.scores[" ".join(arch.values())] = score
            if score < best_score:
                best, best_score = arch, score
        return best
