"""One data-parallel training step under torchrun, for the multi-node launcher test
(utils/srun_torchrun.sh): nas.train.distributed's process group (gloo on CPU), a small model in
DistributedDataParallel, each rank its own half of a batch; rank 0 writes the updated weights and
the weights of the same step taken on the whole batch in one process, which must agree.

  torchrun --nproc-per-node 2 tests/ddp_step.py <out.json>
"""
from __future__ import annotations

import json
import sys

import torch
from torch.nn.parallel import DistributedDataParallel

from nas.train.distributed import init_distributed, shutdown


def model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1))


def step(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> None:
    opt = torch.optim.SGD(net.parameters(), lr=0.5)
    opt.zero_grad()
    torch.nn.functional.mse_loss(net(x), y).backward()
    opt.step()


def main() -> None:
    d = init_distributed("cpu")
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(8, 6, generator=g), torch.randn(8, 1, generator=g)
    half = 8 // d.world
    ddp = DistributedDataParallel(model())
    step(ddp, x[d.rank * half:(d.rank + 1) * half], y[d.rank * half:(d.rank + 1) * half])
    got = torch.cat([p.detach().reshape(-1) for p in ddp.module.parameters()])
    ranks = d.sum_scalars([float(d.rank)])[0]
    if d.main:
        ref = model()
        step(ref, x, y)
        want = torch.cat([p.detach().reshape(-1) for p in ref.parameters()])
        changed = float((want - torch.cat([p.detach().reshape(-1) for p in model().parameters()])).abs().max())
        with open(sys.argv[1], "w") as f:
            json.dump({"world": d.world, "rank_sum": ranks, "max_diff": float((got - want).abs().max()),
                       "step_size": changed}, f)
    shutdown(d)


if __name__ == "__main__":
    main()
