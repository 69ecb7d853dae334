"""A tiny lang dir, bigram LM and TLG whose best paths are known by hand, and log-probability builders.

Words: homophones ATE/EIGHT (EY T) and READ/RED (R EH D; READ also R IY D), a
pronunciation that is a prefix of another (A = AH, AN = AH N), NO = N OW.
LM (log10): EIGHT is likelier than ATE alone, but "NO ATE" is a strong bigram;
"<s> READ" and "<s> A" are strong bigrams.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np

from nas.lang.grammar_fst import make_grammar_fst
from nas.lang.lang_dir import write_lang_dir
from nas.lang.symbols import read_symbols
from nas.lang.tlg import compose_lg, compose_tlg

import kaldifst

LEX = [("A", ("AH",)), ("AN", ("AH", "N")), ("ATE", ("EY", "T")), ("EIGHT", ("EY", "T")),
       ("READ", ("R", "EH", "D")), ("READ", ("R", "IY", "D")), ("RED", ("R", "EH", "D")),
       ("NO", ("N", "OW")), ("<UNK>", ("<SPN>",))]

UNIGRAMS = {"</s>": (-1.0, None), "<s>": (-99.0, -0.5), "A": (-1.0, -0.3), "AN": (-1.2, -0.3),
            "ATE": (-1.5, -0.3), "EIGHT": (-0.8, -0.3), "NO": (-1.0, -0.3), "READ": (-1.0, -0.3),
            "RED": (-1.2, -0.3), "<UNK>": (-2.0, None)}
BIGRAMS = {("NO", "ATE"): -0.1, ("<s>", "READ"): -0.2, ("A", "NO"): -0.3, ("<s>", "A"): -0.1}


def write_arpa(path: Path) -> None:
    lines = ["\\data\\", f"ngram 1={len(UNIGRAMS)}", f"ngram 2={len(BIGRAMS)}", "", "\\1-grams:"]
    for w, (p, b) in UNIGRAMS.items():
        lines.append(f"{p}\t{w}" + (f"\t{b}" if b is not None else ""))
    lines += ["", "\\2-grams:"] + [f"{p}\t{h} {w}" for (h, w), p in BIGRAMS.items()] + ["", "\\end\\", ""]
    path.write_text("\n".join(lines))


def arpa_cost(words: Sequence[str]) -> float:
    """-ln P(sentence) under the LM above (standard backoff lookup; </s> included)."""
    total, prev = 0.0, "<s>"
    for w in list(words) + ["</s>"]:
        if (prev, w) in BIGRAMS:
            total += BIGRAMS[(prev, w)]
        else:
            total += (UNIGRAMS[prev][1] or 0.0) + UNIGRAMS[w][0]
        prev = w
    return -total * np.log(10.0)


def build_graph(d: Path) -> Tuple[Path, Dict[str, int], Dict[str, int]]:
    """Lang dir with G.fst in d/lang, TLG in d/graph; returns (graph dir, tokens, words)."""
    lang, graph = d / "lang", d / "graph"
    write_lang_dir(lang, LEX)
    write_arpa(d / "lm.arpa")
    g = make_grammar_fst(d / "lm.arpa", lang / "words.txt", lang / "G.fst")
    lg = compose_lg(kaldifst.StdVectorFst.read(str(lang / "L.fst")), g)
    tlg = compose_tlg(kaldifst.StdVectorFst.read(str(lang / "T.fst")), lg)
    graph.mkdir(parents=True, exist_ok=True)
    tlg.write(str(graph / "TLG.fst"))
    for f in ("words.txt", "tokens.txt"):
        (graph / f).write_text((lang / f).read_text())
    return graph, read_symbols(lang / "tokens.txt"), read_symbols(lang / "words.txt")


Frame = Union[str, Dict[str, float]]


def logprobs(frames: Sequence[Frame], tokens: Dict[str, int], peak: float = 8.0) -> np.ndarray:
    """Log-softmax of logits: '-' a blank frame, 'AH' a frame peaked at AH, {'EH': 5, 'IY': 4} custom logits."""
    v = 1 + sum(1 for s in tokens if s not in ("<eps>", "<blk>") and not s.startswith("#"))
    x = np.zeros((len(frames), v), np.float32)
    for t, f in enumerate(frames):
        if isinstance(f, str):
            x[t, 0 if f == "-" else tokens[f] - 1] = peak
        else:
            for u, val in f.items():
                x[t, tokens[u] - 1] = val
    x -= x.max(axis=1, keepdims=True)
    return (x - np.log(np.exp(x).sum(axis=1, keepdims=True))).astype(np.float32)


def words_of(ids: List[int], words: Dict[str, int]) -> List[str]:
    inv = {i: w for w, i in words.items()}
    return [inv[i] for i in ids]
