"""Shared fixtures: the repository root, a runner for repo scripts, and data-dir builders."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterable, Mapping, Optional, Sequence

import pytest

REPO = Path(__file__).resolve().parent.parent
# `make test` runs TEST_JOBS pytest-xdist workers: each (and the recipes and trainings it starts, which
# inherit the variable) takes its share of the cores, instead of every process taking all of them
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    os.environ.setdefault("OMP_NUM_THREADS",
                          str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))))
# files whose tests run whole recipes (minutes each): collected first, so that under
# `pytest -n N --dist loadfile` (make test) they start at once beside the short ones
SLOW_FIRST = ("test_recipe_synth.py", "test_recipe_synth_bench.py", "test_recipe_synth_cells.py", "test_gpu_check.py",
              "test_recipe_timit.py", "test_recipe_librispeech.py", "test_new_corpus.py", "test_slurm.py")


def pytest_collection_modifyitems(config, items) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda it: rank.get(Path(str(it.fspath)).name, len(SLOW_FIRST)))   # stable: order kept within


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


def script_env() -> Dict[str, str]:
    """Environment for repo scripts: the interpreter running pytest first on PATH, C locale."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["LC_ALL"] = "C"
    return env


def run_script(script: str, *args: str, cwd: Optional[Path] = None,
               check: bool = False, input: Optional[str] = None) -> subprocess.CompletedProcess:
    """Run `REPO/script args...` from `cwd` (default: a directory that is not the repo)."""
    proc = subprocess.run([str(REPO / script), *map(str, args)], cwd=str(cwd or "/"),
                          env=script_env(), capture_output=True, text=True, input=input)
    if check and proc.returncode != 0:
        raise AssertionError(f"{script} {' '.join(map(str, args))} failed ({proc.returncode}):\n"
                             f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


@pytest.fixture
def run():
    return run_script


def write_table(path: Path, rows: Iterable[Sequence[str]]) -> None:
    path.write_text("".join(" ".join(r) + "\n" for r in rows))


def make_data_dir(d: Path, utts: Mapping[str, Mapping[str, str]], wav_dir: Optional[Path] = None,
                  with_segments: bool = False) -> Path:
    """Write a Kaldi data dir from {utt: {"spk": s, "text": t, "wav": path-or-pipe, "dur": secs}}.

    Files are written sorted in the C locale, as Kaldi requires; spk2utt is derived.
    """
    d.mkdir(parents=True, exist_ok=True)
    keys = sorted(utts)
    write_table(d / "utt2spk", [(u, utts[u]["spk"]) for u in keys])
    if all("text" in utts[u] for u in keys):
        write_table(d / "text", [(u, utts[u]["text"]) for u in keys])
    if all("wav" in utts[u] for u in keys):
        write_table(d / "wav.scp", [(u, utts[u]["wav"]) for u in keys])
    if all("dur" in utts[u] for u in keys):
        write_table(d / "utt2dur", [(u, str(utts[u]["dur"])) for u in keys])
    spk2utt: Dict[str, list] = {}
    for u in keys:
        spk2utt.setdefault(utts[u]["spk"], []).append(u)
    write_table(d / "spk2utt", [(s, " ".join(spk2utt[s])) for s in sorted(spk2utt)])
    return d


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A tiny training corpus (tests/train_fixtures.py): lang dir, train and dev data dirs, space."""
    from train_fixtures import make_data, make_lang, make_space
    d = tmp_path_factory.mktemp("corpus")
    return {"lang": make_lang(d / "lang"), "train": make_data(d / "train"),
            "dev": make_data(d / "dev", n_spk=2, per_spk=4, seed=1), "space": make_space(d / "space.json"),
            "dir": d}

