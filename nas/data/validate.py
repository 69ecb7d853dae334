"""Check a Kaldi data directory and name every problem with its file and line or utterance.

Backs utils/validate_data_dir.sh. Checks: each file sorted (C locale) with unique
keys and well-formed lines; every utterance of utt2spk present in text, wav.scp
(or segments), feats.scp, utt2dur, utt2num_frames and nothing extra in them;
empty transcripts; spk2utt consistent with utt2spk and no speaker without
utterances; speaker ids sorting with their utterances (for split_data.sh); audio
files named in wav.scp existing; cmvn.scp covering every speaker.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
from pathlib import Path
from typing import Dict, List, Optional, Set

from nas.data.audio import is_pipe
from nas.data.table import Entry, TableError, check_id, read_table

PROG = "validate_data_dir.sh"
AUDIO_EXTENSIONS = (".wav", ".flac", ".sph", ".wv1", ".wv2", ".nist", ".mp3", ".ogg", ".opus", ".sox", ".raw")
# per-utterance files and the number of fields after the key (None: one or more, any content)
UTT_FILES = {"text": None, "segments": 3, "feats.scp": 1, "utt2dur": 1, "utt2num_frames": 1, "utt2lang": 1,
             "utt2uniq": 1}
SPK_FILES = {"cmvn.scp": 1, "spk2gender": 1}


class Report:
    def __init__(self) -> None:
        self.errors: List[str] = []
        self.warnings: List[str] = []

    def error(self, msg: str) -> None:
        self.errors.append(msg)

    def warn(self, msg: str) -> None:
        self.warnings.append(msg)


def _load(path: Path, rep: Report, nfields: Optional[int]) -> Optional[List[Entry]]:
    """Read a table and check order, uniqueness and field counts; None if unreadable."""
    try:
        entries = read_table(path)
    except TableError as e:
        rep.error(str(e))
        return None
    seen: Dict[str, int] = {}
    prev: Optional[Entry] = None
    for e in entries:
        if e.key in seen:
            rep.error(f"{path}:{e.lineno}: duplicate key {e.key} (also on line {seen[e.key]})")
        else:
            seen[e.key] = e.lineno
        if prev is not None and e.key < prev.key:
            rep.error(f"{path}:{e.lineno}: not sorted: {e.key} after {prev.key} "
                      f"(sort with LC_ALL=C sort, or run utils/fix_data_dir.sh)")
            prev = None  # report the first disorder of a run only once
        else:
            prev = e
        if nfields is not None and len(e.value.split()) != nfields:
            rep.error(f"{path}:{e.lineno}: expected {nfields + 1} fields, got {len(e.value.split()) + 1}")
    return entries


def _numeric(path: Path, entries: List[Entry], rep: Report, integer: bool) -> None:
    for e in entries:
        try:
            v = int(e.value) if integer else float(e.value)
        except ValueError:
            rep.error(f"{path}:{e.lineno}: utterance {e.key}: {e.value!r} is not a{'n integer' if integer else ' number'}")
            continue
        if v <= 0:
            rep.error(f"{path}:{e.lineno}: utterance {e.key}: non-positive value {e.value}")


def _audio_paths(value: str) -> List[str]:
    """The file paths a wav.scp value reads: the value itself, or audio-like words of a pipe."""
    if not is_pipe(value):
        return [value]
    try:
        words = shlex.split(value[:-1])
    except ValueError:
        words = value[:-1].split()
    return [w for w in words if w.lower().endswith(AUDIO_EXTENSIONS) and w != "-"]


def _compare_keys(name: str, keys: Set[str], ref: Set[str], ref_name: str, what: str,
                  rep: Report, lines: Dict[str, int], limit: int = 10) -> None:
    missing = sorted(ref - keys)
    extra = sorted(keys - ref)
    for k in missing[:limit]:
        rep.error(f"{name}: {what} {k} is in {ref_name} but missing from {name}")
    if len(missing) > limit:
        rep.error(f"{name}: ... {len(missing) - limit} more {what}s of {ref_name} missing from {name}")
    for k in extra[:limit]:
        rep.error(f"{name}:{lines.get(k, '?')}: {what} {k} is not in {ref_name}")
    if len(extra) > limit:
        rep.error(f"{name}: ... {len(extra) - limit} more {what}s not in {ref_name}")


def _check_spk2utt(data: Path, spk2utt_e, utt2spk: Dict[str, str], rep: Report) -> None:
    """spk2utt must be the inverse of utt2spk."""
    spks, utts = set(utt2spk.values()), set(utt2spk)
    lines = {e.key: e.lineno for e in spk2utt_e}
    listed: Dict[str, str] = {}
    for e in spk2utt_e:
        members = e.value.split()
        if not members:
            rep.error(f"{data / 'spk2utt'}:{e.lineno}: speaker {e.key} has no utterances")
        for u in members:
            if u in listed:
                rep.error(f"{data / 'spk2utt'}:{e.lineno}: utterance {u} listed for speakers "
                          f"{listed[u]} and {e.key}")
            listed[u] = e.key
            if utt2spk.get(u, e.key) != e.key:
                rep.error(f"{data / 'spk2utt'}:{e.lineno}: utterance {u} is under speaker {e.key} "
                          f"but utt2spk says {utt2spk[u]}")
    _compare_keys(str(data / "spk2utt"), set(lines), spks, "utt2spk", "speaker", rep, lines)
    _compare_keys(str(data / "spk2utt") + " (utterances)", set(listed), utts, "utt2spk", "utterance", rep, {})


def _check_segments(path: Path, entries, rep: Report) -> None:
    for e in entries:
        f = e.value.split()
        if len(f) != 3:
            continue
        try:
            start, end = float(f[1]), float(f[2])
        except ValueError:
            rep.error(f"{path}:{e.lineno}: utterance {e.key}: start/end {f[1]} {f[2]} are not numbers")
            continue
        if start < 0 or (end >= 0 and end <= start):
            rep.error(f"{path}:{e.lineno}: utterance {e.key}: bad times start={f[1]} end={f[2]}")


def _check_utt_files(data: Path, utts: Set[str], rep: Report, no_text: bool, no_feats: bool) -> None:
    """The per-utterance files there: keyed by utt2spk's utterances, each with its own checks."""
    for name, nfields in dict(UTT_FILES).items():
        path = data / name
        if not path.is_file() or (name == "text" and no_text) or (name == "feats.scp" and no_feats):
            continue
        entries = _load(path, rep, nfields)
        if entries is None:
            continue
        lines = {e.key: e.lineno for e in entries}
        _compare_keys(str(path), set(lines), utts, "utt2spk", "utterance", rep, lines)
        if name == "text":
            for e in entries:
                if not e.value.strip():
                    rep.error(f"{path}:{e.lineno}: utterance {e.key} has an empty transcript")
        elif name in ("utt2dur", "utt2num_frames"):
            _numeric(path, entries, rep, integer=(name == "utt2num_frames"))
        elif name == "segments":
            _check_segments(path, entries, rep)


def _check_wav(data: Path, utts: Set[str], rep: Report, check_audio: bool) -> None:
    """wav.scp: keyed by recording with segments, by utterance without."""
    wav_path = data / "wav.scp"
    entries = _load(wav_path, rep, None)
    if entries is None:
        return
    lines = {e.key: e.lineno for e in entries}
    seg_path = data / "segments"
    if seg_path.is_file():
        try:
            recos = {e.value.split()[0]: e.key for e in read_table(seg_path) if e.value.split()}
        except TableError:
            recos = {}
        for reco in sorted(set(recos) - set(lines))[:10]:
            rep.error(f"{seg_path}: recording {reco} (of utterance {recos[reco]}) is not in {wav_path}")
        for reco in sorted(set(lines) - set(recos))[:10]:
            rep.warn(f"{wav_path}:{lines[reco]}: recording {reco} has no segments")
    else:
        _compare_keys(str(wav_path), set(lines), utts, "utt2spk", "utterance", rep, lines)
    for e in entries:
        if not e.value:
            rep.error(f"{wav_path}:{e.lineno}: {e.key} has no audio path or command")
        elif check_audio:
            for p in _audio_paths(e.value):
                if not os.path.exists(p):
                    rep.error(f"{wav_path}:{e.lineno}: {e.key}: audio file {p} does not exist")


def _check_required(data: Path, rep: Report, no_text: bool, no_wav: bool) -> None:
    if not data.is_dir():
        rep.error(f"{data}: no such directory")
        return
    for required in ("utt2spk", "spk2utt"):
        if not (data / required).is_file():
            rep.error(f"{data / required}: missing (every data dir needs utt2spk and spk2utt; "
                      f"utils/utt2spk_to_spk2utt.pl makes spk2utt)")
    if not no_text and not (data / "text").is_file():
        rep.error(f"{data / 'text'}: missing (use --no-text for a dir without transcripts)")
    if not no_wav and not (data / "wav.scp").is_file() and not (data / "feats.scp").is_file():
        rep.error(f"{data / 'wav.scp'}: missing, and there is no feats.scp either")


def validate(data: Path, no_text: bool = False, no_feats: bool = False, no_wav: bool = False,
             no_spk_sort: bool = False, check_audio: bool = True) -> Report:
    rep = Report()
    _check_required(data, rep, no_text, no_wav)
    if rep.errors:
        return rep
    utt2spk_e = _load(data / "utt2spk", rep, None)
    for e in utt2spk_e or []:
        try:
            check_id(e.value, data / "utt2spk", e.lineno, f"utterance {e.key}: speaker id")
        except TableError as err:
            rep.error(str(err))
    spk2utt_e = _load(data / "spk2utt", rep, None)
    if utt2spk_e is None:
        return rep
    utt2spk = {e.key: e.value for e in utt2spk_e}
    utts = set(utt2spk)
    if not utts:
        rep.error(f"{data / 'utt2spk'}: no utterances")
        return rep
    spks = set(utt2spk.values())
    if spk2utt_e is not None:
        _check_spk2utt(data, spk2utt_e, utt2spk, rep)
    if not no_spk_sort:
        order = sorted(utts, key=lambda u: (utt2spk[u], u))
        if order != sorted(utts):
            bad = next(u for u, v in zip(order, sorted(utts)) if u != v)
            rep.error(f"{data / 'utt2spk'}: utterances do not sort the same way as their speakers "
                      f"(first at {bad}, speaker {utt2spk[bad]}); make speaker ids prefixes of utterance ids")
    _check_utt_files(data, utts, rep, no_text, no_feats)
    if (data / "wav.scp").is_file() and not no_wav:
        _check_wav(data, utts, rep, check_audio)
    for name, nfields in SPK_FILES.items():
        path = data / name
        if not path.is_file() or (name == "cmvn.scp" and no_feats):
            continue
        entries = _load(path, rep, nfields)
        if entries is not None:
            lines = {e.key: e.lineno for e in entries}
            _compare_keys(str(path), set(lines), spks, "utt2spk", "speaker", rep, lines)
    return rep


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                epilog="Exits 1 and lists every problem, or prints "
                                       "'Successfully validated data-directory DIR' and exits 0.")
    p.add_argument("--no-text", action="store_true", help="the dir has no transcripts (test data)")
    p.add_argument("--no-feats", action="store_true", help="do not check feats.scp and cmvn.scp")
    p.add_argument("--no-wav", action="store_true", help="do not check wav.scp")
    p.add_argument("--no-spk-sort", action="store_true", help="allow speakers that do not sort with utterances")
    p.add_argument("--no-audio-check", action="store_true", help="do not check that audio files exist")
    p.add_argument("data_dir")
    a = p.parse_args(argv)
    rep = validate(Path(a.data_dir), a.no_text, a.no_feats, a.no_wav, a.no_spk_sort, not a.no_audio_check)
    for w in rep.warnings:
        print(f"{PROG}: WARNING: {w}", file=sys.stderr)
    for e in rep.errors:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
    if rep.errors:
        print(f"{PROG}: {len(rep.errors)} error(s) in {a.data_dir}", file=sys.stderr)
        return 1
    print(f"Successfully validated data-directory {a.data_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
