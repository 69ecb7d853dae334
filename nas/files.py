"""Files a run writes whole or not at all, and what it says when it cannot.

`write_atomic(path, write)` has `write(tmp)` fill a temporary file with a unique name beside
`path` (two runs never share one), fsyncs it and renames it over `path`, so a kill or a full
disk leaves the previous file intact and no partial one behind. A failure is a `WriteError`
naming the file and, when the device is full (ENOSPC, or almost nothing free, as when torch's
writer fails with "unexpected pos"), saying so.
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional, Union

PathLike = Union[str, Path]
FULL_BELOW = 1 << 20          # bytes free under which a failed write is taken for a full device


class WriteError(RuntimeError):
    """A file could not be written; the message names it and the cause."""


def _free_bytes(d: Path) -> Optional[int]:
    try:
        return shutil.disk_usage(d).free
    except OSError:
        return None


def _describe(p: Path, e: BaseException, free: Optional[int]) -> str:
    full = (isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT)) or \
        (free is not None and free < FULL_BELOW)
    if full:
        left = f"{free} bytes free" if free is not None else "no space"
        return (f"{p}: no space left on the device of {p.parent} ({left}); the previous {p.name}, if any, is "
                f"intact and no partial file is left: free some space and run again")
    return f"{p}: cannot write it: {e}"


def write_atomic(path: PathLike, write: Callable[[str], None]) -> None:
    p = Path(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, p)
    except (OSError, RuntimeError) as e:
        free = _free_bytes(p.parent)            # before the partial file is removed
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WriteError(_describe(p, e, free)) from e
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_text_atomic(path: PathLike, text: str) -> None:
    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
    write_atomic(path, write)


def sha256_file(path: PathLike) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks (checkpoint sums, stage records)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
