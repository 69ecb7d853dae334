"""Record and compare what a recipe stage was made from (nas.stamps).

  python -m nas.bin.stamp check RECORD NAME=PATH ... NAME:=VALUE ...
      exit 0, printing nothing, when RECORD holds the digests of these inputs; otherwise exit 1
      and print one line saying why the stage must be redone (no record, or what changed)
  python -m nas.bin.stamp write RECORD NAME=PATH ... NAME:=VALUE ...
      write RECORD (after the stage has made its outputs)

NAME=PATH names an input file or directory (its content is digested); NAME:=VALUE an option value
that shapes the output (a config's text, a decoding beam). utils/lib/recipe.sh wraps both as
`inputs_current` and `inputs_record`.
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Tuple

from nas.stamps import changes, make_record, read_record, write_record


def parse_inputs(items: List[str]) -> Tuple[Dict[str, str], Dict[str, str]]:
    paths: Dict[str, str] = {}
    values: Dict[str, str] = {}
    for it in items:
        name, sep, rest = it.partition("=")
        if not sep or not name.rstrip(":"):
            raise SystemExit(f"stamp: bad input {it!r}: give NAME=PATH or NAME:=VALUE")
        if name.endswith(":"):
            values[name[:-1]] = rest
        else:
            paths[name] = rest
    return paths, values


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nas.bin.stamp", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=("check", "write"))
    ap.add_argument("record", help="the record file (JSON), kept beside the stage's outputs")
    ap.add_argument("inputs", nargs="*", help="NAME=PATH or NAME:=VALUE")
    a = ap.parse_args(argv)
    paths, values = parse_inputs(a.inputs)
    new = make_record(paths, values)
    if a.action == "write":
        write_record(a.record, new)
        return 0
    old = read_record(a.record)
    if old is None:
        print(f"no record of what it was made from ({a.record})")
        return 1
    diff = changes(old, new)
    if diff:
        print("made from other inputs: changed " + "; ".join(diff))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
