#!/usr/bin/env python3
"""Benchmark fbank extraction speed as a real-time factor, with 3-way speed perturbation.

Synthesizes a corpus with egs/synth/local/make_corpus.py, makes the 3-way
speed-perturbed copy (sox in wav.scp pipes), runs steps/make_fbank.sh --nj N on
it and on the unperturbed data, and prints seconds of audio per wall-clock
second (higher is faster; 200 means 200x faster than real time).

  python tools/bench_fbank.py [--utts-per-voice 100] [--nj 2] [--repeat 3] [--keep DIR]

Each timing is the median of --repeat runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def sh(*cmd: str, cwd: Path) -> None:
    env = dict(os.environ, PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"], LC_ALL="C")
    subprocess.run(list(cmd), cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)


def total_seconds(utt2dur: Path) -> float:
    return sum(float(line.split()[1]) for line in utt2dur.read_text().splitlines())


def time_fbank(work: Path, data: str, nj: int, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        sh(str(REPO / "steps/make_fbank.sh"), "--nj", str(nj), "--fbank-config", "conf/fbank.conf",
           f"data/{data}", f"exp/make_fbank/{data}", "fbank", cwd=work)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--utts-per-voice", type=int, default=100, help="corpus size (8 voices)")
    p.add_argument("--repeat", type=int, default=3, help="timed runs per condition (median reported)")
    p.add_argument("--nj", type=int, default=2)
    p.add_argument("--keep", help="work in this directory and keep it (default: a temporary one)")
    a = p.parse_args()
    work = Path(a.keep or tempfile.mkdtemp(prefix="bench_fbank_")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    try:
        (work / "conf").mkdir(exist_ok=True)
        shutil.copy(REPO / "egs/synth/conf/fbank.conf", work / "conf/fbank.conf")
        sh(sys.executable, str(REPO / "egs/synth/local/make_corpus.py"), "--utts-per-voice",
           str(a.utts_per_voice), "--num-dev-voices", "1", "--num-test-voices", "1", "corpus", cwd=work)
        # data dir of all voices together (train + dev + test)
        d = work / "data/all"
        d.mkdir(parents=True, exist_ok=True)
        rows = [line.split("\t") for split in ("train", "dev", "test")
                for line in (work / f"corpus/{split}.tsv").read_text().splitlines()]
        rows.sort()
        (d / "wav.scp").write_text("".join(f"{r[0]} {r[2]}\n" for r in rows))
        (d / "utt2spk").write_text("".join(f"{r[0]} {r[1]}\n" for r in rows))
        sh(str(REPO / "utils/fix_data_dir.sh"), "--no-backup", "data/all", cwd=work)
        sh(str(REPO / "utils/data/perturb_data_dir_speed_3way.sh"), "data/all", "data/all_sp", cwd=work)

        t_plain = time_fbank(work, "all", a.nj, a.repeat)
        audio_plain = total_seconds(d / "utt2dur")
        t_sp = time_fbank(work, "all_sp", a.nj, a.repeat)
        audio_sp = total_seconds(work / "data/all_sp/utt2dur")
        n_sp = len((work / "data/all_sp/feats.scp").read_text().splitlines())
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"machine: {os.cpu_count()} cores; steps/make_fbank.sh --nj {a.nj}; 40-dim fbank, 16 kHz; "
          f"median of {a.repeat} runs")
    print(f"plain:                       {len(rows)} utts, {audio_plain:8.1f} s audio in {t_plain:6.2f} s wall: "
          f"{audio_plain / t_plain:6.0f}x real time")
    print(f"3-way speed perturbed (sox): {n_sp} utts, {audio_sp:8.1f} s audio in {t_sp:6.2f} s wall: "
          f"{audio_sp / t_sp:6.0f}x real time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
