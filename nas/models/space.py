"""Search spaces as data: a macro-DAG of nodes read from JSON, each node the sum of its input edges.

An edge is a searching block (a list of candidate op names) or a fixed op. The
paper's spaces are serial (each node takes the previous one), but any node may
take any earlier nodes as inputs, summed as the paper's eq. (1), so that
cell-based spaces are a matter of configuration.

    {"name": "wsj", "hidden": 640, "dropout": 0.5, "layer_norm": true,
     "candidates": ["tdnn-C1D1", ...],                # default candidates of searching blocks
     "nodes": [{"name": "block1", "search": true},    # input: the previous node (or the features)
               {"name": "sub", "op": "tdnn-C1D1S3"},
               {"name": "cell", "inputs": ["block1", "sub"], "search": true, "candidates": [...]},
               {"name": "output", "op": "linear", "out": "tokens"}]}

`out` is an integer, "hidden" (the default) or "tokens" (the corpus' token count,
known when the model is built). A searching block is named after its node, with
"<-input" appended when the node has several inputs. An architecture (a sub-graph)
maps every block name to one of its candidates.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch

from nas.models.ops import OpNameError, build_op, OpConfig

SPACES_DIR = Path(__file__).resolve().parent.parent / "spaces"
INPUT = "input"


class SpaceError(ValueError):
    """A malformed search space or architecture; the message names the file and node."""


@dataclass(frozen=True)
class Edge:
    src: str                      # input node name, or "input" for the features
    block: Optional[str]          # searching block name, None for a fixed op
    candidates: List[str]         # the block's candidates, or [the fixed op]


@dataclass(frozen=True)
class Node:
    name: str
    edges: List[Edge]
    out: Union[int, str]          # int, "hidden" or "tokens"


@dataclass
class SearchSpace:
    name: str
    hidden: int
    op_config: OpConfig
    nodes: List[Node]
    source: str = "<dict>"
    description: str = ""
    blocks: Dict[str, List[str]] = field(default_factory=dict)
    stride: int = 1               # input frames per output frame (the product of the strides on any path)

    def out_frames(self, frames: int) -> int:
        """Output frames for `frames` input frames, the same in every sub-graph: ops pad to keep
        ceil(n / stride) frames (checked when the space is parsed)."""
        return -(-int(frames) // self.stride)

    @property
    def size(self) -> int:
        """The number of sub-graphs: the product of the blocks' candidate counts."""
        return math.prod(len(c) for c in self.blocks.values())

    def summary(self) -> str:
        return (f"search space {self.name} ({self.source}): {len(self.nodes)} nodes, {len(self.blocks)} searching "
                f"blocks, {self.size} sub-graphs")

    def check_arch(self, arch: Dict[str, str]) -> None:
        """Raise SpaceError unless `arch` picks one candidate of every block and nothing else."""
        missing = [b for b in self.blocks if b not in arch]
        extra = [b for b in arch if b not in self.blocks]
        if missing or extra:
            raise SpaceError(f"architecture for space {self.name}: missing blocks {missing}, unknown blocks {extra}")
        for b, op in arch.items():
            if op not in self.blocks[b]:
                raise SpaceError(f"architecture for space {self.name}: block {b} has no candidate {op!r} "
                                 f"(candidates: {', '.join(self.blocks[b])})")

    def to_dict(self) -> dict:
        """The space as its JSON config (to store beside an architecture)."""
        nodes = []
        for n in self.nodes:
            d: dict = {"name": n.name, "inputs": [e.src for e in n.edges], "out": n.out}
            if n.edges[0].block is None:
                d["op"] = n.edges[0].candidates[0]
            else:
                d["search"], d["candidates"] = True, n.edges[0].candidates
            nodes.append(d)
        return {"name": self.name, "description": self.description, "hidden": self.hidden,
                "dropout": self.op_config.dropout, "layer_norm": self.op_config.layer_norm, "nodes": nodes}


def parse_space(cfg: dict, source: str = "<dict>") -> SearchSpace:
    """Validate a space config and resolve its defaults."""
    where = source
    try:
        name, hidden = str(cfg["name"]), int(cfg["hidden"])
        node_cfgs = cfg["nodes"]
    except KeyError as e:
        raise SpaceError(f"{where}: missing key {e.args[0]!r} (need name, hidden, nodes)") from None
    op_cfg = OpConfig(dropout=float(cfg.get("dropout", 0.0)), layer_norm=bool(cfg.get("layer_norm", True)))
    default_cands = list(cfg.get("candidates", []))
    nodes: List[Node] = []
    blocks: Dict[str, List[str]] = {}
    seen = [INPUT]
    for i, nc in enumerate(node_cfgs):
        nname = str(nc.get("name", f"node{i + 1}"))
        at = f"{where}: node {i + 1} ({nname})"
        if nname in seen:
            raise SpaceError(f"{at}: duplicate node name")
        inputs = nc.get("inputs", [seen[-1]])
        for src in inputs:
            if src not in seen:
                raise SpaceError(f"{at}: input {src!r} is not an earlier node (earlier: {', '.join(seen)})")
        if ("op" in nc) == bool(nc.get("search", False)):
            raise SpaceError(f"{at}: give either \"op\" (a fixed layer) or \"search\": true")
        edges = []
        for src in inputs:
            if "op" in nc:
                edges.append(Edge(src, None, [str(nc["op"])]))
            else:
                cands = list(nc.get("candidates", default_cands))
                if not cands:
                    raise SpaceError(f"{at}: a searching block needs candidates (per node or space-wide)")
                if len(set(cands)) != len(cands):
                    raise SpaceError(f"{at}: repeated candidates {cands}")
                bname = nname if len(inputs) == 1 else f"{nname}<-{src}"
                blocks[bname] = cands
                edges.append(Edge(src, bname, cands))
        out = nc.get("out", "hidden")
        if not (isinstance(out, int) and out > 0) and out not in ("hidden", "tokens"):
            raise SpaceError(f"{at}: out must be a positive integer, \"hidden\" or \"tokens\", got {out!r}")
        nodes.append(Node(nname, edges, out))
        seen.append(nname)
    if not nodes:
        raise SpaceError(f"{where}: no nodes")
    space = SearchSpace(name, hidden, op_cfg, nodes, source, str(cfg.get("description", "")), blocks)
    _check_ops(space)
    return space


def _check_ops(space: SearchSpace) -> None:
    """Build every op once on tiny sizes: bad names fail now, with the node named."""
    strides: Dict[str, int] = {INPUT: 1}
    for node in space.nodes:
        node_strides = set()
        for e in node.edges:
            op_strides = set()
            for cand in e.candidates:
                try:
                    op = build_op(cand, 4, 4, space.op_config)
                except OpNameError as err:
                    raise SpaceError(f"{space.source}: node {node.name}: {err}") from None
                stride = getattr(op, "stride", 1)
                for n in (1, 2, 5, 17):
                    got = int(op.out_lengths(torch.tensor([n]))[0])
                    if got != -(-n // stride):
                        raise SpaceError(f"{space.source}: node {node.name}: op {cand} maps {n} frames to {got}; "
                                         f"ops must pad to ceil(n / stride) = {-(-n // stride)} frames")
                op_strides.add(stride)
            if len(op_strides) > 1:
                raise SpaceError(f"{space.source}: node {node.name}: candidates {e.candidates} have different "
                                 f"strides {sorted(op_strides)}; the outputs of a block must align in time")
            node_strides.add(strides[e.src] * op_strides.pop())
        if len(node_strides) > 1:
            raise SpaceError(f"{space.source}: node {node.name}: its inputs arrive subsampled differently "
                             f"({sorted(node_strides)}) and cannot be summed")
        strides[node.name] = node_strides.pop()
    space.stride = strides[space.nodes[-1].name]


def load_space(name_or_path: Union[str, Path], verbose: bool = True) -> SearchSpace:
    """A shipped space by name (see nas/spaces/) or a JSON file; prints its size."""
    p = Path(name_or_path)
    if not p.suffix and not p.exists():
        p = SPACES_DIR / f"{name_or_path}.json"
        if not p.exists():
            shipped = sorted(x.stem for x in SPACES_DIR.glob("*.json") if not x.name.endswith(".arch.json"))
            raise SpaceError(f"no search space {name_or_path!r}; shipped: {', '.join(shipped)}")
    try:
        cfg = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SpaceError(f"{p}: cannot read the space config: {e}") from None
    space = parse_space(cfg, str(p))
    if verbose:
        print(space.summary())
    return space
