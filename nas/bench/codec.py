"""What a benchmark table and a tabular search need to know about a search space's architectures.

A Codec names the architectures of one space: their vectors (lists of lists of ints, the
candidate index at each position), how they are printed and parsed, which vectors are the same
model (the model hash, a table's key), and the arch.json choices they stand for. Two kinds:

- NB_ASR, NAS-Bench-ASR's cell (the `nb_asr` spaces): the benchmark's vectors
  [[op1, s1_0], [op2, s2_0, s2_1], [op3, s3_0, s3_1, s3_2]] and its graph hash
  (nas.bench.archvec, nas.bench.model_hash), under which many vectors are one model; its
  "search_space" header entry is exactly the released one, {"shape", "ops", "nodes"}.
- BlockCodec, any space of the toolkit: one position per searching block, in the space's block
  order, the vector [[i1], [i2], ...] with i the candidate's index in its block. Every vector is a
  distinct model (a sub-graph that picks other candidates computes something else). Its hash is

      md5(json.dumps([name, [[block, candidate], ...]], separators=(",", ":")))

  over every block in order, with the candidate's name (not its index): the space's name and its
  blocks' choices, so equal for the same model, and different in spaces of another name. Its
  header entry is {"name": name, "blocks": [[block, [candidates...]], ...], "shape": [[n1], ...]}.

codec_for_header picks a table file's codec from its header; codec_of_space a SearchSpace's.
"""
from __future__ import annotations

import ast
import hashlib
import itertools
import json
import math
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence

from nas.bench import archvec
from nas.bench.archvec import ArchVec, ArchVecError
from nas.bench.errors import BenchFileError
from nas.bench.model_hash import model_hash

MAX_LISTED = 200_000          # vectors() lists a space up to this size, else gives None

# The candidates of the shipped nb_asr spaces (nas/spaces/nb_asr.json), in OPS order: what
# NB_ASR.to_choices writes and from_choices reads.
NB_ASR_OPS = ["nblinear", "nbconv-K5", "nbconv-K5D2", "nbconv-K7", "nbconv-K7D2", "zero"]
NB_ASR_SKIPS = ["zero", "identity"]


def plain(value: Any) -> Any:
    """Lists for tuples, recursively (header values compare equal whichever the writer used)."""
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


class Codec:
    """The architectures of one search space, as a table and a search see them (see the module doc)."""

    name: str
    shape: List[List[int]]

    @property
    def search_space(self) -> Dict[str, Any]:
        """The header's "search_space" entry (a fresh copy)."""
        raise NotImplementedError

    @property
    def sizes(self) -> List[int]:
        """Candidates per position of the flattened vector."""
        return [n for node in self.shape for n in node]

    @property
    def size(self) -> int:
        """The number of vectors."""
        return math.prod(self.sizes)

    def check(self, vec: Any) -> ArchVec:
        """`vec` as a list of lists of ints, or ArchVecError naming the bad position."""
        raise NotImplementedError

    def hash(self, vec: Any) -> str:
        """The model hash: 32 lower-case hex digits, equal for vectors of the same model."""
        raise NotImplementedError

    def parse(self, text: str) -> ArchVec:
        """A vector from its printed form (string())."""
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise ArchVecError(f"cannot read {text!r} as an architecture vector of {self.name}, e.g. "
                               f"{self.string([[0] * len(node) for node in self.shape])}") from None
        return self.check(value)

    def string(self, vec: Sequence[Sequence[int]]) -> str:
        """The compact printed form, e.g. "[[1,0],[1,0,0],[1,0,0,0]]"."""
        return archvec.vector_string(vec)

    def flatten(self, vec: Sequence[Sequence[int]]) -> List[int]:
        return [int(x) for node in vec for x in node]

    def unflatten(self, flat: Sequence[int]) -> ArchVec:
        out, i = [], 0
        for node in self.shape:
            out.append([int(x) for x in flat[i:i + len(node)]])
            i += len(node)
        return out

    def vectors(self) -> Optional[Iterator[ArchVec]]:
        """Every vector, in lexicographic order of the flattened vector; None for a space of more
        than MAX_LISTED vectors."""
        if self.size > MAX_LISTED:
            return None
        return (self.unflatten(flat) for flat in itertools.product(*[range(n) for n in self.sizes]))

    def to_choices(self, vec: Sequence[Sequence[int]]) -> Dict[str, str]:
        """The arch.json choices (block -> candidate) of `vec`."""
        raise NotImplementedError

    def from_choices(self, choices: Mapping[str, str]) -> ArchVec:
        """The vector of arch.json choices (the inverse of to_choices)."""
        raise NotImplementedError


class NbAsrCodec(Codec):
    """NAS-Bench-ASR's cell: the benchmark's vectors and graph hash (nas.bench.archvec,
    nas.bench.model_hash). `blocks` gives the candidate names to_choices writes (the nb_asr
    spaces' by default); they do not enter the hash or the header."""

    name = "nb_asr"

    def __init__(self, blocks: Optional[Mapping[str, Sequence[str]]] = None) -> None:
        if blocks is None:
            blocks = {b: list(NB_ASR_OPS if b.startswith("op") else NB_ASR_SKIPS) for b in archvec.BLOCKS}
        self.blocks: Dict[str, List[str]] = {b: list(c) for b, c in blocks.items()}
        self.shape = [list(s) for s in archvec.SHAPE]

    @property
    def search_space(self) -> Dict[str, Any]:
        return {"shape": [list(s) for s in archvec.SHAPE], "ops": list(archvec.OPS), "nodes": archvec.NODES}

    def check(self, vec: Any) -> ArchVec:
        return archvec.check_vector(vec)

    def hash(self, vec: Any) -> str:
        return model_hash(vec)

    def parse(self, text: str) -> ArchVec:
        return archvec.parse_vector(text)

    def vectors(self) -> Iterator[ArchVec]:
        return archvec.all_vectors()

    def to_choices(self, vec: Sequence[Sequence[int]]) -> Dict[str, str]:
        return archvec.to_choices(vec, self.blocks)

    def from_choices(self, choices: Mapping[str, str]) -> ArchVec:
        return archvec.from_choices(dict(choices), self.blocks)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NbAsrCodec) and other.blocks == self.blocks

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return "NB_ASR" if self.blocks == NB_ASR.blocks else f"NbAsrCodec({self.blocks!r})"


NB_ASR = NbAsrCodec()


class BlockCodec(Codec):
    """Any space: one position per searching block, in `blocks`' order (a SearchSpace's
    .blocks); the vector [[i1], [i2], ...], i the candidate's index in its block. Every vector is
    a distinct model; the hash is the MD5 of the canonical string of the module doc."""

    def __init__(self, name: str, blocks: Mapping[str, Sequence[str]]) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"a block codec needs a space name, not {name!r}")
        if not isinstance(blocks, Mapping) or not blocks:
            raise ValueError(f"space {name}: a block codec needs at least one searching block, not {blocks!r}")
        self.name = name
        self.blocks: Dict[str, List[str]] = {}
        for block, cands in blocks.items():
            if not isinstance(block, str) or not block:
                raise ValueError(f"space {name}: block name {block!r} is not a string")
            if isinstance(cands, str) or not isinstance(cands, Sequence) or not cands \
                    or not all(isinstance(c, str) and c for c in cands):
                raise ValueError(f"space {name}: block {block}'s candidates {cands!r} are not a list of names")
            if len(set(cands)) != len(cands):
                raise ValueError(f"space {name}: block {block} lists a candidate twice: {list(cands)}")
            self.blocks[block] = list(cands)
        self.names = list(self.blocks)
        self.shape = [[len(c)] for c in self.blocks.values()]

    @property
    def search_space(self) -> Dict[str, Any]:
        return {"name": self.name, "blocks": [[b, list(c)] for b, c in self.blocks.items()],
                "shape": [list(s) for s in self.shape]}

    def _form(self) -> str:
        return (f"[[i1], ..., [i{len(self.names)}]], one candidate index per block of {self.name} "
                f"({', '.join(self.names)})")

    def check(self, vec: Any) -> ArchVec:
        try:
            nodes = [list(node) for node in vec]
        except TypeError:
            raise ArchVecError(f"architecture vector {vec!r}: expected {self._form()}") from None
        if any(isinstance(node, (str, bytes)) for node in vec):
            raise ArchVecError(f"architecture vector {vec!r}: expected {self._form()}")
        out = [[archvec.entry_index(x, vec, f"position {k}", self._form()) for x in node] for k, node in enumerate(nodes)]
        if len(out) != len(self.names):
            raise ArchVecError(f"architecture vector {vec!r}: {len(out)} positions for the {len(self.names)} "
                               f"blocks of {self.name}; expected {self._form()}")
        for k, (node, block) in enumerate(zip(out, self.names)):
            n = len(self.blocks[block])
            if len(node) != 1:
                raise ArchVecError(f"architecture vector {vec!r}: position {k} (block {block}) is {node!r}, "
                                   f"not one index; expected {self._form()}")
            if not 0 <= node[0] < n:
                raise ArchVecError(f"architecture vector {vec!r}: position {k} (block {block}) is {node[0]}, "
                                   f"not in 0..{n - 1}")
        return out

    def canonical(self, vec: Any) -> str:
        """The string the hash is the MD5 of."""
        vec = self.check(vec)
        pairs = [[b, self.blocks[b][node[0]]] for b, node in zip(self.names, vec)]
        return json.dumps([self.name, pairs], separators=(",", ":"))

    def hash(self, vec: Any) -> str:
        return hashlib.md5(self.canonical(vec).encode("utf-8")).hexdigest()

    def to_choices(self, vec: Sequence[Sequence[int]]) -> Dict[str, str]:
        vec = self.check(vec)
        return {b: self.blocks[b][node[0]] for b, node in zip(self.names, vec)}

    def from_choices(self, choices: Mapping[str, str]) -> ArchVec:
        missing = [b for b in self.names if b not in choices]
        extra = [b for b in choices if b not in self.blocks]
        if missing or extra:
            raise ArchVecError(f"architecture for space {self.name}: missing blocks {missing}, unknown blocks {extra}")
        out = []
        for b in self.names:
            if choices[b] not in self.blocks[b]:
                raise ArchVecError(f"architecture for space {self.name}: block {b} has no candidate "
                                   f"{choices[b]!r} (candidates: {', '.join(self.blocks[b])})")
            out.append([self.blocks[b].index(choices[b])])
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BlockCodec) and (other.name, other.blocks) == (self.name, self.blocks)

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.names)))

    def __repr__(self) -> str:
        return f"BlockCodec({self.name!r}, {len(self.names)} blocks, {self.size} vectors)"


def codec_for_header(search_space: Any, path: Any) -> Codec:
    """The codec of a table file whose header's search_space is `search_space`: NB_ASR for the
    released entry, a BlockCodec for one with "blocks"; else BenchFileError naming `path`."""
    if plain(search_space) == NB_ASR.search_space:
        return NB_ASR
    if isinstance(search_space, Mapping) and "blocks" in search_space:
        try:
            blocks = search_space["blocks"]
            if isinstance(blocks, (str, Mapping)) or not all(
                    isinstance(p, (list, tuple)) and len(p) == 2 for p in blocks):
                raise ValueError(f"blocks {blocks!r:.200} is not a list of [block, [candidates...]] pairs")
            names = [p[0] for p in blocks]
            if len(set(names)) != len(names):
                raise ValueError(f"blocks {names} names a block twice")
            codec = BlockCodec(search_space.get("name"), {p[0]: p[1] for p in blocks})
        except (ValueError, TypeError) as e:
            raise BenchFileError(f"{path}: search_space of a block space: {e}") from None
        if plain(search_space) != codec.search_space:
            raise BenchFileError(f"{path}: search_space {search_space!r:.300} is not a block space's "
                                 f"{codec.search_space!r:.300} (keys name, blocks, shape; shape the "
                                 f"candidates per block)")
        return codec
    raise BenchFileError(f"{path}: search_space {search_space!r:.300} is not NAS-Bench-ASR's "
                         f"{NB_ASR.search_space!r}, nor a block space's (a dict with name, blocks, shape)")


def codec_of_space(space: Any) -> Codec:
    """The codec of a SearchSpace (anything with .name and .blocks): NB_ASR when its blocks are
    exactly nas.bench.archvec.BLOCKS with the nb_asr spaces' candidates (nb_asr, nb_asr_small),
    else BlockCodec(space.name, space.blocks)."""
    blocks = {b: list(c) for b, c in space.blocks.items()}
    if list(blocks) == archvec.BLOCKS and blocks == NB_ASR.blocks:
        return NB_ASR
    return BlockCodec(space.name, blocks)
