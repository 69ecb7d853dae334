"""Timing on a shared machine: settings, interleaved repetitions, medians and spread, and what
the numbers were measured on.

Another process on the machine slows whatever runs beside it, so a latency is never one run:
every callable gets warm-up calls, then `reps` samples, and the callables of one measurement are
sampled in turn (a fresh random order each round), so that a slow minute falls on all of them
alike instead of on one. Each sample is the mean of `number` calls, `number` chosen so that a
sample lasts at least `min_sample_ms` (a timer cannot resolve one call of a few microseconds).
The figures kept are the median of the samples and their quartiles.
"""
from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, Hashable, Iterator, List, Optional, Sequence

import torch

MODES = ("stream", "offline")


class LatencyError(ValueError):
    """A latency measurement or table that cannot be used; the message names the file or option."""


@dataclass(frozen=True)
class Setting:
    """One way of running a model: where, with how many CPU threads, on what input.

    stream: batch 1, one chunk of `frames` input frames per call (no state carried between
    chunks: the cost of recomputing a chunk); offline: `batch` utterances of `frames` frames."""
    device: str          # "cpu" or "cuda"
    threads: int         # torch.set_num_threads while timing (the host threads for cuda)
    mode: str            # "stream" or "offline"
    batch: int
    frames: int

    def name(self, tag: str = "") -> str:
        """The benchmarking file's device name (letters, digits, '-'): e.g. cpu-t2-offline."""
        core = f"cuda-{self.mode}" if self.device == "cuda" else f"cpu-t{self.threads}-{self.mode}"
        return f"{tag}-{core}" if tag else core

    def to_dict(self) -> Dict[str, object]:
        return {"device": self.device, "threads": self.threads, "mode": self.mode, "batch": self.batch,
                "frames": self.frames}


def make_settings(threads: Sequence[int], modes: Sequence[str], cuda: bool, batch: int, seconds: float,
                  chunk: int, frame_shift_ms: float = 10.0) -> List[Setting]:
    """Every (device, threads, mode) to measure: CPU with each thread count, and CUDA (one host
    thread) when asked for. Offline input is `seconds` of audio at `frame_shift_ms` per frame."""
    bad = [m for m in modes if m not in MODES]
    if bad or not modes:
        raise LatencyError(f"--modes: {list(modes)}: use some of {', '.join(MODES)}")
    if not threads or min(threads) < 1:
        raise LatencyError(f"--threads: {list(threads)}: need thread counts >= 1")
    if batch < 1 or chunk < 1 or seconds <= 0 or frame_shift_ms <= 0:
        raise LatencyError(f"need --batch >= 1, --chunk >= 1, --seconds > 0 (got {batch}, {chunk}, {seconds})")
    offline_frames = int(round(seconds * 1000.0 / frame_shift_ms))
    shape = {"stream": (1, chunk), "offline": (batch, offline_frames)}
    out = [Setting("cpu", t, m, *shape[m]) for t in threads for m in modes]
    if cuda:
        out += [Setting("cuda", 1, m, *shape[m]) for m in modes]
    return out


@dataclass
class Timing:
    """The samples of one callable, in ms per call (each the mean of `number` calls)."""
    samples_ms: List[float]
    number: int
    extra: Dict[str, object] = field(default_factory=dict)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    def quantile(self, q: float) -> float:
        """The q-quantile of the samples (linear interpolation)."""
        xs = sorted(self.samples_ms)
        pos = q * (len(xs) - 1)
        lo = math.floor(pos)
        hi = min(lo + 1, len(xs) - 1)
        return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)

    @property
    def spread(self) -> float:
        """The interquartile range over the median: how much the machine moved the samples."""
        med = self.median_ms
        return (self.quantile(0.75) - self.quantile(0.25)) / med if med > 0 else 0.0

    def to_dict(self) -> Dict[str, float]:
        return {"median_ms": self.median_ms, "q25_ms": self.quantile(0.25), "q75_ms": self.quantile(0.75),
                "min_ms": min(self.samples_ms), "reps": len(self.samples_ms), "number": self.number}


@contextlib.contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """torch's intra-op thread count set to `n` for the duration."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _synchronizer(device: str) -> Callable[[], None]:
    """What makes a timed call finish on `device`: CUDA kernels run after the call returns."""
    if device.startswith("cuda"):
        return torch.cuda.synchronize
    return lambda: None


def _sample(fn: Callable[[], object], number: int, sync: Callable[[], None]) -> float:
    """The mean wall time of `number` calls, in ms."""
    sync()
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    sync()
    return (time.perf_counter() - t0) * 1000.0 / number


def time_interleaved(fns: Dict[Hashable, Callable[[], object]], device: str = "cpu", warmup: int = 3,
                     reps: int = 15, min_sample_ms: float = 2.0, seed: int = 0,
                     progress: Optional[Callable[[int], None]] = None) -> Dict[Hashable, Timing]:
    """Time every callable of `fns`: `warmup` calls each, then `reps` rounds that sample each once,
    in a new random order per round (see the module doc)."""
    if reps < 1 or warmup < 0 or min_sample_ms < 0:
        raise LatencyError(f"need reps >= 1, warmup >= 0, min_sample_ms >= 0 (got {reps}, {warmup}, {min_sample_ms})")
    sync = _synchronizer(device)
    number: Dict[Hashable, int] = {}
    with torch.inference_mode():
        for key, fn in fns.items():
            for _ in range(warmup):
                fn()
            once = _sample(fn, 1, sync)
            number[key] = max(1, math.ceil(min_sample_ms / max(once, 1e-3)))
        samples: Dict[Hashable, List[float]] = {k: [] for k in fns}
        order = list(fns)
        rng = random.Random(seed)
        for r in range(reps):
            rng.shuffle(order)
            for key in order:
                samples[key].append(_sample(fns[key], number[key], sync))
            if progress is not None:
                progress(r + 1)
    return {k: Timing(samples[k], number[k]) for k in fns}


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), or platform's guess elsewhere."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def machine_info(device: str = "cpu") -> Dict[str, object]:
    """What a latency depends on beyond the model: torch, the CPU, the GPU, the machine's load."""
    info: Dict[str, object] = {"torch": torch.__version__, "python": platform.python_version(),
                               "cpu": cpu_model(), "cpu_count": os.cpu_count(), "host_threads": torch.get_num_threads()}
    if hasattr(os, "getloadavg"):
        info["load_avg"] = [round(x, 2) for x in os.getloadavg()]
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info
