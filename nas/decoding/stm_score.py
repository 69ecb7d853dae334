"""Score hypotheses against an stm reference with NIST's sclite, after a GLM, per subset (Hub5 style).

Backs steps/score_stm.sh: the way Switchboard's eval2000 is scored (Kaldi's
local/score_sclite.sh through hubscr.pl): the stm reference and a ctm of the
hypotheses both go through the GLM with ``csrfilt.sh -dh`` (contractions,
hesitations, alternate spellings; hyphenated words split), then
``sclite -F -D`` scores them by time: fragments that match the start of a word
and optionally deletable words ``(uh)`` are not errors. Subsets (SW, CH) are
scored separately by selecting the stm and ctm lines of their files.

The decoder keeps no word times, so a ctm is made from each utterance's
segment: its words share evenly the span of the stm segment that overlaps the
utterance most (the utterance's own: data dirs widen the stm segments a
little, by at most half the gap to a neighbour). sclite assigns a ctm word to
the stm segment that holds its time, so every word lands in its own segment.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

from nas.data.table import TableError, iter_table
from nas.decoding.sclite import ScliteSummary, find_sclite, parse_rsum

PathLike = Union[str, Path]
CtmRow = Tuple[str, str, float, float, str]      # file, channel, start, duration, word


def read_segments(path: PathLike) -> Dict[str, Tuple[str, float, float]]:
    """{utt: (recording, start, end)} of a Kaldi segments file."""
    out: Dict[str, Tuple[str, float, float]] = {}
    for e in iter_table(path):
        f = e.value.split()
        try:
            out[e.key] = (f[0], float(f[1]), float(f[2]))
        except (IndexError, ValueError):
            raise TableError(f"{path}:{e.lineno}: expected '<utt> <recording> <start> <end>'") from None
    return out


def read_reco2file_and_channel(path: PathLike) -> Dict[str, Tuple[str, str]]:
    out: Dict[str, Tuple[str, str]] = {}
    for e in iter_table(path):
        f = e.value.split()
        if len(f) != 2:
            raise TableError(f"{path}:{e.lineno}: expected '<recording> <file> <channel>'")
        out[e.key] = (f[0], f[1])
    return out


def read_stm_spans(path: PathLike) -> Dict[Tuple[str, str], List[Tuple[float, float]]]:
    """{(file, channel): [(start, end), ...]} of an stm's segments (';;' comments skipped)."""
    spans: Dict[Tuple[str, str], List[Tuple[float, float]]] = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            p = line.split()
            if not p or line.startswith(";;"):
                continue
            try:
                spans.setdefault((p[0], p[1].upper()), []).append((float(p[3]), float(p[4])))
            except (IndexError, ValueError):
                raise TableError(f"{path}:{lineno}: expected 'file channel speaker start end ...'") from None
    return spans


def best_span(start: float, end: float, spans: Sequence[Tuple[float, float]]) -> Tuple[float, float]:
    """The span of `spans` overlapping [start, end] most, or [start, end] itself if none does."""
    best, best_overlap = (start, end), 0.0
    for s, e in spans:
        overlap = min(e, end) - max(s, start)
        if overlap > best_overlap:
            best, best_overlap = (s, e), overlap
    return best


def hyps_to_ctm(hyps: Dict[str, Sequence[str]], segments: Dict[str, Tuple[str, float, float]],
                reco2fc: Dict[str, Tuple[str, str]], ignore: Set[str] = frozenset(),
                ref_spans: Optional[Dict[Tuple[str, str], List[Tuple[float, float]]]] = None
                ) -> Tuple[List[CtmRow], List[str]]:
    """ctm rows of the hypotheses, sorted by file, channel, time; and the utterances that could not be
    placed (no segment or no recording). Words share evenly the span of the reference segment that
    overlaps their utterance most (`ref_spans`, from the stm), else their utterance's segment."""
    rows: List[CtmRow] = []
    unplaced: List[str] = []
    for utt, words in hyps.items():
        words = [w for w in words if w not in ignore]
        if not words:
            continue
        seg = segments.get(utt)
        if seg is None or seg[0] not in reco2fc:
            unplaced.append(utt)
            continue
        reco, start, end = seg
        file, channel = reco2fc[reco]
        if ref_spans:
            start, end = best_span(start, end, ref_spans.get((file, channel.upper()), ()))
        dur = (end - start) / len(words)
        rows += [(file, channel, start + i * dur, dur, w) for i, w in enumerate(words)]
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    return rows, sorted(unplaced)


def ctm_line(row: CtmRow) -> str:
    file, channel, start, dur, word = row
    return f"{file} {channel} {start:.3f} {dur:.3f} {word}"


def drop_ctm_lines(rows: Iterable[CtmRow], pattern: str) -> Tuple[List[CtmRow], int]:
    """The rows whose ctm line does not match `pattern` (case-insensitive, searched anywhere in the
    line: what `grep -i -v -E` keeps, as Kaldi's score_sclite.sh filters its ctm), and how many went."""
    rows = list(rows)
    if not pattern:
        return rows, 0
    rx = re.compile(pattern, re.I)
    kept = [r for r in rows if not rx.search(ctm_line(r))]
    return kept, len(rows) - len(kept)


def write_ctm(path: PathLike, rows: Iterable[CtmRow]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(ctm_line(row) + "\n")


def sctk_env(sclite: str) -> Dict[str, str]:
    """The environment for sctk's scripts: csrfilt.sh finds rfilter1 on PATH, beside sclite."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sclite).resolve().parent) + os.pathsep + env.get("PATH", "")
    return env


def glm_filter(src: PathLike, dst: PathLike, fmt: str, purpose: str, glm: Optional[PathLike], sclite: str) -> None:
    """Apply the GLM to an stm (purpose 'ref') or ctm ('hyp') with csrfilt.sh, as hubscr.pl does for English."""
    if not glm:
        shutil.copyfile(src, dst)
        return
    csrfilt = Path(sclite).resolve().parent / "csrfilt.sh"
    if not csrfilt.is_file():
        raise FileNotFoundError(f"{csrfilt}: no such file (sctk's csrfilt.sh, beside sclite)")
    with open(src, "rb") as inp, open(dst, "wb") as out:
        proc = subprocess.run([str(csrfilt), "-i", fmt, "-t", purpose, "-dh", str(glm)], stdin=inp, stdout=out,
                              stderr=subprocess.PIPE, env=sctk_env(sclite))
    if proc.returncode != 0:
        said = Path(dst).read_text(encoding="utf-8", errors="replace")[-1500:]   # csrfilt reports on stdout
        raise RuntimeError(f"csrfilt.sh -i {fmt} -t {purpose} -dh {glm} < {src} failed ({proc.returncode}): "
                           f"{said}{proc.stderr.decode(errors='replace')[-1500:]}")


def select_lines(src: PathLike, dst: PathLike, pattern: str, keep_comments: bool) -> int:
    """Copy the lines of `src` whose first field matches `pattern` (and ';;' comments if asked); returns the count."""
    rx = re.compile(pattern)
    n = 0
    with open(src, encoding="utf-8", errors="replace") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            if line.startswith(";;"):
                if keep_comments:
                    out.write(line)
                continue
            fields = line.split()
            if fields and rx.search(fields[0]):
                out.write(line)
                n += 1
    return n


def run_sclite_stm(ref_stm: PathLike, hyp_ctm: PathLike, out_dir: PathLike, name: str, sclite: str,
                   options: Sequence[str] = ("-F", "-D")) -> ScliteSummary:
    """sclite -r STM stm -h CTM ctm; reports <out_dir>/<name>.{sys,raw}; returns the 'Sum' totals."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sclite, "-r", str(ref_stm), "stm", "-h", str(hyp_ctm), "ctm", *options, "-o", "sum", "rsum",
           "-n", name, "-O", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=sctk_env(sclite))
    raw = out / f"{name}.raw"
    if proc.returncode != 0 or not raw.is_file():
        raise RuntimeError(f"sclite failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return parse_rsum(raw.read_text(encoding="utf-8", errors="replace"))


@dataclass
class SubsetScore:
    lmwt: str
    subset: str
    summary: ScliteSummary
    report: Path

    @property
    def wer(self) -> float:
        return 100.0 * self.summary.errors / max(self.summary.words, 1)

    def kaldi_line(self) -> str:
        s = self.summary
        return (f"%WER {self.wer:.2f} [ {s.errors} / {s.words}, {s.ins} ins, {s.dels} del, {s.subs} sub ] "
                f"{self.report}")


def parse_subsets(spec: str) -> List[Tuple[str, str]]:
    """'swbd:^sw_ callhm:^en_' -> [('swbd', '^sw_'), ('callhm', '^en_')]."""
    out = []
    for item in spec.split():
        name, sep, rx = item.partition(":")
        if not sep or not name or not rx:
            raise ValueError(f"subset {item!r}: expected NAME:REGEX (e.g. swbd:^sw_)")
        re.compile(rx)
        out.append((name, rx))
    if not out:
        raise ValueError("no subsets")
    return out


def find_sclite_or_fail() -> str:
    exe = find_sclite()
    if exe is None:
        raise FileNotFoundError("sclite not found: install Debian's sctk (tools/install_deb_deps.sh) or set $SCLITE")
    return exe
