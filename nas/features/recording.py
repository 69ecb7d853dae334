"""One recording to network input, outside any data dir: what `nas.bin.transcribe` feeds a model.

A data dir's features come from wav.scp through fbank, per-speaker CMVN and deltas; a single
file has no wav.scp entry and no speaker statistics. Here a file (wav, flac, SPHERE with or
without Shorten: nas.data.audio) is read, mixed down to mono when it has several channels,
resampled with sox to the fbank config's rate when it differs, and turned into fbank; CMVN then
uses the given statistics (the training set's global ones) or, without them, the recording's
own (a one-utterance speaker). Every such adaptation is returned as a note for the user.
"""
from __future__ import annotations

import io
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, List, Optional, Union

import kaldiio
import numpy as np
import soundfile

from nas.data.audio import AudioError, read_audio_checked
from nas.features.cmvn import accumulate
from nas.features.fbank import FbankConfig, compute_fbank
from nas.features.pipeline import FeaturePipeline

INT16_SCALE = 32768.0


@dataclass
class Recording:
    """A file's mono samples (int16 scale) at the model's rate, and what was done to get them."""
    path: str
    samples: np.ndarray
    rate: int
    notes: List[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        """The audio's duration (the RTF's denominator)."""
        return len(self.samples) / self.rate if self.rate else 0.0


def resample(samples: np.ndarray, rate: int, target: int, what: str) -> np.ndarray:
    """`samples` (1-D, int16 scale) from `rate` to `target` Hz with sox's `rate -h`, the tool the
    recipes' wav.scp pipes use; float WAV in and out, so nothing is dithered or requantized."""
    sox = shutil.which("sox")
    if sox is None:
        raise AudioError(f"{what}: sampled at {rate} Hz, the model at {target} Hz, and sox (which resamples) is "
                         f"not on PATH (tools/install_deb_deps.sh installs it)")
    buf = io.BytesIO()
    soundfile.write(buf, samples.astype(np.float32) / INT16_SCALE, rate, format="WAV", subtype="FLOAT")
    proc = subprocess.run([sox, "-V1", "-t", "wav", "-", "-t", "wav", "-e", "floating-point", "-b", "32", "-",
                           "rate", "-h", str(target)], input=buf.getvalue(), capture_output=True)
    if proc.returncode != 0 or not proc.stdout:
        err = proc.stderr.decode(errors="replace").strip()
        raise AudioError(f"{what}: sox could not resample {rate} -> {target} Hz (exit {proc.returncode}): {err}")
    out, got = soundfile.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    if got != target:
        raise AudioError(f"{what}: sox gave {got} Hz audio, not {target} Hz")
    return out[:, 0] * INT16_SCALE


def load_recording(path: str, target_rate: int) -> Recording:
    """Read `path` as mono at `target_rate`; AudioError names the file when it cannot be read."""
    samples, rate, short = read_audio_checked(path)
    rec = Recording(path, samples[:, 0], rate)
    if short is not None:
        rec.notes.append(f"{short.describe()}; transcribing what is there")
    channels = samples.shape[1]
    if channels == 0 or samples.shape[0] == 0:
        raise AudioError(f"{path}: no samples")
    if channels > 1:
        rec.samples = samples.mean(axis=1)
        rec.notes.append(f"{channels} channels, mixed down to mono (their mean)")
    if rate != target_rate:
        rec.samples = resample(rec.samples, rate, target_rate, path)
        rec.rate = target_rate
        rec.notes.append(f"sampled at {rate} Hz, resampled to the model's {target_rate} Hz (sox rate -h)")
    return rec


def read_cmvn_stats(path: Union[str, Path]) -> np.ndarray:
    """CMVN statistics (Kaldi's 2 x (D+1) matrix) from a matrix file (steps/make_features.sh
    --global-cmvn writes one) or from a cmvn.scp, whose speakers' statistics are summed into the
    set's global ones. ValueError names the file when it is neither."""
    p = Path(path)
    try:
        if p.name.endswith(".scp"):
            stats = accumulate_stats(kaldiio.load_scp(str(p)).values())
        else:
            stats = np.asarray(kaldiio.load_mat(str(p)), dtype=np.float64)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"--cmvn {p}: cannot read CMVN statistics: {e}") from None
    if stats is None or stats.ndim != 2 or stats.shape[0] != 2 or stats.shape[1] < 2 or stats[0, -1] <= 0:
        shape = None if stats is None else stats.shape
        raise ValueError(f"--cmvn {p}: not CMVN statistics (a 2 x (dim+1) matrix with a positive frame count; "
                         f"got {'nothing' if shape is None else shape})")
    return stats


def accumulate_stats(matrices: Iterable[np.ndarray]) -> Optional[np.ndarray]:
    """The sum of several stats matrices (float64), None for none."""
    total: Optional[np.ndarray] = None
    for m in matrices:
        m = np.asarray(m, dtype=np.float64)
        total = m if total is None else total + m
    return total


def network_input(rec: Recording, fbank: FbankConfig, pipeline: FeaturePipeline,
                  cmvn_stats: Optional[np.ndarray] = None) -> np.ndarray:
    """The model's input (frames, dim) for a recording: fbank, then the model's pipeline with
    `cmvn_stats`, or the recording's own statistics when none are given."""
    feats = compute_fbank(rec.samples, rec.rate, fbank)
    if feats.shape[0] == 0:
        raise AudioError(f"{rec.path}: too short for one frame ({len(rec.samples)} samples)")
    stats = None
    if pipeline.apply_cmvn:
        stats = cmvn_stats if cmvn_stats is not None else accumulate([feats])
        if stats.shape[1] != feats.shape[1] + 1:
            raise ValueError(f"the CMVN statistics are for {stats.shape[1] - 1}-dim features, the fbank config "
                             f"gives {feats.shape[1]}")
    return pipeline(feats, stats)
