"""Repair a Kaldi data directory: sort every file, keep the utterances present everywhere.

Backs utils/fix_data_dir.sh. Originals are copied to DIR/.backup first. An
utterance is kept when utt2spk, text (non-empty), wav.scp (through segments
when present), feats.scp, utt2dur and utt2num_frames all have it, and its speaker
has CMVN stats when cmvn.scp exists. spk2utt is regenerated; speaker and
recording files are filtered to what is left. Each drop is counted by reason.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from nas.data.table import TableError, check_id, iter_table, spk2utt_from_utt2spk, write_table

PROG = "fix_data_dir.sh"
UTT_FILES = ("text", "segments", "feats.scp", "utt2dur", "utt2num_frames", "utt2lang", "utt2uniq")
SPK_FILES = ("cmvn.scp", "spk2gender")
RECO_FILES = ("wav.scp", "reco2file_and_channel", "reco2dur")


def _read(path: Path, notes: List[str]) -> Dict[str, str]:
    """Read a table, tolerating disorder and duplicates (the first of conflicting lines wins)."""
    out: Dict[str, str] = {}
    for e in iter_table(path):
        if e.key in out:
            if out[e.key] != e.value:
                notes.append(f"{path}:{e.lineno}: conflicting duplicate of {e.key}; kept the first")
            continue
        out[e.key] = e.value
    return out


def fix(data: Path, backup: bool = True) -> Tuple[int, int, Dict[str, int], List[str]]:
    """Fix `data` in place -> (kept, total, dropped per reason, notes). Tables that do not change
    are left untouched (their time stamps too)."""
    notes: List[str] = []
    if not (data / "utt2spk").is_file():
        raise FileNotFoundError(f"{data / 'utt2spk'}: missing; a data dir needs utt2spk")
    present = [n for n in ("utt2spk", "spk2utt", *UTT_FILES, *SPK_FILES, *RECO_FILES) if (data / n).is_file()]
    if backup:
        (data / ".backup").mkdir(exist_ok=True)
        for n in present:
            shutil.copy2(data / n, data / ".backup" / n)
    tables = {n: _read(data / n, notes) for n in present if n != "spk2utt"}
    for e in iter_table(data / "utt2spk"):          # a speaker id with a space would corrupt spk2utt
        check_id(e.value, data / "utt2spk", e.lineno, f"utterance {e.key}: speaker id")

    utt2spk = tables["utt2spk"]
    total = len(utt2spk)
    keep = set(utt2spk)
    dropped: Dict[str, int] = {}

    def restrict(allowed, reason: str) -> None:
        nonlocal keep
        lost = keep - set(allowed)
        if lost:
            dropped[reason] = dropped.get(reason, 0) + len(lost)
            keep -= lost

    if "text" in tables:
        restrict([u for u, t in tables["text"].items() if t.strip()], "missing from text or empty transcript")
    for n in UTT_FILES:
        if n in tables and n != "text":
            restrict(tables[n], f"missing from {n}")
    if "wav.scp" in tables:
        if "segments" in tables:
            restrict([u for u, v in tables["segments"].items() if v.split()[:1] and v.split()[0] in tables["wav.scp"]],
                     "recording missing from wav.scp")
        else:
            restrict(tables["wav.scp"], "missing from wav.scp")
    if "cmvn.scp" in tables:
        restrict([u for u in keep if utt2spk[u] in tables["cmvn.scp"]], "speaker missing from cmvn.scp")
    if "spk2gender" in tables:
        restrict([u for u in keep if utt2spk[u] in tables["spk2gender"]], "speaker missing from spk2gender")

    kept_utt2spk = {u: utt2spk[u] for u in keep}
    speakers = set(kept_utt2spk.values())
    write_table(data / "utt2spk", kept_utt2spk.items(), keep_unchanged=True)
    write_table(data / "spk2utt", [(s, " ".join(us)) for s, us in spk2utt_from_utt2spk(kept_utt2spk).items()],
                keep_unchanged=True)
    for n in UTT_FILES:
        if n in tables:
            write_table(data / n, [(u, v) for u, v in tables[n].items() if u in keep], keep_unchanged=True)
    for n in SPK_FILES:
        if n in tables:
            write_table(data / n, [(s, v) for s, v in tables[n].items() if s in speakers], keep_unchanged=True)
    if "segments" in tables:
        recos = {tables["segments"][u].split()[0] for u in keep}
    else:
        recos = keep
    for n in RECO_FILES:
        if n in tables:
            write_table(data / n, [(r, v) for r, v in tables[n].items() if r in recos], keep_unchanged=True)
    return len(keep), total, dropped, notes


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--no-backup", action="store_true", help="do not copy the originals to DIR/.backup")
    p.add_argument("data_dir")
    a = p.parse_args(argv)
    try:
        kept, total, dropped, notes = fix(Path(a.data_dir), backup=not a.no_backup)
    except (FileNotFoundError, TableError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    for n in notes:
        print(f"{PROG}: WARNING: {n}", file=sys.stderr)
    for reason, count in sorted(dropped.items()):
        print(f"{PROG}: dropped {count} utterances: {reason}")
    print(f"{PROG}: kept {kept} utterances out of {total} ({total - kept} dropped) in {a.data_dir}")
    if kept == 0:
        print(f"{PROG}: ERROR: no utterances left in {a.data_dir}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
