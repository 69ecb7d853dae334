"""The super-network of a search space, and single models derived from it.

Each searching block holds its candidate ops; how a block combines them in a
forward pass is decided by a *mixer* that a search strategy installs
(`SuperNet.mixing`): one sampled op, a softmax mixture, a straight-through
combination, ... A model built with `arch=` has one candidate per block and
needs no mixer: that is the derived single model retrained from arch.json.

A tied block (one name on several edges, the repeated cells of a cell-based space) is one
entry of `blocks` (one choice, one alpha: strategies index by `SearchBlock.index`) and one
module per edge (`block_modules`), each with its own weights.
"""
from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch
from torch import nn

from nas.models.ops import Op, build_op
from nas.models.space import INPUT, SearchSpace, node_dims


class SearchBlock(nn.Module):
    """The candidates of one edge; `index` is the block's position in `SuperNet.blocks` (shared by
    the edges of a tied block)."""

    def __init__(self, name: str, index: int, candidates: List[str], ops: List[Op]):
        super().__init__()
        self.name, self.index, self.candidates = name, index, list(candidates)
        self.ops = nn.ModuleList(ops)

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.ops[0].out_lengths(lengths)     # candidates of a block share their stride


Mixer = Callable[[SearchBlock, torch.Tensor], torch.Tensor]


def _single(block: SearchBlock, x: torch.Tensor) -> torch.Tensor:
    if len(block.ops) != 1:
        raise RuntimeError(f"block {block.name} has {len(block.ops)} candidates and no mixer: "
                           f"install a strategy's mixer or build the model with arch=")
    return block.ops[0](x)


class SuperNet(nn.Module):
    """Network of a search space: (N, T, input_dim) features -> (N, T', num_tokens) log-probabilities."""

    def __init__(self, space: SearchSpace, input_dim: int, num_tokens: int, arch: Optional[Dict[str, str]] = None):
        super().__init__()
        if arch is not None:
            space.check_arch(arch)
        self.space, self.input_dim, self.num_tokens, self.arch = space, input_dim, num_tokens, arch
        dims = node_dims(space, input_dim, num_tokens)
        self.edges = nn.ModuleDict()
        self.blocks: List[SearchBlock] = []          # one per block name (the first edge's module)
        self.block_modules: List[SearchBlock] = []   # one per searching edge
        index: Dict[str, int] = {}
        self._plan: List[Tuple[str, List[Tuple[str, str]]]] = []   # node -> [(edge key, src)]
        for node in space.nodes:
            out = dims[node.name]
            keys = []
            for j, e in enumerate(node.edges):
                key = f"{node.name}<-{e.src}"
                if sum(f.src == e.src for f in node.edges) > 1:     # two edges from one node: name them apart
                    key += f"#{e.block or j}"
                key = key.replace(".", "_")
                cfg = e.op_config or space.op_config
                if e.block is None:
                    module: nn.Module = build_op(e.candidates[0], dims[e.src], out, cfg)
                else:
                    cands = [arch[e.block]] if arch is not None else e.candidates
                    first = e.block not in index
                    if first:
                        index[e.block] = len(self.blocks)
                    module = SearchBlock(e.block, index[e.block], cands,
                                         [build_op(c, dims[e.src], out, cfg) for c in cands])
                    if first:
                        self.blocks.append(module)
                    self.block_modules.append(module)
                self.edges[key] = module
                keys.append((key, e.src))
            self._plan.append((node.name, keys))
        self.mixer: Mixer = _single

    def set_mixer(self, mixer: Optional[Mixer]) -> None:
        self.mixer = mixer or _single

    @contextlib.contextmanager
    def mixing(self, mixer: Optional[Mixer]) -> Iterator[None]:
        """`mixer` installed for the duration (None: a single model's blocks, one op each)."""
        self.set_mixer(mixer)
        try:
            yield
        finally:
            self.set_mixer(None)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """(N, T', num_tokens) log-probabilities and the (N,) output lengths."""
        logits, out_lengths = self.logits(x, lengths)
        # float32 even under autocast: CPU autocast would leave a bfloat16 log-softmax, whose
        # 8-bit mantissa the losses' sums over frames and paths cannot afford
        return torch.log_softmax(logits.float(), dim=-1), out_lengths

    def logits(self, x: torch.Tensor, lengths: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """The last node's output before the log-softmax (what SynFlow sums), and the output lengths."""
        values: Dict[str, torch.Tensor] = {INPUT: x}
        lens: Dict[str, torch.Tensor] = {INPUT: lengths}
        for node, keys in self._plan:
            total = None
            for key, src in keys:
                m = self.edges[key]
                y = self.mixer(m, values[src]) if isinstance(m, SearchBlock) else m(values[src])
                total = y if total is None else total + y
                lens.setdefault(node, m.out_lengths(lens[src]))
            if node != self._plan[-1][0] and total.shape[1] and int(lens[node].min()) < total.shape[1]:
                # zero the padding, so that an utterance's output does not depend on what it is batched with
                valid = torch.arange(total.shape[1], device=total.device)[None, :] < lens[node][:, None]
                total = total * valid.unsqueeze(-1).to(total.dtype)
            values[node] = total
        last = self._plan[-1][0]
        return values[last], lens[last]

    def inherit_from(self, choice: List[int]) -> int:
        """Start every candidate from the weights of the chosen op of its block (Op.inherit):
        after a warm-up on one sub-graph, every sub-graph then starts near a trained network
        instead of at random, where switching among untrained ops keeps CTC on its all-blank
        plateau. Returns the number of ops that took weights."""
        n = 0
        for b in self.block_modules:
            src = b.ops[choice[b.index]]
            n += sum(op.inherit(src) for k, op in enumerate(b.ops) if k != choice[b.index])
        return n

    def op_params(self) -> List[List[int]]:
        """Parameter count of every candidate of every block (for resource terms), summed over
        the edges of a tied block."""
        counts = [[0] * len(b.ops) for b in self.blocks]
        for b in self.block_modules:
            for k, op in enumerate(b.ops):
                counts[b.index][k] += op.num_params()
        return counts
