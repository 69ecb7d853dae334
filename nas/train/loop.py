"""The training loop of stages 4 (warm-up), 5 (search) and 7 (retrain): one loop, a plan per stage.

`Loop(plan, exp_dir).run()` loads the data (a held-out share of it, the plan's `heldout_list()`
if it has one (a search: its warm-up's), or --valid-data), builds the plan's model, and runs
epochs (telling a plan with `epoch_length(epoch, steps)` each one's length): per training batch,
the updates the plan yields (nas.train.step.apply_update; those marked held-out take the next
held-out batch, cycled),
then at the epoch end the held-out loss under the plan's eval mixer, the plan's epoch-end
decision (lr, stop, best.pt) and a checkpoint. It branches on no stage kind or method.

Every epoch, every `checkpoint_every` steps and on SIGINT/SIGTERM it writes checkpoint.pt
(model, optimizers, the plan's state, all ranks' RNG states, epoch and batch position, and
whether the stage has decided to stop); `--resume` continues from it and gives the same
result as an uninterrupted run. A finished stage leaves final.pt and `done` and refuses to
run again unless `--overwrite`. One run at a time holds the exp dir (nas.train.lock); a
missing input is named with the stage that makes it before anything is loaded; utterances left
out of training are listed in dropped.txt; a checkpoint that cannot be written (a full disk)
stops the stage with a message naming the file, the previous checkpoint intact.
"""
from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import signal
import time
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple

import torch

from nas.data.table import iter_table
from nas.features.specaug import SpecAugment
from nas.files import WriteError, write_text_atomic
from nas.models.supernet import Mixer
from nas.train import data as D
from nas.train import inputs as stage_inputs
from nas.train.checkpoint import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from nas.train.distributed import Dist, init_distributed, shutdown
from nas.train.heldout import read_heldout
from nas.train.lock import ExpDirLock, LockHeld
from nas.train.losses import DenDir, StageLoss
from nas.train.metrics import greedy_token_errors
from nas.train.observe import Observer, history_entry, setup_logging
from nas.train.plan import Plan
from nas.train.step import apply_update, network_output

log = logging.getLogger("nas")
CHECKPOINTS = ("checkpoint.pt", "checkpoint.prev.pt", "best.pt", "final.pt")
OUTPUTS = ("done", *CHECKPOINTS, *(f"{c}.sha256" for c in CHECKPOINTS), "probs.jsonl", "probs.txt", "probs.png", "loss.png",
           "heldout.list", "dropped.txt", "latency.json", "config.json", "inputs.json", "arch.json", "random_scores.json",
           "convergence.json", "tensorboard", "log")


class Interrupted(Exception):
    pass


class Loop:
    """One run of a plan in `exp_dir`."""

    def __init__(self, plan: Plan, exp_dir: str):
        self.plan, self.cfg, self.dir = plan, plan.cfg, Path(exp_dir)
        self.dist: Dist = init_distributed(self.cfg.device)
        self.lock = ExpDirLock(self.dir)
        self.skip = False               # finished already, from the same inputs (--redo-changed)
        self._check_dir()
        if self.skip:
            return
        setup_logging(self.dir, self.dist.main)
        if self.cfg.deterministic:
            torch.use_deterministic_algorithms(True)
        self._stop_signal: Optional[int] = None

    # --- set-up
    def _check_dir(self) -> None:
        done, ckpt, kind = self.dir / "done", self.dir / "checkpoint.pt", self.plan.kind
        record = None
        if self.cfg.redo_changed:
            self.skip, record = stage_inputs.reuse(self.dir, self.cfg, [p for p, _ in self.plan.inputs()],
                                                   kind, self.dist.main)
        self.dist.barrier()
        if self.skip:                           # nothing to change but a missing record
            if self.dist.main and not (self.dir / stage_inputs.RECORD).exists():
                stage_inputs.save(self.dir, record)
            return
        if self.dist.main:
            try:
                self.lock.acquire()             # before anything in the dir is looked at or removed
            except LockHeld as e:
                raise SystemExit(f"{kind}: {e}") from None
            if self.cfg.overwrite and self.dir.exists():
                for name in OUTPUTS:
                    p = self.dir / name
                    shutil.rmtree(p) if p.is_dir() else p.unlink(missing_ok=True)
            elif done.exists():
                self.lock.release()
                raise SystemExit(f"{self.dir}: this {kind} stage is finished ({done} exists); "
                                 f"pass --overwrite true to run it again")
            elif ckpt.exists() and not self.cfg.resume:
                self.lock.release()
                raise SystemExit(f"{self.dir}: holds an unfinished run ({ckpt}); pass --resume true to "
                                 f"continue it or --overwrite true to start again")
            if record is not None:
                stage_inputs.save(self.dir, record)
        self.dist.barrier()

    def _check_inputs(self, pipeline) -> None:
        """Every input file there, or one line naming the first missing one and the stage that makes it."""
        c = self.cfg
        need = [(Path(c.lang) / "tokens.txt", "stage 1, utils/prepare_lang_ctc.sh"),
                (Path(c.lang) / "lexicon_numbers.txt", "stage 1, utils/prepare_lang_ctc.sh")]
        for d in filter(None, (c.data, c.valid_data)):
            need += [(Path(d) / "text", "stage 1, the corpus' data preparation"),
                     (Path(d) / "feats.scp", "stage 2, steps/make_fbank.sh")]
            if pipeline.apply_cmvn:
                need.append((Path(d) / "cmvn.scp", "stage 2, steps/compute_cmvn_stats.sh"))
        if c.den_dir:
            den = DenDir(Path(c.den_dir))
            need += [(den.graph, "stage 3, steps/prep_den_lm.sh"), (den.path_weights, "stage 3, steps/prep_den_lm.sh")]
        need += self.plan.inputs()
        for path, made_by in need:
            if not path.is_file():
                raise SystemExit(f"{self.plan.kind}: missing input {path} (made by {made_by}); run that stage first")

    def _write_dropped(self) -> None:
        rows = sorted((u, why, str(d.data_dir)) for d in (self.train_data, self.valid_data)
                      for why, us in d.dropped_ids.items() for u in us)
        f = self.dir / "dropped.txt"
        if not rows:
            f.unlink(missing_ok=True)
            return
        write_text_atomic(f, "".join(f"{u} {why} {d}\n" for u, why, d in rows))
        long = sum(why == "too_long" for _, why, _ in rows)
        if long:
            log.warning("%d training utterances longer than --max-frames %d input frames left out: listed in %s "
                        "(--max-frames 0 keeps them)", long, self.cfg.max_frames, f)
        log.info("%d utterances left out (no targets, too short for their labels, too long, no path weight): "
                 "listed with the reason in %s", len(rows), f)

    def _datasets(self, pipeline, out_frames: Callable[[int], int], weights: Optional[Path]
                  ) -> Tuple[D.SpeechData, D.SpeechData]:
        c = self.cfg
        given = self.plan.heldout_list()       # checks the plan's --valid-data too
        if c.valid_data:
            train = D.SpeechData(c.data, c.lang, pipeline, out_frames, weights, max_frames=c.max_frames)
            valid = D.SpeechData(c.valid_data, c.lang, pipeline, out_frames, weights)
            return train, valid
        keys = [e.key for e in iter_table(Path(c.data) / "feats.scp")]
        if given is not None:
            held = read_heldout(Path(given), set(keys), c.data, self.plan.kind)
        else:
            try:
                held = D.heldout_split(c.data, c.heldout_ratio, c.heldout_by, c.seed)
            except ValueError as e:
                raise SystemExit(f"{self.plan.kind}: {e}") from None
        if self.dist.main:
            write_text_atomic(self.dir / "heldout.list", "".join(u + "\n" for u in held))
        held_set = set(held)
        train_utts = [k for k in keys if k not in held_set]
        how = f"as listed in {given}" if given is not None else f"by {c.heldout_by} (ratio {c.heldout_ratio:.3f})"
        log.info("held out %d of %d utterances of %s %s", len(held), len(held) + len(train_utts), c.data, how)
        train = D.SpeechData(c.data, c.lang, pipeline, out_frames, weights, utts=train_utts, max_frames=c.max_frames)
        valid = D.SpeechData(c.data, c.lang, pipeline, out_frames, weights, utts=held)
        return train, valid

    def setup(self) -> None:
        c, plan, dev = self.cfg, self.plan, self.dist.device
        torch.manual_seed(c.seed)
        space, self.pipeline = plan.space(), plan.features()
        self.spec_augment = SpecAugment.parse(c.spec_augment, c.seed, self.pipeline.delta_order + 1)
        self._check_inputs(self.pipeline)
        den = DenDir(Path(c.den_dir)) if c.den_dir else None          # its files checked above
        self.loss = StageLoss(c.loss, den, c.lamb, dev, c.loss_norm)
        if self.dist.main:
            log.info("%s", space.summary())
        self.train_data, self.valid_data = self._datasets(self.pipeline, space.out_frames,
                                                          den.path_weights if den else None)
        if self.dist.main:
            self._write_dropped()
        tokens = D.count_outputs(Path(c.lang) / "tokens.txt")
        torch.manual_seed(c.seed)
        self.net = plan.build(self.train_data.feat_dim, tokens)
        self.dims = {"input": self.train_data.feat_dim, "outputs": tokens}
        self.net.to(dev)
        plan.to(dev)
        # a different dropout stream per rank, the same model on every rank
        torch.manual_seed(c.seed * 1000 + 17 + self.dist.rank)
        log.info("%s: %d parameters, input %d, %d outputs, %d training / %d held-out utterances, world %d",
                 plan.kind, sum(p.numel() for p in self.net.parameters()), self.train_data.feat_dim, tokens,
                 len(self.train_data), len(self.valid_data), self.dist.world)
        plan.prepare(self.dir, self.dist.main)
        plan.start()
        self.optimizers: Dict[str, torch.optim.Optimizer] = {"weights": torch.optim.Adam(self.net.parameters(), lr=c.lr,
                                                                                   eps=c.adam_eps)}
        self.optimizers.update(plan.optimizers())
        world = self.dist.world
        self.train_batches = D.make_batches([u.frames for u in self.train_data.utts], c.batch_size * world,
                                            c.max_batch_frames * world)
        self.valid_batches = D.make_batches([u.frames for u in self.valid_data.utts], c.batch_size * world,
                                            c.max_batch_frames * world)
        self.forward_net = self.net
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP
            self.forward_net = DDP(self.net, find_unused_parameters=plan.find_unused_parameters)
        self.obs = Observer(self.dir, self.dist.main, c.tensorboard, c.plots)
        self.epoch, self.pos, self.step, self.heldout_pos, self.nonfinite = 0, 0, 0, 0, 0
        self.stopped = False
        self.history: List[dict] = []
        self.sums: Dict[str, List[float]] = {}        # this epoch's loss [sum, count] per update name
        if self.dist.main:
            write_text_atomic(self.dir / "config.json", json.dumps(dataclasses.asdict(c), indent=2) + "\n")

    # --- checkpoints
    def _state(self) -> dict:
        rngs = [rng_state()]
        if self.dist.enabled:
            gathered: List[Optional[dict]] = [None] * self.dist.world
            torch.distributed.all_gather_object(gathered, rngs[0])
            rngs = gathered
        return {"kind": self.plan.kind, "model": self.net.state_dict(),
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "plan": self.plan.state_dict(), "epoch": self.epoch, "pos": self.pos, "step": self.step,
                "heldout_pos": self.heldout_pos, "history": self.history, "sums": self.sums, "rng": rngs,
                "nonfinite": self.nonfinite, "stopped": self.stopped, "world": self.dist.world,
                "config": dataclasses.asdict(self.cfg), "space": self.plan.space().to_dict(),
                "features": self.pipeline.to_dict(), "dims": self.dims}

    def save(self, name: str = "checkpoint.pt") -> None:
        state = self._state()          # every rank joins the RNG gather
        if self.dist.main:
            try:
                save_checkpoint(self.dir / name, state, keep_previous=name == "checkpoint.pt")
            except WriteError as e:
                raise SystemExit(f"{self.plan.kind}: {e}") from None
        self.dist.barrier()

    def resume(self) -> bool:
        f = self.dir / "checkpoint.pt"
        if not self.cfg.resume:
            return False
        if not f.is_file():
            log.warning("--resume true: %s does not exist; starting the %s stage from the beginning", f, self.plan.kind)
            return False
        s = load_checkpoint(f, fix="pass --overwrite true to start the stage again")   # one line: stage_main
        if s.get("kind") != self.plan.kind:
            raise SystemExit(f"{f}: a checkpoint of stage {s.get('kind')}, not {self.plan.kind}")
        if "optimizers" not in s or "plan" not in s:
            raise SystemExit(f"{f}: written by an older version of this toolkit, which cannot be resumed; "
                             f"pass --overwrite true to start the stage again")
        self.net.load_state_dict(s["model"])
        for k, o in self.optimizers.items():
            o.load_state_dict(s["optimizers"][k])
        self.plan.load_state_dict(s["plan"])
        self.epoch, self.pos, self.step, self.heldout_pos = s["epoch"], s["pos"], s["step"], s["heldout_pos"]
        self.history, self.sums, self.nonfinite, self.stopped = s["history"], s["sums"], s["nonfinite"], s["stopped"]
        self.obs.history = list(self.history)
        if s["world"] == self.dist.world:
            set_rng_state(s["rng"][self.dist.rank])
        else:
            log.warning("%s was written by %d processes, now %d: RNG streams restart", f, s["world"], self.dist.world)
        self.obs.truncate_trace(self.step)
        log.info("resumed %s at epoch %d, batch %d (step %d)%s", f, self.epoch + 1, self.pos, self.step,
                 "; the stage had decided to stop" if self.stopped else "")
        return True

    # --- helpers
    @property
    def lr(self) -> float:
        return self.optimizers["weights"].param_groups[0]["lr"]

    def _set_lr(self, lr: float) -> None:
        for g in self.optimizers["weights"].param_groups:
            g["lr"] = lr

    def _shard(self, batches: List[List[int]]) -> List[List[int]]:
        return [D.shard(b, self.dist.rank, self.dist.world) for b in batches]

    def _epoch_batches(self, epoch: int) -> List[List[int]]:
        """The training batches of `epoch`: all of them, or under the plan's frame limit those of
        the shorter utterances, batched anew (a function of the epoch alone, so resume sees them)."""
        limit = self.plan.frame_limit(epoch)
        if not limit:
            return self.train_batches
        keep = [i for i, u in enumerate(self.train_data.utts) if u.frames < limit]
        if not keep:
            raise SystemExit(f"{self.plan.kind}: epoch {epoch + 1} keeps only utterances shorter than {limit} "
                             f"frames, and {self.cfg.data} has none")
        world = self.dist.world
        batches = D.make_batches([self.train_data.utts[i].frames for i in keep], self.cfg.batch_size * world,
                                 self.cfg.max_batch_frames * world)
        return [[keep[j] for j in b] for b in batches]

    def _heldout_stream(self) -> Iterator[D.Batch]:
        """Held-out batches for the updates that ask for them, cycled, from the saved cursor on."""
        n = len(self.valid_batches)
        while True:
            cycle, k = divmod(self.heldout_pos, n)
            order = D.epoch_order(n, self.cfg.seed + 7919, cycle)
            batches = self._shard([self.valid_batches[i] for i in order[k:]])
            for batch in D.iterate(self.valid_data, batches, self.cfg.num_workers):
                self.heldout_pos += 1
                yield batch.to(self.dist.device)

    @torch.no_grad()
    def evaluate(self, mixer_of: Optional[Callable[[], Optional[Mixer]]] = None) -> float:
        """Mean held-out loss per utterance; `mixer_of()` gives each minibatch's mixer. The greedy
        token error rate of the same pass (PER for phone units) is left in `self.valid_ter`."""
        self.net.eval()
        total, count, errors, tokens = 0.0, 0, 0, 0
        try:
            for batch in D.iterate(self.valid_data, self._shard(self.valid_batches), self.cfg.num_workers):
                batch = batch.to(self.dist.device)
                with self.net.mixing(mixer_of() if mixer_of is not None else None):
                    log_probs, out_lengths = network_output(self.net, batch, self.cfg.dtype)
                loss = self.loss(log_probs, batch.targets, out_lengths, batch.target_lengths, batch.path_weights)
                total += float(loss) * len(batch)
                count += len(batch)
                e, n = greedy_token_errors(log_probs, out_lengths, batch.targets, batch.target_lengths)
                errors, tokens = errors + e, tokens + n
        finally:
            self.net.train()
        total, count, errors, tokens = self.dist.sum_scalars([total, float(count), float(errors), float(tokens)])
        self.valid_ter = errors / tokens if tokens else None
        return total / max(count, 1.0)

    def _on_signal(self, signum, frame) -> None:
        self._stop_signal = signum

    # --- the loop
    def run(self) -> None:
        if self.skip:                   # finished from the same inputs: nothing to run
            shutdown(self.dist)
            return
        try:
            self.setup()
            resumed = self.resume()
            old = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
            try:
                if not resumed:
                    self.obs.truncate_trace(0)
                self._epochs()
            except Interrupted:
                log.warning("stopped by signal %d at epoch %d, batch %d: checkpoint written; rerun with --resume true",
                            self._stop_signal, self.epoch + 1, self.pos)
                raise SystemExit(128 + (self._stop_signal or 0))
            finally:
                for s, h in old.items():
                    signal.signal(s, h)
                self.obs.close()
            self._finish()
        finally:
            self.lock.release()

    def _train_step(self, batch: D.Batch, heldout: Iterator[D.Batch]) -> float:
        """The plan's updates for one training batch; returns the last update's loss (progress bar)."""
        loss = float("nan")
        for update in self.plan.updates():
            b = next(heldout) if update.heldout else batch
            loss, applied = apply_update(update, b, self.net, self.loss, self.optimizers, self.forward_net,
                                         self.dist.average if self.dist.enabled else None, self.cfg.grad_clip,
                                         self.cfg.dtype)
            if applied:
                s = self.sums.setdefault(update.name, [0.0, 0])
                s[0] += loss
                s[1] += 1
            else:
                self.nonfinite += 1
        return loss

    def _stop_requested(self) -> bool:
        stop = self._stop_signal is not None
        if self.dist.enabled:       # a signal seen by one rank stops them all at the same step
            stop = self.dist.sum_scalars([float(stop)])[0] > 0
        return stop

    def _epochs(self) -> None:
        c, plan = self.cfg, self.plan
        heldout = self._heldout_stream()
        while not self.stopped and self.epoch < plan.epochs:
            plan.begin_epoch(self.epoch)
            batches = self._epoch_batches(self.epoch)
            order = D.epoch_order(len(batches), c.seed, self.epoch)
            plan.epoch_length(self.epoch, len(order))
            todo = self._shard([batches[i] for i in order[self.pos:]])
            t0 = time.time()
            bar = self.obs.progress(len(order), self.pos, f"{plan.kind} epoch {self.epoch + 1}")
            for batch in D.iterate(self.train_data, todo, c.num_workers, self.spec_augment, self.epoch):
                loss = self._train_step(batch.to(self.dist.device), heldout)
                self.pos += 1
                self.step += 1
                plan.after_step(self.step, self.obs)
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}")
                if self.step % 50 == 0:
                    self.obs.scalar("step/train_loss", loss, self.step)
                if self._stop_requested():
                    self._stop_signal = self._stop_signal or signal.SIGTERM
                    bar.close()
                    self.save()
                    raise Interrupted()
                if c.checkpoint_every and self.step % c.checkpoint_every == 0:
                    self.save()
            bar.close()
            self._end_epoch(time.time() - t0)

    def _end_epoch(self, seconds: float) -> None:
        valid = self.evaluate(self.plan.eval_mixer)
        lr = self.lr
        value = self.valid_ter if self.plan.monitor == "ter" and self.valid_ter is not None else valid
        end = self.plan.end_epoch(self.epoch, value, lr)
        self.epoch += 1
        self.pos = 0
        names = sorted(self.sums)
        totals = self.dist.sum_scalars([x for k in names for x in self.sums[k]])     # over ranks
        means = {k: totals[2 * i] / totals[2 * i + 1] for i, k in enumerate(names) if totals[2 * i + 1]}
        entry = history_entry(self.epoch, lr=lr, time_s=round(seconds, 1), **means, valid_loss=valid,
                              valid_ter=None if self.valid_ter is None else round(self.valid_ter, 5),
                              nonfinite=self.nonfinite)
        self.sums = {}
        self.history.append(entry)
        self.obs.epoch_end(entry, self.step)
        if end.note:
            log.info("%s", end.note)
        if end.improved:
            self.save("best.pt")
        self._set_lr(end.lr)
        self.stopped = end.stop
        self.save()

    def _finish(self) -> None:
        extra = self.plan.finish(self.evaluate, self.dir, self.dist.main)
        state = self._state()
        state.update(extra)
        if self.dist.main:
            try:
                save_checkpoint(self.dir / "final.pt", state)
                write_text_atomic(self.dir / "done", time.strftime("%Y-%m-%d %H:%M:%S\n"))
            except WriteError as e:
                raise SystemExit(f"{self.plan.kind}: {e}") from None
            log.info("%s finished after %d epochs, %d steps; %d non-finite updates skipped; outputs in %s",
                     self.plan.kind, self.epoch, self.step, self.nonfinite, self.dir)
        self.dist.barrier()
        shutdown(self.dist)
