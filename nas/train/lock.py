"""One run per exp dir at a time: an exclusive lock, <exp-dir>/.lock.

The lock is an flock held for the life of the process (the kernel drops it when the process
dies, even by SIGKILL) on a file naming its holder: pid, host and start time. A second run
exits at once naming the holder. A lock file left by a dead process (its flock gone) is taken
over with a message. Where the file system has no flock, the pid is checked instead (on the
same host only; a lock from another host is then refused).
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
import socket
import time
from pathlib import Path
from typing import IO, Optional

log = logging.getLogger("nas")


class LockHeld(RuntimeError):
    """Another live run holds the exp dir."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ExpDirLock:
    def __init__(self, exp_dir: Path):
        self.path = Path(exp_dir) / ".lock"
        self.file: Optional[IO[str]] = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            flocked = True
        except OSError as e:
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                f.close()
                raise LockHeld(self._held_message()) from None
            flocked = False                     # no flock on this file system: check the pid
        f.seek(0)
        old = f.read().strip()
        if old:
            holder = dict(kv.split("=", 1) for kv in old.split() if "=" in kv)
            if not flocked and (holder.get("host") != socket.gethostname()
                                or _alive(int(holder.get("pid", "0") or 0))):
                f.close()
                raise LockHeld(self._held_message())
            log.warning("%s: taking over the lock of a run that no longer holds it (%s)", self.path, old)
        f.seek(0)
        f.truncate()
        f.write(f"pid={os.getpid()} host={socket.gethostname()} since={time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        f.flush()
        self.file = f

    def _held_message(self) -> str:
        try:
            holder = self.path.read_text(encoding="utf-8").strip() or "a process that has not written its name yet"
        except OSError:
            holder = "another process"
        return (f"{self.path.parent}: another run is using this exp dir ({holder}); wait for it to end, stop it, "
                f"or give this run another exp dir")

    def release(self) -> None:
        """An ended run leaves an empty lock file: the next one takes it without a message."""
        if self.file is None:
            return
        self.file.seek(0)
        self.file.truncate()
        self.file.flush()
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()
        self.file = None
