"""Kaldi text files (`utt word word ...`) as {utt: [words]} for scoring."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Union

from nas.data.table import read_dict

PathLike = Union[str, Path]


def read_text(path: PathLike) -> Dict[str, List[str]]:
    """A duplicate utterance is an error naming both lines; an utterance may have no words."""
    return {utt: value.split() for utt, value in read_dict(path).items()}


def write_text(path: PathLike, texts: Dict[str, List[str]]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for utt in sorted(texts):
            f.write(" ".join([utt] + list(texts[utt])) + "\n")
