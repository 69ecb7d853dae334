"""Network outputs for decoding: per-utterance (T, V) float32 log-probability matrices in Kaldi ark/scp.

The NAS stages' inference command writes them with kaldiio: column 0 is blank,
column j is token id j + 1 of the lang dir's tokens.txt, so V = number of units + 1.
A decode input is an scp file, or a directory holding `logprobs.scp`.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, Iterator, Tuple, Union

import numpy as np

from nas.data.table import TableError, iter_table

PathLike = Union[str, Path]
SCP_NAME = "logprobs.scp"


def resolve_scp(path: PathLike) -> Path:
    """The scp to read: `path` itself, or <path>/logprobs.scp, or a directory's only *.scp."""
    p = Path(path)
    if p.is_file():
        return p
    if p.is_dir():
        if (p / SCP_NAME).is_file():
            return p / SCP_NAME
        scps = sorted(p.glob("*.scp"))
        if len(scps) == 1:
            return scps[0]
        raise TableError(f"{p}: no {SCP_NAME}" + (f" and several scp files: {', '.join(s.name for s in scps)}"
                                                   if scps else " and no other scp file"))
    raise TableError(f"no such file or directory: {p}")


def num_outputs(tokens: Dict[str, int]) -> int:
    """V: blank plus the units of a tokens.txt table."""
    return 1 + sum(1 for s in tokens if s not in ("<eps>", "<blk>") and not s.startswith("#"))


def iter_logprobs(scp: PathLike, expected_outputs: int, check_normalized: bool = True
                  ) -> Iterator[Tuple[str, np.ndarray]]:
    """(utt, matrix) in scp order; a wrong shape is an error naming the utterance and the scp line."""
    import kaldiio

    warned = False
    for e in iter_table(scp):
        try:
            x = kaldiio.load_mat(e.value)
        except Exception as err:   # kaldiio raises several types for unreadable entries
            raise TableError(f"{scp}:{e.lineno}: cannot read the matrix of utterance {e.key}: {err}") from None
        x = np.asarray(x, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != expected_outputs:
            raise TableError(f"{scp}:{e.lineno}: utterance {e.key} has shape {x.shape}; expected (frames, "
                             f"{expected_outputs}) = blank + the units of tokens.txt")
        if check_normalized and not warned and x.shape[0]:
            lse = np.logaddexp.reduce(x[: min(len(x), 50)], axis=1)
            if np.abs(lse).max() > 1e-2:
                print(f"WARNING: rows of utterance {e.key} ({scp}) are not log-probabilities "
                      f"(log-sum-exp up to {np.abs(lse).max():.3g}); decoding them anyway", file=sys.stderr)
                warned = True
        yield e.key, x
