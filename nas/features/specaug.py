"""SpecAugment (Park et al., 2019): frequency and time masks on training batches.

Masks are drawn per utterance from (seed, epoch, utterance id) alone, so that a batch gets the
same masks whichever loader process makes it, on any number of ranks, and after a resume; a new
epoch draws new ones. Time masks stay within each utterance's own length (the padding is never
where a mask lands, and a mask never outgrows a share of the utterance). Network inputs are
stacked blocks (static fbank, deltas, delta-deltas: FeaturePipeline.delta_order + 1 of them):
a frequency mask hides the same bins of every block, as masking the spectrum before the deltas
would. Masked values are 0, the features' mean after CMVN. Time warping is not implemented.

The option's compact form (TrainOptions.spec_augment): "" or "off": none; "on": the defaults
below; or KEY=VALUE,... of the fields, e.g. "freq_masks=2,freq_width=10,time_masks=2,time_width=0.05".
"""
from __future__ import annotations

import dataclasses
import zlib
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch


OFF = ("", "off", "none", "false")      # "false"/"true": YAML reads off/on as booleans
ON = ("on", "true", "default")


@dataclass(frozen=True)
class SpecAugment:
    """How many masks of what maximal width; widths are drawn uniformly from 0 to the maximum."""
    freq_masks: int = 2         # frequency masks per utterance
    freq_width: int = 10        # their maximal width in bins of one block (40 fbank bins: a quarter)
    time_masks: int = 2         # time masks per utterance
    time_width: float = 0.05    # their maximal width as a share of the utterance's frames ...
    time_max: int = 40          # ... and at most this many frames
    blocks: int = 1             # the feature dim is this many equal blocks (set from the pipeline)
    seed: int = 0               # set from the stage's --seed

    def __post_init__(self) -> None:
        if min(self.freq_masks, self.freq_width, self.time_masks, self.time_max) < 0 or self.blocks < 1:
            raise ValueError(f"SpecAugment counts and widths must be >= 0 and blocks >= 1: {self}")
        if not 0.0 <= self.time_width <= 1.0:
            raise ValueError(f"SpecAugment time_width is a share of the length, in [0, 1], got {self.time_width}")

    @classmethod
    def parse(cls, spec: str, seed: int = 0, blocks: int = 1) -> Optional["SpecAugment"]:
        """The option's value as a SpecAugment, or None when it is off. Errors name the bad key."""
        spec = spec.strip()
        if spec.lower() in OFF:
            return None
        fields = {f.name: f.type for f in dataclasses.fields(cls) if f.name not in ("blocks", "seed")}
        kw = {}
        for item in ([] if spec.lower() in ON else spec.split(",")):
            key, sep, value = item.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in fields:
                raise ValueError(f"spec_augment {spec!r}: {item!r} is not KEY=VALUE with KEY one of "
                                 f"{', '.join(fields)} (or give on/off)")
            try:
                kw[key] = float(value) if fields[key] in (float, "float") else int(value)
            except ValueError:
                raise ValueError(f"spec_augment {spec!r}: {key} needs a number, got {value!r}") from None
        return cls(**kw, blocks=blocks, seed=seed)

    def utterance_rng(self, key: str, epoch: int) -> np.random.Generator:
        """The generator of one utterance's masks in one epoch."""
        return np.random.default_rng([self.seed & 0xFFFFFFFF, epoch, zlib.crc32(key.encode())])

    def __call__(self, feats: torch.Tensor, lengths: torch.Tensor, keys: Sequence[str], epoch: int) -> torch.Tensor:
        """A masked copy of a zero-padded (B, T, F) batch; F must be a multiple of `blocks`."""
        b, _, dim = feats.shape
        if dim % self.blocks:
            raise ValueError(f"SpecAugment: feature dim {dim} is not {self.blocks} equal blocks")
        base = dim // self.blocks
        out = feats.clone()
        view = out.view(b, out.shape[1], self.blocks, base)
        for i in range(b):
            rng = self.utterance_rng(keys[i], epoch)
            n = int(lengths[i])
            for _ in range(self.freq_masks):
                w = int(rng.integers(0, min(self.freq_width, base) + 1))
                f0 = int(rng.integers(0, base - w + 1))
                view[i, :n, :, f0:f0 + w] = 0.0
            widest = min(self.time_max, int(self.time_width * n))
            for _ in range(self.time_masks):
                w = int(rng.integers(0, widest + 1))
                t0 = int(rng.integers(0, n - w + 1))
                view[i, t0:t0 + w] = 0.0
        return out


def spec_augment_spec(text: str) -> str:
    """The option's type: the spec, checked (an error says what is wrong), as "" when off, "on"
    for the defaults, else stripped (a YAML `on`, read as true, is "on")."""
    import argparse
    try:
        SpecAugment.parse(text)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    text = text.strip()
    return "" if text.lower() in OFF else "on" if text.lower() in ON else text
