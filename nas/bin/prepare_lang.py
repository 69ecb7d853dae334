"""Make a lang dir (tokens, words, lexicons, L.fst, T.fst) for phone, character or BPE units.

The vocabulary is the words of --text (Kaldi text files) and --words (word
lists); without either, phone units take all of CMUdict. Pronunciations come
from CMUdict, from --lexicon (a lexicon.txt of your own, which then is the only
source), or are spellings (char) or BPE pieces (bpe, model trained on --text or
given by --bpe-model). Vocabulary words without a pronunciation are reported
with their counts and left out (--missing error makes them fatal); in the
text they then stand for the OOV word. Extra entries (by default <UNK> -> <SPN>
and <NOISE> -> <NSN>) give the unknown word and noise their own units.

--tokens (Kaldi's --phone-symbol-table) builds over a trained model's tokens.txt
instead of the units the lexicon uses: its ids are the network's outputs, so a
new vocabulary must keep them. Pronunciations with a unit outside it are
reported and left out, and so are words left without any.
"""
from __future__ import annotations

import argparse
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

from nas.data.table import TableError, iter_table, text_lines
from nas.lang.cmu import cmudict_lexicon
from nas.lang.lang_dir import is_disambig, read_token_set, split_extra, write_lang_dir
from nas.lang.lexicon import Lexicon, format_oov_report, read_lexicon, split_by_units
from nas.lang.units import bpe_lexicon, char_lexicon, is_special, train_bpe

PROG = "prepare_lang"


def read_text_words(paths: List[str]) -> Counter:
    """Word counts of Kaldi text files (`utt word word ...`)."""
    counts: Counter = Counter()
    for p in paths:
        for e in iter_table(p):
            counts.update(e.value.split())
    return counts


def read_word_list(paths: List[str]) -> List[str]:
    """Words of word-list files: the first field of each non-empty line."""
    words: List[str] = []
    for p in paths:
        for _, line in text_lines(p):
            parts = line.split()
            if parts:
                words.append(parts[0])
    return words


def build_lexicon(a: argparse.Namespace, vocab: Optional[List[str]], counts: Counter) -> Lexicon:
    """The lexicon for `vocab` with the chosen units; reports (or fails on) words it cannot spell."""
    if a.unit == "phone":
        if a.lexicon:
            source = read_lexicon(a.lexicon)
            if vocab is None:
                lex, missing = source, []
            else:
                want = set(vocab)
                lex = [(w, p) for w, p in source if w in want]
                have = {w for w, _ in lex}
                missing = [w for w in vocab if w not in have]
        else:
            lex, missing = cmudict_lexicon(vocab, keep_stress=a.keep_stress, all_prons=not a.first_pron,
                                           case=a.case)
    elif a.unit == "char":
        if vocab is None:
            raise TableError("--unit char needs --text or --words for its vocabulary")
        lex, missing = char_lexicon(vocab), []
    else:
        if vocab is None:
            raise TableError("--unit bpe needs --text or --words for its vocabulary")
        model = a.bpe_model
        if model is None:
            if not a.text:
                raise TableError("--unit bpe needs --text to train the BPE model on, or --bpe-model")
            sentences = (e.value for p in a.text for e in iter_table(p))
            model = str(train_bpe(sentences, Path(a.out_dir) / "bpe", a.bpe_size))
        elif Path(model).resolve() != (Path(a.out_dir) / "bpe.model").resolve():
            Path(a.out_dir).mkdir(parents=True, exist_ok=True)
            shutil.copyfile(model, Path(a.out_dir) / "bpe.model")
        lex, missing = bpe_lexicon(vocab, model), []
    missing = [w for w in missing if not is_special(w)]
    if missing:
        occ = sum(counts.get(w, 0) for w in missing)
        top = sorted(missing, key=lambda w: (-counts.get(w, 0), w))[:20]
        msg = (f"{len(missing)} vocabulary words have no pronunciation ({occ} of {sum(counts.values())} "
               f"running words of the text); most frequent: " + " ".join(f"{w}({counts.get(w, 0)})" for w in top))
        if a.missing == "error":
            raise TableError(msg)
        print(f"{PROG}: WARNING: {msg}; they are left out of the lexicon (word LMs and the denominator "
              f"graph read them as {a.oov_word or 'nothing'})", file=sys.stderr)
    return lex


def restrict_to_tokens(lex: Lexicon, tokens_path: str, tokens: List[str], missing: str, oov_word: str
                       ) -> Lexicon:
    """The pronunciations of `lex` spelled in the units of `tokens` (read from `tokens_path`);
    the others are reported, and so are the words left without one (fatal with --missing error)."""
    units = {t for t in tokens[2:] if not is_disambig(t)}
    kept, dropped = split_by_units(lex, units)
    if not dropped:
        return kept
    first = ", ".join(f"{w} ({' '.join(out)} in '{' '.join(p)}')" for w, p, out in dropped[:10])
    if not kept:
        raise TableError(f"{tokens_path}: no pronunciation of the lexicon is spelled in its units "
                         f"(is it the tokens.txt of a model with other units?); first: {first}")
    outside = Counter(u for _, _, out in dropped for u in out)
    print(f"{PROG}: WARNING: {len(dropped)} of {len(lex)} pronunciations use units that are not in {tokens_path} "
          f"and are left out (units: {' '.join(f'{u}({c})' for u, c in outside.most_common())}); first: {first}",
          file=sys.stderr)
    have = {w for w, _ in kept}
    lost = sorted({w for w, _, _ in dropped} - have)
    if lost:
        msg = (f"{len(lost)} words have no pronunciation left in the units of {tokens_path}: "
               + " ".join(lost[:20]) + (" ..." if len(lost) > 20 else ""))
        if missing == "error" and any(not is_special(w) for w in lost):
            raise TableError(msg)
        print(f"{PROG}: WARNING: {msg}; they are left out of the lexicon (word LMs and the denominator "
              f"graph read them as {oov_word or 'nothing'})", file=sys.stderr)
    return kept


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--unit", choices=("phone", "char", "bpe"), default="phone")
    p.add_argument("--text", action="append", default=[], help="Kaldi text file for the vocabulary (repeatable)")
    p.add_argument("--words", action="append", default=[], help="word list file (repeatable)")
    p.add_argument("--lexicon", help="phone lexicon.txt to use instead of CMUdict")
    p.add_argument("--keep-stress", action="store_true", help="keep CMUdict's stress digits (AH0, AH1, ...)")
    p.add_argument("--first-pron", action="store_true", help="only the first CMUdict pronunciation of a word")
    p.add_argument("--case", choices=("upper", "lower"), default="upper",
                   help="spelling of CMUdict words when the whole dictionary is taken")
    p.add_argument("--bpe-size", type=int, default=500, help="BPE vocabulary size (sentencepiece)")
    p.add_argument("--bpe-model", help="an existing sentencepiece model instead of training one")
    p.add_argument("--oov-word", default="<UNK>", help="the word for unknown words ('' for none)")
    p.add_argument("--oov-unit", default="<SPN>", help="its unit ('' for no entry)")
    p.add_argument("--noise-word", default="<NOISE>", help="a noise word ('' for none)")
    p.add_argument("--noise-unit", default="<NSN>", help="its unit")
    p.add_argument("--extra", action="append", default=[], help="an extra entry 'WORD UNIT...' (repeatable)")
    p.add_argument("--missing", choices=("skip", "error"), default="skip",
                   help="vocabulary words without a pronunciation: report and leave out, or fail")
    p.add_argument("--topo", choices=("ctc", "compact"), default="ctc", help="CTC topology of T.fst")
    p.add_argument("--tokens", help="a trained model's tokens.txt: build over its token ids instead of the "
                                    "lexicon's units (Kaldi's --phone-symbol-table)")
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    try:
        counts = read_text_words(a.text)
        vocab: Optional[List[str]] = None
        if a.text or a.words:
            vocab = sorted(set(counts) | set(read_word_list(a.words)))
            vocab = [w for w in vocab if not is_special(w)]
        lex = build_lexicon(a, vocab, counts)
        extras = []
        if a.oov_word and a.oov_unit:
            extras.append(f"{a.oov_word} {a.oov_unit}")
        if a.noise_word and a.noise_unit:
            extras.append(f"{a.noise_word} {a.noise_unit}")
        lex = lex + split_extra(extras + a.extra)
        tokens: Optional[List[str]] = None
        if a.tokens:
            tokens = read_token_set(a.tokens)
            lex = restrict_to_tokens(lex, a.tokens, tokens, a.missing, a.oov_word)
        summary = write_lang_dir(a.out_dir, lex, oov_word=a.oov_word or None, topo=a.topo, tokens=tokens)
    except (TableError, OSError, ValueError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    if counts:
        spelled = {w for w, _ in lex}
        oov = Counter({w: c for w, c in counts.items() if w not in spelled})
        print(f"{PROG}: text: {format_oov_report(oov, sum(counts.values()))}")
    print(f"{PROG}: {a.out_dir}: {summary.num_words} words, {summary.num_entries} pronunciations, "
          f"{summary.num_units} {a.unit} units ({summary.num_outputs} network outputs with blank), "
          f"disambiguation symbols #0..#{summary.num_disambig}, T topology '{a.topo}'"
          + (f"; token ids of {a.tokens}" if a.tokens else ""))
    if tokens is not None:
        added = summary.num_disambig + 1 - sum(1 for t in tokens if is_disambig(t))
        if added > 0:
            print(f"{PROG}: the lexicon needs {added} more disambiguation symbols than {a.tokens} has; "
                  f"they follow its last id in tokens.txt (the network outputs keep their ids)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
