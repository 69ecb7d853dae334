"""The interface every search strategy implements, and what the strategies share.

A strategy owns the architecture weights alpha (one vector per searching block) and decides
(1) how the blocks mix their candidates in each update and which optimizer the update steps
(`updates()`, a generator of nas.strategies.update.Update), and (2) how the final
architecture is derived (`derive`). It never runs a forward pass or an optimizer step itself:
the training loop applies the updates, so that data parallelism, the NaN/inf check and
gradient clipping are the same for every method.

Each strategy has its own options (`Options`, a dataclass whose fields become the search
stage's flags prefixed with the strategy's name, e.g. --snas-update), `arch_adam`, the Adam
settings its reference used for alpha, and `arch_clip`, the norm its reference clips alpha's
gradient to (0: none); the search stage's --arch-lr, --arch-beta1, --arch-beta2,
--arch-weight-decay and --arch-grad-clip override them (docs/nas.md lists each reference and
each deviation from it).

With a latency model (nas.strategies.latency, --latency-table) the architecture updates carry
its soft term, and in hard mode `sample()` draws only architectures within the budget and
`derive()` returns the most probable one within it, for every method.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch
from torch import nn

from nas.models.supernet import Mixer, SearchBlock, SuperNet
from nas.strategies.latency import LatencyModel
from nas.strategies.update import Update, sample_choice, single_path


@dataclass(frozen=True)
class AdamSettings:
    """Adam for alpha as a method's paper (or its released code) sets it."""
    lr: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    weight_decay: float = 0.0


class ClippedAdam(torch.optim.Adam):
    """Adam whose step first clips the global norm of its parameters' gradients to `clip` (0: off).

    The training loop steps every optimizer after averaging the gradients across processes and
    checking them for NaN/inf, so clipping here happens where the references clip alpha's
    gradient: just before its step."""

    def __init__(self, params, clip: float = 0.0, **kw):
        super().__init__(params, **kw)
        self.clip = float(clip)

    def step(self, closure=None):
        if self.clip > 0:
            grads = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
            if grads:
                nn.utils.clip_grad_norm_(grads, self.clip)
        return super().step(closure)


class Strategy:
    """Base: alpha, sampling from pi, single-path weight updates, argmax derivation."""

    name = "base"
    Options: Optional[type] = None      # the strategy's own options dataclass, if it has options
    arch_adam = AdamSettings()
    arch_clip = 0.0                     # alpha's gradient norm clipped to this before each step (0: off)
    trains = True                       # False: no training epochs (random search only scores)

    def __init__(self, net: SuperNet, options=None, *, seed: int = 0, resource_coef: float = 0.0,
                 max_epochs: int = 1, latency: Optional[LatencyModel] = None):
        self.net = net
        self.options = options if options is not None else (self.Options() if self.Options else None)
        self.alpha = nn.ParameterList([nn.Parameter(torch.zeros(len(b.ops))) for b in net.blocks])
        self.resource_coef = float(resource_coef)
        self.max_epochs = max(1, int(max_epochs))
        self.generator = torch.Generator().manual_seed(seed)
        self.latency = latency
        # parameters of every candidate, in millions: the resource term's cost table
        self._costs = [torch.tensor(c, dtype=torch.float32) / 1e6 for c in net.op_params()]

    # --- architecture distribution
    def arch_parameters(self) -> List[nn.Parameter]:
        return list(self.alpha)

    def arch_optimizer(self, lr: Optional[float] = None, beta1: Optional[float] = None,
                       beta2: Optional[float] = None, weight_decay: Optional[float] = None,
                       clip: Optional[float] = None) -> ClippedAdam:
        """Adam over alpha with the method's settings (`arch_adam`, `arch_clip`), each overridable."""
        d = self.arch_adam
        pick = lambda v, default: default if v is None else v      # noqa: E731
        return ClippedAdam(self.arch_parameters(), clip=pick(clip, self.arch_clip), lr=pick(lr, d.lr),
                           betas=(pick(beta1, d.beta1), pick(beta2, d.beta2)),
                           weight_decay=pick(weight_decay, d.weight_decay))

    def to(self, device: torch.device) -> "Strategy":
        self.alpha.to(device)
        return self

    def probs(self) -> List[torch.Tensor]:
        return [torch.softmax(a, dim=0) for a in self.alpha]

    def sample(self) -> List[int]:
        """One candidate index per block, drawn from pi (hard latency mode: within the budget)."""
        if self.latency is not None and self.latency.hard:
            return self.latency.sample(self.probs(), self.generator)
        return sample_choice(self.net, self.generator, self.probs())

    def expected_params(self) -> torch.Tensor:
        """E_pi[parameter count] of the sub-graph, in millions; differentiable in alpha."""
        return sum((p * c.to(p)).sum() for p, c in zip(self.probs(), self._costs))

    def resource_loss(self) -> torch.Tensor:
        return self.resource_coef * self.expected_params()

    def arch_extra(self) -> Optional[Callable[[], torch.Tensor]]:
        """The terms added to alpha's loss: the resource term and the additive latency term."""
        terms = [self.resource_loss] if self.resource_coef else []
        lat = self.latency.additive(self.probs) if self.latency is not None else None
        terms += [lat] if lat is not None else []
        if not terms:
            return None
        return terms[0] if len(terms) == 1 else (lambda: sum(t() for t in terms))

    def arch_objective(self) -> Optional[Callable[[torch.Tensor], torch.Tensor]]:
        """The multiplicative latency forms' loss -> loss x factor (None otherwise). The training step
        applies it through Update.total; one handed out before and never applied is an error, so
        that a step that ignores it cannot silently search without the latency term."""
        if self.latency is None:
            return None
        if self.latency.objective_pending:
            raise RuntimeError("the training step did not apply the latency objective of the last architecture "
                               "update (Update.objective): nas.train.step.apply_update must minimize "
                               "update.total(loss) for --latency-form " + self.latency.form)
        return self.latency.objective(self.probs)

    @property
    def min_epochs(self) -> int:
        """Epochs the search must run before any stop rule may end it (SNAS: its anneal)."""
        return 0

    def set_progress(self, step: int, steps_per_epoch: int) -> None:
        """Called before every training batch's updates: `step` batches done so far, of
        `steps_per_epoch` per epoch. Schedules (SNAS's temperature) go here."""

    # --- updates
    def updates(self) -> Iterator[Update]:
        """The updates of one training batch, yielded one at a time: each is applied before the
        next is made, so that a later one sees the earlier one's effect on alpha."""
        raise NotImplementedError

    def arch_update(self, mixer: Mixer) -> Update:
        """An update of alpha on a held-out batch, weights frozen, with the resource term."""
        return Update("arch_loss", mixer, ("arch",), heldout=True, extra=self.arch_extra(),
                      objective=self.arch_objective())

    def weight_update(self) -> Update:
        """A sub-graph sampled from pi; only its ops run and get gradients."""
        return single_path(self.net, self.sample())

    # --- the result
    def derive(self, evaluate: Optional[Callable[[Dict[str, str]], float]] = None) -> Dict[str, str]:
        """The architecture the search found: the top-1 candidate of every block. `evaluate(arch)`
        (held-out loss of a sub-graph with the super-network's weights) is there for methods that
        score candidates (random search). Hard latency mode: the most probable architecture within
        the budget (exact, nas.strategies.latency.best_within)."""
        if self.latency is not None and self.latency.hard:
            return self.arch_of(self.latency.best(self.probs()))
        return self.arch_of([int(torch.argmax(a.detach())) for a in self.alpha])

    def final_probs(self) -> Optional[Dict[str, Dict[str, float]]]:
        """Every block's probabilities, for arch.json (None where they mean nothing)."""
        return {b.name: {c: round(float(x), 6) for c, x in zip(b.candidates, p.detach().cpu())}
                for b, p in zip(self.net.blocks, self.probs())}

    def reports(self) -> Dict[str, object]:
        """Extra JSON files for the search dir, by name."""
        return {}

    def arch_of(self, choice: Sequence[int]) -> Dict[str, str]:
        return {b.name: b.candidates[k] for b, k in zip(self.net.blocks, choice)}

    # --- checkpoints
    def latency_record(self, arch: Dict[str, str]) -> Optional[Dict[str, object]]:
        """arch.json's "latency" for the derived `arch` (None without a latency table)."""
        if self.latency is None:
            return None
        choice = [b.candidates.index(arch[b.name]) for b in self.net.blocks]
        return self.latency.record(choice, self.probs() if self.trains else None)

    def state_dict(self) -> dict:
        out = {"alpha": [a.detach().cpu().clone() for a in self.alpha], "generator": self.generator.get_state()}
        if self.latency is not None:
            out["latency"] = self.latency.state_dict()
        return out

    def load_state_dict(self, state: dict) -> None:
        with torch.no_grad():
            for a, s in zip(self.alpha, state["alpha"]):
                a.copy_(s)
        self.generator.set_state(state["generator"])
        if self.latency is not None and "latency" in state:
            self.latency.load_state_dict(state["latency"])


class _STCombine(torch.autograd.Function):
    """Forward: the sampled op's output. Backward: dL/dy unchanged into it, <dL/dy, out_k> into pi_k.

    The non-sampled outputs are either given (computed in the forward and stored, the
    paper's C1 + (K-1) C2 memory) or recomputed here one at a time from the block input
    (the same compute, moved from the forward to the backward; memory about C1).
    """

    @staticmethod
    def forward(ctx, y_z, pi, x, block, ks, iz, *stored):
        ctx.block, ctx.ks, ctx.iz, ctx.n_stored = block, ks, iz, len(stored)
        ctx.pi_dtype = pi.dtype
        # the backward's recomputation runs under the forward's autocast (bf16 training), as
        # torch.utils.checkpoint's does: autocast is off in the backward pass
        ctx.autocast = (torch.is_autocast_enabled(x.device.type), torch.get_autocast_dtype(x.device.type))
        ctx.save_for_backward(y_z, x, *stored)
        return y_z.view_as(y_z)

    @staticmethod
    def backward(ctx, grad_y):
        y_z, x, *stored = ctx.saved_tensors
        grad_pi = torch.empty(len(ctx.ks), dtype=ctx.pi_dtype, device=grad_y.device)
        others = iter(stored)
        enabled, dtype = ctx.autocast
        for i, k in enumerate(ctx.ks):
            if i == ctx.iz:
                out = y_z
            elif ctx.n_stored:
                out = next(others)
            else:
                with torch.no_grad(), torch.autocast(x.device.type, dtype=dtype, enabled=enabled):
                    out = ctx.block.ops[k](x)
            grad_pi[i] = torch.sum(grad_y.float() * out.float())
            del out
        return (grad_y, grad_pi, None, None, None, None) + (None,) * ctx.n_stored


def straight_through(block: SearchBlock, x: torch.Tensor, pi: torch.Tensor, z: int,
                     candidates: Optional[Sequence[int]] = None, recompute: bool = True) -> torch.Tensor:
    """ST combination (paper eq. 10): the value of op z, the gradient <dL/dy, out_k> into every pi_k.

    Only op z keeps autograd history; the others run without it. With `recompute` they run
    in the backward pass, when dL/dy is known, and each output is dropped once its inner
    product is taken; without it they run in the forward and are stored (the (K-1) C2 of the
    paper's Table 1). `candidates` limits the ops computed (ProxylessNAS evaluates two) and
    then `pi` holds their probabilities in that order.
    """
    ks = list(range(len(block.ops))) if candidates is None else list(candidates)
    iz = ks.index(z)
    y_z = block.ops[z](x)
    stored = []
    if not recompute:
        with torch.no_grad():
            stored = [block.ops[k](x) for k in ks if k != z]
    return _STCombine.apply(y_z, pi, x.detach(), block, ks, iz, *stored)
