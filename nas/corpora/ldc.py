"""Shared pieces of the corpus preparations (nas.corpora.wsj, swbd, timit and librispeech).

Users point a recipe at their own copy of an LDC distribution; copies differ in
case (some were copied from the CDs upper-cased) and in how deep the CD
directories sit. So files are looked up case-insensitively, and a corpus error
says which directory or file was expected, before any work starts.

Data dirs are written the Kaldi way: sorted in the C locale, audio as
`sph2pipe -f wav -p [-c N] FILE |` pipes (our sph2pipe decodes SPHERE, with or
without Shorten, through desphere), spk2utt derived from utt2spk.
"""
from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

from nas.data.table import spk2utt_from_utt2spk

PathLike = Union[str, Path]


class CorpusError(RuntimeError):
    """The corpus is not where, or not what, the recipe expects; the message names the path."""


def require_dir(path: PathLike, what: str) -> Path:
    """`path` as a Path if it is a directory, else a CorpusError naming it and what it should be."""
    p = Path(path)
    if not p.exists():
        raise CorpusError(f"{p}: no such directory (expected {what})")
    if not p.is_dir():
        raise CorpusError(f"{p}: not a directory (expected {what})")
    return p


def require_file(path: PathLike, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise CorpusError(f"{p}: no such file (expected {what})")
    return p


class FileIndex:
    """Every file under some roots, found by lower-cased relative path or by lower-cased name.

    One walk per root (a few seconds for a whole WSJ copy); symlinked directories
    are followed, as `find -L` does in Kaldi's recipes.
    """

    def __init__(self, roots: Iterable[PathLike]) -> None:
        self.by_rel: Dict[Tuple[str, str], Path] = {}     # (root key, lower rel path) -> file
        self.by_name: Dict[str, List[Path]] = {}           # lower file name -> files
        self.roots: Dict[str, Path] = {}
        for r in roots:
            self.add_root(str(r), Path(r))

    def add_root(self, key: str, root: Path) -> None:
        self.roots[key] = root
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames.sort()
            rel_dir = os.path.relpath(dirpath, root)
            for name in sorted(filenames):
                rel = name if rel_dir == "." else f"{rel_dir}/{name}"
                path = Path(dirpath) / name
                self.by_rel.setdefault((key, rel.lower()), path)
                self.by_name.setdefault(name.lower(), []).append(path)

    def find(self, key: str, rel: str) -> Optional[Path]:
        """The file at `rel` (any case) under root `key`, or None."""
        return self.by_rel.get((key, rel.strip("/").lower()))

    def find_anywhere(self, rel: str) -> Optional[Path]:
        """The file at `rel` (any case) under any root, the roots in the order they were added."""
        for key in self.roots:
            p = self.find(key, rel)
            if p is not None:
                return p
        return None

    def with_suffix(self, *suffixes: str) -> List[Path]:
        """All files whose lower-cased name ends with one of `suffixes`, in walk order."""
        sfx = tuple(s.lower() for s in suffixes)
        return [p for name, paths in self.by_name.items() if name.endswith(sfx) for p in paths]


def sphere_header(path: PathLike):
    """A SPHERE file's parsed header (desphere's SphereHeader), without reading the samples; a
    CorpusError names the file when it has none."""
    from desphere import SphereHeader
    from desphere.errors import DesphereError
    try:
        with open(path, "rb") as f:
            head = f.read(1024)
            size = head.split(b"\n", 2)[1].strip() if head.startswith(b"NIST_1A\n") else b""
            if size.isdigit() and int(size) > len(head):
                head += f.read(int(size) - len(head))
        return SphereHeader.parse(head)
    except (DesphereError, OSError, IndexError, TypeError) as e:
        raise CorpusError(f"{path}: cannot read its SPHERE header ({e})") from None


def sphere_seconds(path: PathLike) -> float:
    """The length of a SPHERE file from its header (sample_count / sample_rate), without reading the
    samples: enough to tell, before any work starts, which segments lie past the audio's end."""
    header = sphere_header(path)
    if not header.sample_rate:
        raise CorpusError(f"{path}: cannot read its SPHERE header (sample_rate 0)")
    return header.sample_count / header.sample_rate


PROBE_SAMPLES = 400             # what stage 0 decodes of a disc's first audio file: header, coding, first blocks


def probe_audio(files: Dict[str, Path], unit: str) -> None:
    """Decode the first PROBE_SAMPLES samples of each `unit`'s file ({disc: its first audio file}):
    a wrong coding, an unreadable stream or a file that is not audio fails here, in milliseconds
    per disc, with a CorpusError naming the file and the disc, instead of at feature extraction."""
    from nas.data.audio import AudioError, read_audio
    for name, path in files.items():                 # in the caller's order
        try:
            samples, _ = read_audio(str(path), first=PROBE_SAMPLES)
        except (AudioError, OSError, ValueError) as e:
            raise CorpusError(f"{path}: cannot decode the first audio file of {unit} {name}: {e}") from None
        if len(samples) == 0:
            raise CorpusError(f"{path}: the first audio file of {unit} {name} decodes to no samples")


def sph_pipe(path: PathLike, channel: Optional[int] = None) -> str:
    """The wav.scp value reading SPHERE `path` (plain or Shorten), one channel (1-based) if given."""
    ch = f"-c {channel} " if channel else ""
    return f"sph2pipe -f wav -p {ch}{shlex.quote(str(path))} |"


@dataclass
class DataDir:
    """A data dir being built: utterance-keyed tables, recordings, and what was dropped and why."""
    wav: Dict[str, str] = field(default_factory=dict)             # utt (or recording) -> wav.scp value
    text: Dict[str, str] = field(default_factory=dict)
    utt2spk: Dict[str, str] = field(default_factory=dict)
    segments: Dict[str, str] = field(default_factory=dict)        # utt -> "reco start end"
    reco2file_and_channel: Dict[str, str] = field(default_factory=dict)
    extra: Dict[str, Dict[str, str]] = field(default_factory=dict)   # other files, e.g. spk2gender

    def tables(self) -> Dict[str, List[Tuple[str, str]]]:
        """{file name: sorted rows} of every table this dir has (spk2utt derived from utt2spk)."""
        t: Dict[str, List[Tuple[str, str]]] = {
            "wav.scp": sorted(self.wav.items()), "text": sorted(self.text.items()),
            "utt2spk": sorted(self.utt2spk.items()),
            "spk2utt": [(s, " ".join(u)) for s, u in spk2utt_from_utt2spk(self.utt2spk).items()]}
        if self.segments:
            t["segments"] = sorted(self.segments.items())
        if self.reco2file_and_channel:
            t["reco2file_and_channel"] = sorted(self.reco2file_and_channel.items())
        for name, table in self.extra.items():
            t[name] = sorted(table.items())
        return t

    def write(self, out: PathLike) -> bool:
        """Write the dir; returns False, touching nothing, when it would be what the last write made.

        What was written is kept in DIR/.prep/ and compared with, not the live tables, which
        stage 2 may have thinned (utils/fix_data_dir.sh drops utterances whose audio failed):
        so a rerun of a data preparation keeps the features of stage 2. When anything changed,
        every table of an earlier run (features included) is removed first.
        """
        d = Path(out)
        tables = self.tables()
        rendered = {name: "".join(f"{k} {v}\n" if v != "" else f"{k}\n" for k, v in rows)
                    for name, rows in tables.items()}
        prep = d / ".prep"
        record = prep if prep.is_dir() else d          # dirs written before the record existed
        if d.is_dir() and all((record / n).is_file() and (record / n).read_text(encoding="utf-8") == txt
                              for n, txt in rendered.items()) and \
                all(not (record / n).exists() for n in ("segments", "reco2file_and_channel") if n not in rendered):
            if record is d:        # start the record now, with the tables' own times
                prep.mkdir()
                for name in rendered:
                    shutil.copy2(d / name, prep / name)
            return False
        d.mkdir(parents=True, exist_ok=True)
        for name in OPTIONAL_TABLES + tuple(rendered):
            (d / name).unlink(missing_ok=True)     # stale features would not match the new tables
        if prep.is_dir():
            shutil.rmtree(prep)
        prep.mkdir()
        for name, txt in rendered.items():
            (d / name).write_text(txt, encoding="utf-8")
            (prep / name).write_text(txt, encoding="utf-8")
        return True


OPTIONAL_TABLES = ("segments", "reco2file_and_channel", "feats.scp", "cmvn.scp", "utt2dur", "utt2num_frames",
                   "reco2dur", "utt2uniq")


@dataclass
class Report:
    """Counts of what a preparation kept and dropped, with a few examples of each kind."""
    counts: Dict[str, int] = field(default_factory=dict)
    examples: Dict[str, List[str]] = field(default_factory=dict)

    def add(self, kind: str, example: str = "", n: int = 1, max_examples: int = 5) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n
        if example:
            ex = self.examples.setdefault(kind, [])
            if len(ex) < max_examples:
                ex.append(example)

    def lines(self, prefix: str = "") -> List[str]:
        out = []
        for kind in sorted(self.counts):
            ex = self.examples.get(kind)
            more = f"; e.g. {', '.join(ex)}" if ex else ""
            out.append(f"{prefix}{kind}: {self.counts[kind]}{more}")
        return out


def split_paths(values: Optional[List[str]]) -> List[str]:
    """Paths of repeated and space-separated option values (a path with spaces: repeat the option)."""
    out: List[str] = []
    for v in values or []:
        out += [v] if Path(v).exists() else v.split()
    return out
