"""Held-out sets shared between stages: a search holds out what its warm-up held out.

The warm-up and every search started from it share the super-network's weights. If a search drew
its own held-out split (from its own --seed), it would fit alpha, and random search would score
architectures, on utterances those weights were trained on. So the search takes the warm-up's
held-out set: its heldout.list (the loop writes one into every exp dir that splits its --data),
or the same --valid-data; anything else is refused before data is loaded.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional, Set


def _same_dir(a: str, b: str) -> bool:
    return bool(a) == bool(b) and (not a or Path(a).resolve() == Path(b).resolve())


def warmup_heldout(init_file: Path, valid_data: str) -> Optional[Path]:
    """The held-out list of the warm-up whose checkpoint is `init_file` (heldout.list beside it),
    or None when the warm-up held out a --valid-data dir, which `valid_data` must then name too."""
    wdir = init_file.parent
    try:
        theirs = json.loads((wdir / "config.json").read_text())
    except (OSError, ValueError) as e:
        raise SystemExit(f"--init {init_file}: cannot read the warm-up's config.json beside it ({e}), so its "
                         f"held-out set is unknown; start the search from a warm-up's exp dir") from None
    valid = theirs.get("valid_data", "")
    if not _same_dir(valid, valid_data):
        had = f"--valid-data {valid}" if valid else f"a split of its --data ({wdir / 'heldout.list'})"
        got = f"--valid-data {valid_data}" if valid_data else "a split of --data"
        fix = f"pass --valid-data {valid}" if valid else "drop --valid-data"
        raise SystemExit(f"--init {init_file}: the warm-up held out {had}, this search {got}; a search must hold "
                         f"out what its warm-up held out, else alpha is fitted on utterances the shared weights "
                         f"were trained on: {fix}")
    if valid:
        return None
    held = wdir / "heldout.list"
    if not held.is_file():
        raise SystemExit(f"--init {init_file}: the warm-up split its --data but {held} is missing; rerun the warm-up")
    return held


def read_heldout(f: Path, keys: Set[str], data: str, kind: str) -> List[str]:
    """The utterances of a prescribed held-out list, each checked to be one of `keys` (--data's)."""
    try:
        held = sorted(set(f.read_text().split()))
    except OSError as e:
        raise SystemExit(f"{kind}: cannot read the held-out list {f}: {e}") from None
    if not held:
        raise SystemExit(f"{kind}: held-out list {f} is empty")
    missing = [u for u in held if u not in keys]
    if missing:
        raise SystemExit(f"{kind}: held-out list {f}: {len(missing)} of its {len(held)} utterances (e.g. {missing[0]}) "
                         f"are not in {data}/feats.scp; give the stage the data its warm-up was trained on")
    return held
