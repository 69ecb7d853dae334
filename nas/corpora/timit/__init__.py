"""TIMIT (LDC93S1): the corpus' tree, its standard splits and its phone transcripts as data dirs.

The corpus top holds TRAIN/ and TEST/ (the LDC disc, upper case) or train/ and test/ (common
copies, lower case), then DR1..DR8/<speaker>/<sentence>.WAV with .PHN, .WRD and .TXT beside
each .WAV. Names are matched case-insensitively. The audio is NIST SPHERE (16-bit PCM at 16 kHz,
no sample_coding field); converted copies hold RIFF files under the same names, which are read
too (a .RIFF.WAV beside the SPHERE .WAV, as NAS-Bench-ASR's conversion leaves, is ignored).

The splits are Kaldi's (egs/timit/s5): train = TRAIN without the SA sentences (462 speakers,
3,696 utterances); dev = the 50 speakers of conf/dev_spk.list; test = the 24-speaker core test set
of conf/test_spk.list (192 utterances); SA sentences are in none. Utterance ids are
`<speaker>_<sentence>` in lower case (fcjf0_si1027), speakers lower case.

Transcripts come from .PHN (`begin end phone`, in samples), folded from TIMIT's 61 phones to
the 48 training units of Lee and Hon's table (conf/phones.61-48-39.map); q, which the table
does not fold, is dropped. Scoring folds 48 to 39. Problems are reported per utterance, with the
file and line, and the utterance left out: a phone outside the table, a malformed line, a
missing .PHN. A segment past the end of the audio is reported and the utterance kept: the
transcript uses no times, and dropping it would change the standard test sets.

The command (`python -m nas.corpora.timit check|prepare|fold-phones`) is nas.corpora.timit.__main__.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from nas.corpora.ldc import CorpusError, DataDir, PathLike, Report, sph_pipe, sphere_header

SETS = ("train", "test")
EXPECTED = {"train": 3696, "dev": 400, "test": 192}         # utterances of the full corpus' splits
SENTENCE = re.compile(r"^(sa|si|sx)\d+$")
SPEAKER = re.compile(r"^[fm][a-z]{3}\d$")
DIALECT = re.compile(r"^dr[1-8]$")
EXAMPLE = "TIMIT/TRAIN/DR1/FCJF0/SA1.WAV"


class TimitError(CorpusError):
    """A corpus or transcript problem; the message names the file (and line)."""


@dataclass(frozen=True)
class PhoneMap:
    """Lee and Hon's folding: 61 TIMIT phones -> 48 (training) -> 39 (scoring); `dropped` are the
    phones with no folding (q)."""
    to48: Dict[str, str]
    to39: Dict[str, str]             # from the 48 set
    dropped: frozenset

    @property
    def phones61(self) -> List[str]:
        return sorted(set(self.to48) | self.dropped)

    @property
    def phones48(self) -> List[str]:
        return sorted(set(self.to48.values()))

    @property
    def phones39(self) -> List[str]:
        return sorted(set(self.to39.values()))

    def fold48(self, phones: Sequence[str]) -> List[str]:
        return [self.to48[p] for p in phones if p not in self.dropped]

    def fold39(self, phones48: Sequence[str]) -> List[str]:
        return [self.to39.get(p, p) for p in phones48]


def read_phone_map(path: PathLike) -> PhoneMap:
    """The 61-48-39 table (Kaldi's phones.60-48-39.map format: 3 columns, or 1 for a dropped phone;
    lines starting with '#' are comments, h# is a phone). The 48 -> 39 folding must be a function
    of the 48-phone symbol."""
    to48: Dict[str, str] = {}
    to39: Dict[str, str] = {}
    dropped = set()
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        cols = line.split()
        if not cols or cols[0].startswith("#"):
            continue
        if cols[0] in to48 or cols[0] in dropped:
            raise TimitError(f"{path}:{n}: phone {cols[0]!r} is listed twice")
        if len(cols) == 1:
            dropped.add(cols[0])
        elif len(cols) == 3:
            to48[cols[0]] = cols[1]
            if to39.setdefault(cols[1], cols[2]) != cols[2]:
                raise TimitError(f"{path}:{n}: 48-phone {cols[1]!r} folds to both {to39[cols[1]]!r} and {cols[2]!r}")
        else:
            raise TimitError(f"{path}:{n}: expected '<61-phone> <48-phone> <39-phone>' or one phone, got {line!r}")
    if not to48:
        raise TimitError(f"{path}: no phone foldings")
    return PhoneMap(to48, to39, frozenset(dropped))


def read_speaker_list(path: PathLike) -> List[str]:
    """Lower-cased speaker ids, one per line (lines starting with '#' are comments)."""
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        s = line.strip().lower()
        if s and not s.startswith("#"):
            out.append(s)
    return out


def _child(parent: Path, name: str) -> Optional[Path]:
    """The entry of `parent` named `name` in any case."""
    try:
        for e in sorted(os.listdir(parent)):
            if e.lower() == name:
                return parent / e
    except OSError:
        return None
    return None


def find_corpus(top: PathLike) -> Dict[str, Path]:
    """{'train': TRAIN dir, 'test': TEST dir} of a corpus top (or of the one TIMIT dir inside it)."""
    root = Path(top)
    if not root.is_dir():
        raise TimitError(f"{root}: no such directory (expected the TIMIT corpus top, holding TRAIN/ and TEST/, "
                         f"e.g. {EXAMPLE})")
    for cand in (root, _child(root, "timit")):
        if cand is not None and cand.is_dir():
            dirs = {s: _child(cand, s) for s in SETS}
            if all(d is not None and d.is_dir() for d in dirs.values()):
                return dirs  # type: ignore[return-value]
    have = ", ".join(sorted(os.listdir(root))[:10]) or "nothing"
    raise TimitError(f"{root}: expected TRAIN/ and TEST/ (or train/ and test/) here or in {root}/TIMIT, as in "
                     f"{EXAMPLE}; it holds {have}")


@dataclass
class Utterance:
    uid: str                 # fcjf0_si1027
    speaker: str             # fcjf0
    part: str                # train or test (the corpus' directory)
    dialect: str             # dr1
    sentence: str            # si1027
    wav: Path
    companions: Dict[str, Path] = field(default_factory=dict)    # "phn", "wrd", "txt" -> file


def scan(dirs: Dict[str, Path], report: Report) -> List[Utterance]:
    """Every <part>/DR*/<speaker>/<sentence>.WAV, with its companion files; unexpected entries and
    missing companions are counted in `report`."""
    utts: List[Utterance] = []
    for part in SETS:
        for dr in sorted(os.listdir(dirs[part])):
            dr_dir = dirs[part] / dr
            if not dr_dir.is_dir():
                continue
            if not DIALECT.match(dr.lower()):
                report.add("unexpected directories (not DR1..DR8)", str(dr_dir))
                continue
            for spk in sorted(os.listdir(dr_dir)):
                spk_dir = dr_dir / spk
                if not spk_dir.is_dir():
                    continue
                if not SPEAKER.match(spk.lower()):
                    report.add("unexpected speaker directories", str(spk_dir))
                    continue
                utts += _speaker(spk_dir, part, dr.lower(), spk.lower(), report)
    return utts


def _speaker(spk_dir: Path, part: str, dr: str, spk: str, report: Report) -> List[Utterance]:
    files: Dict[str, Dict[str, Path]] = {}
    for name in sorted(os.listdir(spk_dir)):
        stem, _, ext = name.lower().partition(".")
        if SENTENCE.match(stem) and ext in ("wav", "phn", "wrd", "txt"):
            files.setdefault(stem, {})[ext] = spk_dir / name
    out = []
    for sent, have in sorted(files.items()):
        if "wav" not in have:
            report.add("sentences without a .WAV (left out)", str(spk_dir / sent))
            continue
        u = Utterance(f"{spk}_{sent}", spk, part, dr, sent, have["wav"],
                      {k: v for k, v in have.items() if k != "wav"})
        for ext in ("phn", "wrd", "txt"):
            if ext not in have:
                report.add(f"utterances without a .{ext.upper()}", str(have["wav"]))
        out.append(u)
    return out


def split(utts: Sequence[Utterance], dev_speakers: Sequence[str], test_speakers: Sequence[str]
          ) -> Tuple[Dict[str, List[Utterance]], Dict[str, List[str]]]:
    """The train, dev and test utterances (SA sentences left out), and per list the speakers
    the corpus lacks."""
    dev, core = set(dev_speakers), set(test_speakers)
    if dev & core:
        raise TimitError(f"speakers in both the dev and the core test list: {', '.join(sorted(dev & core))}")
    sets: Dict[str, List[Utterance]] = {"train": [], "dev": [], "test": []}
    seen = {u.speaker for u in utts if u.part == "test"}
    for u in utts:
        if u.sentence.startswith("sa"):
            continue
        if u.part == "train":
            sets["train"].append(u)
        elif u.speaker in dev:
            sets["dev"].append(u)
        elif u.speaker in core:
            sets["test"].append(u)
    missing = {"dev": sorted(dev - seen), "test": sorted(core - seen)}
    return sets, missing


def audio_samples(path: Path) -> Tuple[int, str]:
    """(samples, kind) from the header alone: kind 'sphere' or 'riff'."""
    with open(path, "rb") as f:
        head = f.read(1024)
    if head.startswith(b"NIST_1A"):
        try:
            return int(sphere_header(path).sample_count), "sphere"
        except CorpusError as e:
            raise TimitError(str(e)) from None
    if head.startswith(b"RIFF"):
        import soundfile
        try:
            return int(soundfile.info(str(path)).frames), "riff"
        except RuntimeError as e:
            raise TimitError(f"{path}: cannot read its RIFF header ({e})") from None
    raise TimitError(f"{path}: neither NIST SPHERE nor RIFF (starts with {head[:8]!r})")


def read_phn(path: Path, phones: PhoneMap, samples: Optional[int] = None) -> Tuple[List[str], Optional[str]]:
    """The 61-phone symbols of a .PHN file, lower-cased, and a note (file and line) when a segment
    ends past the `samples` of the audio; a TimitError names the file and line of a malformed
    line or a phone outside the table."""
    out: List[str] = []
    overrun: Optional[str] = None
    try:
        lines = path.read_text(encoding="latin-1").splitlines()
    except OSError as e:
        raise TimitError(f"{path}: cannot read: {e}") from None
    known = set(phones.to48) | phones.dropped
    for n, line in enumerate(lines, 1):
        cols = line.split()
        if not cols:
            continue
        if len(cols) != 3 or not cols[0].isdigit() or not cols[1].isdigit():
            raise TimitError(f"{path}:{n}: expected '<begin sample> <end sample> <phone>', got {line.strip()!r}")
        begin, end, ph = int(cols[0]), int(cols[1]), cols[2].lower()
        if ph not in known:
            raise TimitError(f"{path}:{n}: phone {cols[2]!r} is not in the 61-phone table")
        if end < begin:
            raise TimitError(f"{path}:{n}: segment ends ({end}) before it begins ({begin})")
        if samples is not None and end > samples and overrun is None:
            overrun = f"{path}:{n}: segment {begin}-{end} ends past the audio's {samples} samples"
        out.append(ph)
    if not out:
        raise TimitError(f"{path}: no phone segments")
    return out, overrun


def data_dir(utts: Sequence[Utterance], phones: PhoneMap, report: Report) -> DataDir:
    """wav.scp, text (48-phone units), utt2spk, spk2gender of `utts`; an utterance whose .PHN
    is missing or bad, or whose audio header cannot be read, is reported and left out; one whose
    .PHN runs past its audio is reported and kept."""
    dd = DataDir()
    gender: Dict[str, str] = {}
    for u in utts:
        try:
            if "phn" not in u.companions:
                raise TimitError(f"{u.wav}: no .PHN beside it")
            samples, kind = audio_samples(u.wav)
            raw, overrun = read_phn(u.companions["phn"], phones, samples)
            labels = phones.fold48(raw)
        except TimitError as e:
            report.add("utterances left out", str(e))
            continue
        if overrun:
            report.add(".PHN segments past the end of the audio (utterances kept)", overrun)
        if not labels:
            report.add("utterances left out", f"{u.companions['phn']}: no phones after folding")
            continue
        dd.wav[u.uid] = sph_pipe(u.wav) if kind == "sphere" else str(u.wav)
        dd.text[u.uid] = " ".join(labels)
        dd.utt2spk[u.uid] = u.speaker
        gender[u.speaker] = u.speaker[0]
    dd.extra["spk2gender"] = gender
    return dd
