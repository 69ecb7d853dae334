"""A stand-in for one training of a ground-truth table (egs/synth/local/bench_job.sh), for the launcher
tests: it writes what a finished run dir holds (final.pt's history and dims, RESULTS, the decode
dirs' scores) with figures fixed by the architecture's id and seed, so that two table builds that ran
the same jobs, on any executor, must give equal tables.

  python tests/bench_stub_job.py <bench-dir> <id> <seed> [--hold FILE]

--hold FILE: wait (at most 120 s) while FILE exists before writing anything; the test cancels such
a job mid-way.
"""
from __future__ import annotations

import argparse
import os
import time
import zlib
from pathlib import Path

import torch


def figures(name: str, seed: int) -> dict:
    """Deterministic, distinct per job: a fraction in [0.2, 0.7) from a checksum of id and seed."""
    x = (zlib.crc32(f"{name}/{seed}".encode()) % 5000) / 10000 + 0.2
    return {"valid_ter": round(x, 4), "valid_loss": round(3 * x, 4), "time_s": 10.0 + seed, "wer": round(100 * x, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bench")
    p.add_argument("id")
    p.add_argument("seed", type=int)
    p.add_argument("--hold")
    a = p.parse_args()
    print(f"stub training {a.id} seed {a.seed} (pid {os.getpid()})", flush=True)
    deadline = time.time() + 120
    while a.hold and Path(a.hold).exists() and time.time() < deadline:
        time.sleep(0.2)
    f = figures(a.id, a.seed)
    run = Path(a.bench) / "runs" / f"{a.id}_seed{a.seed}" / "retrain"
    for d in ("decode_dev", "decode_test"):
        (run / d).mkdir(parents=True, exist_ok=True)
    torch.save({"history": [{"valid_ter": f["valid_ter"], "valid_loss": f["valid_loss"], "time_s": f["time_s"]}],
                "dims": {"input": 40, "outputs": 30}}, run / "final.pt")
    (run / "decode_dev" / "best_wer").write_text(f"%WER {f['wer'] - 1:.2f} [ stub ]\n")
    (run / "decode_dev" / "per.txt").write_text(f"%PER {f['wer'] + 5:.2f} [ stub ]\n")
    (run / "decode_test" / "per.txt").write_text(f"%PER {f['wer'] + 6:.2f} [ stub ]\n")
    (run / "RESULTS").write_text(f"test: at LM weight 0.8 (best on dev): %WER {f['wer']:.2f} [ stub ]\n")
    print(f"stub training {a.id} seed {a.seed}: done", flush=True)


if __name__ == "__main__":
    main()
