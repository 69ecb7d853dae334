"""Greedy CTC decoding of log-probability matrices, and the token error rate (PER for phones).

No graph: per frame the best output, repeats merged, blanks dropped. Writes
`utt unit unit ...` lines. With --ref-text, the reference words are spelled in
units by the lang dir's lexicon_numbers.txt (first pronunciation of each word;
unknown words by the OOV word's) and the %TER line is printed.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Dict, List, Optional

import numpy as np

from nas.data.table import TableError
from nas.decoding.greedy import greedy_ctc
from nas.decoding.logprobs import iter_logprobs, num_outputs, resolve_scp
from nas.decoding.texts import read_text
from nas.decoding.wer import normalize, partial_warnings, score
from nas.lang.lexicon import read_lexicon_numbers
from nas.lang.symbols import invert, read_symbols

PROG = "greedy_decode"


def spell(refs: Dict[str, List[str]], lex: Dict[str, List[int]], oov: Optional[str], units: Dict[int, str],
          where: str) -> Dict[str, List[str]]:
    """Reference words -> unit symbols through the lexicon."""
    out: Dict[str, List[str]] = {}
    for utt, words in refs.items():
        seq: List[str] = []
        for w in words:
            if w not in lex:
                if oov is None or oov not in lex:
                    raise TableError(f"{where}: word {w!r} of utterance {utt} is not in the lexicon")
                w = oov
            seq += [units[i] for i in lex[w]]
        out[utt] = seq
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options and arguments of a graph-free decoder: lang dir, log-probabilities, output, scoring."""
    p.add_argument("--ref-text", help="Kaldi text of reference words, to score against")
    p.add_argument("--ref-is-units", action="store_true", help="--ref-text already holds units")
    p.add_argument("--ignore-units", default="", help="units removed from both sides before scoring")
    p.add_argument("--label", default="TER", help="name of the error rate (PER for phones)")
    p.add_argument("lang_dir", help="has tokens.txt (and lexicon_numbers.txt, oov.txt for --ref-text)")
    p.add_argument("logprobs", help="scp, or a directory with logprobs.scp")
    p.add_argument("out_text", help="hypotheses in units")


def decode_and_score(prog: str, a: argparse.Namespace, decode: Callable[[np.ndarray], List[int]]) -> int:
    """Decode every matrix with `decode` (a matrix -> token ids), write `utt unit ...` lines in scp
    order and, with --ref-text, print the error-rate and %SER lines; returns the exit status."""
    lang = Path(a.lang_dir)
    try:
        tokens = read_symbols(lang / "tokens.txt")
        units = invert(tokens)
        hyps: Dict[str, List[str]] = {}
        with open(a.out_text, "w", encoding="utf-8") as f:
            for utt, x in iter_logprobs(resolve_scp(a.logprobs), num_outputs(tokens)):
                hyps[utt] = [units[t] for t in decode(x)]
                f.write(" ".join([utt] + hyps[utt]) + "\n")
        if not a.ref_text:
            print(f"{prog}: {len(hyps)} utterances decoded to {a.out_text}")
            return 0
        refs = read_text(a.ref_text)
        if not a.ref_is_units:
            oov_file = lang / "oov.txt"
            oov = oov_file.read_text(encoding="utf-8").strip() if oov_file.exists() else None
            refs = spell(refs, read_lexicon_numbers(lang / "lexicon_numbers.txt"), oov, units, a.ref_text)
    except (TableError, OSError) as e:
        print(f"{prog}: ERROR: {e}", file=sys.stderr)
        return 1
    drop = a.ignore_units.split()
    counts, _ = score({u: normalize(w, drop) for u, w in refs.items()},
                      {u: normalize(w, drop) for u, w in hyps.items()})
    for line in partial_warnings(counts, a.ref_text, f"{a.logprobs} (decoded)"):
        print(f"{prog}: WARNING: {line}", file=sys.stderr)
    print(counts.wer_line().replace("%WER", f"%{a.label}", 1))
    print(counts.ser_line())
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_arguments(p)
    return decode_and_score(PROG, p.parse_args(argv), greedy_ctc)


if __name__ == "__main__":
    sys.exit(main())
