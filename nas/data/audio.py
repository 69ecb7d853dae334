"""Audio input for wav.scp entries: files (wav, flac, NIST SPHERE plain or Shorten-compressed)
and Kaldi `command |` pipes that write WAV to stdout.

Shorten SPHERE is read as the LDC ships it: `sample_coding` pcm or ulaw with
embedded-shorten-v1.09, -v1.1 (WSJ) or -v2.00 (Switchboard); bitstream version 1
(which desphere refuses) and streams with block means through nas.data.shorten,
the others through desphere.

Samples come back as float32 on the int16 scale (-32768..32767), as Kaldi's
feature extractors expect, with shape (num_samples, num_channels).
"""
from __future__ import annotations

import io
import logging
import os
import subprocess
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np
import soundfile

from nas.data import shorten

if TYPE_CHECKING:
    from desphere import SphereHeader

SPHERE_MAGIC = b"NIST_1A"
# The compressions LDC discs carry in sample_coding, and the stream sample types each base
# coding may hold (ulaw: Shorten's two lossless mu-law types).
SHORTEN_CODINGS = ("embedded-shorten-v1.09", "embedded-shorten-v1.1", "embedded-shorten-v2.00")
SHORTEN_BASES = {"pcm": shorten.PCM_TYPES, "ulaw": shorten.ULAW_TYPES, "mu-law": shorten.ULAW_TYPES,
                 "mulaw": shorten.ULAW_TYPES}
log = logging.getLogger("nas")
Decoded = Tuple[np.ndarray, int, Optional["Shortfall"]]


class AudioError(RuntimeError):
    """Audio that cannot be read; the message says which entry and why."""


def is_pipe(entry: str) -> bool:
    return entry.rstrip().endswith("|")


@dataclass(frozen=True)
class Shortfall:
    """An audio file that stops before the end its header declares: half an utterance under the
    whole transcript is a wrong training target, so readers say so (compute_fbank drops it)."""
    kind: str            # "WAV" or "SPHERE"
    declared: int        # bytes of samples the header declares
    present: int         # bytes of samples the file holds

    @property
    def missing(self) -> float:
        """The share of the declared samples that is not there (0..1)."""
        return 1.0 - self.present / self.declared

    def describe(self) -> str:
        return (f"truncated {self.kind}: its header declares {self.declared} bytes of samples, the file holds "
                f"{self.present} ({100.0 * self.present / self.declared:.0f}%)")


def wav_shortfall(data: bytes) -> Optional[Tuple[int, int]]:
    """(bytes the WAV header's data chunk declares, bytes there) when the file stops short of its
    data, else None. Headers written to a pipe declare an unknown size (0 or 0xFFFFFFFF or near
    it): those are not checked."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        return None
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        if cid == b"data":
            there = len(data) - pos - 8
            if size == 0 or size >= 0x7FFF0000:
                return None
            return (size, there) if there < size else None
        pos += 8 + size + (size & 1)
    return None


def sphere_shortfall(data: bytes) -> Optional[Tuple[int, int]]:
    """(bytes of samples a plain (uncompressed) SPHERE header declares, bytes there) when the file
    stops short, else None; libsndfile reads such a file to its end without a word."""
    from desphere import SphereHeader
    from desphere.errors import DesphereError
    try:
        h = SphereHeader.parse(data)
        declared = h.sample_count * h.channel_count * h.sample_n_bytes
    except (DesphereError, AttributeError, TypeError, ValueError):
        return None
    there = len(data) - h.header_size
    return (declared, there) if 0 <= there < declared else None


def audio_shortfall(data: bytes) -> Optional[Shortfall]:
    """How far a WAV or plain SPHERE file stops short of its header's length, or None."""
    if data.startswith(SPHERE_MAGIC):
        short, kind = sphere_shortfall(data), "SPHERE"
    else:
        short, kind = wav_shortfall(data), "WAV"
    return Shortfall(kind, *short) if short else None


def _soundfile_read(data: bytes, first: Optional[int] = None) -> Tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(data), frames=-1 if first is None else first, dtype="int16",
                                   always_2d=True)
    return samples.astype(np.float32), int(rate)


def _read_sphere(data: bytes, what: str, first: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """SPHERE libsndfile cannot read: Shorten-compressed (by stream version, desphere or
    nas.data.shorten) or another coding desphere knows (ulaw, alaw)."""
    from desphere import SphereHeader, transcode_bytes  # uses its Rust accelerator when installed
    from desphere.errors import DesphereError
    try:
        header = SphereHeader.parse(data)
    except DesphereError as e:
        raise AudioError(f"{what}: bad SPHERE header: {e}") from e
    coding = header.sample_coding
    base, _, compression = (t.strip().lower() for t in coding.partition(","))
    try:
        if not compression:
            return _soundfile_read(transcode_bytes(data), first)
        if compression not in SHORTEN_CODINGS or base not in SHORTEN_BASES:
            raise AudioError(f"{what}: cannot read SPHERE sample_coding {coding!r} (compressed SPHERE is read as "
                             f"pcm or ulaw with {', '.join(SHORTEN_CODINGS)})")
        return _read_shorten(header, data[header.header_size:], base, what, first), header.sample_rate
    except DesphereError as e:
        raise AudioError(f"{what}: bad SPHERE audio (sample_coding {coding!r}): {e}") from e


def _desphere_decodes(info: shorten.StreamInfo) -> bool:
    """Whether desphere (faster: Rust) decodes this stream right. It reads only version 2, and
    desphere 0.1.1 keeps the running mean unscaled by BITSHIFT, unlike Shorten, sph2pipe and
    FFmpeg, so streams with block means (nmean > 0, the default for version-2 PCM) go to ours.
    Mu-law streams have none (Shorten does not keep means for them)."""
    return info.version == 2 and info.nmean == 0


def _read_shorten(header: "SphereHeader", stream: bytes, base: str, what: str,
                  first: Optional[int] = None) -> np.ndarray:
    """Samples (n, channels) of a Shorten stream, checked against its SPHERE header (with
    `first`, only its first samples: nas.data.shorten's decoder stops there)."""
    try:
        info = shorten.stream_info(stream)
        if info.ftype not in SHORTEN_BASES[base]:
            raise shorten.ShortenError(f"the stream holds {info.type_name}, not {base} samples")
        if info.nchan != header.channel_count:
            raise shorten.ShortenError(f"the stream has {info.nchan} channels, the header "
                                       f"{header.channel_count}")
        if first is not None:
            frames, _ = shorten.decode(stream, max_frames=header.sample_count + info.blocksize + (1 << 16),
                                       first=min(first, header.sample_count))
            return frames[:first].astype(np.float32)
        if _desphere_decodes(info):
            from desphere.codecs import ShortenCodec
            frames = np.frombuffer(ShortenCodec.decode(header, stream)[1], dtype="<i2").reshape(-1, info.nchan)
        else:
            frames, _ = shorten.decode(stream, max_frames=header.sample_count + info.blocksize + (1 << 16))
    except shorten.ShortenError as e:
        raise AudioError(f"{what}: bad Shorten audio (sample_coding {header.sample_coding!r}): {e}") from e
    if len(frames) < header.sample_count:
        raise AudioError(f"{what}: the Shorten stream holds {len(frames)} samples per channel, the SPHERE "
                         f"header declares {header.sample_count} (truncated?)")
    return frames[:header.sample_count].astype(np.float32)


def _decode_bytes(data: bytes, what: str, first: Optional[int] = None) -> Decoded:
    """Decode a whole audio file (its first `first` samples, if given): soundfile first (wav,
    flac, plain SPHERE), then _read_sphere for the SPHERE codings libsndfile lacks (Shorten, as
    WSJ and Switchboard ship them; a Shorten stream cut short is an AudioError there)."""
    try:
        samples, rate = _soundfile_read(data, first)
    except (soundfile.LibsndfileError, RuntimeError, TypeError) as e:
        error = e
    else:
        return samples, rate, audio_shortfall(data)
    if data.startswith(SPHERE_MAGIC):
        return (*_read_sphere(data, what, first), None)
    reason = str(error).split(">: ", 1)[-1]  # drop soundfile's "Error opening <BytesIO ...>: "
    raise AudioError(f"{what}: cannot decode audio ({len(data)} bytes): {reason}") from error


def read_audio(entry: str, first: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """Read one wav.scp value (a path or a `command |`) -> (samples (n, channels), rate). With
    `first`, a file is decoded only as far as its first `first` samples (stage 0's probe of a
    disc: its header and coding read in milliseconds); a command's output is read whole. A file
    shorter than its header says is read as far as it goes, with a warning (read_audio_checked
    lets the caller decide)."""
    samples, rate, short = read_audio_checked(entry, first)
    if short is not None:
        log.warning("%s: %s; reading what is there", entry.strip(), short.describe())
    return samples, rate


def read_audio_checked(entry: str, first: Optional[int] = None) -> Decoded:
    """read_audio's (samples, rate) and the file's Shortfall (None when it is whole)."""
    entry = entry.strip()
    if is_pipe(entry):
        cmd = entry[:-1].strip()
        # pipefail: a failing first command of a pipeline (e.g. a missing .sph) is an error.
        proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True)
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()[-3:]
            raise AudioError(f"command failed (exit {proc.returncode}): {cmd}: {' / '.join(err)}")
        if not proc.stdout:
            raise AudioError(f"command wrote no audio: {cmd}")
        return _decode_bytes(proc.stdout, f"output of '{cmd}'", first)
    if not os.path.isfile(entry):
        raise AudioError(f"no such file: {entry}")
    with open(entry, "rb") as f:
        data = f.read()
    return _decode_bytes(data, entry, first)


def select_channel(samples: np.ndarray, channel: int, what: str) -> np.ndarray:
    """Return one channel as 1-D. channel=-1 accepts only mono audio, as Kaldi's --channel=-1."""
    n_ch = samples.shape[1]
    if channel < 0:
        if n_ch != 1:
            raise AudioError(f"{what}: audio has {n_ch} channels; choose one with --channel "
                             f"(0-based) or in wav.scp (sph2pipe -c N)")
        return samples[:, 0]
    if channel >= n_ch:
        raise AudioError(f"{what}: channel {channel} requested but audio has {n_ch} channel(s)")
    return samples[:, channel]


def cut_segment(samples: np.ndarray, rate: int, start: float, end: float, what: str,
                max_overshoot: float = 0.5) -> np.ndarray:
    """Cut [start, end) seconds from `samples` (end <= 0 means to the end of the recording).

    An end past the recording by at most `max_overshoot` seconds is clamped, as
    Kaldi's extract-segments does; more than that is an error.
    """
    n = samples.shape[0]
    s = int(round(start * rate))
    e = n if end <= 0 else int(round(end * rate))
    if e > n:
        if (e - n) / rate > max_overshoot:
            raise AudioError(f"{what}: segment end {end:.2f}s is past the recording's end {n / rate:.2f}s")
        e = n
    if s < 0 or s >= e:
        raise AudioError(f"{what}: empty or invalid segment [{start}, {end}] for a recording of {n / rate:.2f}s")
    return samples[s:e]


def load_utterance(entry: str, channel: int = -1, segment: Optional[Tuple[float, float]] = None,
                   what: str = "") -> Tuple[np.ndarray, int]:
    """Samples of one utterance (1-D, int16 scale) and its rate: read, pick the channel, cut."""
    samples, rate = read_audio(entry)
    if segment is not None:
        samples = cut_segment(samples, rate, segment[0], segment[1], what or entry)
    return select_channel(samples, channel, what or entry), rate
