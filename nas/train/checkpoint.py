"""Checkpoints: everything a stage needs to continue exactly where it stopped, verified before use.

A checkpoint holds state dicts (model, optimizers, schedulers, the strategy's alpha and
sampler), the RNG states (torch, numpy, python) and the loop position (epoch, batch within the
epoch, held-out cursor, history). It is written to a temporary file with a unique name and
renamed (nas.files), so a kill or a full disk during the write leaves the previous
checkpoint intact and no partial file.

torch.load does not check a zip's CRCs: a file damaged in the middle loads and trains on junk.
So every checkpoint gets a SHA-256 beside it (`checkpoint.pt.sha256`, sha256sum's format,
written atomically after the checkpoint), and a rolling one (`checkpoint.pt`) keeps the one it
replaces as `checkpoint.prev.pt` (with its sum). On load a file whose sum differs, or that
cannot be read (truncated), is refused in one line naming it and the fix; where a valid
previous checkpoint is there, the loader falls back to it with a warning naming both. A
checkpoint without a sum (written by an older version) is loaded as it is.
"""
from __future__ import annotations

import logging
import os
import random
import shutil
import uuid
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np
import torch

from nas.files import sha256_file, write_atomic, write_text_atomic

log = logging.getLogger("nas")
PathLike = Union[str, Path]


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be used; the message names the file and the fix (one line)."""


def rng_state() -> Dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def set_rng_state(state: Dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def sum_path(path: PathLike) -> Path:
    p = Path(path)
    return p.with_name(p.name + ".sha256")


def prev_path(path: PathLike) -> Path:
    """checkpoint.pt -> checkpoint.prev.pt: the checkpoint a rolling save replaced."""
    p = Path(path)
    return p.with_name(f"{p.stem}.prev{p.suffix}")


def _keep_previous(p: Path) -> None:
    """Hard-link (or copy) `p` to its .prev name atomically, `p` staying in place, then write the
    prev's sum. A `p` without a sum (an older version's) or not matching it is not kept."""
    prev, s = prev_path(p), sum_path(p)
    if not s.is_file():
        return
    digest = (s.read_text().split() or [""])[0]
    if sha256_file(p) != digest:              # damaged (a resume fell back from it): keep the good prev instead
        return
    tmp = p.with_name(f".{prev.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        try:
            os.link(p, tmp)
        except OSError:                                      # no hard links on this file system
            shutil.copyfile(p, tmp)
        os.replace(tmp, prev)
    finally:
        tmp.unlink(missing_ok=True)
    write_text_atomic(sum_path(prev), f"{digest}  {prev.name}\n")


def save_checkpoint(path: PathLike, state: Dict[str, Any], keep_previous: bool = False) -> None:
    """Write `state` to `path` whole or not at all, then its SHA-256 beside it; with `keep_previous`
    the checkpoint it replaces stays as <stem>.prev.pt. A WriteError says why not (a full disk by name)."""
    p = Path(path)
    if keep_previous and p.is_file():
        _keep_previous(p)
    digest: Dict[str, str] = {}

    def write(tmp: str) -> None:
        torch.save(state, tmp)
        digest["sha256"] = sha256_file(tmp)
    write_atomic(p, write)
    write_text_atomic(sum_path(p), f"{digest['sha256']}  {p.name}\n")


def _verify(p: Path) -> Optional[str]:
    """None if `p` matches its sum (or has none), else what is wrong."""
    s = sum_path(p)
    if not s.is_file():
        log.info("%s: no checksum file %s (written by an older version): loaded unverified", p, s.name)
        return None
    try:
        want = (s.read_text().split() or [""])[0]
        got = sha256_file(p)
    except OSError as e:
        return f"cannot read it: {e}"
    if got != want:
        return f"its SHA-256 differs from {s.name} (damaged or truncated after it was written)"
    return None


def _read(p: Path) -> Dict[str, Any]:
    """The verified checkpoint `p`, or CheckpointError saying what is wrong with it (no fix yet)."""
    if not p.is_file():
        raise CheckpointError(f"{p}: no such file")
    bad = _verify(p)
    if bad:
        raise CheckpointError(f"{p}: {bad}")
    try:
        # our own files, holding RNG states and plain containers besides tensors
        state = torch.load(p, map_location="cpu", weights_only=False)
    except Exception as e:      # truncated or foreign files fail in torch's and pickle's own ways
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise CheckpointError(f"{p}: cannot read the checkpoint (truncated or not a checkpoint: {first})") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{p}: not a checkpoint of this toolkit (a {type(state).__name__}, not a dict)")
    return state


def load_checkpoint(path: PathLike, fix: str = "write it again (rerun the stage that makes it)") -> Dict[str, Any]:
    """The checkpoint at `path`, verified against its sum. A damaged one falls back, with a warning,
    to a valid <stem>.prev.pt beside it; otherwise CheckpointError names the file and `fix`."""
    p = Path(path)
    try:
        return _read(p)
    except CheckpointError as e:
        prev = prev_path(p)
        if not (prev.is_file() and sum_path(prev).is_file()):
            raise CheckpointError(f"{e}; {fix}") from None
        try:
            state = _read(prev)
        except CheckpointError as e2:
            raise CheckpointError(f"{e}; the previous one is no better ({e2}); {fix}") from None
        log.warning("%s; using the previous checkpoint %s instead", e, prev)
        return state
