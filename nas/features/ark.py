"""Writing a Kaldi ark/scp pair so that a failed write names its file and leaves nothing behind.

kaldiio's WriteHelper writes both files through one call and closes them in `__exit__`: when the
disk fills, the job log gets a chained traceback (the write's error, then the close's) that names
neither file, and a partial ark with an scp pointing into it stays on disk for the next stage to
read. `ArkScpWriter` writes the same bytes (kaldiio's save_ark for the matrix, the scp line by
hand), reports a failure as one `ArkWriteError` line naming the file and the cause, and
`discard()` removes every output it was given.
"""
from __future__ import annotations

import contextlib
import errno
import os
from typing import Iterator, List, Optional, Sequence

import kaldiio
import numpy as np


class ArkWriteError(Exception):
    """A file that could not be written: its name, the cause, and what to do (one line)."""


def describe(path: str, e: OSError) -> str:
    """`path: cannot write: no space left on device (ENOSPC); ...` for an OSError of a write."""
    code = errno.errorcode.get(e.errno or 0, "")
    cause = (e.strerror or str(e)).lower() + (f" ({code})" if code else "")
    fix = ("free space on that device, or give the features another directory, and rerun"
           if e.errno in (errno.ENOSPC, errno.EDQUOT) else "check the directory and rerun")
    return f"{path}: cannot write: {cause}; {fix}"


@contextlib.contextmanager
def blame(path: str) -> Iterator[None]:
    """Turn an OSError in the block into one ArkWriteError naming `path`."""
    try:
        yield
    except ArkWriteError:
        raise
    except OSError as e:
        raise ArkWriteError(describe(path, e)) from None


class ArkScpWriter:
    """`writer(utt, matrix)` appends to `ark` and its index `scp` (kaldiio's layout); `also` are
    other outputs of the same job that `discard()` removes with them."""

    def __init__(self, ark: str, scp: str, compression_method: Optional[int] = None,
                 also: Sequence[str] = ()):
        self.ark, self.scp, self.compression = ark, scp, compression_method
        self.outputs = [ark, scp, *also]
        self.fark = self.fscp = None
        with blame(ark):
            self.fark = open(ark, "wb")
        with blame(scp):
            self.fscp = open(scp, "w", encoding="utf-8")

    def __call__(self, utt: str, matrix: np.ndarray) -> None:
        with blame(self.ark):
            offset = self.fark.tell() + len((utt + " ").encode("utf-8"))
            kaldiio.save_ark(self.fark, {utt: matrix}, compression_method=self.compression)
        with blame(self.scp):
            self.fscp.write(f"{utt} {self.ark}:{offset}\n")

    def close(self) -> None:
        """Flush and close both files; an error names the file whose data did not reach the disk."""
        for path, f in ((self.ark, self.fark), (self.scp, self.fscp)):
            if f is not None and not f.closed:
                with blame(path):
                    f.close()

    def discard(self) -> List[str]:
        """Close without raising and remove every output; returns those that existed."""
        for f in (self.fark, self.fscp):
            if f is not None and not f.closed:
                with contextlib.suppress(OSError):
                    f.close()
        removed = []
        for path in self.outputs:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
                removed.append(path)
        return removed
