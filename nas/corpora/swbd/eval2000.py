"""eval2000 (Hub5'00), the Switchboard recipe's test set: speech LDC2002S09, references LDC2002T43.

Backs egs/swbd/local/eval2000_data_prep.sh (stage 1), as Kaldi's egs/swbd/s5c recipe does: the audio
``hub5e_00/english/{sw,en}_NNNN.sph`` with its segmentation ``hub5e_00.pem``, the references
``hub5e00.english.000405.stm`` and the scoring GLM ``en20000405_hub5.glm``. Segments come from the
pem, extended by up to 0.1 s on each side (never past half the gap to a neighbour), text from the
stm; subsets SW (``sw_*``, Switchboard) and CH (``en_*``, CallHome) for sclite. Utterance ids are
Kaldi's (:func:`eval2000_utt_id`). The training set is nas.corpora.swbd's.
"""
from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

from nas.corpora.ldc import CorpusError, DataDir, FileIndex, PathLike, Report, require_dir, sph_pipe, sphere_seconds
from nas.corpora.swbd import find_sph, stop_or_report
from nas.data.audio import cut_segment

STM_NAME = "hub5e00.english.000405.stm"
GLM_NAME = "en20000405_hub5.glm"
PEM_NAME = "hub5e_00.pem"


def eval2000_utt_id(reco: str, start: float, end: float) -> str:
    """Kaldi's eval2000 utterance id: the times in centiseconds truncated, not rounded (awk's
    %06d of t*100 in eval2000_data_prep.sh, float error included: 0.29 s -> 000028), so ids
    and the scores keyed by them are Kaldi's. The pem and the stm get the same ids."""
    return f"{reco}_{int(start * 100):06d}-{int(end * 100):06d}"


def _times(value: str, where: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise CorpusError(f"{where}: {value!r} is not a time in seconds") from None


def _segment_lines(path: Path, form: str) -> Iterator[Tuple[str, float, float, List[str], str]]:
    """(recording-side, start, end, fields, 'file:line') of each line of a pem or stm file (';;'
    comments skipped); a short line or a bad time is an error naming the file and line."""
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            p = line.split()
            if not p or line.startswith(";;"):
                continue
            where = f"{path}:{lineno}"
            if len(p) < 5:
                raise CorpusError(f"{where}: expected '{form}'")
            yield f"{p[0].lower()}-{p[1].upper()}", _times(p[3], where), _times(p[4], where), p, where


def extend_segments(segs: Dict[str, Tuple[str, float, float]], pad: float) -> Dict[str, Tuple[str, float, float]]:
    """Each segment widened by up to `pad` seconds per side, never before 0 nor past the middle of
    the gap to its neighbour in the same recording (eval2000's pem segments are tight)."""
    by_reco: Dict[str, List[Tuple[float, float, str]]] = {}
    for utt, (reco, s, e) in segs.items():
        by_reco.setdefault(reco, []).append((s, e, utt))
    out: Dict[str, Tuple[str, float, float]] = {}
    for reco, items in by_reco.items():
        items.sort()
        for i, (s, e, utt) in enumerate(items):
            lo = max(0.0, s - pad)
            hi = e + pad
            if i > 0:
                lo = max(lo, min(s, (items[i - 1][1] + s) / 2))
            if i + 1 < len(items):
                hi = min(hi, max(e, (e + items[i + 1][0]) / 2))
            out[utt] = (reco, lo, hi)
    return out


EVAL2000_SIDES = 80          # 40 conversations (20 Switchboard, 20 CallHome), as Kaldi checks
# a segment ending later than this past its audio is one stage 2 cannot cut (Kaldi's extract-segments)
MAX_OVERSHOOT: float = inspect.signature(cut_segment).parameters["max_overshoot"].default


def find_eval2000(audio: PathLike, text: PathLike) -> Tuple[Path, Path, Path, Path]:
    """(LDC2002S09 dir, pem, stm, glm), or a CorpusError naming the dir and the file expected."""
    what_audio = "the eval2000 speech LDC2002S09 (hub5e_00/english/*.sph and hub5e_00.pem)"
    root = require_dir(audio, what_audio)
    pems = FileIndex([root]).by_name.get(PEM_NAME, [])
    if not pems:
        raise CorpusError(f"{root}: no {PEM_NAME} in it or below (expected {what_audio})")
    what_text = f"the eval2000 references LDC2002T43 ({STM_NAME} and {GLM_NAME})"
    troot = require_dir(text, what_text)
    tfiles = FileIndex([troot])
    found = []
    for name in (STM_NAME, GLM_NAME):
        f = next(iter(tfiles.by_name.get(name.lower(), [])), None)
        if f is None:
            raise CorpusError(f"{troot}: no {name} in it or below (expected {what_text})")
        found.append(f)
    return root, pems[0], found[0], found[1]


def read_pem(pem: Path) -> Dict[str, Tuple[str, float, float, str]]:
    """{utt: (recording-side, start, end, 'file:line')} of the pem's segments."""
    return {eval2000_utt_id(reco, s, e): (reco, s, e, where)
            for reco, s, e, _, where in _segment_lines(pem, "file channel speaker start end")}


def read_stm_texts(stm: Path) -> Tuple[Dict[str, Tuple[str, str]], Dict[str, str], Set[str]]:
    """({utt: (words, 'file:line')} of the scored stm segments (lower case, asides out),
    {utt: recording-side} of every stm line, and the segments marked IGNORE_TIME_SEGMENT_IN_SCORING."""
    texts: Dict[str, Tuple[str, str]] = {}
    lines: Dict[str, str] = {}
    ignored: Set[str] = set()
    for reco, s, e, p, where in _segment_lines(stm, "file channel speaker start end <labels> words"):
        utt = eval2000_utt_id(reco, s, e)
        lines[utt] = reco
        words = p[6:] if len(p) > 5 and p[5].startswith("<") else p[5:]
        if any("IGNORE_TIME_SEGMENT" in w.upper() for w in words):
            ignored.add(utt)
            continue
        words = [w.lower() for w in words if w.upper() not in ("<B_ASIDE>", "<E_ASIDE>")]
        if words:
            texts[utt] = (" ".join(words), where)
    return texts, lines, ignored


def prepare_eval2000(audio: PathLike, text: PathLike, report: Report, pad: float = 0.1,
                     allow_partial: bool = False) -> Tuple[DataDir, Path, Path, Set[str]]:
    """data/eval2000 (segments from the pem, text from the stm), the stm and glm to score with, and the
    stm segments (utterance ids) to leave out of the stm.

    Every scored stm segment must reach the data dir, or sclite counts its words as deletions: a
    conversation without audio, a segment past its audio's end (stage 2 could not cut it) or an stm
    segment the pem lacks stops here, naming them (Kaldi stops unless all 80 sides are there); with
    allow_partial they are counted, and left out of the stm too so that the score is honest.
    """
    root, pem, stm, glm = find_eval2000(audio, text)
    sph = find_sph([root], "the eval2000 speech LDC2002S09 (hub5e_00/english/*.sph)", report, "LDC2002S09")
    pem_segs = read_pem(pem)
    texts, stm_lines, ignored = read_stm_texts(stm)
    if ignored:
        report.add("eval2000: segments marked IGNORE_TIME_SEGMENT_IN_SCORING (not in the data dir)", n=len(ignored))
    convs = sorted({r.split("-")[0] for r, *_ in pem_segs.values()} | {r.split("-")[0] for r in stm_lines.values()})
    no_audio = [c for c in convs if c not in sph]
    left_out = {u for u, r in stm_lines.items() if r.split("-")[0] in no_audio}
    stop_or_report(report, allow_partial, "eval2000: conversations of the pem or stm without audio",
                   [f"{c}.sph" for c in no_audio],
                   f"expected below {root} (LDC2002S09 has all {EVAL2000_SIDES // 2}); their "
                   f"{len(left_out & set(texts))} scored stm segments would count as deletions",
                   "their stm segments left out")
    seconds = {c: sphere_seconds(sph[c]) for c in convs if c in sph}
    dd = DataDir()
    past_end = []
    for utt, (reco, s, e) in sorted(extend_segments({u: v[:3] for u, v in pem_segs.items()}, pad).items()):
        name = reco.split("-")[0]
        if name in no_audio:
            continue
        if utt not in texts:
            if utt not in stm_lines:
                report.add("eval2000: pem segments without an stm segment (not scored; dropped)", utt)
            continue
        pem_end, where = pem_segs[utt][2:]
        if s >= seconds[name] or pem_end > seconds[name] + MAX_OVERSHOOT:
            past_end.append(f"{where}: {utt} ends at {pem_end:.2f} s, {name}.sph at {seconds[name]:.2f} s")
            left_out.add(utt)
            continue
        dd.segments[utt] = f"{reco} {s:.2f} {min(e, max(pem_end, seconds[name])):.2f}"   # widened up to the end
        dd.text[utt] = texts[utt][0]
        dd.utt2spk[utt] = reco
    stop_or_report(report, allow_partial, "eval2000: pem segments past the end of their audio", past_end,
                   f"stage 2 cannot cut a segment ending more than {MAX_OVERSHOOT:g} s past its audio; their stm "
                   f"segments would count as deletions", "left out of the data dir and the stm")
    not_in_pem = sorted(u for u in texts if u not in pem_segs and u not in left_out)
    stop_or_report(report, allow_partial, f"eval2000: stm segments not in {pem}",
                   [f"{texts[u][1]}: {u}" for u in not_in_pem],
                   "without a pem segment they are not decoded, and would count as deletions", "left out of the stm")
    left_out.update(not_in_pem)
    for reco in sorted(set(dd.utt2spk.values())):
        name, side = reco.split("-")
        dd.wav[reco] = sph_pipe(sph[name], 1 if side == "A" else 2)
        dd.reco2file_and_channel[reco] = f"{name} {side}"
    if len(dd.wav) != EVAL2000_SIDES:
        report.add(f"eval2000: conversation sides (the complete set has {EVAL2000_SIDES})", n=len(dd.wav))
    if not dd.text:
        raise CorpusError(f"eval2000: no pem segment matches an stm segment with audio ({'; '.join(report.lines())})")
    return dd, stm, glm, left_out


def clean_stm(src: Path, dst: Path, left_out: Set[str] = frozenset()) -> int:
    """The stm as sclite reads it, with Kaldi's fixes: a line's first '((' (a typo in the LDC's
    file) becomes '(', and the aside markers go; the segments `left_out` (utterance ids) go too,
    so that what was not decoded is not scored. Returns the number of lines left out."""
    n = 0
    with open(src, encoding="latin-1") as f, open(dst, "w", encoding="latin-1") as out:
        for line in f:
            p = line.split()
            if left_out and len(p) >= 5 and not line.startswith(";;"):
                try:
                    utt = eval2000_utt_id(f"{p[0].lower()}-{p[1].upper()}", float(p[3]), float(p[4]))
                except ValueError:
                    utt = ""
                if utt in left_out:
                    n += 1
                    continue
            out.write(re.sub(r"<[BE]_ASIDE>", "", line.replace("((", "(", 1), flags=re.I))
    return n
