"""Training data: network inputs from a data dir, token targets from the lang dir, batches by length.

Targets are network output columns (blank 0, unit with tokens.txt id i -> column i - 1), read
from the data dir's `text` through the lang dir's `lexicon_numbers.txt`. Batches are formed
over utterances sorted by length (a number of utterances, or a frame budget), and their order
is shuffled per epoch from (seed, epoch) alone, so that a resumed run sees the same batches.
Under data parallelism every global batch is split into contiguous shards, one per rank:
N ranks with batch B see the same utterances per step as one process with batch N * B.
"""
from __future__ import annotations

import logging
import random
import signal
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from nas.data.table import TableError, iter_table, read_dict
from nas.lang.lang_dir import unit_token_ids
from nas.lang.lexicon import read_lexicon_numbers, words_to_ids
from nas.lang.symbols import read_symbols
from nas.features.pipeline import FeaturePipeline, FeatureReader
from nas.features.specaug import SpecAugment

log = logging.getLogger(__name__)
PathLike = Union[str, Path]


def count_outputs(tokens_txt: PathLike) -> int:
    """Network outputs for a lang dir: blank plus the units (checked to run from id 2 without gaps)."""
    try:
        return 1 + len(unit_token_ids(read_symbols(tokens_txt)))
    except TableError as e:
        raise TableError(f"{tokens_txt}: {e}") from None


def text_to_targets(text: PathLike, lexicon: Dict[str, List[int]], unk: str = "<UNK>"
                    ) -> Tuple[Dict[str, List[int]], Dict[str, int]]:
    """Per utterance, the output columns of its words' pronunciations; OOV words map to `unk`
    when the lexicon has it, otherwise the utterance is left out. Returns (targets, oov counts)."""
    targets: Dict[str, List[int]] = {}
    oov: Dict[str, int] = {}
    for e in iter_table(text):
        ids = words_to_ids(e.value.split(), lexicon, unk, oov)
        if ids:
            targets[e.key] = [i - 1 for i in ids]
    return targets, oov


def _min_frames(labels: Sequence[int]) -> int:
    """Output frames CTC needs: one per label plus one per repeated neighbour."""
    return len(labels) + sum(1 for a, b in zip(labels, labels[1:]) if a == b)


@dataclass
class Utterance:
    key: str
    frames: int
    targets: List[int]
    path_weight: float = 0.0


class SpeechData:
    """The usable utterances of a data dir: features, targets, frame counts and path weights.

    `out_frames(n)` maps input frames to network output frames; utterances with fewer
    output frames than their labels need are dropped, counted (`dropped`) and kept by id
    (`dropped_ids`, per reason), as are those without targets, too long or without a path weight.
    """

    def __init__(self, data_dir: PathLike, lang_dir: PathLike, pipeline: FeaturePipeline,
                 out_frames=lambda n: n, path_weights: Optional[PathLike] = None,
                 utts: Optional[Sequence[str]] = None, max_frames: int = 0):
        self.data_dir, self.lang_dir = Path(data_dir), Path(lang_dir)
        for f in (self.data_dir / "feats.scp", self.data_dir / "text", self.lang_dir / "tokens.txt",
                  self.lang_dir / "lexicon_numbers.txt"):
            if not f.is_file():
                raise FileNotFoundError(f"{f}: no such file")
        self.reader = FeatureReader(self.data_dir, pipeline)
        self.num_outputs = count_outputs(self.lang_dir / "tokens.txt")
        oov_file = self.lang_dir / "oov.txt"          # the lang dir names its unknown-word entry
        unk = oov_file.read_text().strip() if oov_file.is_file() else "<UNK>"
        targets, self.oov = text_to_targets(self.data_dir / "text",
                                            read_lexicon_numbers(self.lang_dir / "lexicon_numbers.txt"), unk or "<UNK>")
        weights = {e.key: float(e.value) for e in iter_table(path_weights)} if path_weights else {}
        lengths = _utt2num_frames(self.data_dir, self.reader)
        wanted = set(utts) if utts is not None else None
        self.utts: List[Utterance] = []
        self.dropped_ids: Dict[str, List[str]] = {"no_targets": [], "too_short": [], "too_long": [],
                                                  "no_path_weight": []}
        for key in self.reader.keys():
            if wanted is not None and key not in wanted:
                continue
            n = lengths[key]
            if key not in targets:
                reason = "no_targets"
            elif max_frames and n > max_frames:
                reason = "too_long"
            elif int(out_frames(n)) < _min_frames(targets[key]):
                reason = "too_short"
            elif path_weights and key not in weights:
                reason = "no_path_weight"
            else:
                self.utts.append(Utterance(key, n, targets[key], weights.get(key, 0.0)))
                continue
            self.dropped_ids[reason].append(key)
        self.dropped = {k: len(v) for k, v in self.dropped_ids.items()}
        self.feat_dim = int(self.reader[self.utts[0].key].shape[1]) if self.utts else 0
        if self.oov:
            top = sorted(self.oov.items(), key=lambda kv: -kv[1])[:10]
            log.warning("%s/text: %d words not in the lexicon (%d tokens), e.g. %s", self.data_dir,
                        len(self.oov), sum(self.oov.values()), ", ".join(f"{w} ({c})" for w, c in top))
        if any(self.dropped.values()):
            log.info("%s: %d utterances used; dropped %s", self.data_dir, len(self.utts),
                     ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in self.dropped.items() if v))
        if not self.utts:
            raise ValueError(f"{self.data_dir}: no usable utterances (dropped: {self.dropped})")

    def __len__(self) -> int:
        return len(self.utts)

    def load(self, index: int) -> Tuple[str, np.ndarray, List[int], float]:
        u = self.utts[index]
        return u.key, self.reader[u.key], u.targets, u.path_weight


def _utt2num_frames(data_dir: Path, reader: FeatureReader) -> Dict[str, int]:
    """Frame counts from utt2num_frames when present, otherwise from the feature matrices' shapes."""
    f = data_dir / "utt2num_frames"
    if f.is_file():
        counts = {k: int(v) for k, v in read_dict(f).items()}
        if all(k in counts for k in reader.keys()):
            return counts
    return {k: int(reader.feats[k].shape[0]) for k in reader.keys()}


def make_batches(frames: Sequence[int], batch_size: int, max_batch_frames: int = 0) -> List[List[int]]:
    """Indices grouped into batches of similar length: sorted by frames, cut every `batch_size`
    utterances or when the padded size (longest * count) would pass `max_batch_frames`."""
    order = sorted(range(len(frames)), key=lambda i: (frames[i], i))
    batches: List[List[int]] = []
    cur: List[int] = []
    for i in order:
        longest = frames[i]            # sorted: the newcomer is the longest
        if cur and (len(cur) >= batch_size or (max_batch_frames and longest * (len(cur) + 1) > max_batch_frames)):
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches


def epoch_order(num_batches: int, seed: int, epoch: int, shuffle: bool = True) -> List[int]:
    """The batch order of an epoch, a function of (seed, epoch) only."""
    order = list(range(num_batches))
    if shuffle:
        random.Random(seed * 100003 + epoch).shuffle(order)
    return order


def shard(batch: Sequence[int], rank: int, world: int) -> List[int]:
    """This rank's contiguous part of a global batch (the last ranks get one fewer when uneven)."""
    n = len(batch)
    lo = rank * n // world
    hi = (rank + 1) * n // world
    return list(batch[lo:hi])


@dataclass
class Batch:
    """A minibatch, the one shape from collate to the loss."""
    keys: List[str]                 # utterance ids
    feats: torch.Tensor             # (N, T, D) network input, zero-padded
    lengths: torch.Tensor           # (N,) input frames
    targets: torch.Tensor           # (N, S) output columns (blank 0), zero-padded
    target_lengths: torch.Tensor    # (N,)
    path_weights: torch.Tensor      # (N,) log p_LM(l) under the den graph's phone LM (CTC-CRF); 0 without one

    def __len__(self) -> int:
        return len(self.keys)

    def to(self, device: Union[str, torch.device]) -> "Batch":
        return Batch(self.keys, self.feats.to(device), self.lengths.to(device), self.targets.to(device),
                     self.target_lengths.to(device), self.path_weights.to(device))


def collate(items: Sequence[Tuple[str, np.ndarray, List[int], float]]) -> Batch:
    """SpeechData.load items (key, features, targets, path weight) into a Batch."""
    keys = [k for k, _, _, _ in items]
    lengths = torch.tensor([f.shape[0] for _, f, _, _ in items], dtype=torch.long)
    feats = torch.zeros(len(items), int(lengths.max()), items[0][1].shape[1])
    for i, (_, f, _, _) in enumerate(items):
        feats[i, :f.shape[0]] = torch.from_numpy(f)
    tl = torch.tensor([len(t) for _, _, t, _ in items], dtype=torch.long)
    targets = torch.zeros(len(items), max(int(tl.max()), 1), dtype=torch.long)
    for i, (_, _, t, _) in enumerate(items):
        targets[i, :len(t)] = torch.tensor(t, dtype=torch.long)
    weights = torch.tensor([w for _, _, _, w in items], dtype=torch.float32)
    return Batch(keys, feats, lengths, targets, tl, weights)


class _BatchDataset(torch.utils.data.Dataset):
    """Item i is the i-th batch of a fixed list (so that loader workers read whole batches),
    SpecAugment-ed when an `augment` is given (training batches only)."""

    def __init__(self, data: SpeechData, batches: List[List[int]], augment: Optional[SpecAugment] = None,
                 epoch: int = 0):
        self.data, self.batches, self.augment, self.epoch = data, batches, augment, epoch

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, i: int):
        batch = collate([self.data.load(j) for j in self.batches[i]])
        if self.augment is not None:
            batch.feats = self.augment(batch.feats, batch.lengths, batch.keys, self.epoch)
        return batch


def iterate(data: SpeechData, batches: List[List[int]], num_workers: int = 0,
            augment: Optional[SpecAugment] = None, epoch: int = 0) -> Iterator[Batch]:
    """Collated batches in the given order, loaded by `num_workers` processes (0: in this one).
    The loader has its own generator, so iterating never consumes the global torch RNG.
    `augment` (the training loop passes it for training batches, never for held-out ones) masks
    each batch with the masks of `epoch` (nas.features.specaug)."""
    if not batches:
        return iter(())
    loader = torch.utils.data.DataLoader(_BatchDataset(data, batches, augment, epoch), batch_size=None, shuffle=False,
                                         num_workers=num_workers, generator=torch.Generator().manual_seed(0),
                                         persistent_workers=False, worker_init_fn=_ignore_sigint)
    return iter(loader)


def _ignore_sigint(_worker_id: int) -> None:
    """Ctrl-C reaches the whole process group: loader workers leave it to the main process, which
    finishes its step and writes a checkpoint."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def heldout_split(data_dir: PathLike, ratio: float, by: str, seed: int) -> List[str]:
    """Utterances held out from a training data dir for architecture steps and early stopping.

    by = "speaker": a `ratio` share of the speakers (speed-perturbed copies such as sp0.9-spk
    count as their original speaker); by = "utterance": a share of the utterances, keeping the
    perturbed copies of one recording together (utt2uniq). Deterministic in `seed`.
    """
    d = Path(data_dir)
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"held-out ratio must be in (0, 1), got {ratio}")
    utt2spk = read_dict(d / "utt2spk")
    if by == "speaker":
        group = {u: _strip_perturb(s) for u, s in utt2spk.items()}
    elif by == "utterance":
        uniq = read_dict(d / "utt2uniq") if (d / "utt2uniq").is_file() else {}
        group = {u: uniq.get(u, u) for u in utt2spk}
    else:
        raise ValueError(f"held-out split 'by' must be 'speaker' or 'utterance', got {by!r}")
    names = sorted(set(group.values()))
    if len(names) < 2:
        fix = ("pass --heldout-by utterance, or a held-out data dir with --valid-data" if by == "speaker"
               else "give a held-out data dir with --valid-data")
        raise ValueError(f"{d}: has {len(names)} {by}{'' if len(names) == 1 else 's'} ({', '.join(names) or 'none'}), "
                         f"so no whole {by} can be held out for validation: {fix}")
    random.Random(seed).shuffle(names)
    k = min(len(names) - 1, max(1, round(ratio * len(names))))
    chosen = set(names[:k])
    return sorted(u for u, g in group.items() if g in chosen)


def _strip_perturb(spk: str) -> str:
    if spk.startswith("sp") and "-" in spk:
        head, rest = spk.split("-", 1)
        try:
            float(head[2:])
            return rest
        except ValueError:
            pass
    return spk
