#!/usr/bin/env python3
"""Peak memory and step time of NAS steps against training the single model (the paper's Table 1).

--space wsj (default): the WSJ space at its real sizes (hidden 640, 120-dim input, 72 tokens).
--space nb_asr: NAS-Bench-ASR's cell space at its full size (18 cells of 600-1200 channels whose
9 tied blocks share one genotype, 80-dim input, 49 tokens). One batch of random features
(N=16, 900 frames by default), CTC loss. Each case runs in its own process so that one case's
memory does not leak into another's:

  single          a training step of a single model (Adam), over sub-graphs of the space drawn
                  uniformly: one fresh model per timed step, median over them
  tdnn_d          the same for the hand-designed TDNN-D (nas/spaces/wsj_tdnn_d.arch.json),
                  the smallest member of the space (kernel 3 everywhere); wsj only
  st_arch         ST-NAS architecture step (all K candidates computed, ST gradient into alpha;
                  the non-sampled outputs recomputed in the backward, the default)
  st_arch_stored  the same with the non-sampled outputs stored from the forward (the paper's
                  C1 + (K-1) C2)
  st_weight       ST-NAS weight step (one sampled sub-graph of the super-network)
  darts           DARTS architecture step (softmax mixture of all candidates)
  snas            SNAS architecture step (Gumbel-softmax mixture of all candidates)

On CPU, memory is the process's resident set (Linux VmHWM / VmRSS). Large blocks are made to
go through mmap (MALLOC_MMAP_THRESHOLD_) so that freed tensors leave the resident set and the
peak reflects live memory. With --device cuda it is the GPU memory torch allocates
(torch.cuda.memory_allocated and max_memory_allocated, the paper's Table 1 measure), the step
times synchronized. Two figures per case: `peak` is the whole process's peak RSS
over the timed steps; `step` is that peak minus the RSS just before the timed steps (weights,
optimizer state and the batch are resident then), i.e. what a step adds: activations kept for
backward, gradients and temporaries. The ratios (and the targets) compare `step`: the
super-network's weights (35.3M parameters against 7.7-10M for one sub-graph) are resident in
every search method alike and show in `resident` and `peak` (nb_asr's super-network: 88M).

Prints a table and, as its last line, one JSON object with single_mb, st_arch_mb, st_weight_mb,
darts_mb, snas_mb (step memory, MB) and single_s, st_arch_s, st_weight_s, darts_s, snas_s
(median step time, s), plus the peaks as *_peak_mb.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

CASES = ["single", "tdnn_d", "st_arch", "st_arch_stored", "st_weight", "darts", "snas"]
# per space: feature size, tokens, output frames per input frame (for the targets' length)
SPACES = {"wsj": {"feat_dim": 120, "tokens": 72, "stride": 3 * 3, "label": "WSJ space, hidden 640"},
          "nb_asr": {"feat_dim": 80, "tokens": 49, "stride": 4 * 2,
                     "label": "NAS-Bench-ASR cell space, 18 cells of 600-1200 channels"}}
ARCH_JSON = Path(__file__).resolve().parent.parent / "nas" / "spaces" / "wsj_tdnn_d.arch.json"


def _status_kb(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {key}")


def _reset_peak() -> None:
    """Reset VmHWM to the current RSS (Linux clear_refs 5)."""
    Path("/proc/self/clear_refs").write_text("5")


class _Memory:
    """Resident and peak memory in KB: the process's (CPU) or torch's allocations on a GPU."""

    def __init__(self, device: str):
        import torch
        self.torch, self.cuda = torch, device.startswith("cuda")

    def before(self) -> int:
        if self.cuda:
            self.torch.cuda.synchronize()
            self.torch.cuda.reset_peak_memory_stats()
            return self.torch.cuda.memory_allocated() // 1024
        rss = _status_kb("VmRSS")
        _reset_peak()
        return rss

    def peak(self) -> int:
        if self.cuda:
            self.torch.cuda.synchronize()
            return self.torch.cuda.max_memory_allocated() // 1024
        return _status_kb("VmHWM")


def run_case(case: str, n: int, frames: int, steps: int, warmup: int, seed: int,
             space_name: str = "wsj", device: str = "cpu") -> Dict[str, float]:
    import torch
    import torch.nn.functional as F

    from nas.models.space import load_space
    from nas.models.supernet import SuperNet
    from nas.strategies import StrategyOptions, get_strategy
    from nas.strategies.update import sample_choice
    from nas.train.data import Batch
    from nas.train.step import apply_update

    torch.manual_seed(seed)
    space = load_space(space_name, verbose=False)
    tokens, feat_dim = SPACES[space_name]["tokens"], SPACES[space_name]["feat_dim"]
    x = torch.randn(n, frames, feat_dim)
    lengths = torch.full((n,), frames, dtype=torch.long)
    target_len = frames // SPACES[space_name]["stride"]     # well inside the subsampled output
    targets = torch.randint(1, tokens, (n, target_len))
    target_lengths = torch.full((n,), target_len, dtype=torch.long)
    batch = Batch([f"u{i}" for i in range(n)], x, lengths, targets, target_lengths, torch.zeros(n)).to(device)
    x, lengths, targets, target_lengths = batch.feats, batch.lengths, batch.targets, batch.target_lengths
    memory = _Memory(device)

    def ctc(log_probs, tgt, out_lengths, tgt_lengths, path_weights=None):
        return F.ctc_loss(log_probs.transpose(0, 1), tgt, out_lengths, tgt_lengths, zero_infinity=True)

    def measure(step, params: int, timed: int) -> List[Dict[str, float]]:
        """`warmup` untimed steps, then `timed` steps each with its RSS before and its peak."""
        for _ in range(warmup):
            step()
        runs = []
        for _ in range(timed):
            resident = memory.before()
            t0 = time.perf_counter()
            step()
            peak = memory.peak()                  # synchronizes a GPU first
            runs.append({"resident": resident, "peak": peak, "time": time.perf_counter() - t0, "params": params})
        return runs

    def single_model(arch, timed: int) -> List[Dict[str, float]]:
        net = SuperNet(space, feat_dim, tokens, arch=arch).to(device).train()
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)

        def step() -> float:
            log_probs, out_lengths = net(x, lengths)
            loss = ctc(log_probs, targets, out_lengths, target_lengths)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return float(loss)
        return measure(step, sum(p.numel() for p in net.parameters()), timed)

    if case == "single":
        # a fresh single model per timed step, over sub-graphs drawn uniformly (the ST sampling
        # distribution at alpha = 0): compared with the same kind of sub-graphs the steps run
        picker = get_strategy("st", SuperNet(space, feat_dim, tokens), seed=seed)
        gen = torch.Generator().manual_seed(seed)
        archs = [picker.arch_of(sample_choice(picker.net, gen)) for _ in range(steps)]
        del picker
        runs = [r for arch in archs for r in single_model(arch, 1)]
    elif case == "tdnn_d":
        runs = single_model(json.loads(ARCH_JSON.read_text())["choices"], steps)
    else:
        net = SuperNet(space, feat_dim, tokens).to(device).train()
        method = "st" if case.startswith("st_") else case
        options = StrategyOptions()
        options.st.recompute = case != "st_arch_stored"
        options.snas.update = "alternate"          # its first update is then the architecture step alone
        strategy = get_strategy(method, net, options, seed=seed).to(torch.device(device))
        if case == "st_weight":
            opts = {"weights": torch.optim.Adam(net.parameters(), lr=1e-3)}
            def step() -> float:
                return apply_update(strategy.weight_update(), batch, net, ctc, opts)[0]
        else:
            opts = {"arch": strategy.arch_optimizer()}
            def step() -> float:       # the first update of a batch: the architecture step
                return apply_update(next(strategy.updates()), batch, net, ctc, opts)[0]
        runs = measure(step, sum(p.numel() for p in net.parameters()), steps)
    med = statistics.median
    return {"case": case, "params_m": med(r["params"] for r in runs) / 1e6,
            "resident_mb": med(r["resident"] for r in runs) / 1024,
            "peak_mb": med(r["peak"] for r in runs) / 1024,
            "step_mb": med(r["peak"] - r["resident"] for r in runs) / 1024,
            "median_s": med(r["time"] for r in runs), "threads": torch.get_num_threads(), "device": device}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=16, help="utterances per batch")
    ap.add_argument("--frames", type=int, default=900, help="frames per utterance")
    ap.add_argument("--steps", type=int, default=5, help="timed steps per case (median reported)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps first (optimizer state, caches)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--space", default="wsj", choices=sorted(SPACES), help="the search space (see above)")
    ap.add_argument("--cases", default=",".join(CASES), help="comma-separated subset of " + ",".join(CASES))
    ap.add_argument("--device", default="cpu", help="cpu, or cuda: GPU memory (torch's allocations) and times")
    ap.add_argument("--case", help=argparse.SUPPRESS)   # internal: run one case in this process
    args = ap.parse_args()

    if args.case:
        print(json.dumps(run_case(args.case, args.n, args.frames, args.steps, args.warmup, args.seed, args.space,
                                  args.device)))
        return
    if args.space != "wsj" and "tdnn_d" in args.cases.split(","):
        if args.cases != ",".join(CASES):
            sys.exit("bench_search.py: the tdnn_d case is the WSJ space's hand-designed model (--space wsj)")
        args.cases = ",".join(c for c in CASES if c != "tdnn_d")

    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
    rows = {}
    for case in args.cases.split(","):
        if case not in CASES:
            sys.exit(f"bench_search.py: unknown case {case!r}; known: {', '.join(CASES)}")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--case", case, "--n", str(args.n),
               "--frames", str(args.frames), "--steps", str(args.steps), "--warmup", str(args.warmup),
               "--seed", str(args.seed), "--space", args.space, "--device", args.device]
        out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
        rows[case] = json.loads(out.strip().splitlines()[-1])

    base = rows.get("single")
    sp = SPACES[args.space]
    print(f"{sp['label']}, input {sp['feat_dim']}, {sp['tokens']} tokens, N={args.n}, T={args.frames}, CTC; "
          f"median of {args.steps} steps, {next(iter(rows.values()))['threads']} threads, {args.device}")
    print(f"{'case':<14} {'params(M)':>9} {'resident MB':>11} {'peak MB':>8} {'step MB':>8} "
          f"{'x single':>8} {'step s':>7} {'x single':>8}")
    for case, r in rows.items():
        mem_x = f"{r['step_mb'] / base['step_mb']:.2f}" if base else "-"
        time_x = f"{r['median_s'] / base['median_s']:.2f}" if base else "-"
        print(f"{case:<14} {r['params_m']:>9.2f} {r['resident_mb']:>11.0f} {r['peak_mb']:>8.0f} "
              f"{r['step_mb']:>8.0f} {mem_x:>8} {r['median_s']:>7.3f} {time_x:>8}")
    summary = {}
    for case, r in rows.items():
        summary[f"{case}_mb"] = round(r["step_mb"], 1)
    for case, r in rows.items():
        summary[f"{case}_s"] = round(r["median_s"], 4)
    for case, r in rows.items():
        summary[f"{case}_peak_mb"] = round(r["peak_mb"], 1)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
