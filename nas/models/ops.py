"""Candidate operations built from compact names, through a registry users can extend.

Names: `tdnn-C{half context}D{dilation}[S{stride}]` (Conv1d over time of kernel 2C+1,
dilation D, stride S, then ReLU, LayerNorm and dropout), `identity`, `zero`, `linear`.
NAS-Bench-ASR's layers: `nbconv-K{kernel}[D{dilation}][S{stride}][G{groups}]` (a padded
Conv1d with 4 frames of future context, ReLU clipped at 20, dropout; without G, the groups of
the node's settings, so that a cell's op names do not change with its width), `nblinear`
(Linear, clipped ReLU, dropout), `layernorm` (eps 1e-3, as its cells), `lstm`
(unidirectional), `dropout`. Every op maps (N, T, in_dim) to (N, T', out_dim) and says how it
changes lengths.

Extend from your own code:

    @register_op("myop")                       # an exact name
    def build(name, in_dim, out_dim, cfg): ...
    @register_op_family("conv2d-", parse)      # names with a prefix, parsed by `parse`
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Dict, List

import torch
from torch import nn


class OpNameError(ValueError):
    """An operation name that is unknown or malformed; the message says what is wrong."""


@dataclass(frozen=True)
class OpConfig:
    """Settings an op takes from its search space rather than its name."""
    dropout: float = 0.0
    layer_norm: bool = True
    groups: int = 1               # grouped convolutions (nbconv- without a G part)


Builder = Callable[[str, int, int, OpConfig], "Op"]
_EXACT: Dict[str, Builder] = {}
_FAMILIES: Dict[str, Builder] = {}


def register_op(name: str) -> Callable[[Builder], Builder]:
    """Register a builder for one exact op name."""
    def deco(fn: Builder) -> Builder:
        _EXACT[name] = fn
        return fn
    return deco


def register_op_family(prefix: str) -> Callable[[Builder], Builder]:
    """Register a builder for every name starting with `prefix`; it parses the rest itself."""
    def deco(fn: Builder) -> Builder:
        _FAMILIES[prefix] = fn
        return fn
    return deco


def known_ops() -> List[str]:
    return sorted(_EXACT) + [f"{p}..." for p in sorted(_FAMILIES)]


def build_op(name: str, in_dim: int, out_dim: int, cfg: OpConfig = OpConfig()) -> "Op":
    """The op called `name`, mapping in_dim features to out_dim."""
    if name in _EXACT:
        return _EXACT[name](name, in_dim, out_dim, cfg)
    for prefix, fn in _FAMILIES.items():
        if name.startswith(prefix):
            return fn(name, in_dim, out_dim, cfg)
    raise OpNameError(f"unknown operation {name!r}; known: {', '.join(known_ops())}")


class Op(nn.Module):
    """Base of all ops: forward on (N, T, D) and the output length for an input length."""

    stride: int = 1

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return lengths

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @torch.no_grad()
    def inherit(self, src: "Op") -> bool:
        """Take the weights of another candidate of the same block where they fit (see
        TDNN.inherit); False when nothing could be taken and the op keeps its own."""
        return False


class _DropMask(torch.autograd.Function):
    """y = x with the `drop` positions zeroed, times `scale`; the same in the backward."""

    @staticmethod
    def forward(ctx, x, drop, scale):
        ctx.save_for_backward(drop)
        ctx.scale = scale
        return x.masked_fill(drop, 0.0).mul_(scale)

    @staticmethod
    def backward(ctx, grad):
        (drop,) = ctx.saved_tensors
        return grad.masked_fill(drop, 0.0).mul_(ctx.scale), None, None


class Dropout(nn.Module):
    """Inverted dropout. On CPU the mask comes from 16-bit random integers (p rounded to 1/65536):
    torch's CPU Bernoulli sampler costs about as much as a 640x640 GEMM over the same tensor, which
    made dropout a fifth of a TDNN training step. Elsewhere it is torch's own dropout."""

    def __init__(self, p: float):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        if x.device.type != "cpu":
            return nn.functional.dropout(x, self.p, True)
        n = x.numel()
        bits = torch.randint(-2 ** 63, 2 ** 63 - 1, ((n + 3) // 4,), dtype=torch.int64, device=x.device)
        drop = bits.view(torch.int16)[:n].view(x.shape) < round(self.p * 65536) - 32768
        return _DropMask.apply(x, drop, 1.0 / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Activation(nn.Module):
    """ReLU, clipped at `clip` when given. A module of its own (no parameters, so checkpoints do not
    change) rather than a call inside the ops' forward, so that forward hooks see every activation:
    the zero-cost proxies (nas.proxies) read them. `channel_dim` says where the units are in the
    tensor it sees: 1 after a Conv1d (N, C, T), -1 after a Linear (N, T, C)."""

    def __init__(self, clip: float = 0.0, channel_dim: int = -1):
        super().__init__()
        self.clip, self.channel_dim = float(clip), int(channel_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(x, 0.0, self.clip) if self.clip else torch.relu(x)

    def extra_repr(self) -> str:
        return f"clip={self.clip:g}" if self.clip else ""


class TDNN(Op):
    """Conv1d over time (kernel 2C+1, dilation D, stride S, 'same' padding) + ReLU + LayerNorm + dropout."""

    def __init__(self, in_dim: int, out_dim: int, context: int, dilation: int, stride: int, cfg: OpConfig):
        super().__init__()
        self.context, self.dilation, self.stride = context, dilation, stride
        self.pad = context * dilation
        self.conv = nn.Conv1d(in_dim, out_dim, 2 * context + 1, stride=stride, dilation=dilation, padding=self.pad)
        self.act = Activation(channel_dim=1)
        self.norm = nn.LayerNorm(out_dim) if cfg.layer_norm else nn.Identity()
        self.drop = Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x.transpose(1, 2))).transpose(1, 2)
        return self.drop(self.norm(y))

    @torch.no_grad()
    def inherit(self, src: Op) -> bool:
        """Copy a TDNN's weights: the same kernel where the sizes agree, else its taps
        centred (zero-padded into a wider kernel, the middle ones of a narrower one). The
        taps keep their order, not their time offsets: for the same dilation the function is
        the same (C1D1 -> C2D1 exactly), for another the kernel is stretched (C1D1 -> C1D2),
        a close start on smooth speech features."""
        if not (isinstance(src, TDNN) and src.stride == self.stride
                and src.conv.weight.shape[:2] == self.conv.weight.shape[:2]
                and type(src.norm) is type(self.norm)):
            return False
        w, k = src.conv.weight, self.conv.weight.shape[2]
        kw = w.shape[2]
        self.conv.weight.zero_()
        if kw <= k:
            self.conv.weight[:, :, (k - kw) // 2:(k - kw) // 2 + kw] = w
        else:
            self.conv.weight.copy_(w[:, :, (kw - k) // 2:(kw - k) // 2 + k])
        self.conv.bias.copy_(src.conv.bias)
        if isinstance(self.norm, nn.LayerNorm):
            self.norm.load_state_dict(src.norm.state_dict())
        return True

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        k = 2 * self.context + 1
        return torch.div(lengths + 2 * self.pad - self.dilation * (k - 1) - 1, self.stride,
                         rounding_mode="floor") + 1


_TDNN_NAME = re.compile(r"^tdnn-C(?P<c>\d+)D(?P<d>\d+)(?:S(?P<s>\d+))?$")


@register_op_family("tdnn-")
def _tdnn(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    m = _TDNN_NAME.match(name)
    if not m:
        rest = name[len("tdnn-"):]
        if not re.match(r"^C\d+", rest):
            part = "C{half context} (e.g. C1) right after 'tdnn-'"
        elif not re.match(r"^C\d+D\d+", rest):
            part = "D{dilation} (e.g. D2) after the C part"
        else:
            part = "nothing, or S{stride} (e.g. S3), after the D part"
        raise OpNameError(f"malformed operation name {name!r}: expected {part}; "
                          f"the form is tdnn-C{{half context}}D{{dilation}}[S{{stride}}]")
    c, d, s = int(m["c"]), int(m["d"]), int(m["s"] or 1)
    if d < 1 or s < 1:
        raise OpNameError(f"malformed operation name {name!r}: dilation and stride must be >= 1")
    return TDNN(in_dim, out_dim, c, d, s, cfg)


class Identity(Op):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@register_op("identity")
def _identity(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    if in_dim != out_dim:
        raise OpNameError(f"'identity' needs equal input and output sizes, got {in_dim} -> {out_dim}")
    return Identity()


class Zero(Op):
    """No connection: zeros of the output size (lets a search drop an edge). A broadcast view of
    one zero, not a tensor of zeros: what autograd keeps of it (the ST step keeps the sampled
    op's output) then costs no memory."""

    def __init__(self, out_dim: int):
        super().__init__()
        self.out_dim = out_dim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.new_zeros(()).expand(x.shape[0], x.shape[1], self.out_dim)


@register_op("zero")
def _zero(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    return Zero(out_dim)


class Linear(Op):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x)


@register_op("linear")
def _linear(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    return Linear(in_dim, out_dim)


RELU_CLIP = 20.0        # NAS-Bench-ASR's activation: min(max(x, 0), 20)
FUTURE_CONTEXT = 4      # NAS-Bench-ASR's look-ahead: 4 input frames (40 ms) per conv layer


class PaddedConv(Op):
    """NAS-Bench-ASR's conv layer: Conv1d (kernel K, dilation D, stride S, G groups) on input
    padded with (K-1)D zero frames, min(4 // S, (K-1)D) of them on the right (the future) and the
    rest on the left, so that T frames give ceil(T / S); then ReLU clipped at 20 and dropout."""

    def __init__(self, in_dim: int, out_dim: int, kernel: int, dilation: int, stride: int, groups: int,
                 cfg: OpConfig):
        super().__init__()
        for what, dim in (("input", in_dim), ("output", out_dim)):
            if dim % groups:
                raise OpNameError(f"nbconv with {groups} groups needs {what} sizes divisible by {groups}, "
                                  f"got {dim} (scale the space's groups with its width)")
        self.kernel, self.dilation, self.stride, self.groups = kernel, dilation, stride, groups
        total = (kernel - 1) * dilation
        self.rpad = min(FUTURE_CONTEXT // stride, total)
        self.lpad = total - self.rpad
        self.conv = nn.Conv1d(in_dim, out_dim, kernel, stride=stride, dilation=dilation, groups=groups)
        self.drop = Dropout(cfg.dropout)
        self.act = Activation(RELU_CLIP, channel_dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(nn.functional.pad(x.transpose(1, 2), (self.lpad, self.rpad)))
        return self.drop(self.act(y).transpose(1, 2))

    def out_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return torch.div(lengths + self.stride - 1, self.stride, rounding_mode="floor")


_NBCONV_NAME = re.compile(r"^nbconv-K(?P<k>\d+)(?:D(?P<d>\d+))?(?:S(?P<s>\d+))?(?:G(?P<g>\d+))?$")


@register_op_family("nbconv-")
def _nbconv(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    m = _NBCONV_NAME.match(name)
    if not m:
        raise OpNameError(f"malformed operation name {name!r}: the form is "
                          f"nbconv-K{{kernel}}[D{{dilation}}][S{{stride}}][G{{groups}}], e.g. nbconv-K5D2G100")
    k, d, s, g = int(m["k"]), int(m["d"] or 1), int(m["s"] or 1), int(m["g"] or cfg.groups)
    if min(k, d, s, g) < 1:
        raise OpNameError(f"malformed operation name {name!r}: kernel, dilation, stride and groups must be >= 1")
    return PaddedConv(in_dim, out_dim, k, d, s, g, cfg)


class ClippedLinear(Op):
    """NAS-Bench-ASR's linear op: Linear, ReLU clipped at 20, dropout."""

    def __init__(self, in_dim: int, out_dim: int, cfg: OpConfig):
        super().__init__()
        self.linear = nn.Linear(in_dim, out_dim)
        self.act = Activation(RELU_CLIP)
        self.drop = Dropout(cfg.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(self.act(self.linear(x)))


@register_op("nblinear")
def _nblinear(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    return ClippedLinear(in_dim, out_dim, cfg)


def _same_size(name: str, in_dim: int, out_dim: int) -> None:
    if in_dim != out_dim:
        raise OpNameError(f"{name!r} needs equal input and output sizes, got {in_dim} -> {out_dim}")


class LayerNorm(Op):
    """LayerNorm over the features, eps 1e-3 (NAS-Bench-ASR's, after each stage conv and cell)."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim, eps=1e-3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x)


@register_op("layernorm")
def _layernorm(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    _same_size(name, in_dim, out_dim)
    return LayerNorm(out_dim)


class DropoutOp(Op):
    def __init__(self, p: float):
        super().__init__()
        self.drop = Dropout(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop(x)


@register_op("dropout")
def _dropout(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    _same_size(name, in_dim, out_dim)
    return DropoutOp(cfg.dropout)


class LSTM(Op):
    """A unidirectional LSTM layer. Padding frames come after an utterance's frames, so its valid
    outputs do not depend on them and no packing is needed."""

    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.lstm = nn.LSTM(in_dim, out_dim, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lstm(x)[0]


@register_op("lstm")
def _lstm(name: str, in_dim: int, out_dim: int, cfg: OpConfig) -> Op:
    return LSTM(in_dim, out_dim)
