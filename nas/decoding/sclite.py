"""sclite trn files, and running NIST sclite (Debian's sctk) on them as a cross-check.

trn lines are `word word ... (spk-utt)`; with `-i rm` sclite takes the text before
the first '-' as the speaker, so per-speaker tables come out right. Scoring is
case-sensitive (`-s`), as ours is.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

PathLike = Union[str, Path]
DEBIAN_SCLITE = "/usr/lib/sctk/bin/sclite"


def trn_id(utt: str, spk: Optional[str]) -> str:
    """The sclite id of an utterance: `spk-utt` (speaker from utt2spk, else the utterance itself)."""
    return f"{spk if spk else utt}-{utt}"


def write_trn(path: PathLike, texts: Dict[str, Sequence[str]], utt2spk: Optional[Dict[str, str]] = None,
              utts: Optional[Sequence[str]] = None) -> None:
    """Write `texts` (utt -> words) for `utts` (default: all, sorted); missing ones get an empty line."""
    with open(path, "w", encoding="utf-8") as f:
        for utt in (utts if utts is not None else sorted(texts)):
            words = " ".join(texts.get(utt, ()))
            spk = utt2spk.get(utt) if utt2spk else None
            f.write(f"{words} ({trn_id(utt, spk)})\n" if words else f"({trn_id(utt, spk)})\n")


def find_sclite() -> Optional[str]:
    """$SCLITE, sclite on PATH, or Debian's /usr/lib/sctk/bin/sclite; None if none is found."""
    for cand in (os.environ.get("SCLITE"), shutil.which("sclite"), DEBIAN_SCLITE):
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


@dataclass
class ScliteSummary:
    sentences: int
    words: int
    corr: int
    subs: int
    dels: int
    ins: int
    errors: int
    sent_errors: int


def run_sclite(ref_trn: PathLike, hyp_trn: PathLike, out_dir: PathLike, name: str,
               sclite: Optional[str] = None, reports: Sequence[str] = ("rsum", "pralign")) -> ScliteSummary:
    """Run sclite, leave its reports as <out_dir>/<name>.{rsum,pra,...}; return the raw summary's totals."""
    exe = sclite or find_sclite()
    if exe is None:
        raise FileNotFoundError("sclite not found: install Debian's sctk or set $SCLITE")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    # sclite names its reports after the hyp file: give it <out>/<name> as the hyp
    hyp_copy = out / name
    shutil.copyfile(hyp_trn, hyp_copy)
    cmd = [exe, "-s", "-r", str(ref_trn), "trn", "-h", str(hyp_copy), "trn", "-i", "rm", "-o", *reports]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sclite failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    rsum = Path(str(hyp_copy) + ".raw")
    if not rsum.exists():
        raise RuntimeError(f"sclite wrote no raw summary {rsum}:\n{proc.stdout[-2000:]}")
    return parse_rsum(rsum.read_text(encoding="utf-8", errors="replace"))


def parse_rsum(text: str) -> ScliteSummary:
    """Totals from the 'Sum' row of sclite's raw summary (counts, not percentages)."""
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] == "Sum":
            nums: List[int] = [int(float(x)) for x in (cells[1] + " " + cells[2]).split()]
            if len(nums) != 8:
                break
            snt, wrd, corr, sub, dele, ins, err, serr = nums
            return ScliteSummary(snt, wrd, corr, sub, dele, ins, err, serr)
    raise ValueError("no 'Sum' row in sclite's raw summary")
