"""Options as dataclass fields, each written once: name, type, default and help in one place.

    @dataclass
    class WarmupConfig(TrainOptions):
        patience: int = option(3, "stop after this many epochs without held-out improvement")

A field's name, default and help make its flag (`patience` -> `--patience`) and its key in a
config file (YAML or JSON; dashes or underscores). A field whose type is itself an options
dataclass is a *section* (`features: FeaturePipeline = section(FeaturePipeline)`): its fields
become flags too, named with the section's prefix (none by default: `--delta-order`; prefix
"snas": `--snas-update`); a config file gives them flat, as the flags, or as a nested mapping
under the section's field name. `restate(Base, "batch_size", 64)` gives a subclass another
default for an inherited option while keeping its help. Unknown keys, wrong types and values
outside `choices` are errors that name the file or flag, so a typo never falls back to a default.
A numeric option may carry a `check` (a Range: POSITIVE, NON_NEGATIVE, FRACTION, AT_LEAST_1, ...):
a value outside it, from a flag or a config file, is refused where it is parsed, before any work
(`--lr 0` -> "argument --lr: 0: must be a finite number > 0"), so that a zero, negative or NaN
learning rate never trains silently.

Precedence: dataclass defaults < the --config file < the flags given on the command line.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Range:
    """The values a numeric option may take: finite, and within the bounds given (None: unbounded)."""
    lo: Optional[float] = None
    hi: Optional[float] = None
    lo_open: bool = False
    hi_open: bool = False

    def describe(self, kind: Any = float) -> str:
        what = "an integer" if kind is int else "a finite number"
        if self.lo is not None and self.hi is not None:
            return (f"{what} in {'(' if self.lo_open else '['}{self.lo:g}, {self.hi:g}"
                    f"{')' if self.hi_open else ']'}")
        if self.lo is not None:
            return f"{what} {'>' if self.lo_open else '>='} {self.lo:g}"
        if self.hi is not None:
            return f"{what} {'<' if self.hi_open else '<='} {self.hi:g}"
        return what

    def error(self, value: Any, kind: Any = float) -> Optional[str]:
        """None when `value` is in range, else what it must be ("must be a finite number > 0")."""
        v = float(value)
        bad = (not math.isfinite(v)
               or (self.lo is not None and (v <= self.lo if self.lo_open else v < self.lo))
               or (self.hi is not None and (v >= self.hi if self.hi_open else v > self.hi)))
        return f"must be {self.describe(kind)}" if bad else None


POSITIVE = Range(0, None, lo_open=True)          # learning rates, epsilons, temperatures
NON_NEGATIVE = Range(0)                          # weights of extra loss terms, caps where 0 means off
FRACTION = Range(0, 1, lo_open=True, hi_open=True)
AT_LEAST_1 = Range(1)                            # counts: epochs, batch sizes


def option(default: Any, help: str, *, type: Optional[Callable[[str], Any]] = None,
           choices: Optional[Sequence[Any]] = None, required: bool = False, check: Optional[Range] = None) -> Any:
    """A dataclass field that is an option. `type` is needed only when the default is None;
    `check` is the Range every given value must be in."""
    return field(default=default, metadata={"help": help, "type": type, "check": check,
                                            "choices": tuple(choices) if choices else None, "required": required})


def restate(cls: type, name: str, default: Any, **meta: Any) -> Any:
    """The option `name` of the options class `cls` with another default (its help kept), and
    optionally other metadata (`check=NON_NEGATIVE` where the new default is 0)."""
    return field(default=default, metadata={**cls.__dataclass_fields__[name].metadata, **meta})


def section(cls: type, prefix: str = "") -> Any:
    """A field holding the options dataclass `cls`; its options' flags start with `prefix-`."""
    return field(default_factory=cls, metadata={"section": cls, "prefix": prefix})


def parse_bool(s: str) -> bool:
    if s.lower() in ("true", "1", "yes"):
        return True
    if s.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {s!r}")


@dataclass(frozen=True)
class Flag:
    """One leaf option: its flat name (the flag without dashes, the file key) and its path in the config."""
    name: str
    path: Tuple[str, ...]
    field: dataclasses.Field

    @property
    def default(self) -> Any:
        return self.field.default

    @property
    def kind(self) -> Callable[[str], Any]:
        t = self.field.metadata.get("type")
        if t is not None:
            return t
        if isinstance(self.default, bool):
            return parse_bool
        return type(self.default) if self.default is not None else str

    @property
    def help(self) -> str:
        return self.field.metadata.get("help", "")

    @property
    def choices(self) -> Optional[Tuple[Any, ...]]:
        return self.field.metadata.get("choices")

    @property
    def check(self) -> Optional[Range]:
        return self.field.metadata.get("check")

    def parser_type(self) -> Callable[[str], Any]:
        """The flag's argparse type: the conversion, then the range check (an argparse error names the flag)."""
        kind, check = self.kind, self.check
        if check is None:
            return kind

        def convert(text: str) -> Any:
            value = kind(text)
            err = check.error(value, kind)
            if err:
                raise argparse.ArgumentTypeError(f"{text}: {err}")
            return value
        convert.__name__ = getattr(kind, "__name__", "value")
        return convert


def flags(cls: type, prefix: str = "", path: Tuple[str, ...] = ()) -> List[Flag]:
    """Every leaf option of an options dataclass, sections expanded; names are checked unique."""
    out: List[Flag] = []
    for f in dataclasses.fields(cls):
        sec = f.metadata.get("section")
        if sec is not None:
            p = f.metadata.get("prefix", "")
            out += flags(sec, prefix + (f"{p}_" if p else ""), path + (f.name,))
        elif f.metadata.get("help") is not None:
            out.append(Flag(prefix + f.name, path + (f.name,), f))
    if not path:
        seen: Dict[str, Flag] = {}
        for fl in out:
            if fl.name in seen:
                raise TypeError(f"{cls.__name__}: option {fl.name!r} is defined twice "
                                f"({'.'.join(seen[fl.name].path)}, {'.'.join(fl.path)})")
            seen[fl.name] = fl
    return out


def add_config_args(parser: argparse.ArgumentParser, cls: type) -> None:
    """`--config FILE` and a flag per option, defaulting to None so that only the flags given override the file."""
    parser.add_argument("--config", help="YAML or JSON file of these options (flags override it)")
    for fl in flags(cls):
        kind = fl.kind
        meta = "BOOL" if kind is parse_bool else getattr(kind, "__name__", "VALUE").upper()
        extra = f"; one of {', '.join(map(str, fl.choices))}" if fl.choices else ""
        if fl.field.metadata.get("required"):
            extra += "; required"
        if fl.check is not None:
            extra += f"; {fl.check.describe(kind)}"
        shown = f"default: {fl.default}{extra}" if fl.default is not None else extra.lstrip("; ")
        parser.add_argument("--" + fl.name.replace("_", "-"), dest=fl.name, default=None, type=fl.parser_type(),
                            metavar=meta, help=f"{fl.help} ({shown})" if shown else fl.help)


def read_config_file(path: str) -> Dict[str, Any]:
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise SystemExit(f"{p}: cannot read the config: {e}")
    try:
        if p.suffix in (".yaml", ".yml"):
            import yaml
            data = yaml.safe_load(text) or {}
        else:
            data = json.loads(text)
    except Exception as e:     # the parsers' own error types differ
        raise SystemExit(f"{p}: cannot parse the config: {e}")
    if not isinstance(data, dict):
        raise SystemExit(f"{p}: the config must be a mapping of option names to values")
    return data


def _flatten(cls: type, data: Dict[str, Any], where: str, prefix: str = "") -> Dict[str, Any]:
    """File keys to flat option names: nested mappings under a section's field name are expanded."""
    sections = {f.name: f for f in dataclasses.fields(cls) if f.metadata.get("section") is not None}
    out: Dict[str, Any] = {}
    for k, v in data.items():
        key = str(k).replace("-", "_")
        if key in sections and isinstance(v, dict):
            f = sections[key]
            p = f.metadata.get("prefix", "")
            out.update(_flatten(f.metadata["section"], v, where, prefix + (f"{p}_" if p else "")))
        else:
            out[prefix + key] = v
    return out


def _coerce(fl: Flag, value: Any, where: str) -> Any:
    if value is None:
        return None
    kind = fl.kind
    try:
        if kind is parse_bool:
            v = value if isinstance(value, bool) else parse_bool(str(value))
        elif kind in (int, float, str):
            if kind is int and isinstance(value, float) and not value.is_integer():
                raise ValueError(value)
            v = kind(value)
        else:
            v = kind(str(value))
    except (TypeError, ValueError, argparse.ArgumentTypeError):
        raise SystemExit(f"{where}: option {fl.name}: expected {getattr(kind, '__name__', 'a value')}, "
                         f"got {value!r}") from None
    if fl.choices and v not in fl.choices:
        raise SystemExit(f"{where}: option {fl.name}: {v!r} is not one of {', '.join(map(str, fl.choices))}")
    err = fl.check.error(v, kind) if fl.check is not None else None
    if err:
        raise SystemExit(f"{where}: option {fl.name}: {v!r}: {err}")
    return v


def build_config(cls: Type[T], args: argparse.Namespace) -> T:
    """Dataclass defaults, then the --config file, then the flags given on the command line."""
    known = {fl.name: fl for fl in flags(cls)}
    values: Dict[str, Any] = {}
    src: Dict[str, str] = {}
    cfg_file = getattr(args, "config", None)
    if cfg_file:
        for k, v in _flatten(cls, read_config_file(cfg_file), cfg_file).items():
            if k not in known:
                raise SystemExit(f"{cfg_file}: unknown option {k!r}; known: {', '.join(sorted(known))}")
            values[k], src[k] = _coerce(known[k], v, cfg_file), cfg_file
    for k, fl in known.items():
        v = getattr(args, k, None)
        if v is not None:
            values[k], src[k] = _coerce(fl, v, "--" + k.replace("_", "-")), "command line"
    for k, fl in known.items():
        if fl.field.metadata.get("required") and values.get(k) in (None, ""):
            raise SystemExit(f"option --{k.replace('_', '-')} is required (on the command line or in --config)")
    return make_config(cls, values)


def make_config(cls: Type[T], values: Dict[str, Any], prefix: str = "") -> T:
    """An options dataclass from flat option names (the rest at their defaults)."""
    kwargs: Dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        sec = f.metadata.get("section")
        if sec is not None:
            p = f.metadata.get("prefix", "")
            kwargs[f.name] = make_config(sec, values, prefix + (f"{p}_" if p else ""))
        elif prefix + f.name in values:
            kwargs[f.name] = values[prefix + f.name]
    try:
        return cls(**kwargs)
    except ValueError as e:            # a dataclass's own validation (__post_init__)
        raise SystemExit(f"{cls.__name__}: {e}") from None
