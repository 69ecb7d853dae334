#!/usr/bin/env python3
"""The GPU path checked in one run: the CUDA den kernel, stages 4-8 on cuda, the search's GPU memory.

Run by tools/gpu_check.sh (which installs carried wheels and unpacks carried data first); each
step reports ok, failed (with why) or skipped (with why), and the JSON summary is rewritten after
every step, so a run stopped at its time limit keeps what it measured:

  build       the ctc_crf extension built in place against this machine's torch (setup.py
              build_ext --inplace; for the GPU's own architecture: TORCH_CUDA_ARCH_LIST)
  env         Python, torch, CUDA, the GPU, which kernels import
  kernel      the CUDA den kernel against the CPU kernel: log Z and gradients on random batches of
              mixed lengths (a small graph, N = 1, 5, 16) and on tools/bench_ctc_crf.py's WSJ-sized
              graph; float32 to 1e-4 relative, float64 to 1e-9
  throughput  forward-backward arc-frames per second on the WSJ-sized graph, T = 300, N = 16..128:
              the CUDA kernel, the CPU kernel and torch.sparse on the GPU
  recipe      egs/synth/run.sh --tiny true stages 4-8 with --device cuda and with --device cpu, the
              same seed: held-out losses, test WER and arch.json side by side (finite and close,
              not equal: GPU kernels sum in another order)
  memory      tools/bench_search.py --device cuda at the paper's sizes: ST architecture and
              weight steps, DARTS, SNAS against a single model (torch.cuda.max_memory_allocated)

--dry-run (a machine without CUDA) runs in each step what needs no GPU and says what it
skipped: the build only if the extension does not import; the CPU kernel against the PyTorch
reference; the CPU kernel's throughput; the recipe on cpu; bench_search on cpu at a small size
(the single model and the ST architecture step).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

REPO = Path(__file__).resolve().parent.parent
TOLERANCE = {"float32": 1e-4, "float64": 1e-9}


class Skip(Exception):
    """A step (or part of one) that cannot run here; the message says why."""


class Check:
    """The steps' results, written to `out` after each step; the run's time budget."""

    def __init__(self, out: Path, dry_run: bool, budget_s: float, t0: float):
        self.out, self.dry_run, self.budget_s, self.t0 = out, dry_run, budget_s, t0
        self.results: Dict[str, dict] = {}

    def left(self) -> float:
        return self.budget_s - (time.time() - self.t0)

    def run(self, name: str, fn: Callable[["Check"], dict], needs_s: float) -> None:
        start = time.time()
        if self.left() < needs_s:
            res = {"status": "skipped", "why": f"out of time: {self.left():.0f} s left of {self.budget_s:.0f}, "
                                               f"the step needs about {needs_s:.0f}"}
        else:
            try:
                res = fn(self)
                res.setdefault("status", "ok")
            except Skip as e:
                res = {"status": "skipped", "why": str(e)}
            except Exception as e:       # one broken step must not lose the others' figures
                res = {"status": "failed", "why": f"{type(e).__name__}: {e}"}
        res["seconds"] = round(time.time() - start, 1)
        self.results[name] = res
        print(f"--- {name}: {res['status']}" + (f" ({res['why']})" if "why" in res else "")
              + f" [{res['seconds']} s]", flush=True)
        self.write()

    def write(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        doc = {"dry_run": self.dry_run, "host": platform.node(), "elapsed_s": round(time.time() - self.t0, 1),
               "steps": self.results}
        (self.out / "gpu_check.json").write_text(json.dumps(doc, indent=1) + "\n")


def _cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def _sync() -> None:
    import torch
    if torch.cuda.is_available():
        torch.cuda.synchronize()


# ---------------------------------------------------------------------------------------- steps

def step_build(c: Check) -> dict:
    import torch
    if c.dry_run:
        try:
            import ctc_crf._den_cpu  # noqa: F401
            return {"status": "skipped", "why": "dry run: the installed extension imports (ctc_crf._den_cpu)"}
        except ImportError:
            pass
    env = dict(os.environ)
    if torch.cuda.is_available() and "TORCH_CUDA_ARCH_LIST" not in env:
        major, minor = torch.cuda.get_device_capability()
        env["TORCH_CUDA_ARCH_LIST"] = f"{major}.{minor}"            # the GPU's own code (sm_90 on an H200)
    log = c.out / "build.log"
    r = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace"], cwd=REPO, env=env,
                       stdout=open(log, "w"), stderr=subprocess.STDOUT)
    if r.returncode != 0:
        tail = log.read_text().splitlines()[-5:]
        raise RuntimeError(f"setup.py build_ext failed (rc {r.returncode}; {log}): {' | '.join(tail)}")
    built = sorted(p.name for p in (REPO / "src" / "ctc_crf").glob("_den_*.so"))
    return {"built": built, "arch_list": env.get("TORCH_CUDA_ARCH_LIST", ""), "log": str(log)}


def step_env(c: Check) -> dict:
    import torch
    from ctc_crf import has_kernel
    res = {"python": platform.python_version(), "torch": torch.__version__, "cuda": torch.version.cuda,
           "cuda_available": torch.cuda.is_available(), "cpu_kernel": has_kernel("cpu"),
           "threads": torch.get_num_threads(),
           # what the recipe's scripts call (utils/run.pl is Perl): a bare image may lack one
           "programs": {x: shutil.which(x) is not None for x in ("bash", "perl", "awk", "sed", "sort", "nvcc")}}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        res.update(gpu=p.name, capability=f"{p.major}.{p.minor}", gpu_memory_gib=round(p.total_memory / 2 ** 30, 1),
                   cuda_kernel=has_kernel("cuda"))
        if not res["cuda_kernel"]:
            res.update(status="failed", why="ctc_crf._den_cuda does not import: the CUDA kernel was not built")
    elif not c.dry_run:
        res.update(status="failed", why="no CUDA device (pass --dry-run on a machine without one)")
    return res


def _small_graph(tokens: int = 6):
    from ctc_crf import DenGraph
    from nas.graphs.den_graph import compose_ctc_lm
    from nas.lm.phone_lm import PhoneLM
    rng = random.Random(0)
    seqs = [[rng.randint(2, tokens) for _ in range(rng.randint(2, 9))] for _ in range(200)]
    lm = PhoneLM.estimate(seqs, range(2, tokens + 1), order=3)
    return DenGraph(compose_ctc_lm(lm.to_arrays(), tokens), "random 3-gram")


def _compare(graph, n: int, t: int, dtype, side_a: Callable, side_b: Callable, seed: int) -> dict:
    """log Z and gradient of two implementations on one random batch of mixed lengths."""
    import torch
    g = torch.Generator().manual_seed(seed)
    lp = torch.randn(n, t, graph.num_tokens, generator=g, dtype=dtype).mul(2).log_softmax(-1)
    lengths = torch.randint(max(1, t // 3), t + 1, (n,), generator=g)
    lengths[0] = t
    out = []
    for side in (side_a, side_b):
        x = lp.clone().requires_grad_()
        z = side(graph, x, lengths)
        z.sum().backward()
        out.append((z.detach().cpu(), x.grad.cpu()))
    (za, ga), (zb, gb) = out
    finite = bool(torch.isfinite(za).all() and torch.isfinite(zb).all())
    rel = float(((za - zb).abs() / zb.abs().clamp_min(1.0)).max())
    grad = float((ga - gb).abs().max())          # occupancies: probabilities, so absolute = relative to 1
    tol = TOLERANCE[str(dtype).replace("torch.", "")]
    return {"n": n, "t": t, "dtype": str(dtype).replace("torch.", ""), "log_z_rel": rel, "grad_abs": grad,
            "ok": finite and rel <= tol and grad <= tol}


def step_kernel(c: Check) -> dict:
    import torch
    from ctc_crf import den_log_partition, den_log_partition_reference
    from bench_ctc_crf import wsj_sized_graph

    def cpu_kernel(graph, x, lengths):
        return den_log_partition(graph, x, lengths, use_kernel=True)

    def reference(graph, x, lengths):
        return den_log_partition_reference(graph, x, lengths)

    def cuda_kernel(graph, x, lengths):
        return den_log_partition(graph.to("cuda"), x.to("cuda"), lengths.to("cuda"), use_kernel=True)

    if _cuda():
        a, b, what = cuda_kernel, cpu_kernel, "CUDA kernel against the CPU kernel"
        cases = [("small", n, t) for n, t in ((1, 37), (5, 120), (16, 300))] + [("wsj", 4, 300), ("wsj", 16, 300)]
    elif c.dry_run:
        a, b, what = cpu_kernel, reference, "CPU kernel against the PyTorch reference (dry run: no CUDA)"
        cases = [("small", n, t) for n, t in ((1, 37), (5, 60))] + [("wsj", 2, 20)]
    else:
        raise Skip("no CUDA device")
    graphs = {"small": _small_graph()}
    rows = []
    for i, (name, n, t) in enumerate(cases):
        if name not in graphs:
            graphs[name] = wsj_sized_graph()
        for dtype in (torch.float32, torch.float64):
            rows.append({"graph": name, **_compare(graphs[name], n, t, dtype, a, b, seed=i)})
    res = {"compared": what, "cases": rows,
           "graphs": {k: {"states": g.num_states, "arcs": g.num_arcs} for k, g in graphs.items()}}
    bad = [r for r in rows if not r["ok"]]
    if bad:
        res.update(status="failed", why=f"{len(bad)} of {len(rows)} comparisons beyond tolerance {TOLERANCE}: "
                                        f"e.g. {bad[0]}")
    if c.dry_run:
        res["not_run"] = "the CUDA kernel (no CUDA device)"
    return res


def _timed(fn: Callable[[], None], repeat: int) -> float:
    """Median seconds of `repeat` runs after one warm-up run (synchronized on a GPU)."""
    fn()
    _sync()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        _sync()
        times.append(time.perf_counter() - t)
    return sorted(times)[len(times) // 2]


def step_throughput(c: Check) -> dict:
    import torch
    from ctc_crf import den_log_partition
    from bench_ctc_crf import sparse_forward_backward, wsj_sized_graph
    torch.set_flush_denormal(True)
    graph = wsj_sized_graph()
    cuda = _cuda()
    if not cuda and not c.dry_run:
        raise Skip("no CUDA device")
    sizes, t, repeat = ((16, 32, 64, 128), 300, 3) if cuda else ((16,), 100, 1)
    rows = []
    for n in sizes:
        gen = torch.Generator().manual_seed(n)
        lp = torch.randn(n, t, graph.num_tokens, generator=gen).mul(3).log_softmax(-1)
        lengths = torch.full((n,), t, dtype=torch.int64)
        lengths[1::2] = t - t // 10
        work = graph.num_arcs * int(lengths.sum())
        row = {"n": n, "t": t}

        def kernel(x, ln, g):
            y = x.detach().requires_grad_()
            den_log_partition(g, y, ln, use_kernel=True).sum().backward()
        row["cpu_kernel"] = work / _timed(lambda: kernel(lp, lengths, graph), repeat)
        if cuda:
            g_cuda, lp_cuda, ln_cuda = graph.to("cuda"), lp.cuda(), lengths.cuda()
            row["cuda_kernel"] = work / _timed(lambda: kernel(lp_cuda, ln_cuda, g_cuda), repeat)
            row["cuda_sparse"] = work / _timed(lambda: sparse_forward_backward(g_cuda, lp_cuda, ln_cuda), repeat)
            row["cuda_over_cpu"] = row["cuda_kernel"] / row["cpu_kernel"]
            row["cuda_over_sparse"] = row["cuda_kernel"] / row["cuda_sparse"]
        rows.append({k: (float(f"{v:.4g}") if isinstance(v, float) else v) for k, v in row.items()})
    res = {"unit": "arc-frames per second (arcs x frames x utterances, one forward-backward)",
           "graph": {"states": graph.num_states, "arcs": graph.num_arcs}, "threads": torch.get_num_threads(),
           "rows": rows}
    if not cuda:
        res["not_run"] = "the CUDA kernel and torch.sparse on the GPU (no CUDA device)"
    return res


def _stage_summary(exp: Path) -> dict:
    import re

    from nas.train.checkpoint import load_checkpoint
    out = {}
    for stage in ("warmup", "search", "retrain"):
        f = exp / stage / "final.pt"
        if f.is_file():
            hist = load_checkpoint(f)["history"]
            out[f"{stage}_valid_loss"] = float(hist[-1]["valid_loss"])
            out[f"{stage}_epochs"] = len(hist)
    arch = exp / "derive" / "arch.json"
    if arch.is_file():
        out["arch"] = json.loads(arch.read_text())["choices"]
    results = exp / "retrain" / "RESULTS"
    if results.is_file():
        m = re.search(r"%WER\s+([\d.]+)", results.read_text())
        out["test_wer"] = float(m.group(1)) if m else None
    return out


def step_recipe(c: Check, recipe: Path) -> dict:
    if not (recipe / "data_tiny" / "train_sp" / "feats.scp").is_file():
        raise Skip(f"no tiny data in {recipe}/data_tiny: run tools/gpu_check.sh --prepare on a machine with the "
                   f"recipe's tools, and carry its --work dir")
    devices = ["cuda", "cpu"] if _cuda() else (["cpu"] if c.dry_run else [])
    if not devices:
        raise Skip("no CUDA device")
    runs = {}
    for dev in devices:
        exp = recipe / "exp" / f"gpu_check_{dev}"
        log = c.out / f"recipe_{dev}.log"
        cmd = ["./run.sh", "--tiny", "true", "--stage", "4", "--stop-stage", "8", "--device", dev,
               "--exp-dir", str(exp), "--warmup-dir", str(exp / "warmup")]
        t0 = time.time()
        env = dict(os.environ, NAS_PYTHON=sys.executable)       # the interpreter of this check, wheels and all
        r = subprocess.run(cmd, cwd=recipe, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        runs[dev] = {"rc": r.returncode, "seconds": round(time.time() - t0, 1), "log": str(log),
                     **_stage_summary(exp)}
        if r.returncode != 0:
            tail = " | ".join(log.read_text().splitlines()[-4:])
            return {"status": "failed", "why": f"run.sh --device {dev} failed (rc {r.returncode}): {tail}",
                    "runs": runs}
    res = {"runs": runs}
    losses = [k for k in runs[devices[0]] if k.endswith("_valid_loss")]
    finite = all(math.isfinite(runs[d][k]) for d in devices for k in losses) and len(losses) == 3
    if not finite:
        return {"status": "failed", "why": f"a held-out loss is missing or not finite: {runs}", **res}
    if len(devices) == 2:
        rel = {k: abs(runs["cuda"][k] - runs["cpu"][k]) / max(abs(runs["cpu"][k]), 1e-9) for k in losses}
        res["loss_rel_diff"] = {k: round(v, 4) for k, v in rel.items()}
        res["same_arch"] = runs["cuda"].get("arch") == runs["cpu"].get("arch")
        res["wer"] = {d: runs[d].get("test_wer") for d in devices}
        far = [k for k, v in rel.items() if v > 0.25]
        if far:
            res.update(status="failed", why=f"cuda and cpu held-out losses differ by more than 25%: {far}")
    else:
        res["not_run"] = "the --device cuda run (no CUDA device)"
    return res


def step_memory(c: Check) -> dict:
    cuda = _cuda()
    if not cuda and not c.dry_run:
        raise Skip("no CUDA device")
    cases = "single,st_arch,st_weight,darts,snas" if cuda else "single,st_arch"      # dry run: the code path
    args = ["--device", "cuda"] if cuda else ["--device", "cpu", "--n", "2", "--frames", "90", "--steps", "1",
                                               "--warmup", "1"]
    r = subprocess.run([sys.executable, str(REPO / "tools" / "bench_search.py"), "--cases", cases, *args],
                       capture_output=True, text=True)
    (c.out / "bench_search.txt").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"tools/bench_search.py failed (rc {r.returncode}): {r.stderr.strip()[-300:]}")
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    ratio = summary["st_arch_mb"] / summary["single_mb"] if summary.get("single_mb") else float("nan")
    res = {"device": "cuda" if cuda else "cpu", "summary": summary, "st_arch_over_single": round(ratio, 3),
           "table": r.stdout.strip().splitlines()[:-1]}
    if cuda and not ratio <= 1.3:
        res.update(status="failed", why=f"the ST architecture step takes {ratio:.2f}x a single model's GPU memory "
                                        f"(target 1.3x)")
    if not cuda:
        res["not_run"] = "GPU memory at the paper's sizes (no CUDA device); a CPU run at N=2, T=90 instead"
    return res


STEPS = ["build", "env", "kernel", "throughput", "recipe", "memory"]
NEEDS_S = {"build": 30, "env": 1, "kernel": 20, "throughput": 30, "recipe": 60, "memory": 40}


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dry-run", action="store_true", help="no CUDA: run what needs none, skip the rest")
    ap.add_argument("--out", default="gpu_check", help="where gpu_check.json and the logs go")
    ap.add_argument("--recipe", default=str(REPO / "egs" / "synth"), help="the recipe dir with data_tiny/")
    ap.add_argument("--steps", default=" ".join(STEPS), help=f"a subset of: {' '.join(STEPS)}")
    ap.add_argument("--budget-s", type=float, default=480, help="wall-clock budget; steps that no longer fit "
                    "are skipped, saying so")
    ap.add_argument("--t0", type=float, default=None, help=argparse.SUPPRESS)   # the wrapper's start time
    a = ap.parse_args(argv)
    steps = a.steps.split()
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        ap.error(f"unknown steps {unknown}; known: {STEPS}")
    c = Check(Path(a.out).resolve(), a.dry_run, a.budget_s, a.t0 or time.time())
    fns = {"build": step_build, "env": step_env, "kernel": step_kernel, "throughput": step_throughput,
           "recipe": lambda ch: step_recipe(ch, Path(a.recipe).resolve()), "memory": step_memory}
    for name in STEPS:
        if name in steps:
            c.run(name, fns[name], NEEDS_S[name])
    print(f"gpu_check: {c.out / 'gpu_check.json'}")
    for name, r in c.results.items():
        print(f"  {name:<11} {r['status']:<8} {r.get('why', r.get('not_run', ''))}")
    return 1 if any(r["status"] == "failed" for r in c.results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
