"""The errors of nas.bench: a benchmark file that cannot be used, an architecture a table lacks.

Below every other module of the package (it imports none), so the file format, the codecs and
the table can all raise them.
"""
from __future__ import annotations


class BenchFileError(ValueError):
    """A benchmark file (or set of files) that cannot be used; the message names the file."""


class ArchNotInTable(BenchFileError, KeyError):
    """An architecture the table has no entry for: a KeyError too, as the Objective protocol asks."""

    def __str__(self) -> str:          # KeyError's str() would quote the message
        return str(self.args[0]) if self.args else ""
