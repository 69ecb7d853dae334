"""Kaldi symbol tables (`<symbol> <id>` per line: tokens.txt, words.txt, units.txt).

Read into a dict with checks, so a malformed or inconsistent table fails early
with the file and line instead of producing a graph with wrong labels.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Iterable, Union

from nas.data.table import TableError, text_lines

PathLike = Union[str, Path]


def read_symbols(path: PathLike) -> Dict[str, int]:
    """Symbol table -> {symbol: id}; duplicate symbols or ids are errors naming the line."""
    table: Dict[str, int] = {}
    seen_ids: Dict[int, str] = {}
    for lineno, line in text_lines(path):
        parts = line.split()
        if len(parts) != 2:
            raise TableError(f"{path}:{lineno}: expected '<symbol> <id>', got {line.rstrip()!r}")
        sym, sid = parts
        try:
            i = int(sid)
        except ValueError:
            raise TableError(f"{path}:{lineno}: id {sid!r} of {sym!r} is not an integer") from None
        if i < 0:
            raise TableError(f"{path}:{lineno}: negative id {i}")
        if sym in table:
            raise TableError(f"{path}:{lineno}: duplicate symbol {sym!r}")
        if i in seen_ids:
            raise TableError(f"{path}:{lineno}: id {i} of {sym!r} is already used by {seen_ids[i]!r}")
        table[sym] = i
        seen_ids[i] = sym
    return table


def invert(table: Dict[str, int]) -> Dict[int, str]:
    """{symbol: id} -> {id: symbol}."""
    return {i: s for s, i in table.items()}


def write_symbols(path: PathLike, symbols: Iterable[str], start: int = 0) -> Dict[str, int]:
    """Write symbols with consecutive ids from `start`; returns the table."""
    table: Dict[str, int] = {}
    with open(path, "w", encoding="utf-8") as f:
        for i, s in enumerate(symbols, start):
            if s in table:
                raise ValueError(f"duplicate symbol {s!r} written to {path}")
            if not s or any(c.isspace() for c in s):
                raise ValueError(f"symbol {s!r} written to {path} is empty or has whitespace")
            table[s] = i
            f.write(f"{s} {i}\n")
    return table
