"""Pure PyTorch reference of the denominator's log-partition, written to be read.

A forward pass in the log semiring over the graph's arcs, one frame at a time;
autograd gives the gradient (the posterior occupancy of each label). Slow but
device-agnostic; the tests compare the compiled kernels against it.
"""
from __future__ import annotations

import torch

from ctc_crf.graph import DenGraph


def den_log_partition_reference(graph: DenGraph, log_probs: torch.Tensor, input_lengths: torch.Tensor) -> torch.Tensor:
    """log Z per utterance: log sum over all paths of the graph of sum_t log_probs[t, label] + path weight."""
    g = graph.to(log_probs.device).tensors(log_probs.dtype)
    n, t_max, _ = log_probs.shape
    s = graph.num_states
    dst = torch.repeat_interleave(torch.arange(s, device=log_probs.device), g["in_ptr"].diff())
    src, logw = g["in_src"].long(), g["in_logw"]
    label = g["state_label"].clamp(min=0)
    neg_inf = torch.tensor(float("-inf"), dtype=log_probs.dtype, device=log_probs.device)

    alpha = torch.full((n, s), float("-inf"), dtype=log_probs.dtype, device=log_probs.device)
    alpha[:, graph.start] = 0.0
    lengths = input_lengths.to(log_probs.device).long()
    for t in range(t_max):
        scores = alpha[:, src] + logw                                   # (N, A): arrive by each arc
        m = torch.full((n, s), float("-inf"), dtype=log_probs.dtype, device=log_probs.device)
        m = m.scatter_reduce(1, dst.expand(n, -1), scores, "amax").detach()
        m = torch.where(torch.isinf(m), torch.zeros_like(m), m)         # stabilizer only
        summed = torch.zeros_like(m).index_add(1, dst, torch.exp(scores - m[:, dst]))
        reached = summed > 0
        arrived = torch.where(reached, torch.log(torch.where(reached, summed, 1.0)) + m, neg_inf)
        new_alpha = arrived + log_probs[:, t, label]                    # emit the state's label
        alpha = torch.where((t < lengths)[:, None], new_alpha, alpha)
    return torch.logsumexp(alpha + g["final_logw"], dim=1)
