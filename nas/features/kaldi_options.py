"""Kaldi option files (`--name=value` per line, `#` comments), as `conf/fbank.conf` is written.

Kaldi normalizes underscores in option names to hyphens and reads a bare
`--flag` as `--flag=true`; so do we. Errors name the file and the line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Union


class OptionError(ValueError):
    """A bad option; the message names where it came from."""


@dataclass(frozen=True)
class Option:
    name: str       # normalized: hyphens, no leading dashes
    value: str
    where: str      # "file:line" or "command line"


def normalize(name: str) -> str:
    return name.lstrip("-").replace("_", "-")


def parse_option(text: str, where: str) -> Option:
    if not text.startswith("--") or len(text) <= 2:
        raise OptionError(f"{where}: expected --name=value, got {text!r}")
    name, eq, value = text[2:].partition("=")
    return Option(normalize(name), value if eq else "true", where)


def read_option_file(path: Union[str, Path]) -> List[Option]:
    """Options of a Kaldi config file, in order (later ones override earlier ones)."""
    out: List[Option] = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise OptionError(f"cannot read config file {path}: {e.strerror}") from e
    for lineno, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if text:
            out.append(parse_option(text, f"{path}:{lineno}"))
    return out


def to_bool(opt: Option) -> bool:
    v = opt.value.lower()
    if v in ("true", "1"):
        return True
    if v in ("false", "0"):
        return False
    raise OptionError(f"{opt.where}: --{opt.name} expects true or false, got {opt.value!r}")


def to_number(opt: Option, kind: type) -> Union[int, float]:
    try:
        return kind(opt.value)
    except ValueError:
        raise OptionError(f"{opt.where}: --{opt.name} expects {'an integer' if kind is int else 'a number'}, "
                          f"got {opt.value!r}") from None


def last_wins(options: List[Option]) -> Dict[str, Option]:
    return {o.name: o for o in options}
