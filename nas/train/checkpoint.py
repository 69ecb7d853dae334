"""Checkpoints: everything a stage needs to continue exactly where it stopped.

A checkpoint holds state dicts (model, optimizers, schedulers, the strategy's alpha and
sampler), the RNG states (torch, numpy, python) and the loop position (epoch, batch within the
epoch, held-out cursor, history). It is written to a temporary file with a unique name and
renamed (nas.train.files), so a kill or a full disk during the write leaves the previous
checkpoint intact and no partial file.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Dict, Union

import numpy as np
import torch

from nas.train.files import write_atomic


def rng_state() -> Dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: Union[str, Path], state: Dict[str, Any]) -> None:
    """Write `state` to `path` whole or not at all; a WriteError says why not (a full disk by name)."""
    write_atomic(path, lambda tmp: torch.save(state, tmp))


def load_checkpoint(path: Union[str, Path]) -> Dict[str, Any]:
    try:
        # our own files, holding RNG states and plain containers besides tensors
        return torch.load(path, map_location="cpu", weights_only=False)
    except (OSError, RuntimeError, EOFError) as e:
        raise RuntimeError(f"{path}: cannot read the checkpoint: {e}") from None
