"""Read and write Kaldi text tables (`<key> <value...>` per line), keeping line numbers for errors.

Kaldi requires the files of a data dir to be sorted in the C locale. For keys
without whitespace, sorting lines bytewise equals sorting keys by code point
(UTF-8 preserves code-point order and ' ' sorts before any key character), so
`sorted(keys)` here matches `LC_ALL=C sort` on the lines.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Tuple, Union

PathLike = Union[str, Path]


class TableError(ValueError):
    """A malformed table; the message names the file and line."""


@dataclass(frozen=True)
class Entry:
    key: str
    value: str  # the rest of the line after the key, stripped ('' when absent)
    lineno: int


def decode_line(raw: bytes, path: PathLike, lineno: int) -> str:
    """A line of a UTF-8 text file, or a TableError naming the file, line, key and column."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        key = raw.split(maxsplit=1)[0].decode("utf-8", errors="replace") if raw.split() else ""
        raise TableError(f"{path}:{lineno}: not valid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}"
                         f"{f', utterance or key {key}' if key else ''}): convert the file to UTF-8 "
                         f"(e.g. iconv -f latin1 -t utf-8)") from None


def text_lines(path: PathLike) -> Iterator[Tuple[int, str]]:
    """(line number, line) of a UTF-8 text file; bad UTF-8 is a TableError naming file and line."""
    with open(path, "rb") as f:
        for lineno, raw in enumerate(f, 1):
            yield lineno, decode_line(raw, path, lineno)


def iter_table(path: PathLike) -> Iterator[Entry]:
    """Yield the entries of a table; blank lines are errors, as in Kaldi."""
    for lineno, line in text_lines(path):
        parts = line.strip().split(maxsplit=1)
        if not parts:
            raise TableError(f"{path}:{lineno}: empty line")
        yield Entry(parts[0], parts[1].strip() if len(parts) > 1 else "", lineno)


def check_id(value: str, path: PathLike, lineno: int, what: str) -> None:
    """An id (speaker, recording) is one token: whitespace or control characters in it are a
    TableError (Kaldi's tools split on them, and spk2utt would come out wrong)."""
    if not value or any(c.isspace() or ord(c) < 32 for c in value):
        raise TableError(f"{path}:{lineno}: {what} {value!r} is not a single token (ids may not contain "
                         f"whitespace or control characters)")


def read_table(path: PathLike) -> List[Entry]:
    return list(iter_table(path))


def read_dict(path: PathLike) -> Dict[str, str]:
    """Read a table into {key: value}; a duplicate key is an error naming both lines."""
    out: Dict[str, str] = {}
    first_line: Dict[str, int] = {}
    for e in iter_table(path):
        if e.key in out:
            raise TableError(f"{path}:{e.lineno}: duplicate key {e.key!r} (first on line {first_line[e.key]})")
        out[e.key] = e.value
        first_line[e.key] = e.lineno
    return out


def write_table(path: PathLike, items: Iterable[Tuple[str, str]], sort: bool = True,
                keep_unchanged: bool = False) -> None:
    """Write `key value` lines, sorted by key (C locale) unless `sort` is False. With
    `keep_unchanged`, a file that already holds exactly these lines is not rewritten, so its
    time stamp still tells recipes what is up to date."""
    rows = sorted(items, key=lambda kv: kv[0]) if sort else list(items)
    text = "".join(f"{k} {v}\n" if v != "" else f"{k}\n" for k, v in rows)
    p = Path(path)
    if keep_unchanged and p.is_file() and p.stat().st_size == len(text.encode("utf-8")) \
            and p.read_text(encoding="utf-8") == text:
        return
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)


def spk2utt_from_utt2spk(utt2spk: Dict[str, str]) -> Dict[str, List[str]]:
    """Invert utt2spk; utterances keep sorted order within each speaker."""
    out: Dict[str, List[str]] = {}
    for utt in sorted(utt2spk):
        out.setdefault(utt2spk[utt], []).append(utt)
    return out
