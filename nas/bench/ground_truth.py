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
    tables/<space>_noise/    the same for the architectures trained with every seed
    tables/<space>_extra/    finished rows neither holds yet (an architecture's seeds while another
                             of its seeds is unfinished, or seeds added by add_seeds), kept so
                             that a bench dir without runs/ does not train them again

A training is finished when its run dir is, or when the tables hold its row: runs/ (about 5 MB
a training) can be removed once collected, and a later collect (after more trainings, such as
the rest of the noise floor) keeps the rows the tables have and does not ask to redo them.
"""
from __future__ import annotations

import json
import random
import re
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from nas.bench.archvec import all_vectors, to_choices
from nas.bench.codec import Codec, codec_of_space
from nas.bench.fileformat import STATIC_NAME, TRAINING_NAME, read_file, write_static, write_training
from nas.bench.model_hash import model_hash
from nas.models.arch import Arch, read_arch
from nas.models.space import SearchSpace
from nas.models.supernet import SuperNet

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
    """`n` distinct choice vectors of a block space drawn uniformly (all of them when `n` is at least
    its size), then the `extra` architectures."""
    sizes = [len(c) for c in space.blocks.values()]
    total = 1
    for s in sizes:
        total *= s
    seen, out = set(), []
    for arch in extra:
        vec = codec.from_choices(arch.choices)
        seen.add(codec.hash(vec))
    want = min(n, total - len(seen))          # n >= the space's size: every vector the extras leave
    while len(out) < want:
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


def write_plan(out: Path, groups: Dict[str, tuple], order: str = "seed") -> List[Entry]:
    """Write plan.json, archs/ and jobs.txt; `groups` maps a space name to (SearchSpace, entries,
    features of the arch.json). Jobs, `order` "seed": every entry's first seed, then the extra
    seeds (a partial run covers every architecture once); "arch": the hand-picked entries, then the
    others, each with all its seeds in a row (a partial run is a set of whole architectures, which
    the noise table, and a test of the architecture effect, can use)."""
    if order not in ("seed", "arch"):
        raise ValueError(f"job order {order!r}: expected seed or arch")
    out.mkdir(parents=True, exist_ok=True)
    entries = [e for _, group, _ in groups.values() for e in group]
    spaces = {name: {"space": space.to_dict(), "features": features} for name, (space, _, features) in groups.items()}
    plan = {"format": PLAN_FORMAT, "spaces": spaces, "entries": [asdict(e) for e in entries]}
    (out / "plan.json").write_text(json.dumps(plan, indent=1) + "\n")
    write_archs(out)
    if order == "arch":
        picked = [e for e in entries if e.origin != "sampled"] + [e for e in entries if e.origin == "sampled"]
        jobs = [(e.id, seed, e.space) for e in picked for seed in e.seeds]
        (out / "jobs.txt").write_text("".join(f"{i} {s} {sp}\n" for i, s, sp in jobs))
        return entries
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


def write_archs(bench: Path, only_missing: bool = False) -> int:
    """archs/<id>.arch.json of every plan.json entry (or only those missing: a bench dir kept
    without them, as the committed export is, trains again). Returns how many were written."""
    from nas.models.space import parse_space
    plan = read_plan(bench)
    (bench / "archs").mkdir(exist_ok=True)
    spaces = {name: parse_space(v["space"], f"{bench / 'plan.json'} ({name})") for name, v in plan["spaces"].items()}
    n = 0
    for e in plan["entries"]:
        path = bench / "archs" / f"{e['id']}.arch.json"
        if only_missing and path.is_file():
            continue
        Arch(spaces[e["space"]], e["choices"], plan["spaces"][e["space"]]["features"],
             description=f"bench {e['id']} ({e['origin']})",
             source={"bench": e["id"], "arch_vec": e["vec"], "hash": e["hash"]}).write(path)
        n += 1
    return n


def add_seeds(bench: Path, seeds: Sequence[int]) -> int:
    """Give every noise-floor entry of plan.json (one with more than one seed) the seeds of `seeds`
    it lacks, their jobs appended to jobs.txt (each architecture's new seeds in a row, in the order
    the architectures first appear there): more seeds for a table that needs them, without
    retraining what it has. plan.json's `seed_sets` records the seed sets the noise table has had,
    so that collect keeps the old set until every architecture has the new one. Returns how many
    jobs were added."""
    plan = read_plan(bench)
    noise = [e for e in plan["entries"] if len(e["seeds"]) > 1]
    new = [(e, [int(s) for s in seeds if int(s) not in e["seeds"]]) for e in noise]
    new = [(e, add) for e, add in new if add]
    if not new:
        return 0
    before = sorted({s for e in noise for s in e["seeds"]})
    sets = plan.get("seed_sets") or [before]
    for e, add in new:
        e["seeds"] += add
    sets.append(sorted({s for e in noise for s in e["seeds"]}))
    plan["seed_sets"] = sets
    jobs_txt = bench / "jobs.txt"
    order = list(dict.fromkeys(line.split()[0] for line in jobs_txt.read_text().splitlines() if line.strip()))
    rank = {i: n for n, i in enumerate(order)}
    lines = [f"{e['id']} {s} {e['space']}\n" for e, add in sorted(new, key=lambda x: rank.get(x[0]["id"], len(rank)))
             for s in add]
    (bench / "plan.json").write_text(json.dumps(plan, indent=1) + "\n")
    with open(jobs_txt, "a") as f:
        f.writelines(lines)
    return len(lines)


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
_WORDS = re.compile(r"%WER\s+[\d.]+\s+\[\s*\d+\s*/\s*(\d+)")


def _rate(path: Path) -> Optional[float]:
    """The first %WER / %PER figure of a file, as a fraction; None when the file is missing."""
    try:
        m = _PCT.search(path.read_text())
    except OSError:
        return None
    return float(m.group(1)) / 100 if m else None


def read_run(run: Path, retrain_dir: str = "retrain") -> Optional[dict]:
    """A finished job's row (None while it is not finished): per-epoch held-out PER (greedy) and
    loss, dev/test WER (TLG; test at the LM weight best on dev), the test set's word count and
    PER (greedy), training time.
    `retrain_dir` is the stage-7 dir's name in the run (run.sh's retrain_<params> for
    --retrain-space-params)."""
    retrain = run / retrain_dir
    results = retrain / "RESULTS"
    if not (retrain / "final.pt").is_file() or not results.is_file():
        return None
    state = torch.load(retrain / "final.pt", map_location="cpu", weights_only=False)
    hist = state["history"]
    m = re.search(r"at LM weight ([\d.]+) \(best on dev\): %WER\s+([\d.]+).*$", results.read_text(), re.M)
    if not m or any("valid_ter" not in h for h in hist):
        return None
    if "PARTIAL" in m.group(0):         # a WER over part of the test set is no table entry
        raise ValueError(f"{results}: the test WER is over part of the test set ({m.group(0)}); "
                         f"redo the run's stage 8 (see its decode dirs' scoring/partial_* lists)")
    return {"val_per": [float(h["valid_ter"]) for h in hist], "dev_loss": [float(h["valid_loss"]) for h in hist],
            "train_time": float(sum(h.get("time_s", 0.0) for h in hist)),
            "dev_wer": _rate(retrain / "decode_dev" / "best_wer"), "test_wer": float(m.group(2)) / 100,
            "lm_weight": float(m.group(1)), "test_words": _words(m.group(0)),
            "dev_per": _rate(retrain / "decode_dev" / "per.txt"),
            "test_per_greedy": _rate(retrain / "decode_test" / "per.txt"), "dims": state.get("dims")}


EXTRA_COLUMNS = ("dev_wer", "test_wer", "lm_weight", "dev_per", "dev_loss", "test_words")


def _words(line: str) -> Optional[int]:
    """The reference word count of a %WER line ("%WER 7.50 [ 30 / 400, ..."), None without one."""
    m = _WORDS.search(line)
    return int(m.group(1)) if m else None


def tabled_runs(bench: Path, name: str, waiting: bool = True) -> Dict[Tuple[str, int], dict]:
    """The rows tables/<name>/, <name>_noise/ and (`waiting`) <name>_extra/ hold, keyed by (model
    hash, seed), in read_run's form; `dims` is None and `params` / `flops` come from the table's
    static file. The published table is the first two: _extra's rows wait for every architecture."""
    out: Dict[Tuple[str, int], dict] = {}
    for table in (name, f"{name}_noise") + ((f"{name}_extra",) if waiting else ()):
        d = bench / "tables" / table
        static: Dict[str, dict] = {}
        if (d / STATIC_NAME).is_file():
            header, rows = read_file(d / STATIC_NAME, "static")
            static = {r[0]: dict(zip(header["columns"], r)) for r in rows}
        for path in sorted(d.glob("nb-asr-e*-*.pickle")):
            header, rows = read_file(path, "training")
            for r in rows:
                row = dict(zip(header["columns"], r))
                info = static.get(row["model_hash"], {})
                out[(row["model_hash"], int(header["seed"]))] = {
                    "val_per": [float(x) for x in row["val_per"]], "test_per_greedy": float(row["test_per"]),
                    "train_time": float(row.get("train_time", 0.0)),
                    **{k: row.get(k) for k in EXTRA_COLUMNS},
                    "dims": None, "params": info.get("params"), "flops": info.get("flops")}
    return out


def run_finished(run: Path, retrain_dir: str = "retrain") -> bool:
    """The cheap test of read_run's (no model loaded): the run wrote its model and its RESULTS."""
    r = run / retrain_dir
    return (r / "final.pt").is_file() and (r / "RESULTS").is_file() and (r / "RESULTS").stat().st_size > 0


def pending_jobs(bench: Path) -> List[Tuple[str, int, str]]:
    """jobs.txt's (id, seed, space) that neither a finished run dir nor a table row covers, in order."""
    plan = read_plan(bench)
    hashes = {e["id"]: e["hash"] for e in plan["entries"]}
    tabled = {name: tabled_runs(bench, name) for name in plan["spaces"]}
    out = []
    for n, line in enumerate((bench / "jobs.txt").read_text().splitlines(), 1):
        if not line.strip():
            continue
        try:
            i, seed, space = line.split()
            key = (hashes[i], int(seed))
        except (ValueError, KeyError):
            raise SystemExit(f"{bench / 'jobs.txt'}: line {n}: {line!r} is not '<id> <seed> <space>' of an "
                             f"architecture of plan.json") from None
        if not run_finished(bench / "runs" / f"{i}_seed{seed}") and key not in tabled.get(space, {}):
            out.append((i, int(seed), space))
    return out


def collect(bench: Path, log=print) -> Dict[str, List[Path]]:
    """Tables of the finished jobs: per space, tables/<space>/ (the first seed, every architecture
    trained with it) and tables/<space>_noise/ (every seed, the architectures trained with all of
    them: the released format needs the same models in every seed's file). val_per is the
    per-epoch held-out PER (greedy), test_per the test PER (greedy) of the kept model (the epoch
    best on dev loss); dev_wer / test_wer (TLG, test at the LM weight best on dev), lm_weight,
    dev_per and the per-epoch dev_loss are extra columns; nb-asr-info.pickle has each model's
    parameters and FLOPs per second of audio. Unfinished jobs are counted and left out; a job
    whose run dir is gone keeps the row the tables already have (tabled_runs). After add_seeds,
    the noise table keeps the old seeds until every architecture has the new ones (_noise_seeds),
    and the new seeds' finished rows wait in tables/<space>_extra/."""
    plan = read_plan(bench)
    written: Dict[str, List[Path]] = {}
    for name in plan["spaces"]:
        codec = space_codec(plan, name)
        entries = [e for e in plan["entries"] if e["space"] == name]
        runs = _runs(bench, name, entries, log)
        first = entries[0]["seeds"][0] if entries else 0
        seeds, members = _noise_seeds(plan, entries, runs)
        tables = {name: {first: [e for e in entries if runs[(e["id"], first)] is not None]},
                  f"{name}_noise": {s: members for s in seeds}}
        held = {(e["id"], s) for t in tables.values() for s, es in t.items() for e in es}
        tables[f"{name}_extra"] = {s: es for s in sorted({s for e in entries for s in e["seeds"]})
                                   if (es := [e for e in entries if s in e["seeds"] and runs[(e["id"], s)] is not None
                                              and (e["id"], s) not in held])}
        for table, by_seed in tables.items():
            out = bench / "tables" / table
            if not any(by_seed.values()):
                if table.endswith("_extra") and out.is_dir():       # every row of it is in the others now
                    shutil.rmtree(out)
                continue
            written[table] = _write_table(out, by_seed, runs, codec, bench)
            archs = {e["id"]: runs[(e["id"], s)] for s, es in by_seed.items() for e in es}
            log(f"collect: {out}: {len(archs)} architectures, seeds {[s for s, es in by_seed.items() if es]}, "
                f"{len(next(iter(archs.values()))['val_per'])} epochs")
    return written


def _runs(bench: Path, name: str, entries: List[dict], log) -> Dict[Tuple[str, int], Optional[dict]]:
    """(id, seed) -> its finished run's row, or the row the tables hold when its run dir is gone,
    or None (not finished)."""
    hashes = {e["id"]: e["hash"] for e in entries}
    tabled = tabled_runs(bench, name)
    runs = {(e["id"], s): read_run(bench / "runs" / f"{e['id']}_seed{s}") for e in entries for s in e["seeds"]}
    kept = [k for k, r in runs.items() if r is None and (hashes[k[0]], k[1]) in tabled]
    for i, s in kept:
        runs[(i, s)] = tabled[(hashes[i], s)]
    if kept:
        log(f"collect: {name}: {len(kept)} trainings from the tables (no run dir)")
    missing = [f"{i}_seed{s}" for (i, s), r in runs.items() if r is None]
    if missing:
        log(f"collect: {name}: {len(missing)} of {len(runs)} trainings not finished (e.g. {missing[0]}); left out")
    return runs


def _noise_seeds(plan: dict, entries: List[dict], runs: Dict) -> Tuple[List[int], List[dict]]:
    """The noise table's seeds and architectures: of the seed sets it has had (plan.json's
    seed_sets, from add_seeds; else the one of every seed), the one whose every seed the most
    noise-floor entries have finished, the later (larger) on a tie."""
    all_seeds = sorted({s for e in entries for s in e["seeds"]})
    best: Tuple[List[int], List[dict]] = ([], [])
    for seeds in plan.get("seed_sets") or [all_seeds]:
        members = [e for e in entries if len(e["seeds"]) > 1 and set(seeds) <= set(e["seeds"]) and len(seeds) > 1
                   and all(runs[(e["id"], s)] is not None for s in seeds)]
        if len(members) >= len(best[1]):
            best = (list(seeds), members)
    return best


def _write_table(out: Path, by_seed: Dict[int, List[dict]], runs: Dict, codec: Codec, bench: Path) -> List[Path]:
    """One training file per seed (its architectures' rows) and the static file of them all."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob("nb-asr-e*-*.pickle"):            # a seed (or budget) that has no rows here any more
        stale.unlink()
    s0 = next(s for s, es in by_seed.items() if es)
    epochs = len(runs[(by_seed[s0][0]["id"], s0)]["val_per"])
    paths, static, seen = [], [], set()
    for seed, members in by_seed.items():
        if not members:
            continue
        rows = []
        for e in members:
            r = runs[(e["id"], seed)]
            if len(r["val_per"]) != epochs:
                raise SystemExit(f"collect: {e['id']} seed {seed} trained {len(r['val_per'])} epochs, "
                                 f"the others {epochs}: one budget per table")
            rows.append({"model_hash": e["hash"], "arch_vec": e["vec"], "val_per": r["val_per"],
                         "test_per": r["test_per_greedy"], "train_time": r["train_time"],
                         **{k: r[k] for k in EXTRA_COLUMNS}})
            if e["id"] not in seen:
                seen.add(e["id"])
                static.append(_static_row(bench, e, r))
        paths.append(write_training(out / TRAINING_NAME.format(epochs=epochs, seed=seed), rows, epochs, seed,
                                    codec=codec, extra_columns=EXTRA_COLUMNS))
    paths.append(write_static(out / STATIC_NAME, static, codec=codec))
    return paths


def _static_row(bench: Path, e: dict, r: dict) -> dict:
    if r["dims"] is None:                       # a tabled row: its static file's figures
        if r["params"] is None or r["flops"] is None:
            raise SystemExit(f"collect: {e['id']}: its row comes from {bench / 'tables'}, whose "
                             f"{STATIC_NAME} lacks it, and its run dir is gone: retrain it")
        params, flops = int(r["params"]), int(r["flops"])
    else:
        net = entry_model(bench, e, r["dims"])
        params, flops = sum(p.numel() for p in net.parameters()), flops_per_second(net)
    return {"model_hash": e["hash"], "arch_vec": e["vec"], "params": params, "flops": flops}


def entry_model(bench: Path, entry: dict, dims: dict) -> SuperNet:
    """The stand-alone model of a plan entry, for the trained corpus' input and output sizes."""
    arch = read_arch(bench / "archs" / f"{entry['id']}.arch.json")
    return arch.build(int(dims["input"]), int(dims["outputs"]))


def space_codec(plan: dict, name: str) -> Codec:
    from nas.models.space import parse_space
    return codec_of_space(parse_space(plan["spaces"][name]["space"], f"plan.json ({name})"))
