"""Train a word n-gram LM (Kneser-Ney, ARPA) on Kaldi text, prune it, report dev perplexity.

Words outside the lang dir's words.txt become the OOV word (oov.txt) so that G
can only emit words the lexicon spells; their counts are reported. With
--all-words, every word of words.txt is in the LM, those the text lacks with the
unigram mass left over (SRILM's -vocab, Kaldi's swbd1_train_lms.sh). Writes
<lm-dir>/lm_unpruned.arpa, and <lm-dir>/lm.arpa (pruned when --prune-threshold
> 0, else a copy), and prints the perplexity of --dev-text under both.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional

from nas.data.table import TableError, iter_table
from nas.lang.symbols import read_symbols
from nas.lm.word_lm import format_counts, map_oov, perplexity, prune_arpa, train_arpa

PROG = "train_word_lm"
NOT_WORDS = {"<eps>", "<s>", "</s>"}


def read_sentences(path: str, text_is_plain: bool) -> List[List[str]]:
    """Sentences of a Kaldi text file (utterance id first) or of plain text (one per line)."""
    if text_is_plain:
        with open(path, encoding="utf-8") as f:
            return [line.split() for line in f]
    return [e.value.split() for e in iter_table(path)]


def lexicon_coverage(sentences: List[List[str]], oov: Counter, words_file: str, oov_word: str) -> str:
    """What a text holds, and how much of it the lexicon (words.txt) lacks: words the LM cannot
    have, counted apart from the perplexity's words outside the LM."""
    n = sum(len(s) for s in sentences)
    head = f"{len(sentences)} sentences, {n} words"
    if not oov:
        return f"{head}, all in {words_file}"
    k = sum(oov.values())
    top = " ".join(f"{w}({c})" for w, c in sorted(oov.items(), key=lambda kv: (-kv[1], kv[0]))[:20])
    fate = f"mapped to {oov_word}" if oov_word else "dropped"
    return (f"{head}, {k} of them ({100.0 * k / max(n, 1):.2f}%, {len(oov)} distinct) not in {words_file}, "
            f"{fate}: {top}")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--order", type=int, default=3)
    p.add_argument("--prune-threshold", type=float, default=0.0,
                   help="entropy pruning threshold (SRILM's -prune, e.g. 1e-7); 0 keeps all n-grams")
    p.add_argument("--min-counts", default="", help="per-order count cutoffs, e.g. '0 1 1' (SRILM -gtNmin)")
    p.add_argument("--dev-text", action="append", default=[], help="Kaldi text for perplexity (repeatable)")
    p.add_argument("--plain-text", action="store_true", help="the texts have no utterance ids")
    p.add_argument("--words", help="words.txt; default <lang-dir>/words.txt")
    p.add_argument("--oov-word", help="default: <lang-dir>/oov.txt; '' drops OOV words")
    p.add_argument("--all-words", action="store_true",
                   help="every word of words.txt in the LM, those not in the text too (SRILM's -vocab)")
    p.add_argument("lang_dir")
    p.add_argument("text", nargs="+", help="training text(s)")
    p.add_argument("lm_dir")
    a = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")      # kaldingram's progress bars would fill the log
    lang, out = Path(a.lang_dir), Path(a.lm_dir)
    try:
        words_file = str(a.words or lang / "words.txt")
        words = read_symbols(words_file)
        vocab = {w for w in words if w not in NOT_WORDS and not w.startswith("#")}
        oov_word = a.oov_word
        if oov_word is None:
            oov_file = lang / "oov.txt"
            oov_word = oov_file.read_text(encoding="utf-8").strip() if oov_file.exists() else ""
        if oov_word and oov_word not in vocab:
            raise TableError(f"the OOV word {oov_word!r} is not in {a.words or lang / 'words.txt'}")
        sentences: List[List[str]] = []
        for t in a.text:
            sentences += read_sentences(t, a.plain_text)
        min_counts = [int(x) for x in a.min_counts.split()]
    except (TableError, OSError, ValueError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    mapped, oov = map_oov(sentences, vocab, oov_word or None)
    print(f"{PROG}: training text: {lexicon_coverage(sentences, oov, words_file, oov_word)}")
    unseen = vocab - {w for s in mapped for w in s}
    if a.all_words and unseen:
        print(f"{PROG}: --all-words: {len(unseen)} of the {len(vocab)} words of {words_file} are not in the "
              f"training text; they share the unigram mass left over")
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    try:
        counts = train_arpa(mapped, a.order, out / "lm_unpruned.arpa", min_counts, vocab if a.all_words else None)
    except ValueError as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: {a.order}-gram Kneser-Ney LM: {format_counts(counts)} ({time.perf_counter() - t0:.1f}s) "
          f"-> {out / 'lm_unpruned.arpa'}")
    if a.prune_threshold > 0:
        t0 = time.perf_counter()
        pruned = prune_arpa(out / "lm_unpruned.arpa", out / "lm.arpa", a.prune_threshold)
        print(f"{PROG}: pruned with threshold {a.prune_threshold:g}: {format_counts(pruned)} "
              f"({time.perf_counter() - t0:.1f}s) -> {out / 'lm.arpa'}")
    else:
        shutil.copyfile(out / "lm_unpruned.arpa", out / "lm.arpa")
    for dev in a.dev_text:
        try:
            dev_sents = read_sentences(dev, a.plain_text)
        except (TableError, OSError) as e:
            print(f"{PROG}: ERROR: {e}", file=sys.stderr)
            return 1
        # dev words outside the lexicon are OOV for the recognizer too: map them as in training
        dev_mapped, dev_oov = map_oov(dev_sents, vocab, oov_word or None)
        print(f"{PROG}: {dev}: {lexicon_coverage(dev_sents, dev_oov, words_file, oov_word)}")
        for name in (["lm_unpruned.arpa", "lm.arpa"] if a.prune_threshold > 0 else ["lm.arpa"]):
            ppl = perplexity(out / name, dev_mapped)
            print(f"{PROG}: perplexity of {ppl.report(f'{dev} under {name}')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
