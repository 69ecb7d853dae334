"""Take an ARPA LM given as a file (a corpus' own LM) instead of training one: decompress, clean, prune.

Backs utils/prepare_arpa_lm.sh. Corpora ship LMs as plain, gzip or compress(1)
(.Z / .z, as WSJ's base_lm/*.z) files, sometimes with text before the
``\\data\\`` section (WSJ's trigrams have a header): the output is a plain ARPA
file (gzip'ed when its name ends in .gz) that starts at ``\\data\\``. With
--prune-threshold the n-grams whose removal changes the perplexity by less than
the threshold are pruned (SRILM's -prune, as Kaldi's WSJ recipe prunes the
20k trigram with 1e-7 to get its first-pass "tgpr" LM).
"""
from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional, Tuple

from nas.lm.arpa import ArpaChecker
from nas.lm.word_lm import format_counts, prune_arpa

PROG = "prepare_arpa_lm"


def read_lines(path: Path) -> Iterator[str]:
    """Text lines of a plain, gzip or compress(1) file (gzip -dc decodes both compressions)."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic in (b"\x1f\x8b", b"\x1f\x9d"):
        proc = subprocess.Popen(["gzip", "-dc", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None
        for raw in proc.stdout:
            yield raw.decode("utf-8", errors="replace")
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        if proc.wait() != 0:
            raise ValueError(f"{path}: gzip -dc failed (exit {proc.returncode}): {err.strip()}")
    else:
        with open(path, encoding="utf-8", errors="replace") as f:
            yield from f


def copy_arpa(src: Path, out: IO[str]) -> Tuple[int, Dict[int, int]]:
    """Write `src` from its \\data\\ line on, validating it as it goes (nas.lm.arpa: errors name
    the line of `src`); returns the number of header lines skipped and the n-gram counts."""
    skipped = lineno = 0
    started = False
    checker = ArpaChecker(str(src))
    for lineno, line in enumerate(read_lines(src), 1):
        checker.line(lineno, line)
        if not started:
            if line.strip() == "\\data\\":
                started = True
            else:
                skipped += 1
                continue
        out.write(line if line.endswith("\n") else line + "\n")
    return skipped, checker.finish(lineno).counts


def _write_final(plain: Path, out: Path) -> None:
    if str(out).endswith(".gz"):
        with open(plain, "rb") as f, gzip.open(out, "wb") as g:
            shutil.copyfileobj(f, g)
    else:
        shutil.copyfile(plain, out)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--prune-threshold", type=float, default=0.0,
                   help="entropy pruning threshold (e.g. 1e-7); 0 keeps every n-gram")
    p.add_argument("--min-order", type=int, default=2, help="prune n-grams of this order and above")
    p.add_argument("in_lm", help="ARPA LM: plain, .gz, or compress(1)'ed (.Z/.z)")
    p.add_argument("out_lm", help="output ARPA (.gz: gzip'ed)")
    a = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")      # kaldingram's progress bars would fill the log
    src, out = Path(a.in_lm), Path(a.out_lm)
    if not src.is_file():
        print(f"{PROG}: ERROR: {src}: no such file (expected an ARPA LM)", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(suffix=".arpa", dir=str(out.parent))
    os.close(fd)
    pruned = None
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            skipped, counts = copy_arpa(src, f)
        if skipped:
            print(f"{PROG}: {src}: skipped {skipped} header lines before \\data\\")
        print(f"{PROG}: {src}: {format_counts(counts)}")
        if a.prune_threshold > 0:
            pruned = tmp + ".pruned"
            after = prune_arpa(tmp, pruned, a.prune_threshold, a.min_order)
            print(f"{PROG}: pruned with threshold {a.prune_threshold:g}: {format_counts(after)} "
                  f"({time.perf_counter() - t0:.1f}s)")
            _write_final(Path(pruned), out)
        else:
            _write_final(Path(tmp), out)
    except (ValueError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    finally:
        for f in (tmp, pruned):
            if f and os.path.exists(f):
                os.unlink(f)
    print(f"{PROG}: wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
