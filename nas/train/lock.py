"""One run per exp dir at a time: an exclusive lock, <exp-dir>/.lock.

The lock is an flock held for the life of the process (the kernel drops it when the process
dies, even by SIGKILL) on a file naming its holder: pid, host, the process's start time (from
/proc, so that a reused pid is not taken for it) and the date. A second run exits at once
naming the holder while that process runs. A lock file left by a dead process is taken over
with a warning naming it, at once, even while the flock is still held: a run killed by SIGKILL
leaves its DataLoader workers behind for a while, and they inherited the flock'd descriptor.
A run that took over that way holds no flock, so a run that gets the flock still refuses while
the named holder is alive. Where the file system has no flock, the pid alone decides (on the
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
from typing import IO, Dict, Optional

log = logging.getLogger("nas")


class LockHeld(RuntimeError):
    """Another live run holds the exp dir."""


def start_time(pid: int) -> Optional[str]:
    """The process's start time in clock ticks since boot (/proc/<pid>/stat field 22): with the pid,
    it names a process uniquely, so a reused pid is not taken for the holder. None when unknown or
    when the process is gone (a zombie counts as gone: it holds nothing but its exit status)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()         # after the command name, which may hold spaces
    if len(fields) < 20 or fields[0] == "Z":
        return None
    return fields[19]


def _alive(pid: int, start: Optional[str] = None) -> bool:
    """Whether `pid` runs on this host and, when `start` is known, is the process that started then."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    now = start_time(pid)
    if now is None:
        return not Path("/proc/self/stat").is_file()      # no /proc: trust kill(); with /proc: gone or a zombie
    return start is None or now == start


def _holder(text: str) -> Dict[str, str]:
    return dict(kv.split("=", 1) for kv in text.split() if "=" in kv)


def _live_holder(flocked: Optional[bool], old: str, holder: Dict[str, str]) -> bool:
    """Whether the lock file's holder is a live run. `flocked`: True (this process got the flock),
    None (another process holds it), False (no flock on this file system)."""
    if not old or "pid" not in holder:
        return flocked is None                  # held by a run that has not written its name yet
    if holder.get("host") != socket.gethostname():
        return flocked is not True              # another host's pid cannot be checked: its flock speaks
    if flocked is True and "start" not in holder:
        return False                            # an older version's file: its flock was the whole lock
    try:
        pid = int(holder["pid"])
    except ValueError:
        return flocked is None
    return _alive(pid, holder.get("start"))


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
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                flocked = False                 # no flock on this file system: check the pid
            else:
                flocked = None                  # held: by the named run, or by children it left behind
        f.seek(0)
        old = f.read().strip()
        holder = _holder(old)
        if _live_holder(flocked, old, holder):
            f.close()
            raise LockHeld(self._held_message())
        if old:
            left = ("; its flock is still held by processes it left behind (data loader workers), which do not count"
                    if flocked is None else "")
            log.warning("%s: taking over the lock of a run that no longer holds it (%s): pid %s is not running%s",
                        self.path, old, holder.get("pid", "?"), left)
        f.seek(0)
        f.truncate()
        f.write(f"pid={os.getpid()} host={socket.gethostname()} start={start_time(os.getpid()) or 0} "
                f"since={time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
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
