"""TIMIT (LDC93S1) for egs/timit: check the corpus, write its data dirs, fold phone transcripts.

Subcommands (`python -m nas.corpora.timit --help`), used by egs/timit's local/ scripts:

check (stage 0) looks at the tree alone: TRAIN/ and TEST/, the speakers of the dev and core test
lists, each .WAV's .PHN, .WRD and .TXT, every audio header (SPHERE or RIFF), and decodes the
first samples of one file per part. It fails naming what is missing, unless --allow-partial true.

prepare (stage 1) writes the train, dev and core test data dirs with 48-phone transcripts, and
the phone lexicon for the lang dir: every .PHN is read and checked against the audio's length and
the phone table; a bad utterance is reported with its file and line and left out. A data dir
whose tables would not change is left as it is (its features kept).

fold-phones is local/score.sh's filter: Kaldi text lines (`utt phone phone ...`) on stdin, the
same lines with every phone folded on stdout. References and hypotheses in the 48 training
phones are both folded to Lee and Hon's 39 before the PER is counted; repeated neighbours are
kept, as NAS-Bench-ASR's and Kaldi's TIMIT scoring keep them. --from 61 folds raw .PHN phones
(q dropped) to --to 48 or 39.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from nas.corpora.ldc import CorpusError, Report, probe_audio
from nas.corpora.timit import (EXPECTED, PhoneMap, TimitError, Utterance, audio_samples, data_dir, find_corpus,
                               read_phone_map, read_speaker_list, scan, split)

PROG = "timit_data_prep"           # the script the user ran (local/timit_data_prep.sh)
FOLD_PROG = "fold_phones"          # local/score.sh's filter


def _check(utts: Sequence[Utterance], sets: Dict[str, List[Utterance]], missing: Dict[str, List[str]],
           report: Report, allow_partial: bool) -> List[str]:
    """Stage 0's findings as lines; raises TimitError on a gap unless allow_partial."""
    problems = []
    for name, spks in missing.items():
        if spks:
            problems.append(f"{len(spks)} speakers of the {name} list are not in TEST/: {', '.join(spks[:10])}"
                            + (" ..." if len(spks) > 10 else ""))
    for u in (u for s in sets.values() for u in s):
        try:
            audio_samples(u.wav)
        except TimitError as e:
            report.add("unreadable audio headers", str(e))
    for kind in sorted(report.counts):
        line = f"{kind}: {report.counts[kind]}; e.g. {', '.join(report.examples.get(kind, []))}"
        if kind.startswith(("utterances without", "unreadable", "sentences without")):
            problems.append(line)
        else:                       # unexpected directories: named, not fatal
            print(f"{PROG}: WARNING: {line}", file=sys.stderr)
    for name, us in sets.items():
        if not us:
            raise TimitError(f"no {name} utterances found (is this TIMIT? expected e.g. TIMIT/TRAIN/DR1/FCJF0/SX37.WAV)")
    firsts = {}
    for u in utts:
        firsts.setdefault(u.part, u.wav)
    probe_audio(firsts, "part")
    if problems and not allow_partial:
        raise TimitError("the corpus is incomplete:\n  " + "\n  ".join(problems) +
                         "\n(--allow-partial true goes on without what is missing)")
    return problems


def _check_cmd(a: argparse.Namespace) -> None:
    """Stage 0: the tree, the lists and one decoded file per part; nothing written."""
    read_phone_map(a.phone_map)                   # a broken table fails here, not at stage 1
    dirs = find_corpus(a.timit)
    report = Report()
    utts = scan(dirs, report)
    sets, missing = split(utts, read_speaker_list(a.dev_spk), read_speaker_list(a.test_spk))
    problems = _check(utts, sets, missing, report, a.allow_partial == "true")
    counts = ", ".join(f"{k} {len(v)}" for k, v in sets.items())
    print(f"{PROG}: {dirs['train'].parent}: {len(utts)} utterances; splits: {counts} "
          f"(the full corpus: {', '.join(f'{k} {v}' for k, v in EXPECTED.items())})")
    for line in problems:
        print(f"{PROG}: WARNING: {line}", file=sys.stderr)


def _write_lexicon(dict_dir: Path, phones: PhoneMap) -> None:
    """data/local/dict/lexicon.txt: each training phone its own word; an identical file is left as it is."""
    dict_dir.mkdir(parents=True, exist_ok=True)
    lex = "".join(f"{ph} {ph}\n" for ph in phones.phones48)
    if not (dict_dir / "lexicon.txt").is_file() or (dict_dir / "lexicon.txt").read_text() != lex:
        (dict_dir / "lexicon.txt").write_text(lex)
    print(f"{PROG}: {dict_dir}/lexicon.txt: the {len(phones.phones48)} training phones, each its own word")


def _prepare_cmd(a: argparse.Namespace) -> None:
    """Stage 1: data/{train,dev,test} and data/local/dict/lexicon.txt."""
    phones = read_phone_map(a.phone_map)
    report = Report()
    utts = scan(find_corpus(a.timit), report)
    sets, missing = split(utts, read_speaker_list(a.dev_spk), read_speaker_list(a.test_spk))
    out = Path(a.data)
    for line in report.lines(f"{PROG}: WARNING: "):       # what the tree lacks or has in excess
        print(line, file=sys.stderr)
    for name, us in sets.items():
        r = Report()
        dd = data_dir(us, phones, r)
        if not dd.text:
            raise TimitError(f"{name}: every utterance was left out:\n  " + "\n  ".join(r.lines()))
        changed = dd.write(out / name)
        full = "" if len(dd.text) == EXPECTED[name] else f" (the full corpus has {EXPECTED[name]})"
        print(f"{PROG}: {out / name}: {len(dd.text)} utterances, {len(set(dd.utt2spk.values()))} "
              f"speakers{full}{'' if changed else '; unchanged, kept'}")
        for line in r.lines(f"{PROG}: WARNING: {name}: "):
            print(line, file=sys.stderr)
    for name, spks in missing.items():
        if spks:
            more = " ..." if len(spks) > 10 else ""
            print(f"{PROG}: WARNING: {name}: {len(spks)} listed speakers missing: {', '.join(spks[:10])}{more}",
                  file=sys.stderr)
    _write_lexicon(out / "local" / "dict", phones)


def _fold_cmd(a: argparse.Namespace) -> int:
    """stdin -> stdout, each line's phones folded; 1 (naming the line) at a phone outside the input set."""
    try:
        table = read_phone_map(a.map)
    except (TimitError, OSError) as e:
        print(f"{FOLD_PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    known = set(table.to48) | table.dropped if a.src == 61 else set(table.to39)
    for n, line in enumerate(sys.stdin, 1):
        utt, *phones = line.split()
        bad = [x for x in phones if x not in known]
        if bad:
            print(f"{FOLD_PROG}: ERROR: stdin line {n} ({utt}): {', '.join(sorted(set(bad)))} not in the "
                  f"{a.src}-phone set of {a.map}", file=sys.stderr)
            return 1
        if a.src == 61:
            phones = table.fold48(phones)
        if a.to == 39:
            phones = table.fold39(phones)
        print(" ".join([utt] + phones))
    return 0


def _corpus_args(sp: argparse.ArgumentParser) -> None:
    """The options check and prepare share: the folding table, the speaker lists, the corpus top."""
    sp.add_argument("--phone-map", required=True, help="the 61-48-39 folding table (conf/phones.61-48-39.map)")
    sp.add_argument("--dev-spk", required=True, help="dev speakers, one per line (conf/dev_spk.list)")
    sp.add_argument("--test-spk", required=True, help="core test speakers (conf/test_spk.list)")
    sp.add_argument("timit", help="the corpus top: holds TRAIN/ and TEST/ (any case)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nas.corpora.timit", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("check", help="stage 0: check the tree, the speaker lists and the audio; write nothing")
    sp.add_argument("--allow-partial", default="false", choices=("true", "false"),
                    help="go on when speakers or files are missing (they are reported)")
    _corpus_args(sp)
    sp = sub.add_parser("prepare", help="stage 1: write data/{train,dev,test} (48-phone text) and "
                                        "data/local/dict/lexicon.txt")
    _corpus_args(sp)
    sp.add_argument("data", help="where data/train, data/dev, data/test and data/local/dict go")
    sp = sub.add_parser("fold-phones", help="fold 'utt phone ...' lines (stdin -> stdout): local/score.sh's filter")
    sp.add_argument("--map", required=True, help="the 61-48-39 table (egs/timit/conf/phones.61-48-39.map)")
    sp.add_argument("--from", dest="src", type=int, choices=(61, 48), default=48, help="the input's phone set")
    sp.add_argument("--to", type=int, choices=(48, 39), default=39, help="the output's phone set")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    if a.cmd == "fold-phones":
        if a.src == 48 and a.to == 48:
            p.error("fold-phones --from 48 --to 48 folds nothing")
        return _fold_cmd(a)
    try:
        if a.cmd == "check":
            _check_cmd(a)
        else:
            _prepare_cmd(a)
    except (CorpusError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
