"""TIMIT data preparation (egs/timit stages 0 and 1): check the corpus, write the train, dev and
core test data dirs with 48-phone transcripts, and the phone lexicon for the lang dir.

--check-only (stage 0) looks at the tree alone: TRAIN/ and TEST/, the speakers of the dev and
core test lists, each .WAV's .PHN, .WRD and .TXT, every audio header (SPHERE or RIFF), and
decodes the first samples of one file per part. It fails naming what is missing, unless
--allow-partial. Without it (stage 1), every .PHN is read and checked against the audio's length
and the phone table; a bad utterance is reported with its file and line and left out. A data
dir whose tables would not change is left as it is (its features kept).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from nas.data.ldc import CorpusError, Report, probe_audio
from nas.data.timit import (EXPECTED, TimitError, audio_samples, data_dir, find_corpus, read_phone_map,
                            read_speaker_list, scan, split)

PROG = "timit_prep"


def _check(utts, sets, missing, report: Report, allow_partial: bool) -> List[str]:
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


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--check-only", action="store_true", help="stage 0: check the tree and stop")
    p.add_argument("--allow-partial", default="false", choices=("true", "false"),
                   help="go on when speakers or files are missing (they are reported)")
    p.add_argument("--phone-map", required=True, help="the 61-48-39 folding table (conf/phones.61-48-39.map)")
    p.add_argument("--dev-spk", required=True, help="dev speakers, one per line (conf/dev_spk.list)")
    p.add_argument("--test-spk", required=True, help="core test speakers (conf/test_spk.list)")
    p.add_argument("timit", help="the corpus top: holds TRAIN/ and TEST/ (any case)")
    p.add_argument("data", help="where data/train, data/dev, data/test and data/local/dict go")
    a = p.parse_args(argv)
    try:
        phones = read_phone_map(a.phone_map)
        dirs = find_corpus(a.timit)
        report = Report()
        utts = scan(dirs, report)
        sets, missing = split(utts, read_speaker_list(a.dev_spk), read_speaker_list(a.test_spk))
        if a.check_only:
            problems = _check(utts, sets, missing, report, a.allow_partial == "true")
            counts = ", ".join(f"{k} {len(v)}" for k, v in sets.items())
            print(f"{PROG}: {dirs['train'].parent}: {len(utts)} utterances; splits: {counts} "
                  f"(the full corpus: {', '.join(f'{k} {v}' for k, v in EXPECTED.items())})")
            for line in problems:
                print(f"{PROG}: WARNING: {line}", file=sys.stderr)
            return 0
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
        dict_dir = out / "local" / "dict"
        dict_dir.mkdir(parents=True, exist_ok=True)
        lex = "".join(f"{ph} {ph}\n" for ph in phones.phones48)
        if not (dict_dir / "lexicon.txt").is_file() or (dict_dir / "lexicon.txt").read_text() != lex:
            (dict_dir / "lexicon.txt").write_text(lex)
        print(f"{PROG}: {dict_dir}/lexicon.txt: the {len(phones.phones48)} training phones, each its own word")
    except (CorpusError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
