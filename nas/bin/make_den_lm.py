"""Build the CTC-CRF denominator graph from transcripts: phone LM P, den_lm.fst = T o P, path weights.

Reads a Kaldi text file (words mapped to tokens through lexicon_numbers.txt, or
token ids directly with --text-is-ids), estimates the bounded-history phone
n-gram LM on the deduplicated token sequences, and writes to OUT_DIR:
phone_lm.arpa (for inspection), phone_lm.fst (P), den_lm.fst (T o P, OpenFst
binary), path_weight.txt (`<utt> <log P_LM(l)>`, natural log, one per utterance).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from ctc_crf.fst import FstArrays, write_fst
from nas.data.table import TableError, iter_table
from nas.graphs.den_graph import compose_ctc_lm
from nas.lang.lexicon import read_lexicon_numbers as read_lexicon  # first pronunciations
from nas.lang.lexicon import words_to_ids
from nas.lm.phone_lm import PhoneLM

PROG = "make_den_lm"


def read_tokens(path: Path) -> Tuple[Dict[int, str], int]:
    """tokens.txt -> ({unit id: symbol}, number of network outputs V = blank + units)."""
    units: Dict[int, str] = {}
    for e in iter_table(path):
        try:
            i = int(e.value)
        except ValueError:
            raise TableError(f"{path}:{e.lineno}: expected '<symbol> <id>'") from None
        if i >= 2 and not e.key.startswith("#"):
            units[i] = e.key
    if not units:
        raise TableError(f"{path}: no unit tokens (ids >= 2 other than #n)")
    v = max(units)
    if sorted(units) != list(range(2, v + 1)):
        raise TableError(f"{path}: unit ids must be consecutive from 2 (<eps> 0, <blk> 1)")
    return units, v


def _token_sequences(text: str, units: Dict[int, str], lex: Optional[Dict[str, List[int]]], a,
                     oov: Dict[str, int]) -> Dict[str, List[int]]:
    """Token ids of every utterance of a Kaldi text (words through the lexicon, or ids)."""
    seqs: Dict[str, List[int]] = {}
    for e in iter_table(text):
        if a.text_is_ids:
            try:
                seq = [int(x) for x in e.value.split()]
            except ValueError:
                raise TableError(f"{text}:{e.lineno}: expected token ids") from None
        else:
            seq = words_to_ids(e.value.split(), lex, a.oov, oov)
            if seq is None:
                missing = next(w for w in e.value.split() if w not in lex)
                raise TableError(f"{text}:{e.lineno}: word {missing!r} of utterance {e.key} is not in "
                                 f"{a.lexicon}, which has no {a.oov} entry for unknown words")
        bad = [t for t in seq if t not in units]
        if bad:
            raise TableError(f"{text}:{e.lineno}: token id {bad[0]} of utterance {e.key} is not a unit of {a.tokens}")
        seqs[e.key] = seq
    return seqs


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--tokens", required=True, help="lang dir tokens.txt")
    p.add_argument("--lexicon", help="lang dir lexicon_numbers.txt (needed unless --text-is-ids)")
    p.add_argument("--text-is-ids", action="store_true", help="the text holds token ids, not words")
    p.add_argument("--oov", default="<UNK>", help="word used for words not in the lexicon")
    p.add_argument("--order", type=int, default=4)
    p.add_argument("--no-prune-order", type=int, default=3, help="keep every history of n-grams up to this order")
    p.add_argument("--num-extra-states", type=int, default=1000, help="longer histories kept (most frequent)")
    p.add_argument("--weights-for", action="append", default=[], metavar="TEXT",
                   help="another Kaldi text (e.g. the dev set's) whose utterances also get path weights "
                        "under the LM estimated on TEXT (repeatable)")
    p.add_argument("text")
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    start = time.perf_counter()
    try:
        units, v = read_tokens(Path(a.tokens))
        lex = None if a.text_is_ids else read_lexicon(Path(a.lexicon)) if a.lexicon else None
        if lex is None and not a.text_is_ids:
            raise TableError("--lexicon is needed to map words to tokens (or give --text-is-ids)")
        oov: Dict[str, int] = {}
        seqs = _token_sequences(a.text, units, lex, a, oov)
        extra: Dict[str, List[int]] = {}
        for t in a.weights_for:
            extra.update(_token_sequences(t, units, lex, a, oov))
    except (TableError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    if oov:
        top = sorted(oov.items(), key=lambda kv: -kv[1])[:10]
        print(f"{PROG}: {sum(oov.values())} OOV words ({len(oov)} distinct) mapped to {a.oov}; most frequent: "
              + " ".join(f"{w}({c})" for w, c in top), file=sys.stderr)
    unique = sorted({tuple(s) for s in seqs.values()})
    lm = PhoneLM.estimate(unique, sorted(units), a.order, a.no_prune_order, a.num_extra_states)
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    lm.write_arpa(str(out / "phone_lm.arpa"), units)
    arrays = lm.to_arrays()
    write_fst(out / "phone_lm.fst", FstArrays(arrays.start, (-arrays.final_logp).astype(np.float32), arrays.src,
                                              arrays.label, arrays.label, (-arrays.logp).astype(np.float32), arrays.dst))
    den = compose_ctc_lm(arrays, v)
    write_fst(out / "den_lm.fst", den)
    with open(out / "path_weight.txt", "w") as f:
        every = {**extra, **seqs}
        for utt in sorted(every):
            f.write(f"{utt} {lm.log_prob(every[utt]):.6f}\n")
    print(f"{PROG}: {len(seqs)} utterances, {len(unique)} distinct token sequences, {len(units)} units "
          f"({v} network outputs)")
    print(f"{PROG}: phone LM: order {a.order}, {arrays.num_states} states, {len(arrays.src)} arcs")
    print(f"{PROG}: den_lm.fst: {den.num_states} states, {den.num_arcs} arcs; "
          f"{time.perf_counter() - start:.1f}s; written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
