"""Stage 0 of egs/librispeech: download, check and unpack the parts and the LM files.

Each file is fetched from BASE/<resource>/<name> (nas.corpora.librispeech.resource_of) into
<name>.part, resumed where an earlier run stopped (an HTTP Range request; a seek into the source for
file://), and only renamed to <name> once its MD5 matches the published one. A mismatch removes
the .part file (a resumed download must not keep a wrong prefix) and fails naming the file.

The sums are read from a file in md5sum's output format (`<md5>  <name>`; `#` comments), by
default the recipe's conf/md5sums.txt; `--md5sums FILE` gives another for a mirror. A name the
file does not list is refused: nothing is used unchecked.

Archives are unpacked with tarfile in one streaming pass; every member must lie under the
archive's top directory LibriSpeech/ and be a plain file or directory (no links, no absolute paths,
no `..`), else the archive is refused naming the member. A truncated or corrupt archive fails
naming it. LibriSpeech/<part>/.complete records a finished unpacking (with the archive's MD5), and
a part that has it is skipped, archive or not; an LM file is skipped when its stamp
(<name>.md5ok: MD5, size and time) still matches it.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zlib
from pathlib import Path
from typing import Callable, Dict, Iterable, Optional, Tuple

from nas.corpora.librispeech import (LIBRISPEECH_PARTS, MINI_PARTS, TOP_DIR, LibriSpeechError, archive_name,
                                     resource_of)

CHUNK = 1 << 20
Log = Callable[[str], None]


def _print(msg: str) -> None:
    print(msg, flush=True)


def read_md5sums(path: Path) -> Dict[str, str]:
    """{file name: md5} of an md5sum-format file; a malformed line or a name listed twice with two
    sums is an error naming the file and line."""
    sums: Dict[str, str] = {}
    where: Dict[str, int] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise LibriSpeechError(f"{path}: cannot read the MD5 sums ({e.strerror})") from None
    for lineno, line in enumerate(lines, 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        parts = s.split(maxsplit=1)
        digest = parts[0].lower()
        if len(parts) != 2 or len(digest) != 32 or any(c not in "0123456789abcdef" for c in digest):
            raise LibriSpeechError(f"{path}:{lineno}: not an md5sum line (`<32 hex digits>  <file name>`): {s!r}")
        name = os.path.basename(parts[1].lstrip("*").strip())    # md5sum -b writes *name; paths count by name
        if name in sums and sums[name] != digest:
            raise LibriSpeechError(f"{path}:{lineno}: {name} listed again with another MD5 (first on line "
                                   f"{where[name]})")
        sums[name] = digest
        where[name] = lineno
    return sums


def file_md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            h.update(block)
    return h.hexdigest()


def source_url(base: str, name: str) -> str:
    """BASE/<resource>/<name>; a plain directory path as BASE is taken as file://."""
    if "://" not in base:
        base = Path(base).resolve().as_uri()
    return f"{base.rstrip('/')}/{resource_of(name)}/{name}"


def _copy_file_url(url: str, part: Path) -> None:
    """file://: append the rest of the source to `part` (a copy that resumes like a Range request)."""
    src = Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))
    if not src.is_file():
        raise LibriSpeechError(f"{url}: no such file on the mirror (expected {src})")
    have = part.stat().st_size if part.exists() else 0
    if have > src.stat().st_size:
        have = 0                               # longer than the source: not a prefix of it
    with open(src, "rb") as fin, open(part, "r+b" if have else "wb") as fout:
        fin.seek(have)
        fout.seek(have)
        fout.truncate()
        shutil.copyfileobj(fin, fout, CHUNK)


def _fetch_http(url: str, part: Path, log: Log) -> None:
    """http(s): download into `part`, asking for the rest of it when a prefix is there."""
    have = part.stat().st_size if part.exists() else 0
    req = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            resumed = have > 0 and resp.status == 206
            if have and not resumed:
                log(f"{url}: the server does not resume; downloading it again from the start")
            with open(part, "ab" if resumed else "wb") as f:
                shutil.copyfileobj(resp, f, CHUNK)
    except urllib.error.HTTPError as e:
        if e.code == 416 and have:            # the prefix is already the whole file
            return
        raise LibriSpeechError(f"{url}: HTTP {e.code} {e.reason}") from None
    except (urllib.error.URLError, OSError) as e:
        raise LibriSpeechError(f"{url}: download failed ({getattr(e, 'reason', e)}); run stage 0 again to "
                               f"resume it ({part} holds what came)") from None


def fetch_verified(url: str, dest: Path, md5: str, log: Log = _print) -> None:
    """`dest` downloaded from `url` (resuming `dest`.part) and checked against `md5`; renamed into
    place only when it matches, else removed and refused naming the file."""
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if part.exists():
        log(f"{dest.name}: resuming after {part.stat().st_size} bytes from {url}")
    else:
        log(f"{dest.name}: downloading {url}")
    if url.startswith("file:"):
        _copy_file_url(url, part)
    else:
        _fetch_http(url, part, log)
    got = file_md5(part)
    if got != md5:
        size = part.stat().st_size
        part.unlink()
        raise LibriSpeechError(f"{dest}: MD5 {got} of the download ({size} bytes, from {url}) is not the "
                               f"published {md5}: a truncated or corrupt file, or another version "
                               f"(removed; run stage 0 again, or give a mirror's sums with --md5sums)")
    part.replace(dest)


def _check_member(m: tarfile.TarInfo, archive: Path) -> None:
    """Refuse a member that could write outside the target or is not a plain file or directory."""
    name = m.name
    parts = Path(name).parts
    if name.startswith(("/", "\\")) or ".." in parts or (parts and parts[0] != TOP_DIR):
        raise LibriSpeechError(f"{archive}: member {name!r} lies outside {TOP_DIR}/ (the published archives hold "
                               f"only {TOP_DIR}/...); refused")
    if not (m.isfile() or m.isdir()):
        raise LibriSpeechError(f"{archive}: member {name!r} is not a plain file or directory (a link or a "
                               f"device); refused")


def extract(archive: Path, dest: Path, part: str, md5: str, log: Log = _print) -> Path:
    """Unpack `archive` under `dest` (safely, in one pass) and mark LibriSpeech/<part> complete."""
    target = dest / TOP_DIR / part
    log(f"{archive.name}: unpacking into {dest}/{TOP_DIR}")
    kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    try:
        with tarfile.open(archive, "r|gz") as tar:
            for m in tar:
                _check_member(m, archive)
                tar.extract(m, dest, **kw)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as e:
        raise LibriSpeechError(f"{archive}: cannot unpack it ({e}): a truncated or corrupt archive; remove it and "
                               f"run stage 0 again") from None
    if not target.is_dir():
        raise LibriSpeechError(f"{archive}: holds no {TOP_DIR}/{part}/ (is it the archive of another part?)")
    (target / ".complete").write_text(f"{md5}  {archive.name}\n")
    return target


def get_part(base: str, part: str, dest: Path, sums: Dict[str, str], sums_file: str,
             remove_archive: bool = False, log: Log = _print) -> None:
    """One part: skipped when unpacked before; else its archive (downloaded unless a verified copy
    is there) checked and unpacked."""
    name = archive_name(part)
    if (dest / TOP_DIR / part / ".complete").is_file():
        log(f"{part}: {dest / TOP_DIR / part} is unpacked; skipping")
        return
    md5 = _sum_of(name, sums, sums_file)
    archive = dest / name
    if archive.is_file():
        if file_md5(archive) != md5:
            raise LibriSpeechError(f"{archive}: MD5 is not the published {md5} (from {sums_file}); remove it to "
                                   f"download it again")
        log(f"{name}: there, MD5 as published")
    else:
        fetch_verified(source_url(base, name), archive, md5, log)
    extract(archive, dest, part, md5, log)
    if remove_archive:
        archive.unlink()


def get_file(base: str, name: str, dest: Path, sums: Dict[str, str], sums_file: str, log: Log = _print) -> None:
    """One LM or lexicon file into `dest`, skipped when its stamp says it was checked as it is."""
    path = dest / name
    stamp = dest / f"{name}.md5ok"
    md5 = _sum_of(name, sums, sums_file)
    if path.is_file() and stamp.is_file() and stamp.read_text().split() == _stamp(path, md5).split():
        log(f"{name}: there, checked before; skipping")
        return
    if path.is_file():
        if file_md5(path) != md5:
            raise LibriSpeechError(f"{path}: MD5 is not the published {md5} (from {sums_file}); remove it to "
                                   f"download it again")
    else:
        fetch_verified(source_url(base, name), path, md5, log)
    stamp.write_text(_stamp(path, md5))


def _stamp(path: Path, md5: str) -> str:
    st = path.stat()
    return f"{md5} {st.st_size} {st.st_mtime_ns}\n"


def _sum_of(name: str, sums: Dict[str, str], sums_file: str) -> str:
    if name not in sums:
        raise LibriSpeechError(f"{sums_file}: lists no MD5 for {name}; add its `<md5>  {name}` line (from the "
                               f"publisher's md5sum.txt) or give a file that has it with --md5sums")
    return sums[name]


def download(base: str, parts: Iterable[str], files: Iterable[str], corpus: Path, lm_dir: Path,
             sums_file: Path, remove_archives: bool = False, log: Log = _print) -> Tuple[int, int]:
    """Stage 0: every part unpacked under `corpus`, every file in `lm_dir`; returns (parts, files)."""
    sums = read_md5sums(sums_file)
    parts, files = list(parts), list(files)
    for p in parts:                                # an unknown part fails before any download
        if p not in LIBRISPEECH_PARTS + MINI_PARTS:
            raise LibriSpeechError(f"unknown part '{p}' (LibriSpeech: {' '.join(LIBRISPEECH_PARTS)}; "
                                   f"Mini LibriSpeech: {' '.join(MINI_PARTS)})")
    for p in parts:
        get_part(base, p, corpus, sums, str(sums_file), remove_archives, log)
    for f in files:
        get_file(base, f, lm_dir, sums, str(sums_file), log)
    return len(parts), len(files)


def main_download(a: argparse.Namespace, log: Optional[Log] = None) -> int:
    """The `download` command (arguments from nas.corpora.librispeech.__main__)."""
    try:
        n, m = download(a.url, a.parts, a.files, Path(a.corpus), Path(a.lm_dir), Path(a.md5sums),
                        a.remove_archives, log or _print)
    except LibriSpeechError as e:
        print(f"librispeech download: ERROR: {e}", file=sys.stderr)
        return 1
    print(f"librispeech download: {n} parts under {Path(a.corpus) / TOP_DIR}, {m} files in {a.lm_dir}: "
          f"MD5s as published ({a.md5sums})")
    return 0
