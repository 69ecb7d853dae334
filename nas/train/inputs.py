"""What a training stage was made from, and whether an exp dir may be reused for this run.

Every run records its inputs in <exp-dir>/inputs.json (nas.stamps): the options that shape its
result and the digests of the files it reads (the data dirs' feats/cmvn/text/speaker files and
the archives behind them, the lang dir's tokens and lexicon, the den graph, the warm-up's
checkpoint, arch.json, a space file). With --redo-changed true, as the recipes pass, a rerun
compares that record with its own before touching the dir: the same inputs skip a finished stage
(and resume an interrupted one); other inputs make the stage start afresh, saying what changed,
so a retraining is never reported for an architecture it was not trained on.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from nas.stamps import changes, make_record, read_record, write_record

RECORD = "inputs.json"
# options that change how a run goes, not what it makes
NOT_INPUTS = frozenset({"resume", "overwrite", "redo_changed", "num_workers", "checkpoint_every", "device",
                        "tensorboard", "plots", "deterministic"})
DIR_FILES = {"data": ("feats.scp", "cmvn.scp", "text", "utt2spk", "utt2uniq"),
             "valid_data": ("feats.scp", "cmvn.scp", "text", "utt2spk", "utt2uniq"),
             "lang": ("tokens.txt", "lexicon_numbers.txt"),
             "den_dir": ("den_lm.fst", "path_weight.txt")}


def _values(cfg) -> Dict[str, object]:
    """The options, less those naming files or dirs: their contents are compared, not their paths."""
    return {k: v for k, v in dataclasses.asdict(cfg).items()
            if k not in NOT_INPUTS and k not in DIR_FILES and not (isinstance(v, str) and v and Path(v).exists())}


def _paths(cfg, plan_inputs: Iterable[Path]) -> Dict[str, Path]:
    """The files a run reads: its dir options' known files, the plan's own input files (a warm-up's
    checkpoint, arch.json) and any other option naming an existing file (a space JSON)."""
    out: Dict[str, Path] = {}
    values = dataclasses.asdict(cfg)
    for opt, files in DIR_FILES.items():
        if values.get(opt):
            out.update({f"{opt}/{f}": Path(values[opt]) / f for f in files})
    for i, p in enumerate(plan_inputs):
        out[f"input{i}:{Path(p).name}"] = Path(p)
    for k, v in values.items():
        if k not in DIR_FILES and k not in NOT_INPUTS and isinstance(v, str) and v and Path(v).is_file():
            out[k] = Path(v)
    return out


def inputs_record(cfg, plan_inputs: Iterable[Path]) -> dict:
    return make_record(_paths(cfg, plan_inputs), _values(cfg))


def _defaults(cfg) -> Dict[str, object]:
    return {f.name: f.default for f in dataclasses.fields(cfg) if f.default is not dataclasses.MISSING}


def compare(exp_dir: Path, record: dict, defaults: Optional[Dict[str, object]] = None
            ) -> Tuple[Optional[dict], List[str]]:
    """The stored record (None if there is none) and how the present one differs from it. An option
    the stored record lacks (added by a later version) is no change while it has its default
    (`defaults`): a new option's default keeps what the stage made before it existed."""
    old = read_record(Path(exp_dir) / RECORD)
    if old is None:
        return None, []
    ov, nv = old.get("values", {}), record.get("values", {})
    unset_new = {k for k, v in nv.items() if k not in ov and defaults is not None and k in defaults
                 and v == defaults[k]}
    new = dict(record, values={k: v for k, v in nv.items() if k not in unset_new})
    return old, changes(old, new)


def save(exp_dir: Path, record: dict) -> None:
    write_record(Path(exp_dir) / RECORD, record)


def reuse(exp_dir: Path, cfg, plan_inputs: Iterable[Path], kind: str, main: bool) -> Tuple[bool, dict]:
    """--redo-changed: compare this run's inputs with those `exp_dir` was made from. Returns (skip,
    record): skip for a finished stage made from the same inputs (or from unrecorded ones: an exp dir
    of an older version); for a dir made from other inputs sets cfg.overwrite (and not cfg.resume),
    saying what changed. Every rank decides alike, before any rank writes; only `main` prints."""
    exp_dir = Path(exp_dir)
    done, ckpt = exp_dir / "done", exp_dir / "checkpoint.pt"
    record = inputs_record(cfg, plan_inputs)
    old, diff = compare(exp_dir, record, _defaults(cfg))
    if not (done.exists() or ckpt.exists()):
        return False, record
    if diff:
        if main:
            print(f"{kind}: {exp_dir} was made from other inputs: changed {'; '.join(diff)}; "
                  f"removing its outputs and running the stage again", flush=True)
        cfg.overwrite, cfg.resume = True, False
        return False, record
    if not done.exists():
        return False, record
    if main:
        how = ("made from the same inputs" if old else
               f"made before inputs were recorded: taken as made from these, now in {RECORD}")
        print(f"{kind}: {exp_dir} is finished; skipping ({how})", flush=True)
    return True, record
