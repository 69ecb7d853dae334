"""SYNTHETIC NAS-Bench-ASR tables, in exactly the released format and names, for tests and demos.

Never for results: the numbers are made up, only plausible (see synthetic_table).
"""
from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from nas.bench.archvec import OPS, ArchVec, all_vectors, random_vector
from nas.bench.fileformat import (BENCHMARKING_NAME, RELEASED_DEVICES, RELEASED_SEEDS, STATIC_NAME, PathLike,
                                  write_benchmarking, write_folder, write_static)
from nas.bench.model_hash import Graph, graph_hash, model_graph

_OP_PER = {"linear": 0.05, "conv5": 0.0, "conv5d2": 0.008, "conv7": -0.004, "conv7d2": 0.004}
_OP_PARAMS = {"linear": 262_656, "conv5": 1_311_232, "conv5d2": 1_311_232, "conv7": 1_835_520,
              "conv7d2": 1_835_520}
_OP_COST = {"linear": 0.2, "conv5": 1.0, "conv5d2": 1.1, "conv7": 1.4, "conv7d2": 1.5}
_DEVICE_SCALE = {"gtx-1080ti-fp32": 1.0, "jetson-nano-fp32": 9.0}


def _synthetic_models(n_models: Optional[int], rng: random.Random) -> List[Tuple[str, ArchVec, Graph]]:
    """(hash, vector, minimized graph) of `n_models` distinct models (all 8,242 if None)."""
    if n_models is not None and n_models < 1:
        raise ValueError(f"n_models {n_models}: need at least one model")
    reps: Dict[str, Tuple[ArchVec, Graph]] = {}
    if n_models is None or n_models > 1000:      # enumerate the space (about 2 s)
        for vec in all_vectors():
            graph = model_graph(vec)
            reps.setdefault(graph_hash(graph), (vec, graph))
        items = [(h, vec, graph) for h, (vec, graph) in reps.items()]
        if n_models is not None:
            if n_models > len(items):
                raise ValueError(f"n_models {n_models}: the space has only {len(items)} models")
            items = [items[i] for i in sorted(rng.sample(range(len(items)), n_models))]
        return items
    while len(reps) < n_models:                  # a few random vectors suffice
        vec = random_vector(rng)
        graph = model_graph(vec)
        reps.setdefault(graph_hash(graph), (vec, graph))
    return [(h, vec, graph) for h, (vec, graph) in reps.items()]


def _synthetic_model(graph: Graph) -> Tuple[float, int, float]:
    """(final PER, params, relative compute) from the minimized graph: what the network computes."""
    mat, labels = graph
    ops = [OPS[label] for label in labels if label >= 0]
    if not ops:                                  # nothing learnable between input and output
        return 0.95, 1_000_000, 0.1
    skips = max(int(mat.sum()) - (len(labels) - 1), 0)
    per = 0.32 - 0.03 * len(ops) + sum(_OP_PER[op] for op in ops) - 0.004 * skips
    return per, 3_000_000 + 4 * sum(_OP_PARAMS[op] for op in ops), sum(_OP_COST[op] for op in ops)


def synthetic_table(folder: PathLike, n_models: Optional[int] = None, seeds: Sequence[int] = RELEASED_SEEDS,
                    epochs: Union[int, Sequence[int]] = 40, rng_seed: int = 0,
                    devices: Sequence[str] = RELEASED_DEVICES, with_train_time: bool = True,
                    static: bool = True) -> Path:
    """Write a SYNTHETIC benchmark to `folder` in exactly the released format and names, for tests
    and demos, never for results: its numbers are made up, only plausible.

    One row per model hash (all 8,242 models, or `n_models` of them), the same models in every
    file. The final PER depends on the architecture (its effective ops and skips, plus a fixed
    per-model offset); each seed adds noise; validation curves fall towards it with a little
    epoch-to-epoch noise, so the last epoch is not always the best; fewer epochs end higher.
    test_per is a test curve's value at the best validation epoch. params, flops, latency and
    train_time follow simple formulas of the ops. `epochs` may list several (the release has
    40, 10 and 5). Deterministic in rng_seed; about 3 s for all models. Returns `folder`."""
    folder = Path(folder)
    models = _synthetic_models(n_models, random.Random(rng_seed))
    hashes = [h for h, _, _ in models]
    vecs = [vec for _, vec, _ in models]
    shape = np.array([_synthetic_model(graph) for _, _, graph in models])    # (n, 3)
    n = len(models)
    per = np.minimum(0.95, shape[:, 0] + np.random.default_rng([rng_seed, 0]).normal(0, 0.01, n))
    for e in ([epochs] if isinstance(epochs, int) else list(epochs)):
        training = {}
        for seed in seeds:
            rng = np.random.default_rng([rng_seed, 1, seed, e])
            final = np.minimum(0.97, per + 0.03 * math.log(40 / e) + rng.normal(0, 0.005, n))[:, None]
            start = np.minimum(0.99, final + 0.6)
            decay = np.exp(-np.arange(1, e + 1) / max(e / 5, 0.5))[None, :]
            val = np.clip(final + (start - final) * decay + rng.normal(0, 0.004, (n, e)), 0.01, 1.0)
            test = np.clip(val + 0.012 + rng.normal(0, 0.003, (n, e)), 0.01, 1.0)
            test_per = test[np.arange(n), val.argmin(axis=1)]
            time = e * (60 + 40 * shape[:, 2]) * (1 + rng.normal(0, 0.03, n))
            training[seed] = [{"model_hash": h, "arch_vec": vec, "val_per": val[i].tolist(),
                               "test_per": float(test_per[i]),
                               **({"train_time": float(time[i])} if with_train_time else {})}
                              for i, (h, vec) in enumerate(zip(hashes, vecs))]
        write_folder(folder, training, e, verify=False)
    for k, device in enumerate(devices):
        scale = _DEVICE_SCALE.get(device, 1 + (sum(map(ord, device)) % 50) / 10)
        lat = scale * (0.01 + 0.01 * shape[:, 2]) * (1 + np.random.default_rng([rng_seed, 2, k]).normal(0, 0.02, n))
        write_benchmarking(folder / BENCHMARKING_NAME.format(device=device),
                           [{"model_hash": h, "latency": float(x)} for h, x in zip(hashes, lat)], device)
    if static:
        write_static(folder / STATIC_NAME, [{"model_hash": h, "params": int(p), "flops": 2 * 150 * int(p)}
                                            for h, p in zip(hashes, shape[:, 1])])
    return folder
