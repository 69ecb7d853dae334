"""LibriSpeech (OpenSLR 12), Mini LibriSpeech (OpenSLR 31) and LibriSpeech's LMs and lexicon (OpenSLR 11).

The corpus is free and downloaded by egs/librispeech's stage 0 (nas.corpora.librispeech.download)
from a base URL laid out as openslr.org lays it out: BASE/12/<part>.tar.gz, BASE/31/<part>.tar.gz
for Mini LibriSpeech, BASE/11/<LM or lexicon file>. Every archive unpacks under one top directory,
LibriSpeech/: SPEAKERS.TXT (and CHAPTERS.TXT, BOOKS.TXT, ...) there, then
LibriSpeech/<part>/<reader>/<chapter>/<reader>-<chapter>-<nnnn>.flac with one
<reader>-<chapter>.trans.txt per chapter. Stage 1 (nas.corpora.librispeech.prepare) writes Kaldi
data dirs from that tree and the phone lexicon of the lang dir.

`python -m nas.corpora.librispeech --help` lists the commands the recipe uses.
"""
from __future__ import annotations

from typing import Tuple

from nas.corpora.ldc import CorpusError

LIBRISPEECH_PARTS: Tuple[str, ...] = ("dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100",
                                      "train-clean-360", "train-other-500")
MINI_PARTS: Tuple[str, ...] = ("train-clean-5", "dev-clean-2")
# OpenSLR 11: the LMs Kaldi's recipe uses (tgsmall = 3e-7, tgmed = 1e-7, tglarge, fglarge) and the lexicon
LM_FILES: Tuple[str, ...] = ("3-gram.pruned.3e-7.arpa.gz", "3-gram.pruned.1e-7.arpa.gz", "3-gram.arpa.gz",
                             "4-gram.arpa.gz", "librispeech-lexicon.txt", "librispeech-vocab.txt")
TOP_DIR = "LibriSpeech"                      # the one top directory of every published archive


class LibriSpeechError(CorpusError):
    """A download, archive or corpus tree that is not what the recipe expects; the message names the file."""


def resource_of(name: str) -> str:
    """The OpenSLR resource number a part, its archive or an LM/lexicon file is published under."""
    part = name[:-len(".tar.gz")] if name.endswith(".tar.gz") else name
    if part in LIBRISPEECH_PARTS:
        return "12"
    if part in MINI_PARTS:
        return "31"
    if "." in part:
        return "11"
    raise LibriSpeechError(f"unknown part '{name}' (LibriSpeech: {' '.join(LIBRISPEECH_PARTS)}; "
                           f"Mini LibriSpeech: {' '.join(MINI_PARTS)})")


def archive_name(part: str) -> str:
    return f"{part}.tar.gz"


def data_dir_name(part: str) -> str:
    """Kaldi's name of a part's data dir: dev-clean -> dev_clean."""
    return part.replace("-", "_")
