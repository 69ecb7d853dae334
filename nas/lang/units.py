"""Character and BPE (sentencepiece) lexicons: every word spelled in sub-word units.

Words in angle brackets (<UNK>, <NOISE>, ...) are special: they are left out
here and get their own units from the lang dir's extra entries.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Union

from nas.lang.lexicon import Lexicon

PathLike = Union[str, Path]


def is_special(word: str) -> bool:
    return word.startswith("<") and word.endswith(">")


def char_lexicon(words: Iterable[str]) -> Lexicon:
    """Each word spelled in its characters: HELLO -> H E L L O."""
    return [(w, tuple(w)) for w in words if not is_special(w)]


def train_bpe(sentences: Iterable[str], model_prefix: PathLike, vocab_size: int,
              character_coverage: float = 1.0, seed_sentencepiece_size: Optional[int] = None) -> Path:
    """Train a sentencepiece BPE model on `sentences` (words separated by spaces); returns the .model path.

    Special words (<UNK>, ...) are removed first, so they never become pieces.
    `vocab_size` counts sentencepiece's own <unk> piece; no <s> and </s> pieces.
    """
    import sentencepiece as spm

    prefix = Path(model_prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        n = 0
        for s in sentences:
            words = [w for w in s.split() if not is_special(w)]
            if words:
                f.write(" ".join(words) + "\n")
                n += 1
        tmp = f.name
    try:
        if n == 0:
            raise ValueError("no text to train the BPE model on")
        extra = {} if seed_sentencepiece_size is None else {"seed_sentencepiece_size": seed_sentencepiece_size}
        spm.SentencePieceTrainer.train(
            input=tmp, model_prefix=str(prefix), vocab_size=vocab_size, model_type="bpe",
            character_coverage=character_coverage, bos_id=-1, eos_id=-1, unk_id=0,
            hard_vocab_limit=False, minloglevel=2, num_threads=1, **extra)
    finally:
        Path(tmp).unlink()
    return Path(str(prefix) + ".model")


def bpe_lexicon(words: Iterable[str], model: PathLike) -> Lexicon:
    """Each word spelled in BPE pieces (the first carries sentencepiece's word-start mark)."""
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model))
    out: Lexicon = []
    for w in words:
        if is_special(w):
            continue
        pieces = tuple(sp.encode(w, out_type=str))
        if pieces:
            out.append((w, pieces))
    return out


def vocabulary(sentences: Iterable[Sequence[str]]) -> List[str]:
    """The distinct words of tokenized sentences, sorted (C locale)."""
    return sorted({w for s in sentences for w in s})
