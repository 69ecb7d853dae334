"""The feature pipeline shared by training and inference: CMVN, deltas, frame subsampling.

Both sides build the same `FeaturePipeline` (from the same config) so that a
model sees identical inputs when it is trained and when it is decoded.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Iterator, Optional, Tuple, Union

import kaldi_native_fbank as knf
import kaldiio
import numpy as np

from nas.data.table import read_dict
from nas.features.cmvn import apply_cmvn
from nas.options import option


@dataclass(frozen=True)
class FeaturePipeline:
    """How raw fbank becomes network input; its fields are options of the warm-up and search
    stages (nas.options) and are written into arch.json, so a retrained model sees what the
    search saw."""
    apply_cmvn: bool = option(True, "per-speaker mean normalization with the data dir's cmvn.scp")
    norm_vars: bool = option(True, "and variance normalization")
    delta_order: int = option(2, "Kaldi add-deltas order (2: 40 -> 120 dims; 0: none)")
    delta_window: int = option(2, "add-deltas window")
    subsample: int = option(1, "keep every n-th input frame")
    subsample_offset: int = option(0, "starting at this frame")

    def __post_init__(self) -> None:
        if self.delta_order < 0 or self.delta_window < 1:
            raise ValueError(f"delta_order must be >= 0 and delta_window >= 1, got "
                             f"{self.delta_order}, {self.delta_window}")
        if self.subsample < 1 or not 0 <= self.subsample_offset < self.subsample:
            raise ValueError(f"need subsample >= 1 and 0 <= subsample_offset < subsample, got "
                             f"{self.subsample}, {self.subsample_offset}")

    def output_dim(self, input_dim: int) -> int:
        return input_dim * (self.delta_order + 1)

    def __call__(self, feats: np.ndarray, cmvn_stats: Optional[np.ndarray] = None) -> np.ndarray:
        x = np.ascontiguousarray(feats, dtype=np.float32)
        if self.apply_cmvn:
            if cmvn_stats is None:
                raise ValueError("apply_cmvn is set but no CMVN stats were given")
            x = apply_cmvn(x, cmvn_stats, self.norm_vars)
        if self.delta_order > 0:
            opts = knf.DeltaOptions()
            opts.order, opts.window = self.delta_order, self.delta_window
            x = knf.compute_deltas(opts, x)
        if self.subsample > 1:
            x = np.ascontiguousarray(x[self.subsample_offset::self.subsample])
        return x

    def to_dict(self) -> Dict[str, Union[bool, int]]:
        return asdict(self)


class FeatureReader:
    """Network inputs of a data dir's utterances: feats.scp through a FeaturePipeline.

    CMVN stats come from cmvn.scp via utt2spk (per speaker, as Kaldi computes them).
    Matrices are read lazily from their ark files.
    """

    def __init__(self, data_dir: Union[str, Path], pipeline: FeaturePipeline = FeaturePipeline()):
        d = Path(data_dir)
        self.pipeline = pipeline
        self.feats = kaldiio.load_scp(str(d / "feats.scp"))
        self.utt2spk: Dict[str, str] = {}
        self.cmvn = None
        if pipeline.apply_cmvn:
            for name in ("cmvn.scp", "utt2spk"):
                if not (d / name).is_file():
                    raise FileNotFoundError(f"{d / name} is needed for CMVN (run steps/compute_cmvn_stats.sh)")
            self.utt2spk = read_dict(d / "utt2spk")
            self.cmvn = kaldiio.load_scp(str(d / "cmvn.scp"))

    def __len__(self) -> int:
        return len(self.feats)

    def keys(self):
        return self.feats.keys()

    def __getitem__(self, utt: str) -> np.ndarray:
        stats = None
        if self.cmvn is not None:
            spk = self.utt2spk.get(utt)
            if spk is None or spk not in self.cmvn:
                raise KeyError(f"no CMVN stats for utterance {utt} (speaker {spk})")
            stats = self.cmvn[spk]
        return self.pipeline(self.feats[utt], stats)

    def items(self) -> Iterator[Tuple[str, np.ndarray]]:
        for utt in self.feats.keys():
            yield utt, self[utt]
