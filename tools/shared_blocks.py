"""Blocks of N or more lines that two recipes' run.sh share (issue: the pipeline lives once, in steps/).

Lines are compared with their indentation stripped; blank lines are left out. Prints each shared block
once, with where it stands in each file, and exits 1 when there is one. A recipe made from the template
by utils/new_recipe.sh (its run.sh carries COPY_MARK) is not compared with egs/template, which it copies.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

REPO = Path(__file__).resolve().parent.parent
COPY_MARK = "# made from egs/template by utils/new_recipe.sh"


def _lines(path: Path) -> List[Tuple[int, str]]:
    """(line number, stripped text) of the non-blank lines."""
    return [(i, t.strip()) for i, t in enumerate(path.read_text().splitlines(), 1) if t.strip()]


def shared_blocks(a: Path, b: Path, n: int) -> List[Tuple[int, int, int]]:
    """Maximal runs of >= n consecutive equal lines: (line in a, line in b, length)."""
    la, lb = _lines(a), _lines(b)
    windows: Dict[Tuple[str, ...], List[int]] = {}
    for j in range(len(lb) - n + 1):
        windows.setdefault(tuple(t for _, t in lb[j:j + n]), []).append(j)
    found, covered = [], set()
    for i in range(len(la) - n + 1):
        for j in windows.get(tuple(t for _, t in la[i:i + n]), []):
            if (i, j) in covered:
                continue
            k = n
            while i + k < len(la) and j + k < len(lb) and la[i + k][1] == lb[j + k][1]:
                k += 1
            covered.update((i + d, j + d) for d in range(k))
            found.append((la[i][0], lb[j][0], k))
    return found


def _copy_of_template(copy: Path, template: Path) -> bool:
    return template.parent.name == "template" and COPY_MARK in copy.read_text().splitlines()[:3]


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--min-lines", type=int, default=6, help="shortest block reported (default: 6)")
    p.add_argument("files", nargs="*", help="default: every egs/*/run.sh")
    args = p.parse_args(argv)
    files = [Path(f) for f in args.files] or sorted(REPO.glob("egs/*/run.sh"))
    bad = 0
    for a, b in itertools.combinations(files, 2):
        if _copy_of_template(a, b) or _copy_of_template(b, a):
            continue
        for i, j, k in shared_blocks(a, b, args.min_lines):
            bad += 1
            print(f"{a}:{i} and {b}:{j}: {k} lines")
    print(f"{bad} shared blocks of {args.min_lines} or more lines among {len(files)} files")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
