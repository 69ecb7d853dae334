"""Stop rules and lr schedules on the held-out loss, decided at each epoch end.

A rule returns an `EpochEnd`: whether the epoch improved on the best held-out loss (the loop
then writes best.pt), the weights' lr from now on, and whether to stop. The decision is part
of the checkpoint, so a run killed after it resumes into the same end.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class EpochEnd:
    improved: bool
    lr: float
    stop: bool = False
    note: str = ""          # logged when not empty


class _Best:
    def __init__(self) -> None:
        self.best, self.bad = math.inf, 0

    def _update(self, value: float) -> bool:
        if value < self.best:
            self.best, self.bad = value, 0
            return True
        self.bad += 1
        return False

    def state_dict(self) -> dict:
        return {"best": self.best, "bad": self.bad}

    def load_state_dict(self, s: dict) -> None:
        self.best, self.bad = s["best"], s["bad"]


class EarlyStop(_Best):
    """Stop after `patience` epochs without improvement; the lr stays (the ST-NAS warm-up)."""

    def __init__(self, patience: int):
        super().__init__()
        self.patience = patience

    def update(self, value: float, lr: float) -> EpochEnd:
        improved = self._update(value)
        if self.bad >= self.patience:
            return EpochEnd(improved, lr, True, f"no held-out improvement for {self.patience} epochs: stop")
        return EpochEnd(improved, lr)


class ExpDecay(_Best):
    """A fixed number of epochs, the lr x `decay` after each epoch from epoch `start` on (1-based):
    NAS-Bench-ASR's schedule (x0.9 after every epoch from the 5th)."""

    def __init__(self, start: int, decay: float):
        super().__init__()
        self.start, self.decay = start, decay

    def update(self, value: float, lr: float, epoch: int) -> EpochEnd:
        improved = self._update(value)
        return EpochEnd(improved, lr * self.decay if epoch >= self.start else lr)


class LrPlateau(_Best):
    """lr x `decay` after `epochs` epochs without improvement (the count then restarts); stop once
    the lr is below `stop_lr` (the ST-NAS search and retraining)."""

    def __init__(self, epochs: int, decay: float, stop_lr: float):
        super().__init__()
        self.epochs, self.decay, self.stop_lr = epochs, decay, stop_lr

    def update(self, value: float, lr: float) -> EpochEnd:
        improved = self._update(value)
        if self.bad < self.epochs:
            return EpochEnd(improved, lr)
        self.bad = 0
        new = lr * self.decay
        if new < self.stop_lr:
            return EpochEnd(improved, new, True, f"held-out plateau: lr {lr:.3g} -> {new:.3g}, below {self.stop_lr:.3g}: stop")
        return EpochEnd(improved, new, False, f"held-out plateau: lr {lr:.3g} -> {new:.3g}")
