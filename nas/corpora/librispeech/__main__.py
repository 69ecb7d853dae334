"""LibriSpeech for egs/librispeech: download, check, prepare, lexicon.

download (stage 0) fetches the parts (BASE/12/<part>.tar.gz, BASE/31/ for Mini LibriSpeech) and the
LM and lexicon files (BASE/11/<name>) from --url, checks each against its published MD5
(--md5sums, md5sum's format), resumes partial downloads, unpacks the archives safely under
--corpus and skips what is there (nas.corpora.librispeech.download).

check (stage 0, after download) looks at the unpacked tree: each part, SPEAKERS.TXT, and the first
.flac of each part decodes.

prepare (stage 1) writes one Kaldi data dir per part under the data root (dev-clean ->
<data>/dev_clean), reporting what it left out (nas.corpora.librispeech.prepare).

lexicon (stage 1) writes a phone lexicon.txt for utils/prepare_lang_ctc.sh --lexicon: CMUdict's
pronunciations, the published LibriSpeech lexicon's for words CMUdict lacks, over the words of
--vocab files and --text Kaldi texts.
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import List, Optional

from nas.corpora.ldc import CorpusError, Report
from nas.corpora.librispeech import LM_FILES
from nas.corpora.librispeech.download import main_download
from nas.corpora.librispeech.prepare import check_parts, combined_lexicon, prepare_parts
from nas.data.table import TableError, iter_table, text_lines
from nas.lang.lexicon import write_lexicon

PROG = "librispeech"


def _bool(v: str) -> bool:
    if v not in ("true", "false"):
        raise argparse.ArgumentTypeError(f"expected true or false, not {v!r}")
    return v == "true"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"python -m nas.corpora.{PROG}", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("download", help="stage 0: download, check and unpack parts and LM files")
    d.add_argument("--url", required=True, help="base URL laid out as openslr.org/resources (or a local dir)")
    d.add_argument("--md5sums", required=True, help="published MD5 sums, md5sum's format (`<md5>  <name>`)")
    d.add_argument("--corpus", required=True, help="where archives go and LibriSpeech/ is unpacked")
    d.add_argument("--lm-dir", required=True, help="where the LM and lexicon files go")
    d.add_argument("--files", nargs="*", default=list(LM_FILES), help="OpenSLR 11 files (default: %(default)s)")
    d.add_argument("--remove-archives", type=_bool, default=False, help="delete each archive once unpacked")
    d.add_argument("parts", nargs="*", help="parts, e.g. train-clean-100 dev-clean (or train-clean-5 dev-clean-2)")
    c = sub.add_parser("check", help="stage 0: the unpacked parts are there and their audio decodes")
    c.add_argument("--corpus", required=True)
    c.add_argument("parts", nargs="+")
    r = sub.add_parser("prepare", help="stage 1: a Kaldi data dir per part")
    r.add_argument("--corpus", required=True)
    r.add_argument("data", help="data root: <data>/<part with _ for ->")
    r.add_argument("parts", nargs="+")
    x = sub.add_parser("lexicon", help="stage 1: CMUdict + the published lexicon for the words CMUdict lacks")
    x.add_argument("--vocab", action="append", default=[], help="word list (first field a line; repeatable)")
    x.add_argument("--text", action="append", default=[], help="Kaldi text (repeatable)")
    x.add_argument("--published", help="librispeech-lexicon.txt (OpenSLR 11)")
    x.add_argument("--keep-stress", type=_bool, default=False, help="keep CMUdict's stress digits")
    x.add_argument("out", help="lexicon.txt to write")
    return p


def _lexicon(a: argparse.Namespace) -> int:
    words: Counter = Counter()
    for v in a.vocab:
        words.update(line.split()[0] for _, line in text_lines(v) if line.split())
    for t in a.text:
        for e in iter_table(t):
            words.update(e.value.split())
    words = Counter({w: c for w, c in words.items() if not (w.startswith("<") and w.endswith(">"))})
    if not words:
        raise TableError("no words in --vocab or --text")
    lex, missing, taken = combined_lexicon(words, Path(a.published) if a.published else None, a.keep_stress)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    write_lexicon(a.out, sorted(lex, key=lambda e: e[0]))
    print(f"{PROG} lexicon: {a.out}: {len(words)} words, {len(words) - len(missing) - taken} from CMUdict, "
          f"{taken} from {a.published or 'no published lexicon'}, {len(missing)} without a pronunciation"
          + (f" (e.g. {' '.join(sorted(missing)[:10])})" if missing else ""))
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    a = _parser().parse_args(argv)
    if a.cmd == "download":
        return main_download(a)
    try:
        if a.cmd == "check":
            first = check_parts(Path(a.corpus), a.parts)
            print(f"{PROG} check: {len(first)} parts under {a.corpus}; the first .flac of each decodes")
        elif a.cmd == "prepare":
            rep = Report()
            done = prepare_parts(Path(a.corpus), a.parts, Path(a.data), rep)
            for line in rep.lines(f"{PROG} prepare: "):
                print(line)
            for d, n, rewritten in done:
                print(f"{PROG} prepare: {d}: {n} utterances" + ("" if rewritten else " (unchanged: left as it was)"))
        else:
            return _lexicon(a)
    except (CorpusError, TableError, OSError) as e:
        print(f"{PROG} {a.cmd}: ERROR: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
