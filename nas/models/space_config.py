"""A search space's JSON before it is parsed: a base to extend, parameters, repeated cells.

Three things let one file describe a family of networks (the full NAS-Bench-ASR macro and a
CPU-sized one, a cell searched small and stacked deep):

    {"extends": "nb_asr",                       # a shipped space (or a JSON path) to start from
     "params": {"width": 0.1, "cells": [1, 1, 1, 1]},   # merged over the base's params
     ...}

- `params`: named numbers and lists. Any string in the config may use `${expr}`, an arithmetic
  expression over them (+ - * / // %, indexing, round/int/min/max): a string that is only
  `${expr}` becomes its value (`"out": "${round(600 * width)}"`), others are formatted into
  (`"nbconv-K5D1G${groups}"`). Callers (the --space-params flag) override params by name.
- `cells`: named lists of nodes, placed by a node `{"name": "stage1", "cell": "nb_cell",
  "repeat": 3}` as stage1.cell1.<node>, stage1.cell2.<node>, ... Inside a cell, inputs (and edge
  `from`s) name the cell's own nodes or `in`, the node before the repetition; the first node
  takes `in` by default. A searching edge with `"block": "op1"` is tied: every repetition uses
  the same block, one choice and one alpha, with separate weights.

`resolve` returns the config with the base merged and params overridden (what a search stores,
so that a retrain can change width and depth and keep the choices); `expand` turns that into
plain nodes.
"""
from __future__ import annotations

import ast
import copy
import json
import operator
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional

_BINOPS: Dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod}
_FUNCS: Dict[str, Callable[..., Any]] = {"round": round, "int": int, "min": min, "max": max}


class SpaceConfigError(ValueError):
    """A space config that cannot be resolved; the message names the file and the key."""


def evaluate(expr: str, params: Mapping[str, Any], where: str) -> Any:
    """The value of `expr` over `params` (a restricted arithmetic, no names but the params)."""
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in params:
                raise SpaceConfigError(f"{where}: ${{{expr}}} uses {node.id!r}, which is not a param "
                                       f"(params: {', '.join(sorted(params)) or 'none'})")
            return params[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return _BINOPS[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.Subscript):
            return ev(node.value)[ev(node.slice)]
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCS
                and not node.keywords):
            return _FUNCS[node.func.id](*[ev(a) for a in node.args])
        raise SpaceConfigError(f"{where}: ${{{expr}}}: only numbers, params, indexing, + - * / // % and "
                               f"round/int/min/max are allowed")
    try:
        value = ev(ast.parse(expr.strip(), mode="eval"))
    except SyntaxError:
        raise SpaceConfigError(f"{where}: cannot parse ${{{expr}}}") from None
    except (IndexError, TypeError, ZeroDivisionError) as e:
        raise SpaceConfigError(f"{where}: ${{{expr}}}: {e}") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def substitute(value: Any, params: Mapping[str, Any], where: str) -> Any:
    """`value` with every ${expr} in its strings replaced (recursively through lists and dicts)."""
    if isinstance(value, dict):
        return {k: substitute(v, params, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, params, f"{where}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value
    parts, rest = [], value
    while "${" in rest:
        head, _, tail = rest.partition("${")
        expr, close, rest = tail.partition("}")
        if not close:
            raise SpaceConfigError(f"{where}: unclosed ${{ in {value!r}")
        parts += [head, evaluate(expr, params, where)]
    parts.append(rest)
    if len(parts) == 3 and parts[0] == "" and parts[2] == "":
        return parts[1]
    return "".join(str(p) for p in parts)


def parse_params(text: str) -> Dict[str, Any]:
    """--space-params: "width=0.5,cells=[1,1,1,1]" (values JSON; commas inside brackets kept)."""
    out: Dict[str, Any] = {}
    items, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
        else:
            cur += ch
    items.append(cur)
    for item in (i.strip() for i in items):
        if not item:
            continue
        name, eq, val = item.partition("=")
        if not eq or not name.strip():
            raise SpaceConfigError(f"--space-params: {item!r} is not NAME=VALUE (e.g. width=0.5,cells=[1,1,1,1])")
        try:
            out[name.strip()] = json.loads(val)
        except json.JSONDecodeError:
            raise SpaceConfigError(f"--space-params: the value of {name.strip()!r} ({val!r}) is not JSON "
                                   f"(a number, or a list like [3,4,5,6])") from None
    return out


def resolve(cfg: dict, source: str, spaces_dir: Path, params: Optional[Mapping[str, Any]] = None,
            _seen: tuple = ()) -> dict:
    """The config with its base merged in (`extends`) and `params` overriding its params."""
    cfg = copy.deepcopy(cfg)
    base_ref = cfg.pop("extends", None)
    if base_ref is not None:
        base_path = Path(str(base_ref))
        if not base_path.suffix:
            base_path = spaces_dir / f"{base_ref}.json"
        elif not base_path.is_absolute() and Path(source).parent.is_dir():
            base_path = Path(source).parent / base_path
        if str(base_path) in _seen:
            raise SpaceConfigError(f"{source}: 'extends' goes round in a circle through {base_path}")
        try:
            base_cfg = json.loads(base_path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise SpaceConfigError(f"{source}: 'extends': cannot read {base_path}: {e}") from None
        base = resolve(base_cfg, str(base_path), spaces_dir, None, _seen + (str(base_path),))
        merged_params = {**base.get("params", {}), **cfg.pop("params", {})}
        base.update(cfg)
        cfg = base
        if merged_params:
            cfg["params"] = merged_params
    if params:
        known = cfg.get("params", {})
        unknown = [k for k in params if k not in known]
        if unknown:
            raise SpaceConfigError(f"{source}: no params {unknown} to override (params: "
                                   f"{', '.join(sorted(known)) or 'none'})")
        cfg["params"] = {**known, **params}
    return cfg


def expand(cfg: dict, source: str) -> dict:
    """A resolved config with params substituted and cells placed: plain nodes only."""
    params = cfg.get("params", {})
    body = {k: v for k, v in cfg.items() if k not in ("params", "cells", "description")}
    body = substitute(body, params, source)
    cells = cfg.get("cells", {})
    nodes: List[dict] = []
    for i, node in enumerate(body.get("nodes", [])):
        if not isinstance(node, dict):
            raise SpaceConfigError(f"{source}: node {i + 1} is not an object")
        if "cell" not in node:
            nodes.append(node)
            continue
        name = str(node.get("name", f"node{i + 1}"))
        cell = cells.get(node["cell"])
        if cell is None:
            raise SpaceConfigError(f"{source}: node {name}: no cell {node['cell']!r} (cells: {', '.join(cells) or 'none'})")
        repeat = node.get("repeat", 1)
        if not isinstance(repeat, int) or repeat < 0:
            raise SpaceConfigError(f"{source}: node {name}: repeat must be a whole number >= 0, got {repeat!r}")
        cell = substitute(cell, params, f"{source}: cell {node['cell']}")
        for r in range(1, repeat + 1):
            prev = nodes[-1]["name"] if nodes else "input"
            nodes += _place(cell, f"{name}.cell{r}", prev, f"{source}: node {name}")
    body["nodes"] = nodes
    body["description"] = cfg.get("description", "")
    return body


def _place(cell: List[dict], prefix: str, prev: str, where: str) -> List[dict]:
    """One repetition of a cell: its node names prefixed, `in` bound to `prev`."""
    local = {str(n.get("name", f"n{j + 1}")) for j, n in enumerate(cell)}
    ref = lambda src: prev if src == "in" else (f"{prefix}.{src}" if src in local else src)   # noqa: E731
    out, last = [], "in"
    for j, n in enumerate(cell):
        n = copy.deepcopy(n)
        nname = str(n.get("name", f"n{j + 1}"))
        n["name"] = f"{prefix}.{nname}"
        if "edges" in n:
            for e in n["edges"]:
                e["from"] = ref(e.get("from", last))
        else:
            n["inputs"] = [ref(s) for s in n.get("inputs", [last])]
        out.append(n)
        last = nname
    if not out:
        raise SpaceConfigError(f"{where}: the cell has no nodes")
    return out
