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
  subsets SW (``sw_*``, Switchboard) and CH (``en_*``, CallHome) for sclite (nas.corpora.swbd.eval2000);
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

import re
from collections import Counter
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Sequence, Set, Tuple

from nas.corpora.ldc import (CorpusError, DataDir, FileIndex, PathLike, Report, probe_audio, require_dir, require_file,
                             sph_pipe)

PROG = "swbd_data_prep"
MS98_URL = "http://www.openslr.org/resources/5/switchboard_word_alignments.tar.gz"
MS98_DICT = "sw-ms98-dict.text"
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
    eval2000 speech, decodes (nas.corpora.ldc.probe_audio: a CorpusError names the file). Returns
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
