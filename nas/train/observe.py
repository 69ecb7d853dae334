"""What a stage shows while it runs: progress bars, epoch lines, TensorBoard, probabilities, plots.

Rank 0 writes, under the stage's exp dir: log/train.log (one line per epoch), tensorboard/
(losses, lr, every block's probabilities), probs.jsonl (the probabilities after every
architecture step, with the search's wall seconds up to it, counted across resumes: what a
derivation at that step would have cost), probs.png (each block's probabilities over the
search, the paper's Fig. 3b) and loss.png (loss curves), both redrawn at each epoch end, and
probs.txt (a table of the probabilities at the last epoch end). Other ranks write nothing.
"""
from __future__ import annotations

import json
import logging
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from tqdm import tqdm

log = logging.getLogger("nas")


def setup_logging(exp_dir: Path, main: bool, name: str = "train.log") -> None:
    """Log lines to stderr and, on rank 0, to exp_dir/log/<name> (appended, so a resume continues it)."""
    handlers: List[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if main:
        (exp_dir / "log").mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(exp_dir / "log" / name))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s",
                        handlers=handlers, force=True)
    if not main:
        logging.getLogger().setLevel(logging.WARNING)


class Observer:
    """Collects losses and probabilities; writes them (rank 0 only)."""

    def __init__(self, exp_dir: Path, main: bool, tensorboard: bool = True, plots: bool = True):
        self.dir, self.main, self.plots = exp_dir, main, plots
        self.writer = None
        if main and tensorboard:
            from torch.utils.tensorboard import SummaryWriter
            self.writer = SummaryWriter(str(exp_dir / "tensorboard"))
        self.history: List[dict] = []                     # one entry per epoch
        self.prob_trace: List[dict] = []                  # {"step", "probs": {block: [..]}}
        self.candidates: Dict[str, List[str]] = {}
        self._load_trace()
        self._clock(0.0)

    def _clock(self, base: float) -> None:
        """Seconds of probs.jsonl count from `base` (those of the last record kept) on from now."""
        self._base, self._t0 = base, time.monotonic()

    def _load_trace(self) -> None:
        f = self.dir / "probs.jsonl"
        if self.main and f.is_file():
            for line in f.read_text().splitlines():
                if line.strip():
                    self.prob_trace.append(json.loads(line))

    def progress(self, total: int, initial: int, desc: str):
        return tqdm(total=total, initial=initial, desc=desc, disable=not self.main or None,
                    leave=False, dynamic_ncols=True, file=sys.stderr)

    def scalar(self, tag: str, value: float, step: int) -> None:
        if self.writer is not None:
            self.writer.add_scalar(tag, value, step)

    def probs(self, step: int, blocks: Sequence[str], candidates: Dict[str, List[str]], probs: Sequence) -> None:
        """Record the probabilities after architecture step `step`."""
        if not self.main:
            return
        self.candidates = dict(candidates)
        rec = {"step": step, "seconds": round(self._base + time.monotonic() - self._t0, 2),
               "probs": {b: [round(float(x), 6) for x in p] for b, p in zip(blocks, probs)}}
        self.prob_trace.append(rec)
        with open(self.dir / "probs.jsonl", "a") as f:
            f.write(json.dumps(rec) + "\n")
        if self.writer is not None:
            for b, p in rec["probs"].items():
                for c, x in zip(candidates[b], p):
                    self.writer.add_scalar(f"probs/{b}/{c}", x, step)

    def truncate_trace(self, step: int) -> None:
        """On resume, forget probabilities recorded after the checkpoint's step; the seconds go on
        from the last kept record's, so that they are what an uninterrupted search would have taken."""
        if not self.main:
            return
        self.prob_trace = [r for r in self.prob_trace if r["step"] <= step]
        self._clock(float(self.prob_trace[-1].get("seconds", 0.0)) if self.prob_trace else 0.0)
        with open(self.dir / "probs.jsonl", "w") as f:
            for r in self.prob_trace:
                f.write(json.dumps(r) + "\n")

    def epoch_end(self, entry: dict, step: int) -> None:
        """One log line, TensorBoard scalars, plots and the probability table."""
        self.history.append(entry)
        parts = [f"epoch {entry['epoch']}"] + [f"{k} {_fmt(k, v)}" for k, v in entry.items() if k != "epoch"]
        log.info(" | ".join(parts))
        if not self.main:
            return
        for k, v in entry.items():
            if isinstance(v, (int, float)) and k != "epoch":
                self.scalar(f"epoch/{k}", float(v), entry["epoch"])
        if self.writer is not None:
            self.writer.flush()
        if self.plots:
            self._plot_losses()
            if self.prob_trace:
                self._plot_probs()
        if self.prob_trace:
            (self.dir / "probs.txt").write_text(self.table(self.prob_trace[-1]["probs"]))

    def table(self, probs: Dict[str, List[float]]) -> str:
        lines = []
        for b, p in probs.items():
            names = self.candidates.get(b, [str(i) for i in range(len(p))])
            best = max(range(len(p)), key=lambda i: p[i])
            cells = [f"{n}={x:.3f}{'*' if i == best else ''}" for i, (n, x) in enumerate(zip(names, p))]
            lines.append(f"{b:<12} " + "  ".join(cells))
        return "\n".join(lines) + "\n"

    def _plot_losses(self) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        keys = [k for k in self.history[-1] if k.endswith("loss")]
        fig, ax = plt.subplots(figsize=(6, 4))
        for k in keys:
            pts = [(e["epoch"], e[k]) for e in self.history if isinstance(e.get(k), float)]
            if pts:
                ax.plot(*zip(*pts), marker="o", label=k)
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.legend()
        fig.tight_layout()
        fig.savefig(self.dir / "loss.png", dpi=100)
        plt.close(fig)

    def _plot_probs(self) -> None:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        blocks = list(self.prob_trace[-1]["probs"])
        fig, axes = plt.subplots(len(blocks), 1, figsize=(7, 1.8 * len(blocks)), sharex=True, squeeze=False)
        steps = [r["step"] for r in self.prob_trace]
        for ax, b in zip(axes[:, 0], blocks):
            cols = list(zip(*[r["probs"][b] for r in self.prob_trace]))
            names = self.candidates.get(b, [str(i) for i in range(len(cols))])
            for name, ys in zip(names, cols):
                ax.plot(steps, ys, label=name)
            ax.set_ylabel(b)
            ax.set_ylim(0, 1)
        axes[0, 0].legend(loc="upper left", fontsize="small", ncol=3)
        axes[-1, 0].set_xlabel("architecture step")
        fig.tight_layout()
        fig.savefig(self.dir / "probs.png", dpi=100)
        plt.close(fig)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def _fmt(key: str, v) -> str:
    if not isinstance(v, float):
        return str(v)
    return f"{v:.3g}" if key == "lr" else f"{v:.1f}" if key.endswith("_s") else f"{v:.4f}"


def history_entry(epoch: int, **values: Optional[float]) -> dict:
    return {"epoch": epoch, **{k: v for k, v in values.items() if v is not None}}
