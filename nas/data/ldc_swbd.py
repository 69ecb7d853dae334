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
    [it'n/isn't]                      it'n             the form said (before "/"), not the meant one
    -[an]y, ab[solute]-               -y, ab-          partial words: the unsaid part (in brackets)
                                                       goes, the "-" marking the cut stays
    ammu[n]it-                        ammu-it-         a sound left out inside a word
    {yuppiedom}                       yuppiedom        a coinage
    them_1                            them             MS98's numbered variants

Utterances left with no word are dropped (counted). Partial words and other
words the lexicon lacks stand for the OOV word ``<UNK>`` in training (reported).
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Dict, Iterator, List, Sequence, Set, Tuple

from nas.data.ldc import CorpusError, DataDir, FileIndex, PathLike, Report, require_dir, require_file, sph_pipe

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

_LAUGH_WORD = re.compile(r"^(-?)\[laughter-([^\[\]]+)\](-?)$")
_SAID_MEANT = re.compile(r"^\[([^/]+)/[^\]]*\](-?)$")       # [said/meant], the said part may hold [..]
_UNSAID_START = re.compile(r"^-?\[[^\[\]]+\](.+)$")
_UNSAID_END = re.compile(r"^(.+?)\[[^\[\]]+\]-?$")
_UNSAID_TAIL = re.compile(r"^([^\[\]]+)\[.+\]$")
_COINAGE = re.compile(r"^\{(.+)\}$")
_UNSAID_INSIDE = re.compile(r"([a-z])\[[^\[\]]+\]([a-z])")
_VARIANT = re.compile(r"_\d$")
NOISE_TOKENS = {"[noise]", "[laughter]", "[vocalized-noise]"}


def map_word(word: str) -> str:
    """One MS98 token mapped as in this module's table (lower case in, lower case out)."""
    w = word
    if w in NOISE_TOKENS:
        return w
    w = _LAUGH_WORD.sub(r"\1\2\3", w)
    w = _SAID_MEANT.sub(r"\1\2", w)
    w = _UNSAID_START.sub(r"-\1", w)
    w = _UNSAID_END.sub(r"\1-", w)
    w = _UNSAID_TAIL.sub(r"\1", w)
    w = _COINAGE.sub(r"\1", w)
    w = _UNSAID_INSIDE.sub(r"\1-\2", w)
    return _VARIANT.sub("", w)


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


def utt_id(reco: str, start: float, end: float) -> str:
    """Kaldi's Switchboard utterance id: recording, then start and end in centiseconds."""
    return f"{reco}_{int(start * 100 + 0.5):06d}-{int(end * 100 + 0.5):06d}"


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


def prepare_train(swbd: Sequence[PathLike], ms98_path: PathLike, report: Report) -> DataDir:
    """data/train: one utterance per MS98 segment with audio; sides and channels per recording."""
    ms98 = find_ms98(ms98_path)
    sph = find_sph(swbd, "Switchboard-1 Release 2 (LDC97S62): swb1_d1/data/sw02001.sph ...", report, "LDC97S62")
    if len(sph) not in EXPECTED_SPH:
        report.add(f"LDC97S62: SPHERE files (a complete corpus has {EXPECTED_SPH[0]} or {EXPECTED_SPH[1]})",
                   n=len(sph))
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


def _segment_lines(path: Path, form: str) -> Iterator[Tuple[str, float, float, List[str]]]:
    """(recording-side, start, end, fields) of each line of a pem or stm file (';;' comments
    skipped); a short line or a bad time is an error naming the file and line."""
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            p = line.split()
            if not p or line.startswith(";;"):
                continue
            if len(p) < 5:
                raise CorpusError(f"{path}:{lineno}: expected '{form}'")
            where = f"{path}:{lineno}"
            yield f"{p[0].lower()}-{p[1].upper()}", _times(p[3], where), _times(p[4], where), p


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


def prepare_eval2000(audio: PathLike, text: PathLike, report: Report, pad: float = 0.1) -> Tuple[DataDir, Path, Path]:
    """data/eval2000 (segments from the pem, text from the stm) and the stm and glm to score with."""
    what_audio = "the eval2000 speech LDC2002S09 (hub5e_00/english/*.sph and hub5e_00.pem)"
    root = require_dir(audio, what_audio)
    files = FileIndex([root])
    pems = files.by_name.get(PEM_NAME, [])
    if not pems:
        raise CorpusError(f"{root}: no {PEM_NAME} in it or below (expected {what_audio})")
    what_text = f"the eval2000 references LDC2002T43 ({STM_NAME} and {GLM_NAME})"
    troot = require_dir(text, what_text)
    tfiles = FileIndex([troot])
    stm = next(iter(tfiles.by_name.get(STM_NAME.lower(), [])), None)
    glm = next(iter(tfiles.by_name.get(GLM_NAME.lower(), [])), None)
    if stm is None:
        raise CorpusError(f"{troot}: no {STM_NAME} in it or below (expected {what_text})")
    if glm is None:
        raise CorpusError(f"{troot}: no {GLM_NAME} in it or below (expected {what_text})")
    sph = find_sph([root], what_audio, report, "LDC2002S09")

    pem_segs: Dict[str, Tuple[str, float, float]] = {}
    for reco, s, e, _ in _segment_lines(pems[0], "file channel speaker start end"):
        pem_segs[utt_id(reco, s, e)] = (reco, s, e)
    texts: Dict[str, str] = {}
    ignored: Set[str] = set()
    for reco, s, e, p in _segment_lines(stm, "file channel speaker start end <labels> words"):
        utt = utt_id(reco, s, e)
        words = p[6:] if len(p) > 5 and p[5].startswith("<") else p[5:]
        if any("IGNORE_TIME_SEGMENT" in w.upper() for w in words):
            ignored.add(utt)
            continue
        words = [w.lower() for w in words if w.upper() not in ("<B_ASIDE>", "<E_ASIDE>")]
        if words:
            texts[utt] = " ".join(words)
    if ignored:
        report.add("eval2000: segments marked IGNORE_TIME_SEGMENT_IN_SCORING (not in the data dir)", n=len(ignored))
    extended = extend_segments(pem_segs, pad)
    dd = DataDir()
    for utt, (reco, s, e) in sorted(extended.items()):
        name = reco.split("-")[0]
        if name not in sph:
            report.add("eval2000: pem segments whose audio is not here (dropped)", utt)
            continue
        if utt not in texts:
            if utt not in ignored:
                report.add("eval2000: pem segments without stm text (dropped)", utt)
            continue
        dd.segments[utt] = f"{reco} {s:.2f} {e:.2f}"
        dd.text[utt] = texts[utt]
        dd.utt2spk[utt] = reco
    missing = sorted(set(texts) - set(pem_segs))
    if missing:
        report.add("eval2000: stm segments not in the pem (dropped)", " ".join(missing[:3]), len(missing))
    for reco in sorted(set(dd.utt2spk.values())):
        name, side = reco.split("-")
        dd.wav[reco] = sph_pipe(sph[name], 1 if side == "A" else 2)
        dd.reco2file_and_channel[reco] = f"{name} {side}"
    if not dd.text:
        raise CorpusError(f"eval2000: no pem segment matches an stm segment with audio ({'; '.join(report.lines())})")
    return dd, stm, glm


def clean_stm(src: Path, dst: Path) -> None:
    """The stm as sclite reads it, with Kaldi's fixes: a line's first '((' (a typo in the LDC's
    file) becomes '(', and the aside markers go."""
    with open(src, encoding="latin-1") as f, open(dst, "w", encoding="latin-1") as out:
        for line in f:
            out.write(re.sub(r"<[BE]_ASIDE>", "", line.replace("((", "(", 1), flags=re.I))


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
