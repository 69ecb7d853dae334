"""Build <graph-dir>/TLG.fst = T o min(det(L o G)) from a lang dir with L.fst, T.fst and G.fst.

Prints each step's time and size. The process's address space is capped
(--max-mem-gb): a G too large for the machine fails with a message naming the
step, instead of swapping or waking the OOM killer.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import List, Optional

import kaldifst

from nas.data.table import TableError
from nas.lang.fst_text import fst_size
from nas.lang.lang_dir import first_disambig_id, unit_token_ids
from nas.lang.symbols import read_symbols
from nas.lang.tlg import BuildLog, compose_lg, compose_tlg, limit_memory

PROG = "make_tlg"


def default_mem_gb() -> float:
    """Three quarters of the machine's physical memory."""
    try:
        return 0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / (1 << 30)
    except (ValueError, OSError, AttributeError):
        return 0.0


def read_fst(path: Path) -> kaldifst.StdVectorFst:
    if not path.is_file():
        raise TableError(f"no such file: {path}")
    fst = kaldifst.StdVectorFst.read(str(path))
    if fst is None or fst.num_states == 0:
        raise TableError(f"{path}: empty or unreadable FST")
    return fst


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--max-mem-gb", type=float, default=None,
                   help="address-space cap in GiB (default: 3/4 of physical memory; 0: none)")
    p.add_argument("--max-states", type=int, default=-1, help="stop det(L o G) beyond this many states")
    p.add_argument("lang_dir")
    p.add_argument("graph_dir")
    a = p.parse_args(argv)
    lang, out = Path(a.lang_dir), Path(a.graph_dir)
    cap = default_mem_gb() if a.max_mem_gb is None else a.max_mem_gb
    t0 = time.perf_counter()
    try:
        tokens = read_symbols(lang / "tokens.txt")
        words = read_symbols(lang / "words.txt")
        unit_token_ids(tokens)
        first_disambig_id(tokens)
        L, T, G = (read_fst(lang / n) for n in ("L.fst", "T.fst", "G.fst"))
    except (TableError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    for name, f in (("L", L), ("T", T), ("G", G)):
        s, n = fst_size(f)
        print(f"{PROG}: {name}.fst: {s} states, {n} arcs")
    limit_memory(cap)
    log = BuildLog()
    step = "min(det(L o G))"
    try:
        lg = compose_lg(L, G, log, a.max_states)
        del L, G
        step = "T o LG"
        tlg = compose_tlg(T, lg, log)
        del lg
        if tlg.num_states == 0:
            print(f"{PROG}: ERROR: TLG is empty: no path is accepted by T, L and G together "
                  f"(do L.fst and G.fst come from the same lang dir?)", file=sys.stderr)
            return 1
        out.mkdir(parents=True, exist_ok=True)
        step = "writing TLG.fst"
        tlg.write(str(out / "TLG.fst"))
    except MemoryError as e:
        detail = f" ({e})" if str(e) else ""
        print(f"{PROG}: ERROR: out of memory in step '{step}'{detail} under the cap of {cap:g} GiB "
              f"(--max-mem-gb): the graph is too large for this machine; prune the LM "
              f"(steps/train_word_lm.sh --prune-threshold) or lower its order", file=sys.stderr)
        return 1
    except RuntimeError as e:
        hint = (" (were L.fst's disambiguation symbols lost? homophones need #1, #2, ...)"
                if "not functional" in str(e) else "")
        print(f"{PROG}: ERROR: step '{step}' failed: {str(e).strip().splitlines()[-1]}{hint}", file=sys.stderr)
        return 1
    for s in log.steps:
        print(f"{PROG}: {s.name}: {s.states} states, {s.arcs} arcs, {s.seconds:.1f}s")
    for f in ("words.txt", "tokens.txt"):
        if (lang / f).resolve() != (out / f).resolve():
            shutil.copyfile(lang / f, out / f)
    size_mb = (out / "TLG.fst").stat().st_size / 1e6
    print(f"{PROG}: {out / 'TLG.fst'}: {log.steps[-1].states} states, {log.steps[-1].arcs} arcs, "
          f"{size_mb:.1f} MB, built in {time.perf_counter() - t0:.1f}s; {len(words)} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
