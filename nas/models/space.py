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
               {"name": "x1", "edges": [{"from": "sub", "search": true, "block": "op1"},
                                        {"from": "sub", "search": true, "block": "s1_0",
                                         "candidates": ["zero", "identity"]}]},
               {"name": "output", "op": "linear", "out": "tokens"}]}

`inputs` with one op (or one searching spec) for all of them, or `edges`, one spec per input
(`from` an earlier node; two edges may come from the same node). `out` is an integer,
"hidden" (the default), "input" (the size of the node's first input) or "tokens" (the
corpus' token count, known when the model is built). A node or edge may set "dropout",
"layer_norm" or "groups" (of grouped convolutions) for its ops. A searching block is named after its node, with "<-input" appended
when the node has several inputs, unless the spec names it ("block"): edges naming the same
block are *tied*, one choice and one architecture weight vector for all of them, each with its
own weights (the repeated cells of a cell-based space). An architecture (a sub-graph) maps
every block name to one of its candidates. Params, bases and repeated cells are resolved first
(nas.models.space_config).
"""
from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Union

import torch

from nas.models.ops import OpNameError, build_op, OpConfig
from nas.models.space_config import SpaceConfigError, expand, parse_params, resolve

SPACES_DIR = Path(__file__).resolve().parent.parent / "spaces"
INPUT = "input"


class SpaceError(ValueError):
    """A malformed search space or architecture; the message names the file and node."""


@dataclass(frozen=True)
class Edge:
    src: str                      # input node name, or "input" for the features
    block: Optional[str]          # searching block name, None for a fixed op
    candidates: List[str]         # the block's candidates, or [the fixed op]
    op_config: Optional[OpConfig] = None   # the node's or edge's own op settings (None: the space's)


@dataclass(frozen=True)
class Node:
    name: str
    edges: List[Edge]
    out: Union[int, str]          # int, "hidden" or "tokens"


@dataclass
class SearchSpace:
    name: str
    hidden: Optional[int]
    op_config: OpConfig
    nodes: List[Node]
    source: str = "<dict>"
    description: str = ""
    blocks: Dict[str, List[str]] = field(default_factory=dict)
    stride: int = 1               # input frames per output frame (the product of the strides on any path)
    uses: Dict[str, int] = field(default_factory=dict)    # edges per block (> 1: a tied block)
    config: dict = field(default_factory=dict)            # the resolved JSON config (see to_dict)
    params: Dict[str, object] = field(default_factory=dict)

    def out_frames(self, frames: int) -> int:
        """Output frames for `frames` input frames, the same in every sub-graph: ops pad to keep
        ceil(n / stride) frames (checked when the space is parsed)."""
        return -(-int(frames) // self.stride)

    @property
    def size(self) -> int:
        """The number of sub-graphs: the product of the blocks' candidate counts."""
        return math.prod(len(c) for c in self.blocks.values())

    def summary(self) -> str:
        tied = sum(1 for n in self.uses.values() if n > 1)
        extra = f" ({tied} tied over {sum(n for n in self.uses.values() if n > 1)} edges)" if tied else ""
        params = f", params {json.dumps(self.params, separators=(',', ':'))}" if self.params else ""
        return (f"search space {self.name} ({self.source}): {len(self.nodes)} nodes, {len(self.blocks)} searching "
                f"blocks{extra}, {self.size} sub-graphs{params}")

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

    def signature(self) -> list:
        """The space's structure, however its JSON was written (params, cells, a base, or the plain
        node list older versions stored): two spaces with equal signatures build the same networks."""
        def cfg(c: Optional[OpConfig]) -> Optional[tuple]:
            return None if c is None else (c.dropout, c.layer_norm, c.groups)
        return [self.hidden, cfg(self.op_config),
                [[n.name, n.out, [[e.src, e.block, list(e.candidates), cfg(e.op_config)] for e in n.edges]]
                 for n in self.nodes]]

    def same_as(self, config: dict, source: str = "<dict>") -> bool:
        """Whether a stored space config (a checkpoint's, an arch.json's) is this space."""
        try:
            return parse_space(config, source).signature() == self.signature()
        except SpaceError:
            return False

    def to_dict(self) -> dict:
        """The space as its JSON config, to store beside an architecture: the resolved config (base
        merged, params as set), so that it re-parses to this space and a retrain can still change
        its params (width, depth) and keep the choices."""
        return copy.deepcopy(self.config)


def parse_space(cfg: dict, source: str = "<dict>", params: Optional[Dict[str, object]] = None) -> SearchSpace:
    """Validate a space config and resolve its defaults; `params` override the config's params."""
    where = source
    try:
        resolved = resolve(cfg, source, SPACES_DIR, params)
        flat = expand(resolved, source)
    except SpaceConfigError as e:
        raise SpaceError(str(e)) from None
    try:
        name, node_cfgs = str(flat["name"]), flat["nodes"]
    except KeyError as e:
        raise SpaceError(f"{where}: missing key {e.args[0]!r} (need name, nodes)") from None
    hidden = int(flat["hidden"]) if flat.get("hidden") is not None else None
    op_cfg = _op_config(flat, OpConfig())
    default_cands = list(flat.get("candidates", []))
    nodes: List[Node] = []
    blocks: Dict[str, List[str]] = {}
    uses: Dict[str, int] = {}
    seen = [INPUT]
    for i, nc in enumerate(node_cfgs):
        nname = str(nc.get("name", f"node{i + 1}"))
        at = f"{where}: node {i + 1} ({nname})"
        if nname in seen:
            raise SpaceError(f"{at}: duplicate node name")
        node_cfg = _op_config(nc, op_cfg)
        if "edges" in nc:
            if "inputs" in nc or "op" in nc or "search" in nc:
                raise SpaceError(f"{at}: give either \"edges\" or \"inputs\" with \"op\"/\"search\", not both")
            specs = [dict(e) for e in nc["edges"]]
            for e in specs:
                e.setdefault("from", seen[-1])
        else:
            specs = [dict({k: nc[k] for k in ("op", "search", "candidates", "block") if k in nc}, **{"from": src})
                     for src in nc.get("inputs", [seen[-1]])]
        if not specs:
            raise SpaceError(f"{at}: a node needs at least one input edge")
        edges = []
        for spec in specs:
            src = spec["from"]
            if src not in seen:
                raise SpaceError(f"{at}: input {src!r} is not an earlier node (earlier: {', '.join(seen[-8:])})")
            if ("op" in spec) == bool(spec.get("search", False)):
                raise SpaceError(f"{at}: give either \"op\" (a fixed layer) or \"search\": true")
            econf = _op_config(spec, node_cfg)
            econf = None if econf == op_cfg else econf
            if "op" in spec:
                edges.append(Edge(src, None, [str(spec["op"])], econf))
                continue
            cands = list(spec.get("candidates", default_cands))
            if not cands:
                raise SpaceError(f"{at}: a searching block needs candidates (per node or space-wide)")
            if len(set(cands)) != len(cands):
                raise SpaceError(f"{at}: repeated candidates {cands}")
            bname = str(spec["block"]) if "block" in spec else (nname if len(specs) == 1 else f"{nname}<-{src}")
            if bname in blocks and ("block" not in spec or blocks[bname] != cands):
                raise SpaceError(f"{at}: block {bname!r} is already used by an earlier edge"
                                 + (f" with candidates {blocks[bname]}; a tied block has one candidate list"
                                    if "block" in spec else "; name the block (\"block\") to tie them"))
            blocks[bname] = cands
            uses[bname] = uses.get(bname, 0) + 1
            edges.append(Edge(src, bname, cands, econf))
        if len({(e.src, e.block, tuple(e.candidates)) for e in edges}) != len(edges):
            raise SpaceError(f"{at}: two identical edges")
        out = nc.get("out", "hidden")
        if not (isinstance(out, int) and out > 0) and out not in ("hidden", "tokens", "input"):
            raise SpaceError(f"{at}: out must be a positive integer, \"hidden\", \"input\" or \"tokens\", "
                             f"got {out!r}")
        if out == "hidden" and hidden is None:
            raise SpaceError(f"{at}: out is \"hidden\" but the space sets no \"hidden\" size")
        nodes.append(Node(nname, edges, out))
        seen.append(nname)
    if not nodes:
        raise SpaceError(f"{where}: no nodes")
    space = SearchSpace(name, hidden, op_cfg, nodes, source, str(flat.get("description", "")), blocks,
                        uses=uses, config=resolved, params=dict(resolved.get("params", {})))
    _check_ops(space)
    return space


def _op_config(cfg: dict, base: OpConfig) -> OpConfig:
    """`base` with the dropout / layer_norm / groups that `cfg` sets."""
    return OpConfig(dropout=float(cfg.get("dropout", base.dropout)),
                    layer_norm=bool(cfg.get("layer_norm", base.layer_norm)),
                    groups=int(cfg.get("groups", base.groups)))


def node_dims(space: SearchSpace, input_dim: int, num_tokens: int) -> Dict[str, int]:
    """The output size of every node (and of the input) for a corpus' feature size and token count."""
    dims = {INPUT: input_dim}
    for node in space.nodes:
        dims[node.name] = {"hidden": space.hidden, "tokens": num_tokens,
                           "input": dims[node.edges[0].src]}.get(node.out, node.out)
    return dims


def _check_ops(space: SearchSpace) -> None:
    """Build every op once (on the meta device, no memory) with its sizes for 80 input features
    and 2 tokens: bad names and sizes fail now, with the node named."""
    strides: Dict[str, int] = {INPUT: 1}
    dims = node_dims(space, 80, 2)
    built: Dict[tuple, int] = {}
    for node in space.nodes:
        node_strides = set()
        for e in node.edges:
            op_strides = set()
            cfg = e.op_config or space.op_config
            for cand in e.candidates:
                key = (cand, dims[e.src] if e.src != INPUT else -1, dims[node.name], cfg)
                if key not in built:
                    built[key] = _op_stride(space, node.name, cand, dims[e.src], dims[node.name], cfg,
                                            probe=e.src == INPUT)
                op_strides.add(built[key])
            if len(op_strides) > 1:
                raise SpaceError(f"{space.source}: node {node.name}: candidates {e.candidates} have different "
                                 f"strides {sorted(op_strides)}; the outputs of a block must align in time")
            node_strides.add(strides[e.src] * op_strides.pop())
        if len(node_strides) > 1:
            raise SpaceError(f"{space.source}: node {node.name}: its inputs arrive subsampled differently "
                             f"({sorted(node_strides)}) and cannot be summed")
        strides[node.name] = node_strides.pop()
    space.stride = strides[space.nodes[-1].name]


def _op_stride(space: SearchSpace, node: str, cand: str, in_dim: int, out_dim: int, cfg: OpConfig,
               probe: bool) -> int:
    """The op's stride, after checking that it pads to ceil(n / stride) frames."""
    try:
        with torch.device("meta"):
            op = build_op(cand, in_dim, out_dim, cfg)
    except OpNameError as err:
        if probe:       # the feature size is not known yet: the sizes are the model builder's to check
            with torch.device("meta"):
                try:
                    op = build_op(cand, out_dim, out_dim, cfg)
                except OpNameError:
                    raise SpaceError(f"{space.source}: node {node}: {err}") from None
        else:
            raise SpaceError(f"{space.source}: node {node}: {err}") from None
    stride = getattr(op, "stride", 1)
    for n in (1, 2, 5, 17):
        got = int(op.out_lengths(torch.tensor([n]))[0])
        if got != -(-n // stride):
            raise SpaceError(f"{space.source}: node {node}: op {cand} maps {n} frames to {got}; "
                             f"ops must pad to ceil(n / stride) = {-(-n // stride)} frames")
    return stride


def load_space(name_or_path: Union[str, Path], verbose: bool = True,
               params: Union[None, str, Dict[str, object]] = None) -> SearchSpace:
    """A shipped space by name (see nas/spaces/) or a JSON file; prints its size. `params`
    (a dict, or --space-params' text "width=0.5,cells=[1,1,1,1]") override the space's params."""
    if isinstance(params, str):
        try:
            params = parse_params(params)
        except SpaceConfigError as e:
            raise SpaceError(str(e)) from None
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
    space = parse_space(cfg, str(p), params or None)
    if verbose:
        print(space.summary())
    return space
