"""Synthesize a small speech corpus with espeak-ng: sentences from a grammar, several voices.

Deterministic for a given seed. Voices are split speaker-disjointly into
train / dev / test. Writes <out>/wav/<spk>/<utt>.wav (16 kHz, 16 bit, mono,
mild noise and gain variation) and <out>/<split>.tsv lines `utt spk path text`.

This is the starting corpus of the default recipe; the full corpus of the
default-recipe issue (500+ words, 30+ voices, flite voices) replaces it.
"""
from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import numpy as np
import soundfile

VERBS = "place put move set take find bring show give hold".split()
COLORS = "red green blue white black yellow brown orange purple gray".split()
OBJECTS = "box ball book chair table lamp cup door key phone".split()
PREPS = "near under behind above beside".split()
NUMBERS = "one two three four five six seven eight nine ten".split()

# espeak-ng voice (language + variant), pitch, words per minute
VOICES: List[Tuple[str, int, int]] = [
    ("en-us+m1", 45, 165), ("en-us+f2", 60, 160), ("en-gb+m3", 40, 150), ("en-gb-scotland+f1", 55, 170),
    ("en-029+m2", 50, 155), ("en-gb-x-rp+f3", 65, 175), ("en-us+m4", 35, 145), ("en-gb+f4", 58, 165),
]


def sentence(rng: random.Random) -> str:
    return (f"{rng.choice(VERBS)} the {rng.choice(COLORS)} {rng.choice(OBJECTS)} "
            f"{rng.choice(PREPS)} {rng.choice(NUMBERS)}")


def synthesize(text: str, voice: str, pitch: int, speed: int, rate: int) -> np.ndarray:
    """espeak-ng to 16-bit samples at `rate` (resampled by sox)."""
    cmd = f"espeak-ng -v {voice} -p {pitch} -s {speed} --stdout | sox -t wav - -t wav -r {rate} -"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], input=text.encode(), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"'{cmd}' failed: {proc.stderr.decode(errors='replace').strip()}")
    x, _ = soundfile.read(io.BytesIO(proc.stdout), dtype="float32")
    return x


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--utts-per-voice", type=int, default=30)
    p.add_argument("--num-dev-voices", type=int, default=1)
    p.add_argument("--num-test-voices", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("out_dir")
    a = p.parse_args(argv)
    if a.num_dev_voices + a.num_test_voices >= len(VOICES):
        print(f"make_corpus.py: only {len(VOICES)} voices; dev + test must leave some for train", file=sys.stderr)
        return 1
    out = Path(a.out_dir).resolve()
    rng = random.Random(a.seed)
    voices = VOICES[:]
    rng.shuffle(voices)
    n_test, n_dev = a.num_test_voices, a.num_dev_voices
    splits = {"test": voices[:n_test], "dev": voices[n_test:n_test + n_dev], "train": voices[n_test + n_dev:]}
    noise_rng = np.random.default_rng(a.seed)
    for split, vs in splits.items():
        rows = []
        for voice, pitch, speed in vs:
            spk = "spk" + voice.replace("+", "-").replace("en-", "")
            (out / "wav" / spk).mkdir(parents=True, exist_ok=True)
            for i in range(a.utts_per_voice):
                text = sentence(rng)
                x = synthesize(text, voice, pitch, speed, a.rate)
                gain = 10 ** (noise_rng.uniform(-6, 3) / 20)
                noise = noise_rng.normal(0, 10 ** (noise_rng.uniform(-55, -45) / 20), size=x.shape)
                y = np.clip((x * gain + noise) * 0.7, -1, 1)
                utt = f"{spk}-{i:04d}"
                path = out / "wav" / spk / f"{utt}.wav"
                soundfile.write(path, y, a.rate, subtype="PCM_16")
                rows.append(f"{utt}\t{spk}\t{path}\t{text.upper()}\n")
        (out / f"{split}.tsv").write_text("".join(rows))
        print(f"make_corpus.py: {split}: {len(rows)} utterances, voices {' '.join(v for v, _, _ in vs)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
