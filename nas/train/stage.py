"""The training loop shared by stages 4 (warm-up), 5 (search) and 7 (retrain).

One `StageConfig` (dataclass; file + flags, see nas.train.config) and one loop:

  warmup   the super-network; a uniformly sampled sub-graph per batch, weights only; stops
           after `patience` epochs without held-out improvement; keeps best.pt. With
           `anchor_epochs` N > 0 the first N epochs train one fixed sub-graph (`anchor`, by
           default every block's first candidate), whose ops then seed every other candidate
           (SuperNet.inherit_from) before the uniform epochs; best.pt and the patience count
           start again there.
  search   starts from the warm-up's weights with fresh optimizers; per training batch an
           architecture step on the next held-out batch (cycled), then a weight step; the
           weights' lr decays by `lr_decay` after `plateau_epochs` epochs without held-out
           improvement and the stage stops when it falls below `stop_lr`.
  retrain  the model of an arch.json from scratch; the same lr schedule.

Every epoch, every `checkpoint_every` steps and on SIGINT/SIGTERM the stage writes
checkpoint.pt (model, optimizers, schedule, strategy, all ranks' RNG states, epoch and batch
position); `--resume` continues from it, and gives the same result as an uninterrupted run.
A finished stage leaves `done` and refuses to run again unless `--overwrite`.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import torch

from nas.data.table import iter_table
from nas.features.pipeline import FeaturePipeline
from nas.models.space import SpaceError, load_space
from nas.models.supernet import SuperNet
from nas.strategies import get_strategy
from nas.strategies.base import Strategy
from nas.train import data as D
from nas.train.arch import read_arch
from nas.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from nas.train.distributed import Dist, init_distributed, shutdown
from nas.train.losses import StageLoss
from nas.train.observe import Observer, history_entry, setup_logging

log = logging.getLogger("nas")


@dataclass
class StageConfig:
    data: str = ""                 # training data dir (feats.scp, cmvn.scp, text)
    lang: str = ""                 # lang dir (tokens.txt, lexicon_numbers.txt)
    valid_data: str = ""           # held-out data dir; empty: a share of --data (heldout_ratio)
    heldout_ratio: float = 0.1
    heldout_by: str = "speaker"    # speaker | utterance
    space: str = "wsj"             # warmup/search: shipped space name or JSON path
    arch: str = ""                 # retrain: arch.json
    init: str = ""                 # search: the warm-up exp dir (its best.pt) or a checkpoint file
    method: str = "st"             # search: st | darts | snas | proxyless | random
    loss: str = "ctc"              # ctc | ctc-crf
    den_dir: str = ""              # ctc-crf: stage 3's dir (den_lm.fst, path_weight.txt)
    lamb: float = 0.01             # ctc-crf: weight of the added CTC term
    batch_size: int = 128          # utterances per batch per process
    max_batch_frames: int = 0      # and at most this many padded frames per batch (0: no cap)
    max_frames: int = 0            # drop longer utterances (0: keep all)
    lr: float = 1e-3
    lr_decay: float = 0.1
    plateau_epochs: int = 3        # decay after this many epochs without held-out improvement
    stop_lr: float = 1e-4          # stop once the lr falls below this
    patience: int = 3              # warmup: stop after this many epochs without improvement
    anchor_epochs: int = 0         # warmup: epochs of one fixed sub-graph first, which then seeds all candidates
    anchor: str = ""               # warmup: that sub-graph, an arch.json (empty: first candidate of every block)
    max_epochs: int = 100
    arch_lr: float = 3e-3          # search: Adam lr of alpha
    resource_coef: float = 0.0     # search: weight of E_pi[params in M] in the architecture loss
    num_samples: int = 10          # search --method random: architectures scored
    recompute: bool = True         # search st/proxyless: recompute non-sampled outputs in backward
    grad_clip: float = 0.0         # clip the weights' gradient norm (0: off)
    seed: int = 0
    num_workers: int = 0           # data loading processes
    checkpoint_every: int = 200    # steps between mid-epoch checkpoints (0: epoch ends only)
    device: str = "auto"           # auto | cpu | cuda
    deterministic: bool = False    # torch.use_deterministic_algorithms
    tensorboard: bool = True
    plots: bool = True
    resume: bool = False
    overwrite: bool = False


HELP = {
    "data": "training data dir", "lang": "lang dir", "valid_data": "held-out data dir (default: a share of --data)",
    "heldout_ratio": "share of --data held out when --valid-data is not given",
    "heldout_by": "hold out speakers or utterances", "space": "search space (name or JSON)",
    "arch": "arch.json to retrain", "init": "warm-up exp dir or checkpoint to start the search from",
    "method": "search method: st, darts, snas, proxyless, random", "loss": "ctc or ctc-crf",
    "den_dir": "stage-3 den graph dir (ctc-crf)", "lamb": "CTC weight added to CTC-CRF",
    "batch_size": "utterances per batch and process", "max_batch_frames": "padded frames per batch cap",
    "max_frames": "drop utterances longer than this", "lr": "learning rate of the weights",
    "lr_decay": "lr factor on a plateau", "plateau_epochs": "epochs without improvement before a decay",
    "stop_lr": "stop below this lr", "patience": "warm-up: epochs without improvement before stopping",
    "anchor_epochs": "warm-up: epochs training one fixed sub-graph (--anchor) before uniform sampling; its ops "
                     "then seed every candidate (0: off)",
    "anchor": "warm-up: arch.json of the anchor sub-graph (default: the first candidate of every block)",
    "max_epochs": "epoch cap", "arch_lr": "Adam lr of the architecture weights",
    "resource_coef": "weight of the expected parameter count (M) in the architecture loss",
    "num_samples": "random search: architectures scored", "recompute": "ST: recompute non-sampled outputs",
    "grad_clip": "gradient norm clip (0: off)", "seed": "random seed", "num_workers": "data loader workers",
    "checkpoint_every": "steps between mid-epoch checkpoints", "device": "auto, cpu or cuda",
    "deterministic": "deterministic torch algorithms", "tensorboard": "write TensorBoard scalars",
    "plots": "write PNG plots", "resume": "continue from checkpoint.pt", "overwrite": "replace a finished stage",
}


class Plateau:
    """lr decay (or stop) after `epochs` epochs without improvement of a monitored loss."""

    def __init__(self, epochs: int):
        self.epochs, self.best, self.bad = epochs, math.inf, 0

    def update(self, value: float) -> Tuple[bool, bool]:
        """(improved, plateau reached); the bad-epoch count restarts after a plateau."""
        if value < self.best:
            self.best, self.bad = value, 0
            return True, False
        self.bad += 1
        if self.bad >= self.epochs:
            self.bad = 0
            return False, True
        return False, False

    def state_dict(self) -> dict:
        return {"best": self.best, "bad": self.bad}

    def load_state_dict(self, s: dict) -> None:
        self.best, self.bad = s["best"], s["bad"]


class Interrupted(Exception):
    pass


class Stage:
    """One run of warmup, search or retrain in `exp_dir`."""

    def __init__(self, kind: str, cfg: StageConfig, exp_dir: str):
        if kind not in ("warmup", "search", "retrain"):
            raise ValueError(kind)
        self.kind, self.cfg, self.dir = kind, cfg, Path(exp_dir)
        self.dist: Dist = init_distributed(cfg.device)
        self._check_dir()
        setup_logging(self.dir, self.dist.main)
        if cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self._stop_signal: Optional[int] = None

    # --- setup
    def _check_dir(self) -> None:
        done, ckpt = self.dir / "done", self.dir / "checkpoint.pt"
        if self.dist.main:
            if self.cfg.overwrite and self.dir.exists():
                for name in ("done", "checkpoint.pt", "best.pt", "final.pt", "probs.jsonl", "probs.txt",
                             "probs.png", "loss.png", "heldout.list", "config.json", "tensorboard", "log"):
                    p = self.dir / name
                    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            elif done.exists():
                raise SystemExit(f"{self.dir}: this {self.kind} stage is finished ({done} exists); "
                                 f"pass --overwrite true to run it again")
            elif ckpt.exists() and not self.cfg.resume:
                raise SystemExit(f"{self.dir}: holds an unfinished run ({ckpt}); pass --resume true to "
                                 f"continue it or --overwrite true to start again")
            self.dir.mkdir(parents=True, exist_ok=True)
        self.dist.barrier()

    def _datasets(self, pipeline: FeaturePipeline, out_frames) -> Tuple[D.SpeechData, D.SpeechData]:
        c = self.cfg
        weights = self.loss.path_weights
        if c.valid_data:
            train = D.SpeechData(c.data, c.lang, pipeline, out_frames, weights, max_frames=c.max_frames)
            valid = D.SpeechData(c.valid_data, c.lang, pipeline, out_frames, weights)
            return train, valid
        held = D.heldout_split(c.data, c.heldout_ratio, c.heldout_by, c.seed)
        if self.dist.main:
            (self.dir / "heldout.list").write_text("".join(u + "\n" for u in held))
        held_set = set(held)
        train_utts = [e.key for e in iter_table(Path(c.data) / "feats.scp") if e.key not in held_set]
        log.info("held out %d of %d utterances of %s by %s (ratio %.3f)", len(held), len(held) + len(train_utts),
                 c.data, c.heldout_by, c.heldout_ratio)
        train = D.SpeechData(c.data, c.lang, pipeline, out_frames, weights, utts=train_utts,
                             max_frames=c.max_frames)
        valid = D.SpeechData(c.data, c.lang, pipeline, out_frames, weights, utts=held)
        return train, valid

    def setup(self) -> None:
        c = self.cfg
        torch.manual_seed(c.seed)
        self.loss = StageLoss(c.loss, c.den_dir or None, c.lamb, self.dist.device)
        if self.kind == "retrain":
            if not c.arch:
                raise SystemExit("retrain needs --arch (an arch.json)")
            self.arch = read_arch(c.arch)
            pipeline = self.arch.pipeline()
            if self.dist.main:          # the model dir is self-contained for inference
                self.arch.write(self.dir / "arch.json")
        else:
            self.space = load_space(c.space, verbose=self.dist.main)
            pipeline = FeaturePipeline()
        self.pipeline = pipeline
        tokens = D.count_outputs(Path(c.lang) / "tokens.txt")
        # output lengths depend only on strides, the same for every sub-graph: a tiny probe model
        probe = SuperNet(self.arch.space if self.kind == "retrain" else self.space, 1, tokens,
                         arch=self.arch.choices if self.kind == "retrain" else None)

        def out_frames(n: int) -> int:
            return int(probe.out_lengths(torch.tensor([n]))[0])
        self.train_data, self.valid_data = self._datasets(pipeline, out_frames)
        del probe
        dim = self.train_data.feat_dim
        torch.manual_seed(c.seed)
        if self.kind == "retrain":
            self.net = self.arch.build(dim, tokens)
            self.strategy = Strategy(self.net, seed=c.seed)
        else:
            self.net = SuperNet(self.space, dim, tokens)
            kw: dict = {"resource_coef": c.resource_coef, "seed": c.seed}
            if self.kind == "search" and c.method in ("st", "proxyless"):
                kw["recompute"] = c.recompute
            if self.kind == "search" and c.method == "random":
                kw["num_samples"] = c.num_samples
            self.strategy = get_strategy(c.method if self.kind == "search" else "st", self.net, **kw)
        self.net.to(self.dist.device)
        self.strategy.alpha.to(self.dist.device)
        # a different dropout stream per rank, the same model on every rank
        torch.manual_seed(c.seed * 1000 + 17 + self.dist.rank)
        n_params = sum(p.numel() for p in self.net.parameters())
        log.info("%s: %d parameters, input %d, %d outputs, %d training / %d held-out utterances, world %d",
                 self.kind, n_params, dim, tokens, len(self.train_data), len(self.valid_data), self.dist.world)
        if self.kind == "search" and c.init:
            self._load_init(c.init)
        self.anchor = self._anchor_choice() if self.kind == "warmup" and c.anchor_epochs > 0 else None
        self.opt = torch.optim.Adam(self.net.parameters(), lr=c.lr)
        self.arch_opt = (torch.optim.Adam(self.strategy.arch_parameters(), lr=c.arch_lr, betas=(0.5, 0.999))
                         if self.kind == "search" and self.strategy.has_arch_steps else None)
        self.plateau = Plateau(c.patience if self.kind == "warmup" else c.plateau_epochs)
        world = self.dist.world
        self.train_batches = D.make_batches([u.frames for u in self.train_data.utts], c.batch_size * world,
                                            c.max_batch_frames * world)
        self.valid_batches = D.make_batches([u.frames for u in self.valid_data.utts], c.batch_size * world,
                                            c.max_batch_frames * world)
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP
            self.strategy.forward_net = DDP(self.net, find_unused_parameters=self.kind != "retrain")
            self.strategy.sync_grads = self.dist.average
        self.obs = Observer(self.dir, self.dist.main, c.tensorboard, c.plots)
        self.obs.candidates = {b.name: b.candidates for b in self.net.blocks}
        self.epoch, self.pos, self.step, self.heldout_pos = 0, 0, 0, 0
        self.history: List[dict] = []
        self.sums = {"train_loss": [0.0, 0], "arch_loss": [0.0, 0]}    # this epoch's [sum, count]
        if self.dist.main:
            (self.dir / "config.json").write_text(json.dumps(dataclasses.asdict(c), indent=2) + "\n")

    def _anchor_choice(self) -> List[int]:
        c = self.cfg
        if c.anchor_epochs >= c.max_epochs:
            raise SystemExit(f"--anchor-epochs {c.anchor_epochs} leaves no uniform warm-up epoch within "
                             f"--max-epochs {c.max_epochs}")
        if not c.anchor:
            return [0] * len(self.net.blocks)
        try:
            choices = read_arch(c.anchor).choices
        except SpaceError as e:
            raise SystemExit(f"--anchor: {e}") from None
        out = []
        for b in self.net.blocks:
            if choices.get(b.name) not in b.candidates:
                raise SystemExit(f"--anchor {c.anchor}: block {b.name} chooses {choices.get(b.name)!r}, "
                                 f"not one of this space's candidates {b.candidates}")
            out.append(b.candidates.index(choices[b.name]))
        return out

    def _in_anchor_phase(self) -> bool:
        return self.anchor is not None and self.epoch < self.cfg.anchor_epochs

    def _load_init(self, init: str) -> None:
        p = Path(init)
        f = p / "best.pt" if p.is_dir() else p
        if not f.is_file():
            raise SystemExit(f"--init {init}: no {f} (run the warm-up stage first)")
        state = load_checkpoint(f)
        self.net.load_state_dict(state["model"])
        log.info("search starts from the weights of %s (fresh optimizers)", f)

    # --- checkpoints
    def _state(self) -> dict:
        rngs = [rng_state()]
        if self.dist.enabled:
            gathered: List[Optional[dict]] = [None] * self.dist.world
            torch.distributed.all_gather_object(gathered, rngs[0])
            rngs = gathered
        return {"kind": self.kind, "model": self.net.state_dict(), "opt": self.opt.state_dict(),
                "arch_opt": self.arch_opt.state_dict() if self.arch_opt else None,
                "strategy": self.strategy.state_dict(), "plateau": self.plateau.state_dict(),
                "lr": self._lr(), "epoch": self.epoch, "pos": self.pos, "step": self.step,
                "heldout_pos": self.heldout_pos, "history": self.history, "sums": self.sums, "rng": rngs,
                "nonfinite": self.strategy.nonfinite, "world": self.dist.world,
                "config": dataclasses.asdict(self.cfg),
                "space": self.space.to_dict() if self.kind != "retrain" else self.arch.space.to_dict()}

    def save(self, name: str = "checkpoint.pt") -> None:
        state = self._state()          # every rank joins the RNG gather
        if self.dist.main:
            save_checkpoint(self.dir / name, state)
        self.dist.barrier()

    def resume(self) -> bool:
        f = self.dir / "checkpoint.pt"
        if not (self.cfg.resume and f.is_file()):
            return False
        s = load_checkpoint(f)
        if s.get("kind") != self.kind:
            raise SystemExit(f"{f}: a checkpoint of stage {s.get('kind')}, not {self.kind}")
        self.net.load_state_dict(s["model"])
        self.opt.load_state_dict(s["opt"])
        if self.arch_opt is not None and s["arch_opt"] is not None:
            self.arch_opt.load_state_dict(s["arch_opt"])
        self.strategy.load_state_dict(s["strategy"])
        self.plateau.load_state_dict(s["plateau"])
        self._set_lr(s["lr"])
        self.epoch, self.pos, self.step, self.heldout_pos = s["epoch"], s["pos"], s["step"], s["heldout_pos"]
        self.history = s["history"]
        self.sums = s["sums"]
        self.obs.history = list(self.history)
        self.strategy.nonfinite = s["nonfinite"]
        if s["world"] == self.dist.world:
            set_rng_state(s["rng"][self.dist.rank])
        else:
            log.warning("%s was written by %d processes, now %d: RNG streams restart", f, s["world"], self.dist.world)
        self.obs.truncate_trace(self.step)
        log.info("resumed %s at epoch %d, batch %d (step %d)", f, self.epoch + 1, self.pos, self.step)
        return True

    # --- helpers
    def _lr(self) -> float:
        return self.opt.param_groups[0]["lr"]

    def _set_lr(self, lr: float) -> None:
        for g in self.opt.param_groups:
            g["lr"] = lr

    def _batch(self, collated) -> Tuple[tuple, torch.Tensor, List[str]]:
        keys, x, lengths, targets, tl, weights = collated
        dev = self.dist.device
        return (x.to(dev), lengths.to(dev), targets.to(dev), tl.to(dev)), weights, keys

    def _shard(self, batches: List[List[int]]) -> List[List[int]]:
        return [D.shard(b, self.dist.rank, self.dist.world) for b in batches]

    def _heldout_stream(self) -> Iterator:
        """Held-out batches for architecture steps, cycled, from the saved cursor on."""
        n = len(self.valid_batches)
        while True:
            cycle, k = divmod(self.heldout_pos, n)
            order = D.epoch_order(n, self.cfg.seed + 7919, cycle)
            batches = self._shard([self.valid_batches[i] for i in order[k:]])
            for collated in D.iterate(self.valid_data, batches, self.cfg.num_workers):
                self.heldout_pos += 1
                yield collated

    @torch.no_grad()
    def evaluate(self, choose=None) -> float:
        """Mean held-out loss per utterance; `choose()` gives the sub-graph of each minibatch."""
        self.net.eval()
        total, count = 0.0, 0
        try:
            for collated in D.iterate(self.valid_data, self._shard(self.valid_batches), self.cfg.num_workers):
                batch, weights, _ = self._batch(collated)
                if choose is not None:
                    z = choose()
                    self.net.set_mixer(lambda b, x, z=z: b.ops[z[b.index]](x))
                log_probs, out_lengths = self.net(batch[0], batch[1])
                loss = float(self.loss(log_probs, out_lengths, batch[2], batch[3]))
                n = batch[0].shape[0]
                total += self.loss.logged(loss, weights) * n
                count += n
        finally:
            self.net.set_mixer(None)
            self.net.train()
        total, count = self.dist.sum_scalars([total, float(count)])
        return total / max(count, 1.0)

    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = signum

    # --- the loop
    def run(self) -> None:
        c = self.cfg
        self.setup()
        resumed = self.resume()
        if self.kind == "search" and not self.strategy.has_arch_steps:
            self._random_search()
            return
        old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            self._loop(resumed)
        except Interrupted:
            log.warning("stopped by signal %d at epoch %d, batch %d: checkpoint written; rerun with --resume true",
                        self._stop_signal, self.epoch + 1, self.pos)
            raise SystemExit(128 + (self._stop_signal or 0))
        finally:
            for s, h in old.items():
                signal.signal(s, h)
            self.obs.close()
        self._finish()

    def _choose(self):
        if self.kind == "warmup":
            if self._in_anchor_phase():
                return lambda: list(self.anchor)
            return lambda: self.strategy.sample(uniform=True)
        if self.kind == "search":
            return self.strategy.sample
        return None

    def _loop(self, resumed: bool) -> None:
        c = self.cfg
        if not resumed:
            self.obs.truncate_trace(0)
        heldout = self._heldout_stream() if self.arch_opt is not None else None
        while self.epoch < c.max_epochs:
            if hasattr(self.strategy, "set_epoch"):
                self.strategy.set_epoch(self.epoch)
            order = D.epoch_order(len(self.train_batches), c.seed, self.epoch)
            todo = self._shard([self.train_batches[i] for i in order[self.pos:]])
            t0 = time.time()
            sums = self.sums
            bar = self.obs.progress(len(order), self.pos, f"{self.kind} epoch {self.epoch + 1}")
            for collated in D.iterate(self.train_data, todo, c.num_workers):
                batch, weights, _ = self._batch(collated)
                if heldout is not None:
                    hb, hw, _ = self._batch(next(heldout))
                    a_loss = self.strategy.arch_step(hb, self.loss, self.arch_opt)
                    if math.isfinite(a_loss):
                        sums["arch_loss"][0] += self.loss.logged(a_loss, hw)
                        sums["arch_loss"][1] += 1
                if self.kind == "warmup":
                    loss = self.strategy.warmup_step(batch, self.loss, self.opt,
                                                     self.anchor if self._in_anchor_phase() else None)
                else:
                    loss = self.strategy.weight_step(batch, self.loss, self.opt)
                if math.isfinite(loss):
                    sums["train_loss"][0] += self.loss.logged(loss, weights)
                    sums["train_loss"][1] += 1
                self.pos += 1
                self.step += 1
                if heldout is not None:
                    self.obs.probs(self.step, [b.name for b in self.net.blocks], self.obs.candidates,
                                   [p.detach().cpu() for p in self.strategy.probs()])
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")
                if self.step % 50 == 0:
                    self.obs.scalar("step/train_loss", loss, self.step)
                stop_now = self._stop_signal is not None
                if self.dist.enabled:       # a signal seen by one rank stops them all at the same step
                    stop_now = self.dist.sum_scalars([float(stop_now)])[0] > 0
                if stop_now:
                    self._stop_signal = self._stop_signal or signal.SIGTERM
                    bar.close()
                    self.save()
                    raise Interrupted()
                if c.checkpoint_every and self.step % c.checkpoint_every == 0:
                    self.save()
            bar.close()
            valid = self.evaluate(self._choose())
            improved, plateau = self.plateau.update(valid)
            lr = self._lr()
            self.epoch += 1
            self.pos = 0
            tl, tn, al, an = self.dist.sum_scalars(sums["train_loss"] + sums["arch_loss"])    # over ranks
            entry = history_entry(self.epoch, lr=lr, time_s=round(time.time() - t0, 1),
                                  train_loss=tl / max(tn, 1), arch_loss=al / an if an else None,
                                  valid_loss=valid, nonfinite=self.strategy.nonfinite)
            self.sums = {"train_loss": [0.0, 0], "arch_loss": [0.0, 0]}
            self.history.append(entry)
            self.obs.epoch_end(entry, self.step)
            if improved:
                self.save("best.pt")
            stop = False
            if self.anchor is not None and self.epoch <= c.anchor_epochs:
                plateau = False         # the anchor phase runs all its epochs
                if self.epoch == c.anchor_epochs:
                    n = self.net.inherit_from(self.anchor)
                    log.info("anchor sub-graph trained for %d epochs: %d candidate ops start from its weights; "
                             "uniform sub-graphs from now on", c.anchor_epochs, n)
                    self.plateau = Plateau(c.patience)
            if plateau:
                if self.kind == "warmup":
                    log.info("no held-out improvement for %d epochs: warm-up stops", c.patience)
                    stop = True
                else:
                    self._set_lr(lr * c.lr_decay)
                    log.info("held-out plateau: lr %.3g -> %.3g", lr, self._lr())
                    if self._lr() < c.stop_lr:
                        log.info("lr below %.3g: %s stops", c.stop_lr, self.kind)
                        stop = True
            self.save()
            if stop:
                break

    def _random_search(self) -> None:
        def score(arch: Dict[str, str]) -> float:
            z = [b.candidates.index(arch[b.name]) for b in self.net.blocks]
            return self.evaluate(lambda: z)
        arch = self.strategy.derive(score)
        log.info("random search: best of %d sampled architectures: %s", self.strategy.num_samples,
                 " ".join(arch.values()))
        if self.dist.main:
            (self.dir / "random_scores.json").write_text(json.dumps(self.strategy.scores, indent=2) + "\n")
        self.save()
        self._finish(choice=arch)

    def _finish(self, choice: Optional[Dict[str, str]] = None) -> None:
        state = self._state()
        if choice is not None:
            state["choice"] = choice
        if self.dist.main:
            save_checkpoint(self.dir / "final.pt", state)
            (self.dir / "done").write_text(time.strftime("%Y-%m-%d %H:%M:%S\n"))
            log.info("%s finished after %d epochs, %d steps; %d non-finite steps skipped; outputs in %s",
                     self.kind, self.epoch, self.step, self.strategy.nonfinite, self.dir)
        self.dist.barrier()
        shutdown(self.dist)
