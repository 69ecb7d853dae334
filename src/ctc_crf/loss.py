"""The CTC-CRF loss: log Z over the denominator graph minus the CTC numerator and the path weight.

Per utterance: (log Z - log p_ctc(l|x) - path_weight) + lamb * (-log p_ctc(l|x)),
with log p_ctc from torch's ctc_loss (blank = 0) and log Z from the compiled
kernel of the tensor's device when it is built, else from the PyTorch reference.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

from ctc_crf.graph import DenGraph
from ctc_crf.reference import den_log_partition_reference


def _kernel(device: torch.device):
    """The compiled module for `device`, or None when it was not built."""
    try:
        if device.type == "cpu":
            from ctc_crf import _den_cpu as mod
        elif device.type == "cuda":
            from ctc_crf import _den_cuda as mod
        else:
            return None
    except ImportError:
        return None
    return mod


def has_kernel(device: torch.device = torch.device("cpu")) -> bool:
    return _kernel(torch.device(device)) is not None


class _DenLogZ(torch.autograd.Function):
    """log Z with the kernel's occupancies saved as the gradient."""

    @staticmethod
    def forward(ctx, log_probs, input_lengths, graph: DenGraph, module):
        g = graph.to(log_probs.device).tensors(log_probs.dtype)
        log_z, grad = module.forward_backward(
            log_probs.contiguous(), input_lengths.to(log_probs.device, torch.int64).contiguous(),
            g["in_ptr"], g["in_src"], g["in_logw"], g["out_ptr"], g["out_dst"], g["out_logw"],
            g["state_label"], g["final_logw"], graph.start)
        ctx.save_for_backward(grad)
        return log_z

    @staticmethod
    def backward(ctx, grad_out):
        (grad,) = ctx.saved_tensors
        return grad * grad_out[:, None, None], None, None, None


def den_log_partition(den_graph: DenGraph, log_probs: torch.Tensor, input_lengths: torch.Tensor,
                      use_kernel: Optional[bool] = None) -> torch.Tensor:
    """log Z per utterance (differentiable). use_kernel: None = the compiled kernel when built."""
    _check_inputs(den_graph, log_probs, input_lengths)
    module = _kernel(log_probs.device) if use_kernel in (None, True) else None
    if use_kernel and module is None:
        raise RuntimeError(f"the compiled CTC-CRF kernel for {log_probs.device.type} is not built")
    if module is None:
        return den_log_partition_reference(den_graph, log_probs, input_lengths)
    return _DenLogZ.apply(log_probs, input_lengths, den_graph, module)


LAYOUT = ("log_probs is (N, T, V), batch first (utterances, frames, outputs); a (T, N, V) tensor as torch's "
          "ctc_loss takes needs batch_first=False")


def _check_inputs(graph: DenGraph, log_probs: torch.Tensor, input_lengths: torch.Tensor) -> None:
    if log_probs.dim() != 3:
        raise ValueError(f"log_probs must be 3-D, got shape {tuple(log_probs.shape)}; {LAYOUT}")
    if not log_probs.is_floating_point() or log_probs.dtype not in (torch.float32, torch.float64):
        raise ValueError(f"log_probs must be float32 or float64, got {log_probs.dtype}")
    n, t, v = log_probs.shape
    if n == 0 or t == 0:
        raise ValueError(f"an empty batch: log_probs has shape {tuple(log_probs.shape)} (N={n} utterances, "
                         f"T={t} frames); {LAYOUT}")
    if v != graph.num_tokens:
        raise ValueError(f"log_probs has V={v} outputs but the den graph {graph.source} has "
                         f"{graph.num_tokens} tokens; {LAYOUT}")
    if input_lengths.dim() != 1 or input_lengths.numel() != n:
        raise ValueError(f"input_lengths must be 1-D of length N={n}, got shape {tuple(input_lengths.shape)}; "
                         f"{LAYOUT}")
    if input_lengths.is_floating_point():
        raise ValueError("input_lengths must be an integer tensor")
    if int(input_lengths.min()) < 1 or int(input_lengths.max()) > t:
        raise ValueError(f"input_lengths must lie in [1, T={t}], got min {int(input_lengths.min())} "
                         f"max {int(input_lengths.max())}; {LAYOUT}")


def _min_frames(padded: torch.Tensor, valid: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """Frames CTC needs for each label sequence: its length plus its repeated neighbours."""
    repeats = (padded[:, 1:] == padded[:, :-1]) & valid[:, 1:]
    return target_lengths.long() + repeats.sum(1)


class CTCCRFLoss(torch.nn.Module):
    """CTC-CRF loss (CAT's formulation) with an optional lamb * CTC term.

    loss_fn(log_probs (N, T, V) log-softmax with blank 0, targets (N, S) padded or 1-D
    concatenated, input_lengths (N,), target_lengths (N,), path_weights (N,) or None).
    With batch_first=False log_probs is (T, N, V), torch's ctc_loss layout. The layout cannot be
    told from the shape when T == N: say which one you pass. Utterances too short for their
    labels give +inf, or 0 with zero_infinity=True.
    """

    def __init__(self, den_graph: DenGraph, lamb: float = 0.0, reduction: str = "mean",
                 zero_infinity: bool = False, batch_first: bool = True):
        super().__init__()
        if reduction not in ("mean", "sum", "none"):
            raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")
        self.den_graph = den_graph
        self.lamb = float(lamb)
        self.reduction = reduction
        self.zero_infinity = zero_infinity
        self.batch_first = batch_first

    def forward(self, log_probs: torch.Tensor, targets: torch.Tensor, input_lengths: torch.Tensor,
                target_lengths: torch.Tensor, path_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        if not self.batch_first and log_probs.dim() == 3:
            log_probs = log_probs.transpose(0, 1)
        _check_inputs(self.den_graph, log_probs, input_lengths)
        n, _, v = log_probs.shape
        for name, x in (("targets", targets), ("target_lengths", target_lengths)):
            if x.is_floating_point():
                raise ValueError(f"{name} must be an integer tensor (int32 or int64), got {x.dtype}")
        if target_lengths.dim() != 1 or target_lengths.numel() != n:
            raise ValueError(f"target_lengths must be 1-D of length N={n}, got shape {tuple(target_lengths.shape)}")
        if int(target_lengths.min()) < 0:
            raise ValueError("target_lengths must be >= 0")
        if targets.dim() == 2:
            if targets.shape[0] != n:
                raise ValueError(f"padded targets must be (N={n}, S), got shape {tuple(targets.shape)}")
            if int(target_lengths.max()) > targets.shape[1]:
                raise ValueError(f"a target length {int(target_lengths.max())} exceeds the padded width {targets.shape[1]}")
            padded = targets
        elif targets.dim() == 1:
            if int(target_lengths.sum()) != targets.numel():
                raise ValueError(f"concatenated targets have {targets.numel()} labels but target_lengths sum "
                                 f"to {int(target_lengths.sum())}")
            padded = torch.nn.utils.rnn.pad_sequence(list(torch.split(targets, target_lengths.tolist())),
                                                     batch_first=True) if n else targets.view(0, 0)
        else:
            raise ValueError(f"targets must be (N, S) padded or 1-D concatenated, got shape {tuple(targets.shape)}")
        valid = torch.arange(padded.shape[1], device=padded.device)[None, :] < target_lengths.to(padded.device)[:, None]
        used = padded[valid]
        if used.numel() and (int(used.min()) < 1 or int(used.max()) >= v):
            raise ValueError(f"target labels must lie in [1, V-1={v - 1}] (0 is blank), got "
                             f"{int(used.min())}..{int(used.max())}")
        if path_weights is not None and (path_weights.dim() != 1 or path_weights.numel() != n):
            raise ValueError(f"path_weights must be 1-D of length N={n}, got shape {tuple(path_weights.shape)}")

        too_short = input_lengths.to(padded.device).long() < _min_frames(padded, valid, target_lengths.to(padded.device))
        too_short = too_short.to(log_probs.device)
        ctc = F.ctc_loss(log_probs.transpose(0, 1), targets, input_lengths, target_lengths,
                         blank=0, reduction="none", zero_infinity=True)     # = -log p_ctc(l|x)
        log_z = den_log_partition(self.den_graph, log_probs, input_lengths)
        loss = log_z + (1.0 + self.lamb) * ctc
        if path_weights is not None:
            loss = loss - path_weights.to(loss)
        fill = torch.zeros_like(loss) if self.zero_infinity else torch.full_like(loss, float("inf"))
        loss = torch.where(too_short, fill, loss)
        if self.reduction == "mean":
            return loss.mean()
        if self.reduction == "sum":
            return loss.sum()
        return loss
