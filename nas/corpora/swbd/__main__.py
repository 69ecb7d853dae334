"""Switchboard-1 Release 2 (LDC97S62) with the Mississippi State transcripts, eval2000, Fisher text:
the command line of nas.corpora.swbd and nas.corpora.swbd.eval2000.

Subcommands (`python -m nas.corpora.swbd --help`) used by egs/swbd's run.sh and local/ scripts.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

from nas.corpora.ldc import PROBE_SAMPLES, CorpusError, Report, split_paths
from nas.corpora.swbd import (PROG, check_audio, find_sph, find_swbd, fisher_sentences, normalize_transcript,
                              prepare_lexicon, prepare_train)
from nas.corpora.swbd.eval2000 import clean_stm, find_eval2000, prepare_eval2000

PARTIAL_HELP = ("go on when MS98 side transcripts, eval2000 recordings or in-range segments are missing: "
                "report them, and leave their stm segments out of scoring (default: stop, naming them)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nas.corpora.swbd", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("check", help="find every input; fail naming what is missing")
    sp.add_argument("--swbd", action="append", required=True, help="LDC97S62 dir (repeatable)")
    sp.add_argument("--ms98", required=True, help="swb_ms98_transcriptions (or the dir it was unpacked in)")
    sp.add_argument("--eval2000-audio", help="LDC2002S09 dir")
    sp.add_argument("--eval2000-text", help="LDC2002T43 dir")
    sp.add_argument("--fisher", action="append", help="Fisher transcript dir (repeatable)")
    sp.add_argument("--allow-partial", action="store_true", help=PARTIAL_HELP)
    sp = sub.add_parser("train", help="write the training data dir (wav.scp, segments, text, ...)")
    sp.add_argument("--swbd", action="append", required=True)
    sp.add_argument("--ms98", required=True)
    sp.add_argument("--allow-partial", action="store_true", help=PARTIAL_HELP)
    sp.add_argument("out_dir")
    sp = sub.add_parser("dict", help="write the lexicon (word phones...) from the MS98 dictionary")
    sp.add_argument("--ms98", required=True)
    sp.add_argument("--all-prons", action="store_true", help="keep every pronunciation (default: the first)")
    sp.add_argument("out")
    sp = sub.add_parser("eval2000", help="write the eval2000 data dir, with stm and glm")
    sp.add_argument("--audio", required=True, help="LDC2002S09 dir")
    sp.add_argument("--text", required=True, help="LDC2002T43 dir")
    sp.add_argument("--pad", type=float, default=0.1, help="seconds the pem segments are widened by")
    sp.add_argument("--allow-partial", action="store_true", help=PARTIAL_HELP)
    sp.add_argument("out_dir")
    sp = sub.add_parser("fisher-text", help="Fisher transcripts as a Kaldi text file (LM training)")
    sp.add_argument("dirs", nargs="+")
    sp.add_argument("out")
    sub.add_parser("normalize", help="normalize 'uttid text' lines (stdin -> stdout)")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = _parser().parse_args(argv)
    report = Report()
    try:
        if a.cmd == "normalize":
            for line in sys.stdin:
                parts = line.split(maxsplit=1)
                if parts:
                    print(" ".join([parts[0]] + normalize_transcript(parts[1] if len(parts) > 1 else "")))
            return 0
        if a.cmd == "check":
            ms98, sph = find_swbd(split_paths(a.swbd), a.ms98, report, a.allow_partial)
            print(f"{PROG}: LDC97S62: {len(sph)} SPHERE files; MS98 transcripts: {ms98}")
            if a.eval2000_audio or a.eval2000_text:
                if not (a.eval2000_audio and a.eval2000_text):
                    raise CorpusError("eval2000 needs both --eval2000-audio (LDC2002S09) and --eval2000-text (LDC2002T43)")
                dd, stm, glm, left_out = prepare_eval2000(a.eval2000_audio, a.eval2000_text, report,
                                                          allow_partial=a.allow_partial)
                print(f"{PROG}: eval2000: {len(dd.text)} segments in {len(dd.wav)} conversation sides; {stm}; {glm}")
                root = find_eval2000(a.eval2000_audio, a.eval2000_text)[0]
                eval_sph = list(find_sph([root], "the eval2000 speech", Report(), "LDC2002S09").values())
            else:
                eval_sph = []
            probed = check_audio(split_paths(a.swbd), sph, eval_sph)
            print(f"{PROG}: audio: the first {PROBE_SAMPLES} samples of the first file of each of {len(probed)} "
                  f"discs decode ({', '.join(probed)})")
            for _ in fisher_sentences(split_paths(a.fisher), report):
                break
            for line in report.lines(f"{PROG}: "):
                print(line)
            return 0
        if a.cmd == "train":
            dd = prepare_train(split_paths(a.swbd), a.ms98, report, a.allow_partial)
            changed = dd.write(a.out_dir)
            for line in report.lines(f"{PROG}: "):
                print(line)
            print(f"{PROG}: {a.out_dir}: {len(dd.text)} utterances, {len(dd.wav)} conversation sides"
                  f"{'' if changed else ' (unchanged: left as it was)'}")
            return 0
        if a.cmd == "dict":
            lex = prepare_lexicon(a.ms98, report, first_pron=not a.all_prons)
            Path(a.out).parent.mkdir(parents=True, exist_ok=True)
            with open(a.out, "w", encoding="utf-8") as f:
                for w, pron in lex:
                    f.write(f"{w} {' '.join(pron)}\n")
            units = sorted({u for _, pr in lex for u in pr})
            for line in report.lines(f"{PROG}: "):
                print(line)
            print(f"{PROG}: {a.out}: {len(lex)} entries, {len(units)} units: {' '.join(units)}")
            return 0
        if a.cmd == "eval2000":
            dd, stm, glm, left_out = prepare_eval2000(a.audio, a.text, report, a.pad, a.allow_partial)
            out = Path(a.out_dir)
            changed = dd.write(out)
            dropped = clean_stm(stm, out / "stm", left_out)
            shutil.copyfile(glm, out / "glm")
            for line in report.lines(f"{PROG}: "):
                print(line)
            if dropped:
                print(f"{PROG}: {out / 'stm'}: {dropped} lines of {stm} left out (--allow-partial: segments not "
                      f"in the data dir are not scored)")
            subsets = Counter(u[:2] for u in dd.text)
            print(f"{PROG}: {out}: {len(dd.text)} utterances ({subsets.get('sw', 0)} Switchboard, "
                  f"{subsets.get('en', 0)} CallHome), {len(dd.wav)} conversation sides; stm and glm from "
                  f"{stm.parent}{'' if changed else ' (unchanged: left as it was)'}")
            return 0
        if a.cmd == "fisher-text":
            n = 0
            with open(a.out, "w", encoding="utf-8") as out:
                for words in fisher_sentences(a.dirs, report):
                    n += 1
                    out.write(f"fisher-{n:08d} {' '.join(words)}\n")
            print(f"{PROG}: {n} Fisher transcript lines -> {a.out}")
            return 0
    except CorpusError as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
