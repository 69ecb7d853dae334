"""Stage hyper-parameters: dataclass defaults < a config file (YAML or JSON) < command-line flags.

Every field of a stage's config dataclass is a flag (`batch_size` -> `--batch-size`); the
config file holds the same names (dashes or underscores). Unknown keys are errors that name
the file and the key, so a typo never silently falls back to a default.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Type, TypeVar

T = TypeVar("T")


def _parse_bool(s: str) -> bool:
    if s.lower() in ("true", "1", "yes"):
        return True
    if s.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {s!r}")


def add_config_args(parser: argparse.ArgumentParser, cls: Type[Any], helps: Dict[str, str],
                    skip: Sequence[str] = ()) -> None:
    """A flag per field (but `skip`), defaulting to None so that only the flags given override the file."""
    parser.add_argument("--config", help="YAML or JSON file of these options (flags override it)")
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = f.default if f.default is not dataclasses.MISSING else None
        kind = type(default) if default is not None else str
        kwargs: Dict[str, Any] = {"default": None, "metavar": kind.__name__.upper() if kind is not bool else "BOOL",
                                  "help": f"{helps.get(f.name, '')} (default: {default})"}
        kwargs["type"] = _parse_bool if kind is bool else kind
        parser.add_argument("--" + f.name.replace("_", "-"), dest=f.name, **kwargs)


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


def build_config(cls: Type[T], args: argparse.Namespace, required: Optional[List[str]] = None) -> T:
    """Dataclass defaults, then the --config file, then the flags given on the command line."""
    names = {f.name: f for f in dataclasses.fields(cls)}
    values: Dict[str, Any] = {}
    if getattr(args, "config", None):
        for k, v in read_config_file(args.config).items():
            key = k.replace("-", "_")
            if key not in names:
                raise SystemExit(f"{args.config}: unknown option {k!r}; known: {', '.join(sorted(names))}")
            values[key] = v
    for k in names:
        v = getattr(args, k, None)
        if v is not None:
            values[k] = v
    for k in required or []:
        if values.get(k) in (None, ""):
            raise SystemExit(f"option --{k.replace('_', '-')} is required (on the command line or in --config)")
    cfg = cls(**values)
    for f in dataclasses.fields(cls):           # values from a file may have the wrong type
        v = getattr(cfg, f.name)
        d = f.default if f.default is not dataclasses.MISSING else None
        if d is not None and v is not None and not isinstance(v, type(d)):
            try:
                setattr(cfg, f.name, _parse_bool(str(v)) if isinstance(d, bool) else type(d)(v))
            except (TypeError, ValueError, argparse.ArgumentTypeError):
                raise SystemExit(f"option {f.name}: expected {type(d).__name__}, got {v!r}")
    return cfg
