"""WFST beam search over TLG with kaldi-decoder, one best word sequence per LM weight.

Scores. For LM weight w, the decoder looks for the word sequence minimising
    w * graph_cost - acwt * sum_t log p(token_t | x)
(graph_cost: TLG's path cost, i.e. the LM's -ln probability). Searching with
graph costs as they are and acoustic costs scaled by acwt / w ranks paths the
same way; the beam is divided by w too, so `beam` is always in units of the
score above and means the same at every weight.

Two ways to get several weights (see docs/decoding.md for the measurements):
- 'redecode': one FasterDecoder pass per weight (beam and max-active pruning);
- 'lattice': one LatticeSimpleDecoder pass at weight `lattice_lmwt`, keeping a
  raw lattice pruned to `lattice_beam`, then per weight the lattice's graph
  costs are rescaled and its shortest path taken. kaldi-decoder's lattice
  decoder has no max-active limit and its raw lattice is not determinized
  (not needed for a 1-best: the shortest path over alignments is the best word
  sequence's best alignment, which is what a determinized lattice keeps).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import kaldi_decoder
import kaldifst
import numpy as np


@dataclass
class DecoderConfig:
    beam: float = 15.0
    max_active: int = 7000
    min_active: int = 20
    acwt: float = 1.0
    lattice_beam: float = 8.0
    lattice_lmwt: float = 1.0      # weight of the one lattice pass (mode 'lattice')
    mode: str = "redecode"         # 'redecode' or 'lattice'

    def check(self) -> None:
        if self.mode not in ("redecode", "lattice"):
            raise ValueError(f"mode must be 'redecode' or 'lattice', not {self.mode!r}")
        for name in ("beam", "acwt", "lattice_beam", "lattice_lmwt"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)}")
        if self.max_active < 1 or self.min_active < 0:
            raise ValueError("max_active must be >= 1 and min_active >= 0")


@dataclass
class Hypothesis:
    words: List[int]          # word ids (TLG output labels)
    tokens: List[int]         # token ids along the best path (TLG input labels, blank included)
    graph_cost: float         # unscaled TLG cost of the path
    am_cost: float            # -sum log p over the path (unscaled)
    reached_final: bool


def load_graph(path: str) -> kaldifst.StdFst:
    """Read TLG.fst as a ConstFst (compact, read-only, what the decoders iterate fastest)."""
    fst = kaldifst.StdVectorFst.read(path)
    if fst is None or fst.num_states == 0:
        raise ValueError(f"{path}: empty or unreadable FST")
    if fst.start < 0:
        raise ValueError(f"{path}: the FST has no start state")
    return kaldifst.StdConstFst(fst)


def _lattice_arcs(lat: kaldifst.Lattice) -> Tuple[List[Tuple[int, int, int, int, float, float]],
                                                  Dict[int, Tuple[float, float]]]:
    """A Lattice's arcs (src, dst, ilabel, olabel, graph cost, acoustic cost) and final weights,
    read from its AT&T text form (kaldifst iterates only tropical FSTs' arcs)."""
    arcs, finals = [], {}
    for line in lat.to_str(show_weight_one=True).splitlines():
        f = line.split()
        if len(f) >= 4:
            g, a = (float(v) for v in (f[4] if len(f) > 4 else "0,0").split(","))
            arcs.append((int(f[0]), int(f[1]), int(f[2]), int(f[3]), g, a))
        elif f:
            g, a = (float(v) for v in (f[1] if len(f) > 1 else "0,0").split(","))
            finals[int(f[0])] = (g, a)
    return arcs, finals


def _project_output(fst: kaldifst.StdVectorFst) -> kaldifst.StdVectorFst:
    """An acceptor of `fst`'s output labels, with its weights."""
    out = kaldifst.StdVectorFst()
    for _ in range(fst.num_states):
        out.add_state()
    out.start = fst.start
    for st in range(fst.num_states):
        for arc in kaldifst.ArcIterator(fst, st):
            out.add_arc(st, kaldifst.StdArc(arc.olabel, arc.olabel, arc.weight, arc.nextstate))
        out.set_final(st, fst.final(st))
    return out


def _linear(lattice: kaldifst.Lattice) -> Tuple[List[int], List[int], float, float]:
    ok, ilabels, olabels, weight = kaldifst.get_linear_symbol_sequence(lattice)
    if not ok:
        raise RuntimeError("the decoder's best path is not linear")
    return list(olabels), list(ilabels), weight.value1, weight.value2


class WfstDecoder:
    """Decode (T, V) log-probability matrices (column 0 = blank) with a TLG graph."""

    def __init__(self, graph: kaldifst.StdFst, config: DecoderConfig):
        config.check()
        self.graph = graph
        self.config = config

    def decode(self, logprobs: np.ndarray, lm_weights: Sequence[float]) -> Dict[float, Hypothesis]:
        """Best hypothesis per LM weight; an utterance with no frames gives empty hypotheses."""
        return self.decode_nbest(logprobs, lm_weights, 0)[0]

    def decode_nbest(self, logprobs: np.ndarray, lm_weights: Sequence[float],
                     nbest: int) -> Tuple[Dict[float, Hypothesis], List[Hypothesis]]:
        """decode()'s hypotheses and, with `nbest` > 0 (mode lattice), the n-best list of the same
        lattice pass (nbest_of): one search for both."""
        x = np.ascontiguousarray(logprobs, dtype=np.float32)
        if x.ndim != 2:
            raise ValueError(f"log-probabilities must be a (frames, outputs) matrix, got shape {x.shape}")
        if any(w <= 0 for w in lm_weights):
            raise ValueError("LM weights must be positive")
        if nbest and self.config.mode != "lattice":
            raise ValueError("n-best lists come from the lattice pass: mode must be 'lattice'")
        if x.shape[0] == 0:
            return {w: Hypothesis([], [], 0.0, 0.0, True) for w in lm_weights}, []
        if self.config.mode == "redecode":
            return {w: self._faster(x, w) for w in lm_weights}, []
        raw = self._raw_lattice(x)
        if raw is None:
            return {w: Hypothesis([], [], float("inf"), float("inf"), False) for w in lm_weights}, []
        return self._best_per_weight(raw, lm_weights), (self.nbest_of(raw, nbest) if nbest > 0 else [])

    def _faster(self, x: np.ndarray, lmwt: float) -> Hypothesis:
        c = self.config
        scale = c.acwt / lmwt
        opts = kaldi_decoder.FasterDecoderOptions(beam=c.beam / lmwt, max_active=c.max_active,
                                                  min_active=c.min_active)
        dec = kaldi_decoder.FasterDecoder(self.graph, opts)
        dec.decode(kaldi_decoder.DecodableCtc(x * scale))
        reached = dec.reached_final()
        ok, best = dec.get_best_path()
        if not ok:
            return Hypothesis([], [], float("inf"), float("inf"), False)
        words, tokens, graph_cost, am = _linear(best)
        return Hypothesis([w for w in words if w], [t for t in tokens if t], graph_cost, am / scale, reached)

    def _raw_lattice(self, x: np.ndarray) -> Optional[kaldifst.Lattice]:
        """One LatticeSimpleDecoder pass at `lattice_lmwt`: its raw lattice (arcs: graph cost, and
        acoustic cost scaled by acwt / lattice_lmwt), or None when it found none."""
        c = self.config
        w0 = c.lattice_lmwt
        cfg = kaldi_decoder.LatticeSimpleDecoderConfig(beam=c.beam / w0, lattice_beam=c.lattice_beam / w0)
        dec = kaldi_decoder.LatticeSimpleDecoder(self.graph, cfg)
        dec.decode(kaldi_decoder.DecodableCtc(x * (c.acwt / w0)))
        ok, raw = dec.get_raw_lattice()
        return raw if ok and raw.num_states > 0 else None

    def nbest_of(self, raw: kaldifst.Lattice, n: int) -> List[Hypothesis]:
        """The `n` best distinct word sequences of a raw lattice of this decoder, best first (at
        `lattice_lmwt`), each with its best alignment's graph and acoustic costs: what LM rescoring
        needs (nas.decoding.rescore), the n-best of Kaldi's lattice-to-nbest on a determinized lattice.

        The raw lattice becomes a tropical FST whose input labels number its arcs (final weights
        become arcs to one super-final state); its word projection, without epsilons and
        determinized, gives the distinct word sequences in order of their best total cost, and
        each sequence's best path (the lattice composed with the sequence) gives back, through the
        arc numbers, its graph and acoustic costs."""
        scale = self.config.acwt / self.config.lattice_lmwt
        costs: List[Tuple[float, float, int]] = [(0.0, 0.0, 0)]     # arc number -> (graph, scaled am, token)
        fst = kaldifst.StdVectorFst()
        for _ in range(raw.num_states + 1):
            fst.add_state()
        final = raw.num_states
        fst.start = raw.start
        fst.set_final(final, kaldifst.TropicalWeight(0.0))
        arcs, finals = _lattice_arcs(raw)
        for src, dst, ilabel, olabel, g, a in arcs:
            costs.append((g, a, ilabel))
            fst.add_arc(src, kaldifst.StdArc(len(costs) - 1, olabel, kaldifst.TropicalWeight(g + a), dst))
        for st, (g, a) in finals.items():
            costs.append((g, a, 0))
            fst.add_arc(st, kaldifst.StdArc(len(costs) - 1, 0, kaldifst.TropicalWeight(g + a), final))
        kaldifst.arcsort(fst, sort_type="olabel")          # for the compositions below
        words = _project_output(fst)
        kaldifst.rmepsilon(words)
        words = kaldifst.determinize(words)
        out: List[Hypothesis] = []
        for path in kaldifst.convert_nbest_to_vector(kaldifst.shortest_path(words, n=n)):
            _, seq, _, _ = kaldifst.get_linear_symbol_sequence(path)
            seq = [w for w in seq if w]
            best = kaldifst.shortest_path(kaldifst.compose(fst, kaldifst.make_linear_acceptor(seq)))
            found, ids, _, _ = kaldifst.get_linear_symbol_sequence(best)
            if not found:
                raise RuntimeError(f"n-best: the lattice has no path for its own word sequence {seq}")
            graph = sum(costs[i][0] for i in ids)
            am = sum(costs[i][1] for i in ids)
            out.append(Hypothesis(seq, [costs[i][2] for i in ids if costs[i][2]], graph, am / scale, True))
        return out

    def _best_per_weight(self, raw: kaldifst.Lattice, lm_weights: Sequence[float]) -> Dict[float, Hypothesis]:
        w0 = self.config.lattice_lmwt
        scale = self.config.acwt / w0
        out: Dict[float, Hypothesis] = {}
        # lattice arcs hold (graph cost, acwt/w0-scaled acoustic cost); score w*graph + acwt*am,
        # i.e. (w/w0)-scaled graph cost against the stored acoustic cost, up to the factor w0
        for w in lm_weights:
            lat = kaldifst.Lattice(raw)
            kaldifst.scale_lattice([[w / w0, 0.0], [0.0, 1.0]], lat)
            best = kaldifst.shortest_path(lat, n=1)
            words, tokens, graph_cost, am = _linear(best)
            out[w] = Hypothesis([v for v in words if v], [t for t in tokens if t], graph_cost / (w / w0),
                                am / scale, True)
        return out
