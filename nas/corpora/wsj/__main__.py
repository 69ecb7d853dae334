"""WSJ0 (LDC93S6B) and WSJ1 (LDC94S13B) -> Kaldi data dirs, LM files and texts: the command line of
nas.corpora.wsj and nas.corpora.wsj.lm.

Subcommands (`python -m nas.corpora.wsj --help`) used by egs/wsj's local/ scripts.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from nas.corpora.ldc import CorpusError, Report, split_paths
from nas.corpora.wsj import (DEFAULT_SETS, NOISE_WORD, PROG, SETS, Transcripts, cd_key, check_audio, locate,
                             normalize_transcript, prepare_set, unused_cds)
from nas.corpora.wsj.lm import LM_FILES, cmudict_words, find_lm, lm_text_sentences


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nas.corpora.wsj", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def corpus_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--wsj0", action="append", required=True,
                        help="WSJ0 (LDC93S6B) location: the distribution dir or its CD dirs (11-1.1, ...); "
                             "repeatable, or several in one space-separated value")
        sp.add_argument("--wsj1", action="append", required=True,
                        help="WSJ1 (LDC94S13B) location: the distribution dir or its CD dirs (13-1.1, ...)")
        sp.add_argument("--sets", default=",".join(DEFAULT_SETS), help="comma-separated sets (%(default)s)")

    sp = sub.add_parser("check", help="find the CDs, the index files and every CD the indices name, and "
                                      "decode one audio file per CD; fail naming what is missing")
    corpus_args(sp)
    sp.add_argument("--need-lm", action="store_true", help="also require WSJ1's LM CD 13-32.1")
    sp.add_argument("--allow-partial", action="store_true",
                    help="CDs the indices name may be missing (a partial copy): reported, their entries left out")
    sp = sub.add_parser("data", help="write <out-dir>/<set>/{wav.scp,text,utt2spk,spk2utt} per set")
    corpus_args(sp)
    sp.add_argument("--noise-word", default=NOISE_WORD)
    sp.add_argument("out_dir")
    sp = sub.add_parser("lm", help="print '<name> <path>' for each of the corpus' LM files that is there")
    corpus_args(sp)
    sp = sub.add_parser("lm-text", help="WSJ1's LM training text, normalized, as a Kaldi text file "
                                        "(one sentence per line, ids lmtext-NNNNNNNN)")
    corpus_args(sp)
    sp.add_argument("--vocab", help="word list (first field) telling abbreviations from sentence ends")
    sp.add_argument("out")
    sp = sub.add_parser("cmudict-words", help="write all CMUdict words, upper case, one per line")
    sp.add_argument("out")
    sp = sub.add_parser("normalize", help="normalize 'uttid text' lines (stdin -> stdout)")
    sp.add_argument("--noise-word", default=NOISE_WORD)
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = _parser().parse_args(argv)

    report = Report()
    prog = "wsj_prepare_lm" if a.cmd in ("lm", "lm-text") else PROG    # the script the user ran
    try:
        if a.cmd == "cmudict-words":
            words = cmudict_words()
            Path(a.out).write_text("".join(w + "\n" for w in words), encoding="utf-8")
            print(f"{prog}: {len(words)} CMUdict words -> {a.out}")
            return 0
        if a.cmd == "normalize":
            for line in sys.stdin:
                parts = line.split(maxsplit=1)
                if parts:
                    words = normalize_transcript(parts[1] if len(parts) > 1 else "", a.noise_word)
                    print(" ".join([parts[0]] + words))
            return 0
        sets = [s for s in a.sets.split(",") if s] if a.cmd in ("check", "data") else []
        wsj0, wsj1 = split_paths(a.wsj0), split_paths(a.wsj1)
        need_lm = a.need_lm if a.cmd == "check" else a.cmd == "lm-text"
        corpus = locate(wsj0, wsj1, sets, report, need_lm=need_lm)
        if a.cmd == "check":
            for which in ("WSJ0", "WSJ1"):
                names = sorted((c for c in corpus.cds if corpus.which[c] == which), key=cd_key)
                print(f"{prog}: {which}: {len(names)} CD directories: {' '.join(names)}")
            checked = check_audio(corpus, sets, report, allow_partial=a.allow_partial)
            print(f"{prog}: the first audio file of each of the {len(checked)} CDs the indices of "
                  f"{', '.join(sets)} name decodes")
            for line in report.lines(f"{prog}: "):
                print(line)
            return 0
        if a.cmd == "lm":
            for name in LM_FILES:
                path = find_lm(corpus, name)
                if path is not None:
                    print(name, path)
            return 0
        if a.cmd == "lm-text":
            vocab = None
            if a.vocab:
                with open(a.vocab, encoding="utf-8") as f:
                    vocab = {line.split()[0] for line in f if line.split()}
            n = nw = 0
            with open(a.out, "w", encoding="utf-8") as out:
                for sent in lm_text_sentences(corpus, vocab, report):
                    n += 1
                    nw += len(sent)
                    out.write(f"lmtext-{n:08d} {' '.join(sent)}\n")
            print(f"{prog}: LM training text: {n} sentences, {nw} words -> {a.out}")
            for line in report.lines(f"{prog}: "):
                print(line)
            return 0
        # data
        transcripts = Transcripts(corpus.files, report)
        print(f"{prog}: {len(corpus.cds)} CD directories; transcripts: {len(transcripts.dot)} .dot lines, "
              f"{len(transcripts.lsn)} .lsn lines")
        unused = unused_cds(corpus, sets)
        if unused:
            report.add("CD directories not used by these sets (fine: WSJ has other sets too)",
                       " ".join(sorted(unused, key=cd_key)), len(unused))
        out = Path(a.out_dir)
        prepared = {s: prepare_set(corpus, SETS[s], transcripts, report, a.noise_word) for s in sets}
        empty = [s for s, dd in prepared.items() if not dd.wav]
        if empty:               # the counts that say why first, and no data dir written
            why = [l for l in report.lines() if any(e in l for e in empty)] or report.lines()
            raise CorpusError(f"{', '.join(empty)}: no utterance has both audio and a transcript; {'; '.join(why)}")
        results = {s: (dd, dd.write(out / s)) for s, dd in prepared.items()}
        for line in report.lines(f"{prog}: "):
            print(line)
        for s, (dd, changed) in results.items():
            spec = SETS[s]
            note = "" if len(dd.wav) == spec.expected else f" (a complete corpus gives {spec.expected})"
            print(f"{prog}: {out / s}: {len(dd.wav)} utterances, {len(set(dd.utt2spk.values()))} speakers"
                  f"{note}; {spec.description}{'' if changed else ' (unchanged: left as it was)'}")
    except CorpusError as e:
        print(f"{prog}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
