"""Zero-cost proxies: scores of an untrained network from one minibatch, each as its paper defines it.

Every proxy takes a network of a space at initialization (a SuperNet built with one op per block,
in eval mode: dropout off, so that a score is a function of the weights and the batch alone) and a
Batch of variable-length utterances (nas.train.data), and returns a float where higher predicts a
better network (for params and flops: a bigger one). Speech batches are padded; the proxies handle
that as follows:

- the loss-based ones (grad_norm, snip, grasp, fisher) use CTC on each utterance's own output
  frames (the network's output lengths), mean over utterances. Padded frames enter no loss, and
  their activations get no gradient: SuperNet.logits zeroes every node's padding, and the last
  node's padded frames are past the CTC lengths;
- the ones that compare the utterances of the batch position by position (jacob_cov, naswot) see
  the batch cut to its shortest utterance, so that no utterance's padding enters the comparison;
- synflow sees no data at all: an all-ones input as long as the batch's longest utterance.

GraSP needs a Hessian-gradient product, and torch's CTC has no second derivative: it is a
forward difference of two gradients in float64 (a step of 1e-6 in the gradient's direction),
which the tests check against autograd's exact product on a loss that has one.
"""
from __future__ import annotations

import contextlib
import copy
import math
from typing import Callable, Dict, Iterator, List, Tuple

import torch
import torch.nn.functional as F

from nas.models.ops import Activation
from nas.models.supernet import SuperNet
from nas.train.data import Batch

Proxy = Callable[[SuperNet, Batch], float]
LossFn = Callable[[SuperNet, Batch], torch.Tensor]


def ctc_loss(net: SuperNet, batch: Batch) -> torch.Tensor:
    """CTC (blank 0) on the network's output lengths, mean over utterances, in the network's dtype
    (SuperNet.forward would cast to float32, which the float64 proxies cannot have)."""
    logits, out_lengths = net.logits(batch.feats, batch.lengths)
    log_probs = torch.log_softmax(logits, dim=-1)
    per_utt = F.ctc_loss(log_probs.transpose(0, 1), batch.targets, out_lengths, batch.target_lengths,
                         blank=0, reduction="none")
    return per_utt.mean()


def crop(batch: Batch) -> Batch:
    """The batch cut to its shortest utterance: every row valid, no padding."""
    n = int(batch.lengths.min())
    return Batch(batch.keys, batch.feats[:, :n].contiguous(), torch.full_like(batch.lengths, n),
                 batch.targets, batch.target_lengths, batch.path_weights)


def _as_double(net: SuperNet, batch: Batch) -> Tuple[SuperNet, Batch]:
    return copy.deepcopy(net).double(), Batch(batch.keys, batch.feats.double(), batch.lengths, batch.targets,
                                              batch.target_lengths, batch.path_weights)


def _params(net: SuperNet) -> List[torch.Tensor]:
    return [p for p in net.parameters() if p.requires_grad]


def _grads(net: SuperNet, batch: Batch, loss_fn: LossFn = ctc_loss) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, d loss / d parameter) for every parameter the loss reaches."""
    params = _params(net)
    grads = torch.autograd.grad(loss_fn(net, batch), params, allow_unused=True)
    return [(p, g) for p, g in zip(params, grads) if g is not None]


@contextlib.contextmanager
def _activations(net: SuperNet) -> Iterator[List[Tuple[Activation, torch.Tensor]]]:
    """The outputs of every Activation module of `net` during the block, in call order."""
    seen: List[Tuple[Activation, torch.Tensor]] = []
    handles = [m.register_forward_hook(lambda mod, _inp, out: seen.append((mod, out)))
               for m in net.modules() if isinstance(m, Activation)]
    try:
        yield seen
    finally:
        for h in handles:
            h.remove()


def grad_norm(net: SuperNet, batch: Batch) -> float:
    """The sum over parameter tensors of the L2 norm of the loss gradient (Abdelfattah et al.,
    "Zero-cost proxies for lightweight NAS", ICLR 2021)."""
    return float(sum(float(g.norm()) for _, g in _grads(net, batch)))


def snip(net: SuperNet, batch: Batch) -> float:
    """Connection sensitivity, summed over all weights: sum |theta * dL/dtheta| (Lee et al., "SNIP:
    single-shot network pruning based on connection sensitivity", ICLR 2019)."""
    return float(sum(float((p.detach() * g).abs().sum()) for p, g in _grads(net, batch)))


def hessian_gradient(net: SuperNet, batch: Batch, loss_fn: LossFn = ctc_loss, step: float = 1e-8
                     ) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """(parameter, its part of H g) with g the loss gradient and H its Hessian, by a forward
    difference (g(theta + e g) - g(theta)) / e with |e g| = `step` (in float64 the difference keeps
    about 7 digits: the rounding of the gradients is ~1e-13 of them, the truncation ~`step`).
    The parameters are restored."""
    pairs = _grads(net, batch, loss_fn)
    norm = math.sqrt(sum(float(g.pow(2).sum()) for _, g in pairs))
    if norm == 0.0:
        return [(p, torch.zeros_like(p)) for p, _ in pairs]
    e = step / norm
    with torch.no_grad():
        for p, g in pairs:
            p.add_(g, alpha=e)
    moved = {id(p): g for p, g in _grads(net, batch, loss_fn)}
    with torch.no_grad():
        for p, g in pairs:
            p.sub_(g, alpha=e)
    return [(p, (moved[id(p)] - g) / e) for p, g in pairs]


def grasp(net: SuperNet, batch: Batch) -> float:
    """Gradient signal preservation, summed: -sum theta * (H g) (Wang et al., "Picking winning
    tickets before training by preserving gradient flow", ICLR 2020), in float64 on a copy."""
    net64, batch64 = _as_double(net, batch)
    return float(-sum(float((p.detach() * hg).sum()) for p, hg in hessian_gradient(net64, batch64)))


def fisher(net: SuperNet, batch: Batch) -> float:
    """The Fisher information of the activations, summed over units: per unit (a channel of an
    activation), 1/2 of the batch mean of (sum over frames of a * dL/da)^2 (Theis et al., "Faster
    gaze prediction with dense networks and Fisher pruning", 2018; as a proxy, Abdelfattah et al.)."""
    with _activations(net) as acts:
        loss = ctc_loss(net, batch)
    if not acts:
        return 0.0
    grads = torch.autograd.grad(loss, [a for _, a in acts], allow_unused=True)
    total = 0.0
    for (mod, a), g in zip(acts, grads):
        if g is None:
            continue
        ch = mod.channel_dim % a.dim()
        per_unit = (a * g).sum(dim=[d for d in range(1, a.dim()) if d != ch])      # (N, C)
        total += float(0.5 * per_unit.detach().pow(2).mean(0).sum())
    return total


def _drop_layer_norms(net: torch.nn.Module) -> None:
    """Every nn.LayerNorm of `net` replaced by an identity, in place."""
    for name, child in net.named_children():
        if isinstance(child, torch.nn.LayerNorm):
            setattr(net, name, torch.nn.Identity())
        else:
            _drop_layer_norms(child)


def synflow(net: SuperNet, batch: Batch) -> float:
    """Synaptic flow: with every weight replaced by its absolute value, R = the sum of the output
    logits for an all-ones input, and the score sum theta * dR/dtheta (Tanaka et al., "Pruning neural
    networks without any data by iteratively conserving synaptic flow", NeurIPS 2020), in float64.
    Without the LayerNorms, as the proxy papers compute it without batch normalization: a
    normalization divides the flow by its own size and subtracts its mean, so that the scores lose
    the sign and the scale the proxy rests on."""
    net64 = copy.deepcopy(net).double()
    _drop_layer_norms(net64)
    with torch.no_grad():
        for p in net64.parameters():
            p.abs_()
    frames = int(batch.lengths.max())
    x = torch.ones(1, frames, batch.feats.shape[-1], dtype=torch.float64)
    logits, _ = net64.logits(x, torch.tensor([frames]))
    params = _params(net64)
    grads = torch.autograd.grad(logits.sum(), params, allow_unused=True)
    return float(sum(float((p.detach() * g).sum()) for p, g in zip(params, grads) if g is not None))


def jacob_cov(net: SuperNet, batch: Batch) -> float:
    """Jacobian covariance: with J_i the gradient of utterance i's summed output logits with
    respect to its input, and v the eigenvalues of the correlation matrix of the J_i over the
    batch, -sum(log(v + k) + 1 / (v + k)), k = 1e-5 (Mellor et al., "Neural architecture search
    without training", 2020, first version). On the batch cut to its shortest utterance."""
    b = crop(batch)
    x = b.feats.clone().requires_grad_(True)
    logits, _ = net.logits(x, b.lengths)
    (jac,) = torch.autograd.grad(logits.sum(), x)
    corr = torch.corrcoef(jac.reshape(len(b), -1).double())
    if not torch.isfinite(corr).all():
        return float("nan")            # an utterance whose Jacobian is constant has no correlation
    v = torch.linalg.eigvalsh(corr).clamp(min=0.0)
    k = 1e-5
    return float(-(torch.log(v + k) + 1.0 / (v + k)).sum())


def naswot(net: SuperNet, batch: Batch) -> float:
    """log |K_H|, K_H[i, j] the number of ReLU units on which utterances i and j agree (both active
    or both not), over every activation of the network (Mellor et al., "Neural architecture search
    without training", ICML 2021). On the batch cut to its shortest utterance."""
    b = crop(batch)
    with torch.no_grad(), _activations(net) as acts:
        net.logits(b.feats, b.lengths)
    if not acts:
        return float("nan")
    codes = torch.cat([(a > 0).reshape(len(b), -1) for _, a in acts], dim=1).double()
    k = codes @ codes.T + (1.0 - codes) @ (1.0 - codes).T
    return float(torch.linalg.slogdet(k).logabsdet)


def params(net: SuperNet, batch: Batch) -> float:
    """The parameter count (a baseline every proxy paper reports against)."""
    return float(sum(p.numel() for p in net.parameters()))


def flops(net: SuperNet, batch: Batch) -> float:
    """FLOPs of one second of input (nas.bench.ground_truth.flops_per_second, the tables' count)."""
    from nas.bench.ground_truth import flops_per_second
    return float(flops_per_second(net))


PROXIES: Dict[str, Proxy] = {"grad_norm": grad_norm, "snip": snip, "grasp": grasp, "fisher": fisher,
                             "synflow": synflow, "jacob_cov": jacob_cov, "naswot": naswot,
                             "params": params, "flops": flops}
