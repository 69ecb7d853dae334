"""Map a Kaldi text's words without a pronunciation to the OOV word, or drop their utterances.

Vocabulary: a lang dir's words.txt; the OOV word: its oov.txt (or --oov-word).
The report names the OOV words with their counts. With --mode drop, the
utterances left out are listed (--dropped FILE); `utils/fix_data_dir.sh` then
removes them from the rest of the data dir.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

from nas.data.table import TableError, iter_table
from nas.lang.lexicon import format_oov_report
from nas.lang.symbols import read_symbols

PROG = "map_oov_text"
NOT_WORDS = {"<eps>", "<s>", "</s>"}


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--mode", choices=("unk", "drop"), default="unk")
    p.add_argument("--oov-word", help="default: <lang-dir>/oov.txt")
    p.add_argument("--dropped", help="write the ids of dropped utterances here (--mode drop)")
    p.add_argument("lang_dir")
    p.add_argument("text_in")
    p.add_argument("text_out")
    a = p.parse_args(argv)
    lang = Path(a.lang_dir)
    try:
        vocab = {w for w in read_symbols(lang / "words.txt") if w not in NOT_WORDS and not w.startswith("#")}
        oov_word = a.oov_word
        if oov_word is None and a.mode == "unk":
            if not (lang / "oov.txt").is_file():
                raise TableError(f"no {lang / 'oov.txt'}: give --oov-word or use --mode drop")
            oov_word = (lang / "oov.txt").read_text(encoding="utf-8").strip()
        if a.mode == "unk" and oov_word not in vocab:
            raise TableError(f"the OOV word {oov_word!r} is not in {lang / 'words.txt'}")
        entries = list(iter_table(a.text_in))
    except (TableError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    oov: Counter = Counter()
    dropped: List[str] = []
    n_words = 0
    with open(a.text_out, "w", encoding="utf-8") as out:
        for e in entries:
            words = e.value.split()
            n_words += len(words)
            bad = [w for w in words if w not in vocab]
            oov.update(bad)
            if bad and a.mode == "drop":
                dropped.append(e.key)
                continue
            if bad:
                words = [w if w in vocab else oov_word for w in words]
            out.write(" ".join([e.key] + words) + "\n")
    print(f"{PROG}: {a.text_in}: {format_oov_report(oov, n_words)}")
    if a.mode == "drop":
        print(f"{PROG}: dropped {len(dropped)} of {len(entries)} utterances"
              + (f": {' '.join(dropped[:10])}{' ...' if len(dropped) > 10 else ''}" if dropped else ""))
        if a.dropped:
            Path(a.dropped).write_text("".join(u + "\n" for u in dropped), encoding="utf-8")
    elif oov:
        print(f"{PROG}: {sum(oov.values())} words mapped to {oov_word}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
