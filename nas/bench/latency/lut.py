"""The latency lookup table of a space: per searching block, per candidate, a latency in ms, plus
the fixed part every architecture runs; one table per device and setting, stored as JSON.

    {"format": "st-nas-latency/1", "space": "synth_bench", "kind": "sum",
     "setting": {"device": "cpu", "threads": 1, "mode": "stream", "batch": 1, "frames": 40,
                 "input_dim": 120, "num_tokens": 50},
     "unit": "ms", "fixed_ms": 0.41,
     "blocks": {"block1": {"tdnn-C1D1": 0.12, ...}, ...},      # the space's block and candidate order
     "meta": {"machine": {...}, "timing": {...}, "space_config": {...}, ...},
     "ops": [{"node", "src", "block", "op", "input", "median_ms", "q25_ms", "q75_ms", ...}, ...]}

kind "sum" holds the ops as measured in place; a fitted table (nas.bench.latency.predictor,
kind "fit-scale" or "fit-onehot") has the same form, so whatever reads one reads the other:
predict(choices) for one architecture, expected(probs) for a search's block distributions
(differentiable when the probabilities are tensors).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np
import torch

from nas.bench.latency.timing import LatencyError
from nas.files import write_text_atomic

FORMAT = "st-nas-latency/1"
Probs = Union[Mapping[str, Any], Sequence[Any]]


@dataclass
class LatencyTable:
    """Latencies of one space under one setting (see the module doc)."""
    space: str
    setting: Dict[str, Any]
    fixed_ms: float
    blocks: Dict[str, Dict[str, float]]
    kind: str = "sum"
    meta: Dict[str, Any] = field(default_factory=dict)
    ops: List[Dict[str, Any]] = field(default_factory=list)
    source: str = "<table>"

    def costs(self, block: str) -> List[float]:
        """The candidates' latencies of `block`, in the space's candidate order."""
        if block not in self.blocks:
            raise LatencyError(f"{self.source}: no block {block!r} in the latency table of {self.space} "
                               f"(blocks: {', '.join(self.blocks)})")
        return list(self.blocks[block].values())

    def predict(self, choices: Mapping[str, str]) -> float:
        """The latency (ms) of one architecture: the fixed part plus its choices' latencies."""
        missing = [b for b in self.blocks if b not in choices]
        extra = [b for b in choices if b not in self.blocks]
        if missing or extra:
            raise LatencyError(f"{self.source}: architecture for {self.space}: missing blocks {missing}, "
                               f"unknown blocks {extra}")
        total = self.fixed_ms
        for b, op in choices.items():
            if op not in self.blocks[b]:
                raise LatencyError(f"{self.source}: block {b} has no candidate {op!r} "
                                   f"(candidates: {', '.join(self.blocks[b])})")
            total += self.blocks[b][op]
        return total

    def expected(self, probs: Probs) -> Any:
        """The expected latency (ms) when each block picks its candidates with `probs`: a mapping
        block -> probabilities, or a sequence in block order (a search's block index). With torch
        tensors the result is a tensor, differentiable in the probabilities."""
        items = list(probs.items()) if isinstance(probs, Mapping) else list(zip(self.blocks, probs))
        if isinstance(probs, Mapping):
            missing = [b for b in self.blocks if b not in probs]
            if missing or len(items) != len(self.blocks):
                raise LatencyError(f"{self.source}: expected(): probabilities for blocks {list(probs)}, "
                                   f"the table has {list(self.blocks)}")
        elif len(probs) != len(self.blocks):
            raise LatencyError(f"{self.source}: expected(): {len(probs)} probability vectors for the "
                               f"{len(self.blocks)} blocks of {self.space}")
        total: Any = self.fixed_ms
        for b, p in items:
            c = self.costs(b)
            if len(p) != len(c):
                raise LatencyError(f"{self.source}: expected(): block {b} has {len(c)} candidates, "
                                   f"got {len(p)} probabilities")
            if isinstance(p, torch.Tensor):
                total = total + (p * torch.tensor(c, dtype=p.dtype, device=p.device)).sum()
            else:
                total = total + sum(float(pk) * ck for pk, ck in zip(p, c))
        return total

    def check_space(self, space: Any) -> None:
        """LatencyError unless `space` (a SearchSpace) has this table's name, blocks and candidates."""
        blocks = {b: list(c) for b, c in space.blocks.items()}
        mine = {b: list(c) for b, c in self.blocks.items()}
        if space.name != self.space or blocks != mine:
            raise LatencyError(f"{self.source}: a latency table of space {self.space} (blocks {mine}), not "
                               f"of {space.name} (blocks {blocks})")

    def percentiles(self, qs: Sequence[float], limit: int = 1_000_000) -> Dict[float, float]:
        """The `qs` percentiles (0-100) of the predicted latency over every architecture the table's
        blocks allow (each choice combination once): latency budgets relative to the space."""
        n = 1
        for cands in self.blocks.values():
            n *= len(cands)
        if n > limit:
            raise LatencyError(f"{self.source}: {n} architectures are too many to enumerate (limit {limit})")
        fixed = self.fixed_ms
        values = [fixed + sum(combo) for combo in itertools.product(*(c.values() for c in self.blocks.values()))]
        return {q: float(np.percentile(values, q)) for q in qs}

    def to_dict(self) -> Dict[str, Any]:
        return {"format": FORMAT, "space": self.space, "kind": self.kind, "setting": self.setting, "unit": "ms",
                "fixed_ms": self.fixed_ms, "blocks": self.blocks, "meta": self.meta, "ops": self.ops}

    def save(self, path: Union[str, Path]) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(self.to_dict(), indent=1) + "\n")
        return path


def _number(value: Any, what: str, source: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LatencyError(f"{source}: {what} {value!r} is not a number of ms")
    return float(value)


def table_from_dict(d: Any, source: str = "<dict>") -> LatencyTable:
    """A LatencyTable from its JSON form, checked: LatencyError naming `source` otherwise."""
    if not isinstance(d, dict) or d.get("format") != FORMAT:
        got = d.get("format") if isinstance(d, dict) else type(d).__name__
        raise LatencyError(f"{source}: not a latency table (format {got!r}, expected {FORMAT!r})")
    for key in ("space", "setting", "fixed_ms", "blocks"):
        if key not in d:
            raise LatencyError(f"{source}: the latency table lacks {key!r}")
    if d.get("unit", "ms") != "ms":
        raise LatencyError(f"{source}: unit {d['unit']!r}: latency tables are in ms")
    if not isinstance(d["blocks"], dict) or not d["blocks"]:
        raise LatencyError(f"{source}: blocks must map each searching block to {{candidate: ms}}")
    blocks: Dict[str, Dict[str, float]] = {}
    for b, cands in d["blocks"].items():
        if not isinstance(cands, dict) or not cands:
            raise LatencyError(f"{source}: block {b}: expected {{candidate: ms}}, got {cands!r:.100}")
        blocks[b] = {c: _number(v, f"block {b} candidate {c}:", source) for c, v in cands.items()}
    return LatencyTable(str(d["space"]), dict(d["setting"]), _number(d["fixed_ms"], "fixed_ms", source), blocks,
                        str(d.get("kind", "sum")), dict(d.get("meta", {})), list(d.get("ops", [])), source)


def load_latency_table(path: Union[str, Path]) -> LatencyTable:
    """The lookup table stored at `path` (written by LatencyTable.save)."""
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except OSError as e:
        raise LatencyError(f"{path}: cannot read the latency table: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise LatencyError(f"{path}: line {e.lineno}: not JSON ({e.msg})") from None
    return table_from_dict(d, str(path))
