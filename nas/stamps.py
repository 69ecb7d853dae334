"""What a stage was made from: digests of its inputs, recorded beside its outputs and compared on rerun.

A stage that only checked whether its outputs exist (or are newer than some file) reports a stale
result as current when an input changed: a new arch.json with an old retraining, a new fbank.conf
with old features. Instead each stage records the digest of every input it read (and the option
values that shape its output) when it finishes, and a rerun compares: the same record skips the
stage, any difference redoes it, naming what changed. Since outputs become the next stage's
inputs, a redone stage changes what every later stage was made from, and they redo in turn.

Digests: a file's sha256 (its size and mtime instead when it is over HASH_LIMIT, as big archives
and checkpoints are); for feats.scp, cmvn.scp and logprobs.scp also the size and mtime of every
archive they point into, since recomputed features often leave the scp's text unchanged; a
directory is the digests of its top-level files, leaving out hidden files and logs (a lock file or
a log line must not make a stage stale). A path that does not exist is recorded as "missing".
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Union

from nas.files import sha256_file, write_text_atomic

PathLike = Union[str, Path]
Digest = Union[str, Dict[str, str]]
HASH_LIMIT = 64 << 20           # bytes: larger files are known by size and mtime
SCP_WITH_ARKS = ("feats.scp", "cmvn.scp", "logprobs.scp")
FORMAT = "st-nas-inputs/1"


def _stat_id(p: Path) -> str:
    st = p.stat()
    return f"size={st.st_size} mtime={st.st_mtime_ns}"


def _ark_ids(scp: Path) -> List[str]:
    """Size and mtime of each archive an scp points into (relative paths as Kaldi reads them: from
    the working directory)."""
    arks: Dict[str, None] = {}
    with open(scp, encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.split(maxsplit=1)
            if len(parts) == 2:
                target = parts[1].strip()
                arks.setdefault(target.rsplit(":", 1)[0] if ":" in target else target, None)
    out = []
    for a in arks:
        p = Path(a)
        out.append(f"{a} {_stat_id(p) if p.is_file() else 'missing'}")
    return out


def file_digest(path: PathLike) -> str:
    p = Path(path)
    if p.stat().st_size > HASH_LIMIT:
        return _stat_id(p)
    digest = sha256_file(p)
    if p.name in SCP_WITH_ARKS:         # the archives' sizes and mtimes folded in
        digest = hashlib.sha256("\0".join([digest, *_ark_ids(p)]).encode()).hexdigest()
    return "sha256=" + digest


def path_digest(path: PathLike) -> Digest:
    """A file's digest, a directory's {file name: digest}, or "missing"."""
    p = Path(path)
    if p.is_file():
        return file_digest(p)
    if p.is_dir():
        return {c.name: file_digest(c) for c in sorted(p.iterdir())
                if c.is_file() and not c.name.startswith(".") and not c.name.endswith(".log")}
    return "missing"


def make_record(paths: Mapping[str, PathLike], values: Optional[Mapping[str, object]] = None) -> dict:
    """The record of a stage's inputs: each named path's digest and each named value."""
    return {"format": FORMAT,
            "paths": {name: {"path": str(p), "digest": path_digest(p)} for name, p in paths.items()},
            "values": {k: v for k, v in (values or {}).items()}}


def changes(old: dict, new: dict) -> List[str]:
    """What differs between two records, as short phrases ("data (feats.scp, text)", "option lr")."""
    out: List[str] = []
    op, np_ = old.get("paths", {}), new.get("paths", {})
    for name in sorted(set(op) | set(np_)):
        a, b = op.get(name, {}), np_.get(name, {})
        if not a or not b:
            out.append(f"{name} ({'new input' if b else 'no longer an input'})")
        elif a.get("digest") != b.get("digest"):         # the same content under another path is no change
            da, db = a.get("digest"), b.get("digest")
            if isinstance(da, dict) and isinstance(db, dict):
                files = sorted(f for f in set(da) | set(db) if da.get(f) != db.get(f))
                out.append(f"{name} ({', '.join(files)})")
            elif a.get("path") != b.get("path"):
                out.append(f"{name} (now {b['path']}, was {a['path']})")
            else:
                out.append(f"{name} ({b['path']})")
    ov, nv = old.get("values", {}), new.get("values", {})
    out += [f"{k} ({ov.get(k, '(unset)')!s} -> {nv.get(k, '(unset)')!s})"
            for k in sorted(set(ov) | set(nv)) if ov.get(k) != nv.get(k)]
    return out


def read_record(path: PathLike) -> Optional[dict]:
    """A stored record, or None when there is none (or it is unreadable: then the stage redoes)."""
    try:
        rec = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return rec if isinstance(rec, dict) and rec.get("format") == FORMAT else None


def write_record(path: PathLike, record: dict) -> None:
    write_text_atomic(path, json.dumps(record, indent=1, sort_keys=True) + "\n")
