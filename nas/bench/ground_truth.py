"""Ground-truth tables: architectures of a space trained stand-alone, in the benchmark's format.

A search method is judged against the stand-alone quality of the architectures of its space.
`plan` samples them (uniformly over the distinct models: for NAS-Bench-ASR's cell over its
8,242 model hashes, for a block space over its choice vectors), adds hand-picked ones, gives a
few of them extra seeds (the noise floor), and writes one arch.json per architecture and a job
list; a recipe trains and decodes each job (egs/synth/local/run_bench.sh); `collect` reads
the finished jobs into tables that `nas.bench.table` loads like the released ones.

Layout of a bench dir:
    plan.json                the architectures: id, space, choices, arch vector, hash, seeds
    archs/<id>.arch.json     one per architecture (nas.bin.retrain --arch)
    jobs.txt                 "<id> <seed> <space>" per training, in the order to run them
    runs/<id>_seed<S>/retrain/   the recipe's stage 7-8 outputs (final.pt, decode_dev, decode_test)
    tables/<space>/          nb-asr-e{E}-{seed}.pickle per seed and nb-asr-info.pickle
"""
from __future__ import annotations

import json
import random
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import torch

from nas.bench.archvec import all_vectors, to_choices
from nas.bench.codec import Codec, codec_of_space
from nas.bench.model_hash import model_hash
from nas.models.space import SearchSpace
from nas.models.supernet import SuperNet
from nas.train.arch import Arch, read_arch

PLAN_FORMAT = "st-nas-bench-plan/1"
ALL_LINEAR = [[0, 0], [0, 0, 0], [0, 0, 0, 0]]     # the cell's hand-picked extremes: a chain of linear ops,
ALL_CONV7 = [[3, 0], [3, 0, 0], [3, 0, 0, 0]]      # and of conv7s (no skips: the plain stack)


@dataclass
class Entry:
    """One architecture of the plan."""
    id: str
    space: str                    # the plan's name for its space ("cell", "tdnn")
    choices: Dict[str, str]
    vec: List[List[int]]
    hash: str
    seeds: List[int] = field(default_factory=lambda: [0])
    origin: str = "sampled"       # "sampled" or the name of a hand-picked architecture


def sample_cell(space: SearchSpace, n: int, rng: random.Random) -> List[Entry]:
    """`n` distinct NAS-Bench-ASR models drawn uniformly over the model hashes (each by the first
    vector of its class), then the all-linear and all-conv7 cells if not drawn already."""
    first: Dict[str, List[List[int]]] = {}
    for vec in all_vectors():
        first.setdefault(model_hash(vec), vec)
    picked = rng.sample(sorted(first), min(n, len(first)))
    out = [Entry("", "cell", to_choices(first[h], space.blocks), first[h], h) for h in picked]
    for name, vec in (("all-linear", ALL_LINEAR), ("all-conv7", ALL_CONV7)):
        h = model_hash(vec)
        if h not in picked:
            out.append(Entry("", "cell", to_choices(vec, space.blocks), vec, h, origin=name))
    return out


def sample_blocks(space: SearchSpace, codec: Codec, n: int, rng: random.Random,
                  extra: Sequence[Arch] = ()) -> List[Entry]:
    """`n` distinct choice vectors of a block space drawn uniformly, then the `extra` architectures."""
    sizes = [len(c) for c in space.blocks.values()]
    total = 1
    for s in sizes:
        total *= s
    seen, out = set(), []
    for arch in extra:
        vec = codec.from_choices(arch.choices)
        seen.add(codec.hash(vec))
    while len(out) < min(n, total - len(seen)):
        vec = [[rng.randrange(s)] for s in sizes]
        h = codec.hash(vec)
        if h not in seen:
            seen.add(h)
            out.append(Entry("", "tdnn", codec.to_choices(vec), vec, h))
    for arch in extra:
        vec = codec.from_choices(arch.choices)
        out.append(Entry("", "tdnn", codec.to_choices(vec), vec, codec.hash(vec),
                         origin=arch.description.split(" (")[0][:40] or "extra"))
    return out


def number(entries: List[Entry], prefix: str, noise: int, seeds: Sequence[int]) -> List[Entry]:
    """Ids prefix_000, ...; the first `noise` entries get every seed in `seeds`, the rest the first."""
    for i, e in enumerate(entries):
        e.id = f"{prefix}_{i:03d}"
        e.seeds = list(seeds) if i < noise else [seeds[0]]
    return entries


def write_plan(out: Path, groups: Dict[str, tuple]) -> List[Entry]:
    """Write plan.json, archs/ and jobs.txt; `groups` maps a space name to (SearchSpace, entries,
    features of the arch.json). Jobs: every entry's first seed, then the extra seeds."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "archs").mkdir(exist_ok=True)
    entries: List[Entry] = []
    spaces = {}
    for name, (space, group, features) in groups.items():
        spaces[name] = {"space": space.to_dict(), "features": features}
        for e in group:
            Arch(space, e.choices, features, description=f"bench {e.id} ({e.origin})",
                 source={"bench": e.id, "arch_vec": e.vec, "hash": e.hash}).write(out / "archs" / f"{e.id}.arch.json")
            entries.append(e)
    plan = {"format": PLAN_FORMAT, "spaces": spaces, "entries": [asdict(e) for e in entries]}
    (out / "plan.json").write_text(json.dumps(plan, indent=1) + "\n")
    # first seeds before extra ones, the spaces taking turns: a partial run covers both spaces
    by_space: Dict[str, List[tuple]] = {}
    for e in entries:
        by_space.setdefault(e.space, []).append((e.id, e.seeds[0], e.space))
    for e in entries:
        by_space.setdefault(f"{e.space} extra seeds", []).extend((e.id, s, e.space) for s in e.seeds[1:])
    jobs = _interleave([v for k, v in by_space.items() if "extra" not in k]) + \
        _interleave([v for k, v in by_space.items() if "extra" in k])
    (out / "jobs.txt").write_text("".join(f"{i} {s} {sp}\n" for i, s, sp in jobs))
    return entries


def _interleave(lists: List[List[tuple]]) -> List[tuple]:
    out, i = [], 0
    while any(i < len(x) for x in lists):
        out += [x[i] for x in lists if i < len(x)]
        i += 1
    return out


def read_plan(bench: Path) -> dict:
    p = bench / "plan.json"
    try:
        plan = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SystemExit(f"{p}: cannot read the bench plan ({e}); make it with `python -m nas.bin.bench plan`")
    if plan.get("format") != PLAN_FORMAT:
        raise SystemExit(f"{p}: not a bench plan of format {PLAN_FORMAT}")
    return plan


def flops_per_second(net: SuperNet, frames_per_second: int = 100) -> int:
    """Multiply-adds x 2 of one second of input (100 frames at a 10 ms shift) through `net`:
    torch's FLOP counter for the convolutions and matrix products, plus the LSTMs', which it does
    not count (2 * 4 * (in * h + h * h) per frame)."""
    from torch.utils.flop_counter import FlopCounterMode
    lstm = [0]

    def count(module, inputs, output):
        x = inputs[0]
        steps = x.shape[1] if module.batch_first else x.shape[0]
        lstm[0] += 2 * steps * 4 * (module.input_size * module.hidden_size + module.hidden_size ** 2)

    hooks = [m.register_forward_hook(count) for m in net.modules() if isinstance(m, torch.nn.LSTM)]
    net.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            net(torch.zeros(1, frames_per_second, net.input_dim), torch.tensor([frames_per_second]))
    finally:
        for h in hooks:
            h.remove()
    return int(counter.get_total_flops()) + lstm[0]


_PCT = re.compile(r"%(?:WER|PER)\s+([\d.]+)")


def _rate(path: Path) -> Optional[float]:
    """The first %WER / %PER figure of a file, as a fraction; None when the file is missing."""
    try:
        m = _PCT.search(path.read_text())
    except OSError:
        return None
    return float(m.group(1)) / 100 if m else None


def read_run(run: Path, retrain_dir: str = "retrain") -> Optional[dict]:
    """A finished job's row (None while it is not finished): per-epoch held-out PER (greedy) and
    loss, dev/test WER (TLG; test at the LM weight best on dev) and PER (greedy), training time.
    `retrain_dir` is the stage-7 dir's name in the run (run.sh's retrain_<params> for
    --retrain-space-params)."""
    retrain = run / retrain_dir
    results = retrain / "RESULTS"
    if not (retrain / "final.pt").is_file() or not results.is_file():
        return None
    state = torch.load(retrain / "final.pt", map_location="cpu", weights_only=False)
    hist = state["history"]
    m = re.search(r"at LM weight ([\d.]+) \(best on dev\): %WER\s+([\d.]+)", results.read_text())
    if not m or any("valid_ter" not in h for h in hist):
        return None
    return {"val_per": [float(h["valid_ter"]) for h in hist], "dev_loss": [float(h["valid_loss"]) for h in hist],
            "train_time": float(sum(h.get("time_s", 0.0) for h in hist)),
            "dev_wer": _rate(retrain / "decode_dev" / "best_wer"), "test_wer": float(m.group(2)) / 100,
            "lm_weight": float(m.group(1)), "dev_per": _rate(retrain / "decode_dev" / "per.txt"),
            "test_per_greedy": _rate(retrain / "decode_test" / "per.txt"), "dims": state.get("dims")}


EXTRA_COLUMNS = ("dev_wer", "test_wer", "lm_weight", "dev_per", "dev_loss")


def collect(bench: Path, log=print) -> Dict[str, List[Path]]:
    """Tables of the finished jobs: per space, tables/<space>/ (the first seed, every architecture
    trained with it) and tables/<space>_noise/ (every seed, the architectures trained with all of
    them: the released format needs the same models in every seed's file). val_per is the
    per-epoch held-out PER (greedy), test_per the test PER (greedy) of the kept model (the epoch
    best on dev loss); dev_wer / test_wer (TLG, test at the LM weight best on dev), lm_weight,
    dev_per and the per-epoch dev_loss are extra columns; nb-asr-info.pickle has each model's
    parameters and FLOPs per second of audio. Unfinished jobs are counted and left out."""
    from nas.bench.table import STATIC_NAME, TRAINING_NAME, write_static, write_training
    plan = read_plan(bench)
    written: Dict[str, List[Path]] = {}
    for name in plan["spaces"]:
        codec = space_codec(plan, name)
        entries = [e for e in plan["entries"] if e["space"] == name]
        runs = {(e["id"], s): read_run(bench / "runs" / f"{e['id']}_seed{s}") for e in entries for s in e["seeds"]}
        missing = [f"{i}_seed{s}" for (i, s), r in runs.items() if r is None]
        if missing:
            log(f"collect: {name}: {len(missing)} of {len(runs)} trainings not finished (e.g. {missing[0]}); left out")
        first = entries[0]["seeds"][0] if entries else 0
        all_seeds = sorted({s for e in entries for s in e["seeds"]})
        for table, seeds, members in (
                (name, [first], [e for e in entries if runs[(e["id"], first)] is not None]),
                (f"{name}_noise", all_seeds,
                 [e for e in entries if set(e["seeds"]) == set(all_seeds) and len(all_seeds) > 1
                  and all(runs[(e["id"], s)] is not None for s in all_seeds)])):
            if not members:
                continue
            out = bench / "tables" / table
            out.mkdir(parents=True, exist_ok=True)
            epochs = len(runs[(members[0]["id"], seeds[0])]["val_per"])
            paths = []
            for seed in seeds:
                rows = []
                for e in members:
                    r = runs[(e["id"], seed)]
                    if len(r["val_per"]) != epochs:
                        raise SystemExit(f"collect: {e['id']} seed {seed} trained {len(r['val_per'])} epochs, "
                                         f"the others {epochs}: one budget per table")
                    rows.append({"model_hash": e["hash"], "arch_vec": e["vec"], "val_per": r["val_per"],
                                 "test_per": r["test_per_greedy"], "train_time": r["train_time"],
                                 **{k: r[k] for k in EXTRA_COLUMNS}})
                paths.append(write_training(out / TRAINING_NAME.format(epochs=epochs, seed=seed), rows, epochs, seed,
                                            codec=codec, extra_columns=EXTRA_COLUMNS))
            static = []
            for e in members:
                dims = runs[(e["id"], seeds[0])]["dims"]
                net = entry_model(bench, e, dims)
                static.append({"model_hash": e["hash"], "arch_vec": e["vec"],
                               "params": sum(p.numel() for p in net.parameters()), "flops": flops_per_second(net)})
            paths.append(write_static(out / STATIC_NAME, static, codec=codec))
            written[table] = paths
            log(f"collect: {out}: {len(members)} architectures, seeds {seeds}, {epochs} epochs")
    return written


def entry_model(bench: Path, entry: dict, dims: dict) -> SuperNet:
    """The stand-alone model of a plan entry, for the trained corpus' input and output sizes."""
    arch = read_arch(bench / "archs" / f"{entry['id']}.arch.json")
    return arch.build(int(dims["input"]), int(dims["outputs"]))


def space_codec(plan: dict, name: str) -> Codec:
    from nas.models.space import parse_space
    return codec_of_space(parse_space(plan["spaces"][name]["space"], f"plan.json ({name})"))
