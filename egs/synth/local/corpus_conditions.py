"""Recording conditions of the harder synthetic corpus (make_corpus.py --conditions v2).

Each utterance draws, from its split's *family* of conditions: a tempo and pitch change (sox),
a room (a simulated room impulse response from a bank made once per corpus with
pyroomacoustics' image-source method) or none, additive noise (white, pink or brown noise, or
babble: the sum of 3-7 other training utterances) at a random SNR, a channel (wide band, or
telephone band: 8 kHz, 300-3400 Hz, with or without a codec through sox) and a gain. The test
family holds out what training never draws: brown noise, rooms of longer reverberation
(RT60 0.6-0.9 s against 0.15-0.6 s) and the GSM and AMR-NB codecs (training: mu-law, A-law).
Every draw comes from the caller's random.Random, and what was drawn is one row of
conditions.tsv, so that results can be broken down by condition.

Run as a script: `python corpus_conditions.py --help` prints the families.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from typing import List, Optional, Sequence, Tuple

import numpy as np
import soundfile

Weights = Tuple[Tuple[str, float], ...]
CODECS = {"mulaw": "ul", "alaw": "al", "gsm": "gsm", "amrnb": "amr-nb"}   # channel suffix -> sox type
LEVEL_DBFS = -26.0       # RMS level of an utterance before its gain


@dataclass(frozen=True)
class Family:
    """The distribution of conditions a split draws from."""
    name: str
    noise: Weights                           # kind -> weight: none, white, pink, brown, babble
    snr_db: Tuple[float, float]
    reverb_share: float                      # share of utterances convolved with a room
    rt60_s: Tuple[float, float]              # reverberation time of the family's rooms
    room_m: Tuple[Tuple[float, float, float], Tuple[float, float, float]]   # room size range (x, y, z)
    channel: Weights                         # wide, tel, tel-mulaw, tel-alaw, tel-gsm, tel-amrnb
    tempo: Tuple[float, float] = (0.9, 1.1)
    pitch_cents: Tuple[float, float] = (-150.0, 150.0)
    gain_db: Tuple[float, float] = (-12.0, 6.0)
    babble_talkers: Tuple[int, int] = (3, 7)


TRAIN = Family("train", noise=(("none", 0.2), ("white", 0.2), ("pink", 0.2), ("babble", 0.4)), snr_db=(5.0, 30.0),
               reverb_share=0.5, rt60_s=(0.15, 0.6), room_m=((3.0, 3.0, 2.4), (8.0, 7.0, 3.5)),
               channel=(("wide", 0.7), ("tel", 0.1), ("tel-mulaw", 0.1), ("tel-alaw", 0.1)))
TEST = Family("test", noise=(("none", 0.15), ("white", 0.1), ("pink", 0.1), ("babble", 0.3), ("brown", 0.35)),
              snr_db=(5.0, 30.0), reverb_share=0.5, rt60_s=(0.6, 0.9), room_m=((6.0, 5.0, 3.0), (12.0, 10.0, 5.0)),
              channel=(("wide", 0.5), ("tel-gsm", 0.25), ("tel-amrnb", 0.25)))
FAMILIES = {"train": TRAIN, "test": TEST}


@dataclass(frozen=True)
class Room:
    """One simulated room: size, absorption from its RT60 (Sabine), source and microphone."""
    dims: Tuple[float, float, float]
    rt60: float
    source: Tuple[float, float, float]
    mic: Tuple[float, float, float]


@dataclass
class Condition:
    """What one utterance drew (a row of conditions.tsv)."""
    utt: str
    family: str
    tempo: float
    pitch_cents: float
    noise: str
    snr_db: float
    babble: List[str] = field(default_factory=list)     # the training utterances summed into babble
    room: int = -1                                      # index into the family's room bank; -1: none
    rt60: float = 0.0
    channel: str = "wide"
    gain_db: float = 0.0
    noise_seed: int = 0
    heldout: bool = False                               # drew something training never draws

    HEADER = "utt family tempo pitch_cents noise snr_db babble_talkers room rt60 channel gain_db heldout".split()

    def row(self) -> str:
        vals = [self.utt, self.family, f"{self.tempo:.3f}", f"{self.pitch_cents:.0f}", self.noise,
                f"{self.snr_db:.1f}" if self.noise != "none" else "-", str(len(self.babble)), str(self.room),
                f"{self.rt60:.2f}" if self.room >= 0 else "-", self.channel, f"{self.gain_db:.1f}",
                str(int(self.heldout))]
        return "\t".join(vals) + "\n"


def _pick(rng: random.Random, weights: Weights) -> str:
    return rng.choices([k for k, _ in weights], [w for _, w in weights])[0]


def draw_rooms(rng: random.Random, family: Family, n: int) -> List[Room]:
    """n rooms of the family: size and RT60 uniform in its ranges, source and microphone at
    least 0.5 m from the walls, the microphone 1-1.7 m high."""
    rooms = []
    lo, hi = family.room_m
    for _ in range(n):
        dims = tuple(round(rng.uniform(a, b), 2) for a, b in zip(lo, hi))
        src = (rng.uniform(0.5, dims[0] - 0.5), rng.uniform(0.5, dims[1] - 0.5), rng.uniform(1.2, 1.9))
        mic = (rng.uniform(0.5, dims[0] - 0.5), rng.uniform(0.5, dims[1] - 0.5), rng.uniform(1.0, 1.7))
        rooms.append(Room(dims, round(rng.uniform(*family.rt60_s), 3), src, mic))
    return rooms


def room_rir(room: Room, rate: int) -> np.ndarray:
    """The room's impulse response (image sources up to the order its RT60 needs), peak 1."""
    import pyroomacoustics as pra      # only the v2 corpus needs it
    absorption, max_order = pra.inverse_sabine(room.rt60, list(room.dims))
    sim = pra.ShoeBox(list(room.dims), fs=rate, materials=pra.Material(absorption), max_order=max_order)
    sim.add_source(list(room.source))
    sim.add_microphone(list(room.mic))
    sim.compute_rir()
    h = np.asarray(sim.rir[0][0], dtype=np.float64)
    return (h / np.max(np.abs(h))).astype(np.float32)


def draw(rng: random.Random, utt: str, family: Family, rooms: Sequence[Room], babble_pool: Sequence[str]
         ) -> Condition:
    """One utterance's conditions from `family`: a room of its bank `rooms` or none, babble
    talkers from `babble_pool` (never `utt` itself)."""
    c = Condition(utt, family.name, round(rng.uniform(*family.tempo), 3), round(rng.uniform(*family.pitch_cents)),
                  _pick(rng, family.noise), round(rng.uniform(*family.snr_db), 1))
    if c.noise == "babble":
        others = [u for u in babble_pool if u != utt]
        c.babble = rng.sample(others, min(len(others), rng.randint(*family.babble_talkers)))
        if not c.babble:
            c.noise = "white"
    if rng.random() < family.reverb_share and rooms:
        c.room = rng.randrange(len(rooms))
        c.rt60 = rooms[c.room].rt60
    c.channel = _pick(rng, family.channel)
    c.gain_db = round(rng.uniform(*family.gain_db), 1)
    c.noise_seed = rng.getrandbits(32)
    c.heldout = family is not TRAIN and (c.noise not in dict(TRAIN.noise) or c.room >= 0
                                         or c.channel not in dict(TRAIN.channel))
    return c


def colored_noise(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS noise whose power falls as 1/f^0 (white), 1/f (pink) or 1/f^2 (brown)."""
    exponent = {"white": 0.0, "pink": 1.0, "brown": 2.0}[kind]
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0                                 # no infinite DC gain
    x = np.fft.irfft(spec / f ** (exponent / 2), n)
    x -= x.mean()
    return (x / (np.sqrt(np.mean(x ** 2)) + 1e-12)).astype(np.float32)


def babble_noise(sources: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """Unit-RMS sum of the talkers, each looped to n samples from a random offset at unit RMS."""
    out = np.zeros(n, dtype=np.float64)
    for s in sources:
        s = s / (np.sqrt(np.mean(s.astype(np.float64) ** 2)) + 1e-12)
        reps = np.tile(s, n // len(s) + 2)
        k = int(rng.integers(0, len(s)))
        out += reps[k:k + n]
    return (out / (np.sqrt(np.mean(out ** 2)) + 1e-12)).astype(np.float32)


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """speech + noise scaled so that their power ratio is snr_db."""
    ps = float(np.mean(speech.astype(np.float64) ** 2))
    pn = float(np.mean(noise.astype(np.float64) ** 2)) + 1e-20
    return (speech + noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))).astype(np.float32)


def telephone(x: np.ndarray, rate: int, channel: str) -> np.ndarray:
    """The telephone band (8 kHz, 300-3400 Hz), optionally through a codec, back at `rate`."""
    codec = channel.split("-", 1)[1] if "-" in channel else ""
    kind = CODECS[codec] if codec else "wav"
    buf = io.BytesIO()
    soundfile.write(buf, np.clip(x, -1, 1), rate, subtype="FLOAT", format="WAV")
    enc = ["sox", "-D", "-t", "wav", "-", "-t", kind, *(["-b", "16"] if kind == "wav" else []), "-",
           "sinc", "300-3400", "rate", "8000"]
    dec = ["sox", "-D", "-t", kind, *(["-r", "8000", "-c", "1"] if kind != "wav" else []), "-",
           "-t", "wav", "-e", "floating-point", "-b", "32", "-", "rate", str(rate)]
    coded = _sox(enc, buf.getvalue(), channel)
    y, _ = soundfile.read(io.BytesIO(_sox(dec, coded, channel)), dtype="float32")
    return y


def _sox(cmd: List[str], data: bytes, what: str) -> bytes:
    proc = subprocess.run(cmd, input=data, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sox failed for channel {what} ({' '.join(cmd)}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def apply(c: Condition, x: np.ndarray, rate: int, rir: Optional[np.ndarray],
          babble_sources: Sequence[np.ndarray]) -> Tuple[np.ndarray, float]:
    """The utterance under its conditions: room, noise, channel, gain. Returns the audio and the
    share of its samples clipped at full scale."""
    from scipy.signal import fftconvolve
    y = x.astype(np.float32)
    if rir is not None:
        wet = fftconvolve(y, rir)[: len(y)]
        y = (wet * np.sqrt(np.mean(y ** 2) / (np.mean(wet ** 2) + 1e-20))).astype(np.float32)
    rng = np.random.default_rng(c.noise_seed)
    if c.noise == "babble":
        y = mix_at_snr(y, babble_noise(babble_sources, len(y), rng), c.snr_db)
    elif c.noise != "none":
        y = mix_at_snr(y, colored_noise(c.noise, len(y), rng), c.snr_db)
    y = y * (10 ** (LEVEL_DBFS / 20) / (np.sqrt(np.mean(y.astype(np.float64) ** 2)) + 1e-12))
    if c.channel != "wide":
        y = telephone(y, rate, c.channel)
    y = y * 10 ** (c.gain_db / 20)
    clipped = float(np.mean(np.abs(y) >= 1.0))
    return np.clip(y, -1.0, 1.0).astype(np.float32), clipped


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description="Print the condition families of make_corpus.py --conditions v2 "
                                            "as JSON (the test family's held-out draws included).")
    p.parse_args(argv)
    for name, family in FAMILIES.items():
        print(name, json.dumps(asdict(family)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
