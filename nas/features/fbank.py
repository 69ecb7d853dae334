"""Log mel filterbank features with kaldi-native-fbank, configured by Kaldi's option names.

Defaults are Kaldi's compute-fbank-feats defaults (note `--dither=1.0` on the
int16 sample scale; set `--dither=0` for bit-exact, repeatable features).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Dict, Iterable, Optional, Union

import kaldi_native_fbank as knf
import numpy as np

from nas.features.kaldi_options import Option, OptionError, last_wins, read_option_file, to_bool, to_number

# Kaldi option name -> (section of knf.FbankOptions or None for the top level, knf attribute, type)
_KNF_FIELDS = {
    "sample-frequency": ("frame_opts", "samp_freq", float),
    "frame-shift": ("frame_opts", "frame_shift_ms", float),
    "frame-length": ("frame_opts", "frame_length_ms", float),
    "dither": ("frame_opts", "dither", float),
    "preemphasis-coefficient": ("frame_opts", "preemph_coeff", float),
    "remove-dc-offset": ("frame_opts", "remove_dc_offset", bool),
    "window-type": ("frame_opts", "window_type", str),
    "round-to-power-of-two": ("frame_opts", "round_to_power_of_two", bool),
    "blackman-coeff": ("frame_opts", "blackman_coeff", float),
    "snip-edges": ("frame_opts", "snip_edges", bool),
    "num-mel-bins": ("mel_opts", "num_bins", int),
    "low-freq": ("mel_opts", "low_freq", float),
    "high-freq": ("mel_opts", "high_freq", float),
    "vtln-low": ("mel_opts", "vtln_low", float),
    "vtln-high": ("mel_opts", "vtln_high", float),
    "debug-mel": ("mel_opts", "debug_mel", bool),
    "htk-mode": ("mel_opts", "htk_mode", bool),
    "use-energy": (None, "use_energy", bool),
    "energy-floor": (None, "energy_floor", float),
    "raw-energy": (None, "raw_energy", bool),
    "htk-compat": (None, "htk_compat", bool),
    "use-log-fbank": (None, "use_log_fbank", bool),
    "use-power": (None, "use_power", bool),
}

# Kaldi's defaults where kaldi-native-fbank's differ.
_KALDI_DEFAULTS = {"dither": "1.0", "num-mel-bins": "23"}

# compute-fbank-feats options that are not extractor settings.
_PROGRAM_OPTIONS = {"channel": int, "min-duration": float, "subtract-mean": bool}

_WINDOWS = {"hamming", "hanning", "povey", "rectangular", "sine", "blackman"}


@dataclass
class FbankConfig:
    """Extractor options plus the program options of Kaldi's compute-fbank-feats."""
    knf_options: knf.FbankOptions
    channel: int = -1
    min_duration: float = 0.0
    subtract_mean: bool = False
    values: Dict[str, str] = field(default_factory=dict)  # every option as given, for logs

    @property
    def sample_frequency(self) -> float:
        return self.knf_options.frame_opts.samp_freq

    @property
    def dim(self) -> int:
        return self.knf_options.mel_opts.num_bins + int(self.knf_options.use_energy)

    @classmethod
    def from_options(cls, options: Iterable[Option]) -> "FbankConfig":
        given = last_wins(list(options))
        merged = {k: Option(k, v, "Kaldi default") for k, v in _KALDI_DEFAULTS.items()}
        merged.update(given)
        opts = knf.FbankOptions()
        cfg = cls(knf_options=opts)
        for name, opt in merged.items():
            if name in _PROGRAM_OPTIONS:
                kind = _PROGRAM_OPTIONS[name]
                setattr(cfg, name.replace("-", "_"), to_bool(opt) if kind is bool else to_number(opt, kind))
            elif name in _KNF_FIELDS:
                section, attr, kind = _KNF_FIELDS[name]
                if kind is bool:
                    value = to_bool(opt)
                elif kind is str:
                    if opt.value not in _WINDOWS:
                        raise OptionError(f"{opt.where}: --{name} must be one of {sorted(_WINDOWS)}, got {opt.value!r}")
                    value = opt.value
                else:
                    value = to_number(opt, kind)
                setattr(getattr(opts, section) if section else opts, attr, value)
            else:
                known = sorted(set(_KNF_FIELDS) | set(_PROGRAM_OPTIONS))
                raise OptionError(f"{opt.where}: unknown fbank option --{name}; known: {' '.join(known)}")
            cfg.values[name] = opt.value
        if opts.mel_opts.num_bins < 3:
            raise OptionError("--num-mel-bins must be at least 3")
        return cfg

    @classmethod
    def from_file(cls, path: Optional[Union[str, Path]], extra: Iterable[Option] = ()) -> "FbankConfig":
        options = read_option_file(path) if path else []
        return cls.from_options([*options, *extra])


def num_frames(num_samples: int, opts: knf.FbankOptions) -> int:
    """Kaldi's frame count (NumFrames in feature-window.cc) for a signal of `num_samples`."""
    fo = opts.frame_opts
    shift = int(fo.samp_freq * 0.001 * fo.frame_shift_ms)
    length = int(fo.samp_freq * 0.001 * fo.frame_length_ms)
    if fo.snip_edges:
        return 0 if num_samples < length else 1 + (num_samples - length) // shift
    return (num_samples + shift // 2) // shift


def compute_fbank(samples: np.ndarray, rate: int, cfg: FbankConfig) -> np.ndarray:
    """Fbank of 1-D int16-scale samples -> float32 (frames, dim). The rate must match the config."""
    if abs(rate - cfg.sample_frequency) > 0.5:
        raise ValueError(f"audio sampled at {rate} Hz but --sample-frequency={cfg.sample_frequency:g}; "
                         f"resample in wav.scp (e.g. '... | sox -t wav - -t wav -r {cfg.sample_frequency:g} - |')")
    extractor = knf.OnlineFbank(cfg.knf_options)
    extractor.accept_waveform(float(rate), np.ascontiguousarray(samples, dtype=np.float32))
    extractor.input_finished()
    n = extractor.num_frames_ready
    feats = np.empty((n, cfg.dim), dtype=np.float32)
    for i in range(n):
        feats[i] = extractor.get_frame(i)
    if cfg.subtract_mean and n:
        feats -= feats.mean(axis=0, keepdims=True)
    return feats
