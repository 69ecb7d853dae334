"""arch.json: a derived (or hand-written) architecture as data, enough to build the model alone.

Schema (see README):

    {"format": "st-nas-arch/1",
     "space": {...the full space config...} | "wsj",      # a dict, or the name of a shipped space
     "choices": {"block1": "tdnn-C2D1", ...},            # one candidate per searching block
     "features": {"apply_cmvn": true, "delta_order": 2, ...},   # optional: the input pipeline
     "probs": {"block1": {"tdnn-C1D1": 0.1, ...}, ...},  # optional: final probabilities
     "decisions": {"block1": {"rel_entropy": 0.93, "margin": 0.04}, ...},  # written with probs
     "source": {"search_dir": ..., "method": ..., "seed": ...},  # optional: provenance
     "latency": {"table": ..., "setting": {...}, "predicted_ms": ..., "budget_ms" | "target_ms": ...,
                 "measured_ms": ...},                    # optional: a latency-aware search's
     "description": "..."}

"decisions" is computed from "probs" whenever an Arch with probabilities is written
(nas.models.decision: each block's entropy relative to the uniform distribution and its top-1 minus
top-2 probability), so that a reader sees how decided every pick was; it is not read back. A
search's "source" also holds its "convergence" record (nas.train.search). "latency" is written by
a search with --latency-table (nas.strategies.latency: the table, its setting, the mode, the
derived architecture's predicted ms and the budget or the soft term's target) and completed
after retraining by `python -m nas.bin.measure_latency` ("measured_ms", "measured"); it is kept
as data and read back unchanged.

The feature dimension and token count are not part of it: they come from the corpus a model is
(re)trained on, so that an architecture searched on one corpus retrains on another.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Dict, Optional, Union

from nas.features.pipeline import FeaturePipeline
from nas.models.decision import decisions
from nas.files import write_text_atomic
from nas.models.space import SearchSpace, SpaceError, load_space, parse_space
from nas.models.supernet import SuperNet

FORMAT = "st-nas-arch/1"


class Arch:
    """A parsed arch.json."""

    def __init__(self, space: SearchSpace, choices: Dict[str, str], features: Optional[dict] = None,
                 probs: Optional[dict] = None, source: Optional[dict] = None, description: str = "",
                 latency: Optional[dict] = None):
        space.check_arch(choices)
        self.space, self.choices = space, dict(choices)
        self.features = dict(features or {})
        self.probs, self.source, self.description = probs or {}, source or {}, description
        self.latency = dict(latency or {})

    def pipeline(self) -> FeaturePipeline:
        return FeaturePipeline(**self.features)

    def build(self, input_dim: int, num_tokens: int) -> SuperNet:
        return SuperNet(self.space, input_dim, num_tokens, arch=self.choices)

    def to_dict(self) -> dict:
        out = {"format": FORMAT, "space": self.space.to_dict(), "choices": self.choices}
        if self.features:
            out["features"] = self.features
        if self.probs:
            out["probs"] = self.probs
            out["decisions"] = decisions(self.probs)
        if self.source:
            out["source"] = self.source
        if self.latency:
            out["latency"] = self.latency
        if self.description:
            out["description"] = self.description
        return out

    def write(self, path: Union[str, Path]) -> None:
        write_text_atomic(path, json.dumps(self.to_dict(), indent=2) + "\n")


def read_arch(path: Union[str, Path]) -> Arch:
    """Parse arch.json; errors name the file and what is wrong."""
    p = Path(path)
    try:
        cfg = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SpaceError(f"{p}: cannot read the architecture: {e}") from None
    if not isinstance(cfg, dict) or "space" not in cfg or "choices" not in cfg:
        raise SpaceError(f"{p}: an arch.json needs 'space' and 'choices'")
    if cfg.get("format") != FORMAT:       # another layout would be read silently wrong
        found = "no \"format\"" if "format" not in cfg else f"format {cfg['format']!r}"
        raise SpaceError(f"{p}: {found}, expected \"format\": \"{FORMAT}\" (add it if the file follows this layout, "
                         f"see README's arch.json section)")
    space_cfg = cfg["space"]
    space = (load_space(space_cfg, verbose=False) if isinstance(space_cfg, str)
             else parse_space(space_cfg, f"{p} (space)"))
    if not isinstance(cfg.get("latency", {}), dict):
        raise SpaceError(f"{p}: 'latency' must be a mapping (table, setting, predicted_ms, ...)")
    try:
        return Arch(space, cfg["choices"], cfg.get("features"), cfg.get("probs"), cfg.get("source"),
                    cfg.get("description", ""), cfg.get("latency"))
    except SpaceError as e:
        raise SpaceError(f"{p}: {e}") from None
    except TypeError as e:
        raise SpaceError(f"{p}: bad 'features': {e}") from None
