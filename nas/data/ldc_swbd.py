"""Switchboard-1 Release 2 (LDC97S62) with the Mississippi State transcripts, eval2000, Fisher text.

Backs egs/swbd/local/*.sh (stage 1). The facts are those of Kaldi's egs/swbd/s5c
recipe (and CAT's, which the paper used):

- audio: two-channel 8 kHz SPHERE files ``sw02001.sph`` (anywhere under the
  LDC97S62 dir, as swb1_d1/data/...), one recording per side in wav.scp,
  ``sw02001-A`` reading channel 1 and ``sw02001-B`` channel 2 through
  ``sph2pipe -c``; a complete corpus has 2438 files (2435 in some copies);
- transcripts: the Mississippi State (ISIP) word alignments, a separate
  download (switchboard_word_alignments.tar.gz, www.openslr.org/resources/5):
  ``swb_ms98_transcriptions/20/2001/sw2001A-ms98-a-trans.text`` with lines
  ``sw2001A-ms98-a-0002 0.977625 11.561375 hi um yeah i'd like ...``; an
  utterance ``sw02001-A_000098-001156`` is a segment of recording
  ``sw02001-A`` from 0.98 s to 11.56 s (times rounded to centiseconds); the
  speaker is the conversation side;
- lexicon: ``swb_ms98_transcriptions/sw-ms98-dict.text`` (``#`` comments,
  ``word phone ...``), with the words mapped as the transcripts' are, ``sil``
  entries left out, and ``[vocalized-noise] spn``, ``[noise] nsn``, ``[laughter] lau``
  added (``<UNK> spn`` comes from the lang dir's OOV entry): 42 phones + spn, nsn,
  lau = 45 units, 46 network outputs with blank, as CAT's recipe and the paper;
- eval2000 (LDC2002S09 audio ``hub5e_00/english/{sw,en}_NNNN.sph`` with its
  segmentation ``hub5e_00.pem``; LDC2002T43 references
  ``hub5e00.english.000405.stm`` and the scoring GLM
  ``en20000405_hub5.glm``): segments from the pem, extended by up to 0.1 s
  on each side (never past half the gap to a neighbour), text from the stm,
  subsets SW (``sw_*``, Switchboard) and CH (``en_*``, CallHome) for sclite;
- Fisher English transcripts (LDC2004T19, LDC2005T19; optional, LM text
  only): ``data/trans/NNN/fe_03_NNNNN.txt`` lines ``start end A: words``.

Transcript normalization (:func:`normalize_transcript`), lower case, token by
token: Kaldi's swbd1_map_words.pl and the removals of its swbd1_data_prep.sh::

    MS98 token                        becomes          why
    [silence]                         (dropped)        not a word; CTC needs no silence unit
    <b_aside>, <e_aside>              (dropped)        marks of speech to someone else
    [noise], [laughter],              kept             non-speech events with their own units
    [vocalized-noise]                                  (nsn, lau, spn)
    [laughter-yes]                    yes              a word said laughing
    [laughter-th[e]-]                 th-              ... and partial (the rules below go on)
    [it'n/isn't]                      it'n             the form said (before "/"), not the meant one
    -[an]y, ab[solute]-               -y, ab-          partial words: the unsaid part (in brackets)
                                                       goes, the "-" marking the cut stays
    ammu[n]it-                        ammn-t-          a sound left out inside a word: Kaldi's rule
                                                       keeps the bracket's last letter and a "-" for
                                                       the letters around it (its comment says
                                                       ammu-it-; its code, which we follow, does this)
    {yuppiedom}                       yuppiedom        a coinage
    them_1, them_1's                  them, them's     MS98's numbered variants

The rules are swbd1_map_words.pl's, in its order, each applied once per token
(:data:`_MAP_RULES`), so that the texts, and the words and WERs that follow from
them, are Kaldi's. Utterances left with no word are dropped (counted). Partial words and other
words the lexicon lacks stand for the OOV word ``<UNK>`` in training (reported).
"""
from __future__ import annotations

import inspect
import re
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Sequence, Set, Tuple

from nas.data.audio import cut_segment
from nas.data.ldc import (CorpusError, DataDir, FileIndex, PathLike, Report, probe_audio, require_dir, require_file,
                          sph_pipe, sphere_seconds)

PROG = "swbd_data_prep"
MS98_URL = "http://www.openslr.org/resources/5/switchboard_word_alignments.tar.gz"
MS98_DICT = "sw-ms98-dict.text"
STM_NAME = "hub5e00.english.000405.stm"
GLM_NAME = "en20000405_hub5.glm"
PEM_NAME = "hub5e_00.pem"
EXPECTED_SPH = (2438, 2435)
NOISE_ENTRIES = (("[vocalized-noise]", ("spn",)), ("[noise]", ("nsn",)), ("[laughter]", ("lau",)))
DROP_TOKENS = {"[silence]", "<b_aside>", "<e_aside>"}


# ----------------------------------------------------------------------------------- normalization

# Kaldi's swbd1_map_words.pl, rule for rule and in its order, each applied once to the token
# (Perl's s/// without /g): its code, where its comments differ (ammu[n]it- -> ammn-t-).
_MAP_RULES: Tuple[Tuple["re.Pattern[str]", str], ...] = tuple((re.compile(rx, flags), repl) for rx, repl, flags in (
    (r"^\[laughter-(.+)\](|-)$", r"\1\2", re.I),          # [laughter-yes] -> yes: a word said laughing
    (r"^\[(.+)/.+\](|-)$", r"\1\2", 0),                   # [it'n/isn't] -> it'n: said/meant
    (r"^(|-)\[[^\[\]]+\](.+)$", r"-\2", 0),                # -[an]y -> -y: unsaid start
    (r"^(.+)\[[^\[\]]+\](|-)$", r"\1-", 0),                # ab[solute]- -> ab-: unsaid end
    (r"([^\[\]]+)\[.+\]$", r"\1", 0),                      # ex[specially]-/especially] -> ex (a typo in MS98)
    (r"^\{(.+)\}$", r"\1", 0),                              # {yuppiedom} -> yuppiedom: a coinage
    (r"[a-z]\[([^\[\]])+\][a-z]", r"\1-", re.I | re.A),     # ammu[n]it- -> ammn-t-: the letters around go
    (r"_\d", "", 0),                                        # them_1 -> them, them_1's -> them's
))


def map_word(word: str) -> str:
    """One MS98 token mapped by Kaldi's rules (this module's table); lower case in, lower case out.
    Noise tokens ([noise], [laughter], [vocalized-noise]) match no rule and stay."""
    w = word
    for rx, repl in _MAP_RULES:
        w = rx.sub(repl, w, count=1)
    return w


def normalize_transcript(text: str) -> List[str]:
    """The words of an MS98 transcript line's text after the mapping in this module's docstring."""
    out = []
    for tok in text.lower().split():
        if tok in DROP_TOKENS:
            continue
        w = map_word(tok)
        if w:
            out.append(w)
    return out


# ---------------------------------------------------------------------------------- the corpus

def find_ms98(path: PathLike) -> Path:
    """The swb_ms98_transcriptions dir: `path` itself or a dir right under it (the unpacked tarball)."""
    what = f"the Mississippi State transcripts, swb_ms98_transcriptions/ from {MS98_URL}"
    root = require_dir(path, what)
    for cand in [root] + sorted(c for c in root.iterdir() if c.is_dir()):
        if (cand / MS98_DICT).is_file():
            return cand
    raise CorpusError(f"{root / MS98_DICT}: no such file (expected {what}: its {MS98_DICT} and "
                      f"NN/NNNN/swNNNNA-ms98-a-trans.text files)")


def find_sph(paths: Sequence[PathLike], what: str, report: Report, key: str) -> Dict[str, Path]:
    """{recording name (file name without .sph, lower case): path} of every SPHERE file under `paths`."""
    out: Dict[str, Path] = {}
    for p in paths:
        root = require_dir(p, what)
        files = FileIndex([root])
        for f in sorted(files.with_suffix(".sph")):
            name = f.name[:-4].lower()
            if name in out:
                report.add(f"{key}: SPHERE files found twice (the first kept)", f"{f} and {out[name]}")
                continue
            out[name] = f
        if not out:
            raise CorpusError(f"{root}: no .sph files in it or below (expected {what})")
    return out


def first_per_disc(roots: Sequence[PathLike], files: Iterable[Path]) -> Dict[str, Path]:
    """{disc: its first SPHERE file by name}: a disc is the top directory under the root a file
    was found in (LDC97S62's swb1_d1 ... swb1_d4), or that root when the file lies in it."""
    out: Dict[str, Path] = {}
    resolved = [Path(r).resolve() for r in roots]
    for f in sorted(files, key=lambda x: x.name.lower()):
        fr = f.resolve()
        for r in resolved:
            if fr.is_relative_to(r):
                rel = fr.relative_to(r).parts
                disc = str(Path(r.name) / rel[0]) if len(rel) > 1 else r.name
                out.setdefault(disc, f)
                break
    return dict(sorted(out.items()))


def check_audio(swbd: Sequence[PathLike], sph: Dict[str, Path], eval2000_sph: Sequence[Path] = ()) -> Dict[str, Path]:
    """Stage 0's probe of the audio: the first SPHERE file of every LDC97S62 disc, and of the
    eval2000 speech, decodes (nas.data.ldc.probe_audio: a CorpusError names the file). Returns
    the files probed."""
    files = first_per_disc(swbd, sph.values())
    probe_audio(files, "LDC97S62 disc")
    if eval2000_sph:
        first = {"LDC2002S09": sorted(eval2000_sph, key=lambda x: x.name.lower())[0]}
        probe_audio(first, "the eval2000 speech")
        files.update(first)
    return files


def utt_id(reco: str, start: float, end: float) -> str:
    """Kaldi's Switchboard utterance id: recording, then start and end in centiseconds (rounded, as
    swbd1_data_prep.sh's int(100*t+0.5))."""
    return f"{reco}_{int(start * 100 + 0.5):06d}-{int(end * 100 + 0.5):06d}"


def eval2000_utt_id(reco: str, start: float, end: float) -> str:
    """Kaldi's eval2000 utterance id: the times in centiseconds truncated, not rounded (awk's
    %06d of t*100 in eval2000_data_prep.sh, float error included: 0.29 s -> 000028), so ids
    and the scores keyed by them are Kaldi's. The pem and the stm get the same ids."""
    return f"{reco}_{int(start * 100):06d}-{int(end * 100):06d}"


def stop_or_report(report: Report, allow_partial: bool, kind: str, examples: Sequence[str], why: str,
                   then: str) -> None:
    """A part of the corpus is missing (`examples` name each piece): stop naming them (CorpusError),
    or with allow_partial (--allow-partial true) count them in the report, saying what `then` became
    of them, and go on."""
    if not examples:
        return
    n = len(examples)
    if not allow_partial:
        raise CorpusError(f"{kind}: {n}: {'; '.join(examples[:10])}{' ...' if n > 10 else ''}\n  {why}\n  "
                          f"(--allow-partial true goes on without them: {then})")
    report.add(f"{kind} ({then})", "; ".join(examples[:3]), n)


def ms98_side_file(ms98: Path, name: str, side: str) -> Path:
    """Where MS98 keeps the transcript of one side of conversation `name` (sw02001, side A):
    20/2001/sw2001A-ms98-a-trans.text."""
    conv = name[3:]
    return ms98 / conv[:2] / conv / f"sw{conv}{side}-ms98-a-trans.text"


_SWBD_SPH = re.compile(r"^sw0\d{4}$")


def check_ms98_sides(ms98: Path, sph: Dict[str, Path], report: Report, allow_partial: bool) -> None:
    """Both sides of every conversation with audio have an MS98 transcript file: MS98 transcribes
    every side of LDC97S62, so one missing is a partial download or copy, whose audio would go
    unused without a word said."""
    have = {p.name.lower() for p in FileIndex([ms98]).with_suffix("-trans.text")}
    missing = [str(ms98_side_file(ms98, name, side)) for name in sorted(sph) if _SWBD_SPH.match(name)
               for side in "AB" if ms98_side_file(ms98, name, side).name.lower() not in have]
    stop_or_report(report, allow_partial, "conversation sides with audio but no MS98 transcript file", missing,
                   f"the MS98 transcripts ({MS98_URL}) have both sides of every conversation; is {ms98} a "
                   f"partial copy?", "their audio not used")


_MS98_ID = re.compile(r"^sw(\d{4})([ab])-ms98-a-\d+$", re.I)


def read_ms98_transcripts(ms98: Path, report: Report) -> Iterator[Tuple[str, str, float, float, List[str]]]:
    """(utt, recording, start, end, words) of every MS98 *-trans.text line, normalized."""
    files = sorted(FileIndex([ms98]).with_suffix("-trans.text"))
    if not files:
        raise CorpusError(f"{ms98}: no *-trans.text files below it (expected NN/NNNN/swNNNNA-ms98-a-trans.text "
                          f"from {MS98_URL})")
    report.add("MS98 transcript files", n=len(files))
    for path in files:
        with open(path, encoding="latin-1") as f:
            for lineno, line in enumerate(f, 1):
                parts = line.split()
                if not parts:
                    continue
                m = _MS98_ID.match(parts[0])
                try:
                    start, end = float(parts[1]), float(parts[2])
                except (IndexError, ValueError):
                    m = None
                if not m:
                    report.add("MS98 lines not 'swNNNNX-ms98-a-NNNN start end words' (skipped)", f"{path}:{lineno}")
                    continue
                reco = f"sw0{m.group(1)}-{m.group(2).upper()}"
                words = normalize_transcript(" ".join(parts[3:]))
                if not words:
                    report.add("segments with no word (silence only; dropped)")
                    continue
                if end <= start:
                    report.add("segments with end <= start (dropped)", f"{path}:{lineno}")
                    continue
                yield utt_id(reco, start, end), reco, start, end, words


SWBD_WHAT = "Switchboard-1 Release 2 (LDC97S62): swb1_d1/data/sw02001.sph ..."


def find_swbd(swbd: Sequence[PathLike], ms98_path: PathLike, report: Report,
              allow_partial: bool = False) -> Tuple[Path, Dict[str, Path]]:
    """The MS98 dir and {conversation: SPHERE file} of LDC97S62, checked: both MS98 sides of every
    conversation with audio (stop_or_report), the SPHERE file count (reported)."""
    ms98 = find_ms98(ms98_path)
    sph = find_sph(swbd, SWBD_WHAT, report, "LDC97S62")
    if len(sph) not in EXPECTED_SPH:
        report.add(f"LDC97S62: SPHERE files (a complete corpus has {EXPECTED_SPH[0]} or {EXPECTED_SPH[1]})",
                   n=len(sph))
    check_ms98_sides(ms98, sph, report, allow_partial)
    return ms98, sph


def prepare_train(swbd: Sequence[PathLike], ms98_path: PathLike, report: Report,
                  allow_partial: bool = False) -> DataDir:
    """data/train: one utterance per MS98 segment with audio; sides and channels per recording."""
    ms98, sph = find_swbd(swbd, ms98_path, report, allow_partial)
    dd = DataDir()
    used: Set[str] = set()
    no_audio: Counter = Counter()
    for utt, reco, start, end, words in read_ms98_transcripts(ms98, report):
        name, side = reco.split("-")
        if name not in sph:
            no_audio[name] += 1
            continue
        if utt in dd.text:
            report.add("utterances with the same id twice (the first kept)", utt)
            continue
        used.add(name)
        dd.text[utt] = " ".join(words)
        dd.utt2spk[utt] = reco
        dd.segments[utt] = f"{reco} {int(start * 100 + 0.5) / 100:.2f} {int(end * 100 + 0.5) / 100:.2f}"
    if no_audio:
        report.add("transcribed segments whose recording has no audio here (dropped)",
                   " ".join(f"{k}({v})" for k, v in sorted(no_audio.items())[:5]), sum(no_audio.values()))
    unused = sorted(set(sph) - used)
    if unused:
        report.add("recordings without transcripts (not used)", " ".join(unused[:5]), len(unused))
    recos = sorted({r for r in dd.utt2spk.values()})
    for reco in recos:
        name, side = reco.split("-")
        dd.wav[reco] = sph_pipe(sph[name], 1 if side == "A" else 2)
        dd.reco2file_and_channel[reco] = f"{name} {side}"
    if not dd.text:
        raise CorpusError(f"no MS98 transcript matches a SPHERE file of {' '.join(map(str, swbd))} "
                          f"(counts: {'; '.join(report.lines())})")
    return dd


def prepare_lexicon(ms98_path: PathLike, report: Report, first_pron: bool = True) -> List[Tuple[str, Tuple[str, ...]]]:
    """The MS98 lexicon, words mapped as the transcripts' and lower-cased, plus the noise entries.

    first_pron: keep each word's first pronunciation only, as CAT's Switchboard recipe does.
    """
    ms98 = find_ms98(ms98_path)
    path = require_file(ms98 / MS98_DICT, "the MS98 lexicon")
    lex: List[Tuple[str, Tuple[str, ...]]] = []
    seen: Set[str] = set()
    entries: Set[Tuple[str, Tuple[str, ...]]] = set()
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            parts = s.lower().split()
            if len(parts) < 2:
                report.add("lexicon lines without a pronunciation (skipped)", f"{path}:{lineno}")
                continue
            word = map_word(parts[0].replace("&amp;", "&"))
            pron = tuple(parts[1:])
            if pron == ("sil",) or not word:
                continue
            if word in seen and (first_pron or (word, pron) in entries):
                continue
            seen.add(word)
            entries.add((word, pron))
            lex.append((word, pron))
    for word, pron in NOISE_ENTRIES:
        if word not in seen:
            lex.append((word, pron))
    if not lex:
        raise CorpusError(f"{path}: no entries")
    return sorted(lex)


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


def fisher_sentences(dirs: Sequence[PathLike], report: Report) -> Iterator[List[str]]:
    """Words of every Fisher English transcript line (data/trans/NNN/*.txt: 'start end A: words')."""
    for d in dirs:
        root = require_dir(d, "Fisher English transcripts (LDC2004T19 fe_03_p1_tran, LDC2005T19 fe_03_p2_tran)")
        trans = next((c for c in (root / "data" / "trans", root / "DATA" / "TRANS") if c.is_dir()), None)
        if trans is None:
            raise CorpusError(f"{root / 'data/trans'}: no such directory (expected the Fisher transcripts "
                              f"data/trans/NNN/fe_03_NNNNN.txt)")
        files = sorted(trans.glob("*/*.txt")) + sorted(trans.glob("*/*.TXT"))
        if not files:
            raise CorpusError(f"{trans}: no NNN/*.txt transcript files")
        report.add("Fisher transcript files", n=len(files))
        for path in files:
            with open(path, encoding="latin-1") as f:
                for line in f:
                    p = line.split()
                    if len(p) < 4 or line.startswith("#"):
                        continue
                    yield [w.lower() for w in p[3:]]
