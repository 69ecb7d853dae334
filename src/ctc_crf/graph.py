"""DenGraph: the denominator graph loaded once, owned by one object, movable between devices.

The graph must be an epsilon-free acceptor whose arcs into any state all carry
the same input label (true of T o P with CAT's CTC topology); label c + 1 stands
for network output column c. The kernels then treat each state as emitting its
label's log-probability, and run sparse products over incoming arcs (forward)
and outgoing arcs (backward), both kept here as CSR arrays.
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, Union

import numpy as np
import torch

from ctc_crf.fst import FstArrays, read_fst


class DenGraphError(ValueError):
    """A graph the loss cannot use; the message says where."""


class DenGraph:
    """Arrays of a denominator graph as torch tensors on one device."""

    def __init__(self, fst: FstArrays, source: str = "<arrays>", device: Union[str, torch.device] = "cpu"):
        self.source = source
        if fst.num_states == 0:
            raise DenGraphError(f"{source}: empty FST")
        if not 0 <= fst.start < fst.num_states:
            raise DenGraphError(f"{source}: no valid start state")
        eps = np.flatnonzero(fst.ilabel == 0)
        if len(eps):
            a = eps[0]
            raise DenGraphError(f"{source}: {len(eps)} arcs have epsilon (0) input labels, e.g. the arc "
                                f"{fst.src[a]} -> {fst.dst[a]}; the denominator graph must be epsilon-free")
        if (fst.ilabel < 0).any():
            raise DenGraphError(f"{source}: negative input labels")
        label = np.zeros(fst.num_states, np.int64)
        label[fst.dst] = fst.ilabel
        clash = np.flatnonzero(label[fst.dst] != fst.ilabel)
        if len(clash):
            s = fst.dst[clash[0]]
            raise DenGraphError(f"{source}: state {s} is entered by arcs with labels "
                                f"{label[s]} and {fst.ilabel[clash[0]]}; every arc into a state must carry "
                                f"the same label (compose the CTC topology with the LM)")
        self.num_states = fst.num_states
        self.num_arcs = fst.num_arcs
        self.num_tokens = int(fst.ilabel.max())     # network outputs: labels 1..V are columns 0..V-1
        self.start = fst.start
        inc = np.argsort(fst.dst, kind="stable")
        out = np.argsort(fst.src, kind="stable")
        logw = -fst.weight.astype(np.float64)
        self._arrays: Dict[str, np.ndarray] = {
            "state_label": label - 1,     # column emitted on entering the state (-1: never entered)
            "in_ptr": _ptr(fst.dst, fst.num_states), "in_src": fst.src[inc].astype(np.int32), "in_logw": logw[inc],
            "out_ptr": _ptr(fst.src, fst.num_states), "out_dst": fst.dst[out].astype(np.int32), "out_logw": logw[out],
            "final_logw": -fst.final.astype(np.float64),
        }
        self.device = torch.device(device)
        self._tensors: Dict[torch.dtype, Dict[str, torch.Tensor]] = {}

    @classmethod
    def from_file(cls, path: Union[str, Path], device: Union[str, torch.device] = "cpu") -> "DenGraph":
        """Read an OpenFst binary StdVectorFst (as fstcompile, kaldifst or steps/prep_den_lm.sh write it)."""
        return cls(read_fst(path), str(path), device)

    def to(self, device: Union[str, torch.device]) -> "DenGraph":
        """A graph on `device` (sharing the host arrays); self if already there."""
        device = torch.device(device)
        if device == self.device:
            return self
        g = object.__new__(DenGraph)
        g.__dict__.update(self.__dict__)
        g.device, g._tensors = device, {}
        return g

    def tensors(self, dtype: torch.dtype) -> Dict[str, torch.Tensor]:
        """The arrays as tensors on this graph's device; weights in `dtype` (cached per dtype)."""
        if dtype not in self._tensors:
            t = {}
            for k, a in self._arrays.items():
                if a.dtype == np.float64:
                    t[k] = torch.as_tensor(a, dtype=dtype, device=self.device)
                elif k in ("in_src", "out_dst"):
                    t[k] = torch.as_tensor(a, dtype=torch.int32, device=self.device)
                else:
                    t[k] = torch.as_tensor(a, dtype=torch.int64, device=self.device)
            self._tensors[dtype] = t
        return self._tensors[dtype]

    def __repr__(self) -> str:
        return (f"DenGraph({self.source}: {self.num_states} states, {self.num_arcs} arcs, "
                f"{self.num_tokens} tokens, device={self.device})")


def _ptr(keys: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(np.bincount(keys, minlength=n))]).astype(np.int64)
