"""Voices of the harder synthetic corpus (make_corpus.py --voices v2) and their dry speech.

The pool is every English voice the Debian packages of tools/install_deb_deps.sh ship: flite's
(kal16, awb, rms, slt), festival's (kal and ked diphones, the slt HTS voice) and 84 of espeak-ng
1.51's 101 variants (espeak-ng-data/voices/!v, less novelty effects: robots, whispers), each
variant spoken once, with an accent of espeak-ng's English ones and its own pitch and rate. A
voice belongs to a *group*, the recorded or designed speaker behind it (flite's and festival's
slt are one speaker; espeak's klatt..klatt6 one variant family), and splits are drawn by group,
so that no speaker of the test set is heard in training under another engine or accent.

Run as a script, it lists the pool: `python corpus_voices.py [--synth-check]`.
"""
from __future__ import annotations

import argparse
import io
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import soundfile

# espeak-ng 1.51's English accents (gmw/); the mbrola ones need voices Debian does not ship
ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc")
# espeak-ng 1.51's voice variants (voices/!v: 101), less 17: effects no recording has (robosoft1-8,
# UniRobot, anikaRobot, whisper, whisperf, croak, Demonic, Tweaky), "fast" (a rate, drawn here
# anyway) and "Mr serious" (a space in its name)
VARIANTS = """Alex Alicia Andrea Andy Annie AnxiousAndy Denis Diogo Gene Gene2 Henrique Hugo Jacky Lee Marco
Mario Michael Mike Nguyen RicishayMax RicishayMax2 RicishayMax3 Storm adam anika announcer antonio aunty belinda
benjamin boris caleb david ed edward edward2 f1 f2 f3 f4 f5 grandma grandpa gustave iven iven2 iven3 iven4 john
kaukovalta klatt klatt2 klatt3 klatt4 klatt5 klatt6 linda m1 m2 m3 m4 m5 m6 m7 m8 marcelo max michel miguel
norbert pablo paul pedro quincy rob robert sandro shelby steph steph2 steph3 travis victor zac""".split()
FLITE = {"kal16": "kal", "awb": "awb", "rms": "rms", "slt": "slt"}                  # voice -> speaker
FESTIVAL = {"kal_diphone": "kal", "ked_diphone": "ked", "cmu_us_slt_arctic_hts": "slt"}


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: engine, the engine's voice name, its speaker group, pitch and rate."""
    name: str          # speaker id (letters and digits)
    engine: str        # espeak | flite | festival
    voice: str
    group: str         # the speaker behind it: splits never share a group
    pitch: int = 50    # espeak-ng -p
    speed: int = 160   # espeak-ng -s (words per minute)


def variant_group(variant: str) -> str:
    """espeak variants that are numbered copies of one design (klatt2, iven3, steph2) form one
    group; m1..m8 and f1..f5 are distinct designs and stay apart."""
    if re.fullmatch(r"[mf]\d", variant):
        return "es-" + variant
    return "es-" + re.sub(r"\d+$", "", variant).lower()


def voice_pool() -> List[Voice]:
    """Every engine voice once, espeak variants at default accent/pitch/rate (make_voices draws those)."""
    pool = [Voice(f"fl{v}", "flite", v, "tts-" + g) for v, g in FLITE.items()]
    pool += [Voice("fv" + g, "festival", v, "tts-" + g) for v, g in FESTIVAL.items()]
    pool += [Voice("es" + v.lower(), "espeak", v, variant_group(v)) for v in VARIANTS]
    return pool


def make_voices(n: int, seed: int) -> List[Voice]:
    """n voices drawn from the pool: flite's and festival's first, then espeak variants in a
    random order, each with a random accent, pitch (25-75) and rate (130-190 wpm)."""
    rng = random.Random(seed)
    pool = voice_pool()
    fixed = [v for v in pool if v.engine != "espeak"]
    variants = [v for v in pool if v.engine == "espeak"]
    rng.shuffle(variants)
    out = fixed[:n]
    for v in variants[: max(0, n - len(fixed))]:
        accent = rng.choice(ACCENTS)
        tag = accent.replace("en-", "").replace("-x-", "").replace("-", "")
        out.append(Voice(f"es{tag}{v.voice.lower()}", "espeak", f"{accent}+{v.voice}", v.group,
                         rng.randint(25, 75), rng.randint(130, 190)))
    return out


def missing_engines(voices: Sequence[Voice]) -> List[str]:
    """The synthesizer commands the voices need that are not on PATH."""
    need = {"espeak": "espeak-ng", "flite": "flite", "festival": "text2wave"}
    return sorted({need[v.engine] for v in voices if shutil.which(need[v.engine]) is None} |
                  ({"sox"} if shutil.which("sox") is None else set()))


def tts_wav(v: Voice, text: str) -> bytes:
    """The engine's own WAV bytes for `text` (its rate: 16, 22.05 or 32 kHz)."""
    if v.engine == "espeak":
        cmd = ["espeak-ng", "-v", v.voice, "-p", str(v.pitch), "-s", str(v.speed), "--stdout", text]
        return subprocess.run(cmd, capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "x.wav"
        if v.engine == "flite":
            cmd = ["flite", "-voice", v.voice, "-t", text, "-o", str(wav)]
            subprocess.run(cmd, capture_output=True, check=True)
        elif v.engine == "festival":
            cmd = ["text2wave", "-eval", f"(voice_{v.voice})", "-o", str(wav)]
            subprocess.run(cmd, input=text.encode(), capture_output=True, check=True)
        else:
            raise ValueError(f"unknown engine {v.engine!r} of voice {v.name}")
        return wav.read_bytes()


def dry_speech(v: Voice, text: str, rate: int, tempo: float = 1.0, pitch_cents: float = 0.0) -> np.ndarray:
    """`text` in voice `v` at `rate` Hz, its tempo and pitch changed by sox (WSOLA), float32."""
    effects: List[str] = []
    if abs(tempo - 1.0) > 1e-6:
        effects += ["tempo", "-s", f"{tempo:.4f}"]
    if abs(pitch_cents) > 1e-6:
        effects += ["pitch", f"{pitch_cents:.1f}"]
    # -D: no dither, so that the same seed gives the same samples (sox dithers from a clock seed)
    cmd = ["sox", "-D", "-t", "wav", "-", "-t", "wav", "-e", "floating-point", "-b", "32", "-c", "1", "-", *effects,
           "rate", str(rate)]
    proc = subprocess.run(cmd, input=tts_wav(v, text), capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sox failed for voice {v.name} ({v.engine} {v.voice}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    x, _ = soundfile.read(io.BytesIO(proc.stdout), dtype="float32")
    if x.size == 0:
        raise RuntimeError(f"voice {v.name} ({v.engine} {v.voice}) gave no audio for {text!r}")
    return x


def main(argv: Optional[Sequence[str]] = None) -> int:
    p = argparse.ArgumentParser(description="List the v2 voice pool (engine, voice, speaker group).")
    p.add_argument("--synth-check", action="store_true", help="synthesize a sentence in each voice, report failures")
    a = p.parse_args(argv)
    pool = voice_pool()
    groups: Dict[str, int] = {}
    for v in pool:
        groups[v.group] = groups.get(v.group, 0) + 1
        print(f"{v.name}\t{v.engine}\t{v.voice}\t{v.group}")
    print(f"{len(pool)} voices in {len(groups)} speaker groups; missing commands: "
          f"{' '.join(missing_engines(pool)) or 'none'}", file=sys.stderr)
    bad = 0
    if a.synth_check:
        for v in make_voices(len(pool), 0):
            try:
                dry_speech(v, "please move the red box", 16000)
            except (RuntimeError, subprocess.CalledProcessError) as e:
                bad += 1
                print(f"corpus_voices.py: {v.name}: {e}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
