"""Measuring a space: every candidate op in its place, and whole architectures.

An op's place is its edge: the op is built with the edge's sizes and timed on the input that
edge sees in the whole model (the batch, the frames left after the strides before it, the
source node's width). A searching block's latency for a candidate is the sum over the block's
edges (a tied block, the repeated cells of a cell space, runs its choice on every edge). The
fixed part is what every architecture runs: the fixed ops (stem, subsampling, head) and the
output log-softmax. What neither holds (the sums of a node's inputs, the padding mask, the
call overhead of the modules) is the sum predictor's error, which the fits in
nas.bench.latency.predictor absorb.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from nas.bench.latency.lut import LatencyTable
from nas.bench.latency.timing import Setting, Timing, machine_info, time_interleaved, torch_threads
from nas.models.ops import OpConfig, build_op
from nas.models.space import INPUT, SearchSpace, node_dims
from nas.models.supernet import SuperNet

Log = Callable[[str], None]


@dataclass(frozen=True)
class Place:
    """One edge of the space with its input shape: where its ops run."""
    node: str
    src: str
    block: Optional[str]         # None for a fixed op
    candidates: Tuple[str, ...]
    in_dim: int
    out_dim: int
    frames: int                  # input frames of the edge (per utterance)
    cfg: OpConfig


@dataclass(frozen=True)
class TimingOptions:
    """How long to time: warm-up calls, rounds, the shortest sample, the order's seed."""
    warmup: int = 3
    reps: int = 15
    min_sample_ms: float = 2.0
    seed: int = 0


def places(space: SearchSpace, input_dim: int, num_tokens: int, frames: int) -> List[Place]:
    """Every edge of `space` with the input it gets from `frames` input frames."""
    dims = node_dims(space, input_dim, num_tokens)
    lengths: Dict[str, int] = {INPUT: int(frames)}
    out: List[Place] = []
    for node in space.nodes:
        for e in node.edges:
            cfg = e.op_config or space.op_config
            out.append(Place(node.name, e.src, e.block, tuple(e.candidates), dims[e.src], dims[node.name],
                             lengths[e.src], cfg))
        e = node.edges[0]
        with torch.device("meta"):
            op = build_op(e.candidates[0], dims[e.src], dims[node.name], e.op_config or space.op_config)
        lengths[node.name] = int(op.out_lengths(torch.tensor([lengths[e.src]]))[0])
    out.append(Place("<head>", space.nodes[-1].name, None, ("log_softmax",), num_tokens, num_tokens,
                     lengths[space.nodes[-1].name], space.op_config))
    return out


def _op_key(place: Place, op: str) -> tuple:
    """Edges with equal keys run the same computation: timed once."""
    return (op, place.in_dim, place.out_dim, place.frames, place.cfg)


def _op_call(key: tuple, setting: Setting) -> Callable[[], object]:
    op_name, in_dim, out_dim, frames, cfg = key
    x = torch.randn(setting.batch, frames, in_dim, device=setting.device)
    if op_name == "log_softmax":
        return lambda: torch.log_softmax(x, dim=-1)
    op = build_op(op_name, in_dim, out_dim, cfg).to(setting.device).eval()
    return lambda: op(x)


def measure(space: SearchSpace, archs: Sequence[Mapping[str, str]], setting: Setting, input_dim: int,
            num_tokens: int, opts: TimingOptions = TimingOptions(), group: int = 64,
            log: Optional[Log] = None) -> Tuple[LatencyTable, List[Timing]]:
    """The lookup table of `space` under `setting` (every candidate of every block in its place, and
    the fixed part) and the whole-model timing of each of `archs` (block -> candidate), in order.

    Ops and models are timed in the same interleaved rounds, so that a busy spell of the machine
    slows both alike (timed one phase after the other on the shared 2-core VM, the sum of the ops
    came out 58% below the models: docs/latency.md). Models are timed `group` at
    a time (the models of a group are in memory together), each group with every op again; an
    op's samples are those of all groups."""
    plan = places(space, input_dim, num_tokens, setting.frames)
    keys = list({_op_key(p, c): None for p in plan for c in p.candidates})
    step = max(1, group)
    op_samples: Dict[tuple, List[float]] = {k: [] for k in keys}
    numbers: Dict[tuple, int] = {}
    arch_timings: List[Timing] = []
    with torch_threads(setting.threads):
        ops = {("op", k): _op_call(k, setting) for k in keys}
        for start in range(0, max(len(archs), 1), step):
            part = archs[start:start + step]
            fns = {**ops, **{("arch", i): _arch_call(space, a, setting, input_dim, num_tokens)
                             for i, a in enumerate(part)}}
            if log:
                log(f"{setting.name()}: timing {len(keys)} distinct ops of {len(plan)} edges and architectures "
                    f"{start + 1}-{start + len(part)} of {len(archs)}, {opts.reps} rounds")
            timings = time_interleaved(fns, setting.device, opts.warmup, opts.reps, opts.min_sample_ms,
                                       opts.seed + start)
            for k in keys:
                op_samples[k] += timings[("op", k)].samples_ms
                numbers[k] = timings[("op", k)].number
            arch_timings += [timings[("arch", i)] for i in range(len(part))]
        info = machine_info(setting.device)
    detail = [{"node": p.node, "src": p.src, "block": p.block, "op": c, "input": [setting.batch, p.frames, p.in_dim],
               "out_dim": p.out_dim, **Timing(op_samples[_op_key(p, c)], numbers[_op_key(p, c)]).to_dict()}
              for p in plan for c in p.candidates]
    fixed, blocks = aggregate(detail, space.blocks)
    table = LatencyTable(space.name, dict(setting.to_dict(), input_dim=input_dim, num_tokens=num_tokens), fixed,
                         blocks, kind="sum", meta={"machine": info, "timing": vars(opts).copy(),
                                                   "space_config": space.to_dict()}, ops=detail)
    return table, arch_timings


def measure_ops(space: SearchSpace, setting: Setting, input_dim: int, num_tokens: int,
                opts: TimingOptions = TimingOptions(), log: Optional[Log] = None) -> LatencyTable:
    """The lookup table alone (measure() with no architectures)."""
    return measure(space, [], setting, input_dim, num_tokens, opts, log=log)[0]


def aggregate(ops: Sequence[Mapping[str, object]], space_blocks: Mapping[str, Sequence[str]],
              stat: str = "median_ms") -> Tuple[float, Dict[str, Dict[str, float]]]:
    """The fixed part and the per-block, per-candidate latencies from the ops' `stat` (median_ms,
    or min_ms: the fastest sample, which other jobs on the machine can only slow)."""
    blocks: Dict[str, Dict[str, float]] = {b: {c: 0.0 for c in cands} for b, cands in space_blocks.items()}
    fixed = 0.0
    for o in ops:
        if o["block"] is None:
            fixed += float(o[stat])
        else:
            blocks[str(o["block"])][str(o["op"])] += float(o[stat])
    return fixed, blocks


def _arch_call(space: SearchSpace, choices: Mapping[str, str], setting: Setting, input_dim: int,
               num_tokens: int) -> Callable[[], object]:
    with torch.device(setting.device):
        model = SuperNet(space, input_dim, num_tokens, arch=dict(choices)).eval()
    x = torch.randn(setting.batch, setting.frames, input_dim, device=setting.device)
    lengths = torch.full((setting.batch,), setting.frames, dtype=torch.long, device=setting.device)
    return lambda: model(x, lengths)
