"""ARPA n-gram files checked before any library reads them.

The libraries behind our readers (kaldilm's arpa2fst, kaldingram's parser) stop on a corrupt
file with a bare `Exception: -2.183462`, or read a truncated one without a word. Every ARPA
reader of the toolkit (G.fst, LM rescoring, pruning, perplexity, prepare_arpa_lm) calls
`validate_arpa` first: the \\data\\ counts must match the n-gram lines of each section, every
probability and back-off weight must be a number, and the file must end with \\end\\. Errors
name the file and line, and say what to do.
"""
from __future__ import annotations

import gzip
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Tuple, Union

PathLike = Union[str, Path]
_NGRAM = re.compile(r"^ngram\s+(\d+)\s*=\s*(\d+)$")
_SECTION = re.compile(r"^\\(\d+)-grams:$")
_FIX = "regenerate or re-download the LM (a copy cut short or edited by hand?)"


class ArpaError(ValueError):
    """A malformed ARPA file; the message names the file (and line) and the fix."""


@dataclass
class ArpaInfo:
    """What a valid ARPA file declares: {order: count} and its 1-gram words, in file order."""
    counts: Dict[int, int] = field(default_factory=dict)
    unigrams: List[str] = field(default_factory=list)

    @property
    def order(self) -> int:
        return max(self.counts) if self.counts else 0


def open_text(path: PathLike) -> io.TextIOBase:
    """A plain or gzip'ed (.gz) text file, for reading."""
    p = str(path)
    if p.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(p, "rb"), encoding="utf-8")
    return open(p, encoding="utf-8")


def _number(text: str, name: str, lineno: int, what: str) -> None:
    try:
        ok = not math.isnan(float(text))
    except ValueError:
        ok = False
    if not ok:
        raise ArpaError(f"{name}:{lineno}: {text!r} is not a number in the {what} section; {_FIX}")


class ArpaChecker:
    """Line-by-line ARPA check (so a copy, e.g. prepare_arpa_lm's, can check as it goes)."""

    def __init__(self, name: str):
        self.name = name
        self.info = ArpaInfo()
        self.state = "before"            # before \data\, "data", "ngrams", "end"
        self.order = 0                   # the n of the section being read
        self.seen = 0                    # its lines so far

    def line(self, lineno: int, raw: str) -> None:
        s = raw.strip()
        if self.state == "end" or (self.state == "before" and s != "\\data\\"):
            return                       # text before \data\ (WSJ's LMs have some) and after \end\
        if s == "\\data\\":
            if self.state != "before":
                raise ArpaError(f"{self.name}:{lineno}: a second \\data\\ line; {_FIX}")
            self.state = "data"
        elif not s:
            return
        elif s == "\\end\\":
            self._close_section(lineno)
            self._check_all_sections(f"{self.name}:{lineno}: \\end\\ before")
            self.state = "end"
        elif s.startswith("\\") and _SECTION.match(s):
            self._open_section(lineno, int(s[1:].split("-", 1)[0]))
        elif self.state == "data":
            self._header_line(lineno, s)
        else:
            self._ngram_line(lineno, s)

    def _header_line(self, lineno: int, s: str) -> None:
        m = _NGRAM.match(s)
        if not m:
            raise ArpaError(f"{self.name}:{lineno}: expected 'ngram N=COUNT' in the \\data\\ section, got "
                            f"{s[:80]!r}; {_FIX}")
        self.info.counts[int(m.group(1))] = int(m.group(2))

    def _open_section(self, lineno: int, n: int) -> None:
        if self.state == "data" and not self.info.counts:
            raise ArpaError(f"{self.name}:{lineno}: the \\data\\ section declares no 'ngram N=COUNT'; {_FIX}")
        self._close_section(lineno)
        if n != self.order + 1 or n not in self.info.counts:
            raise ArpaError(f"{self.name}:{lineno}: section \\{n}-grams: where \\{self.order + 1}-grams: was "
                            f"expected (the header declares orders {sorted(self.info.counts)}); {_FIX}")
        self.state, self.order, self.seen = "ngrams", n, 0

    def _ngram_line(self, lineno: int, s: str) -> None:
        fields = s.split()
        n = self.order
        if len(fields) not in (n + 1, n + 2):
            raise ArpaError(f"{self.name}:{lineno}: a {n}-gram line is 'log10-prob {n} word(s) [back-off]', "
                            f"this one has {len(fields)} fields: {s[:80]!r}; {_FIX}")
        what = f"{n}-grams"
        _number(fields[0], self.name, lineno, what)
        if len(fields) == n + 2:
            _number(fields[-1], self.name, lineno, what)
        if n == 1:
            self.info.unigrams.append(fields[1])
        self.seen += 1

    def _close_section(self, lineno: int) -> None:
        if self.state == "ngrams" and self.seen != self.info.counts[self.order]:
            n = self.order
            raise ArpaError(f"{self.name}: header says ngram {n}={self.info.counts[n]}, the \\{n}-grams: section "
                            f"has {self.seen} lines (it ends at line {lineno}); {_FIX}")

    def _check_all_sections(self, where: str) -> None:
        missing = [n for n in sorted(self.info.counts) if n > self.order]
        if missing:
            raise ArpaError(f"{where} the \\{missing[0]}-grams: section the header declares; {_FIX}")

    def finish(self, last_line: int) -> ArpaInfo:
        """The file's ArpaInfo, or ArpaError if it stopped before its end."""
        if self.state == "before":
            raise ArpaError(f"{self.name}: no \\data\\ line: not an ARPA LM")
        if self.state != "end":
            where = (f"inside the {self.order}-grams section ({self.seen} of its {self.info.counts[self.order]} "
                     f"lines)" if self.order else "inside the \\data\\ section")
            raise ArpaError(f"{self.name}: no \\end\\ line: the file ends at line {last_line}, {where}: it is "
                            f"truncated; {_FIX}")
        return self.info


def check_lines(lines: Iterable[str], name: str) -> ArpaInfo:
    """Validate the text of an ARPA file (`name` is what messages call it)."""
    checker = ArpaChecker(name)
    lineno = 0
    for lineno, line in enumerate(lines, 1):
        checker.line(lineno, line)
    return checker.finish(lineno)


_CACHE: Dict[Tuple[str, int, int], ArpaInfo] = {}


def validate_arpa(path: PathLike) -> ArpaInfo:
    """Check an ARPA file (plain or .gz) before a library reads it; returns its counts and 1-grams.
    A file is checked once per (path, size, mtime): lmrescore's old and new LM may be one file."""
    p = str(path)
    try:
        st = os.stat(p)
    except OSError as e:
        raise ArpaError(f"{p}: cannot read the ARPA LM: {e.strerror or e}") from None
    key = (os.path.realpath(p), st.st_size, st.st_mtime_ns)
    if key not in _CACHE:
        try:
            with open_text(p) as f:
                _CACHE[key] = check_lines(f, p)
        except (UnicodeDecodeError, EOFError, gzip.BadGzipFile) as e:
            raise ArpaError(f"{p}: not a readable ARPA text file ({e}); {_FIX}") from None
    return _CACHE[key]

