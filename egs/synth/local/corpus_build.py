"""The harder corpus's pipeline (make_corpus.py with --voices v2 or --conditions v2).

Voices are split by speaker group (corpus_voices), so no test speaker is heard in training.
Audio is made in two passes, since babble needs other training utterances: pass 1 writes every
utterance's dry speech (its voice, tempo and pitch) under <out>/.dry, pass 2 puts each one
through its recording conditions (corpus_conditions) into <out>/wav and the dry copies are
removed. Rooms are simulated once per corpus into a bank per condition family. Every draw
comes from the caller's random.Random (make_corpus.py --seed), in a fixed order, so the same
seed and options give the same corpus whatever --nj.

Writes <out>/<split>.tsv as make_corpus.py does and <out>/conditions.tsv (what each utterance
drew; the header names the columns).
"""
from __future__ import annotations

import random
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import soundfile

import corpus_conditions as cc
import corpus_voices as cv

SPLITS = ("test", "dev", "train")


@dataclass
class Utt:
    """One utterance to make: who says what, under which conditions, where it goes."""
    utt: str
    split: str
    voice: cv.Voice
    text: str
    cond: cc.Condition
    dry: str
    wav: str


def split_by_group(voices: Sequence[cv.Voice], counts: Dict[str, int], rng: random.Random
                   ) -> Dict[str, List[cv.Voice]]:
    """Test and dev get `counts` voices each, whole speaker groups at a time; train the rest."""
    groups: Dict[str, List[cv.Voice]] = {}
    for v in voices:
        groups.setdefault(v.group, []).append(v)
    names = sorted(groups)
    rng.shuffle(names)
    out: Dict[str, List[cv.Voice]] = {s: [] for s in SPLITS}
    for split in ("test", "dev"):
        for g in list(names):
            if len(out[split]) + len(groups[g]) <= counts[split]:
                out[split] += groups[g]
                names.remove(g)
        if len(out[split]) < counts[split]:
            raise ValueError(f"cannot give {split} {counts[split]} voices in whole speaker groups "
                             f"(got {len(out[split])}): ask for more voices or fewer held-out ones")
    out["train"] = [v for g in names for v in groups[g]]
    if not out["train"]:
        raise ValueError("no voices left for training")
    return out


def plan(splits: Dict[str, List[cv.Voice]], per_voice: Dict[str, int], rng: random.Random,
         make_sentence: Callable[[], str], out: Path, families: Dict[str, cc.Family],
         rooms: Dict[str, List[cc.Room]]) -> List[Utt]:
    """Texts and conditions of every utterance, drawn in split, voice, utterance order; babble
    talkers come from the training utterances."""
    utts: List[Utt] = []
    for split in SPLITS:
        for v in sorted(splits[split], key=lambda v: v.name):
            for i in range(per_voice[split]):
                u = f"{v.name}-{i:04d}"
                utts.append(Utt(u, split, v, make_sentence(), None, str(out / ".dry" / f"{u}.wav"),
                                str(out / "wav" / v.name / f"{u}.wav")))
    train_ids = [u.utt for u in utts if u.split == "train"]
    for u in utts:
        f = families[u.split]
        u.cond = cc.draw(rng, u.utt, f, rooms[f.name], train_ids)
    return utts


_BANKS: Dict[str, List[np.ndarray]] = {}


def _init_worker(banks: Dict[str, List[np.ndarray]]) -> None:
    _BANKS.update(banks)


def _dry_job(job: Tuple[cv.Voice, str, int, float, float, str]) -> int:
    v, text, rate, tempo, pitch, path = job
    x = cv.dry_speech(v, text, rate, tempo, pitch)
    soundfile.write(path, x, rate, subtype="FLOAT")
    return len(x)


def _wet_job(job: Tuple[cc.Condition, str, List[str], str, int]) -> float:
    cond, dry, babble, path, rate = job
    x, _ = soundfile.read(dry, dtype="float32")
    sources = [soundfile.read(b, dtype="float32")[0] for b in babble]
    rir = _BANKS[cond.family][cond.room] if cond.room >= 0 else None
    y, clipped = cc.apply(cond, x, rate, rir, sources)
    soundfile.write(path, y, rate, subtype="PCM_16")
    return clipped


def _rir_job(job: Tuple[cc.Room, int]) -> np.ndarray:
    return cc.room_rir(*job)


def build(voices: Sequence[cv.Voice], counts: Dict[str, int], per_voice: Dict[str, int], rng: random.Random,
          make_sentence: Callable[[], str], out: Path, rate: int, nj: int, conditions: str,
          dev_family: str = "train", num_rooms: int = 40) -> Tuple[Dict[str, List[str]], Set[str]]:
    """Make the corpus's audio, <split>.tsv and conditions.tsv. Returns each split's voice names
    and the dev and test sentences (kept out of the LM text)."""
    missing = cv.missing_engines(voices)
    if missing:
        raise RuntimeError(f"commands not found: {' '.join(missing)} (tools/install_deb_deps.sh installs them)")
    splits = split_by_group(voices, counts, rng)
    families = ({"train": cc.TRAIN, "dev": cc.FAMILIES[dev_family], "test": cc.TEST} if conditions == "v2"
                else {s: _mild(s) for s in SPLITS})
    unique = {f.name: f for f in families.values()}          # dev may share train's family
    rooms = {n: cc.draw_rooms(rng, f, num_rooms if f.reverb_share > 0 else 0) for n, f in sorted(unique.items())}
    utts = plan(splits, per_voice, rng, make_sentence, out, families, rooms)
    for v in voices:
        (out / "wav" / v.name).mkdir(parents=True, exist_ok=True)
    (out / ".dry").mkdir(parents=True, exist_ok=True)
    by_id = {u.utt: u for u in utts}
    with ProcessPoolExecutor(max_workers=max(1, nj)) as pool:
        t0 = time.time()
        banks = {name: list(pool.map(_rir_job, [(r, rate) for r in rs])) for name, rs in rooms.items()}
        t1 = time.time()
        dry_jobs = [(u.voice, u.text, rate, u.cond.tempo, u.cond.pitch_cents, u.dry) for u in utts]
        samples = sum(pool.map(_dry_job, dry_jobs, chunksize=8))
        t2 = time.time()
    with ProcessPoolExecutor(max_workers=max(1, nj), initializer=_init_worker, initargs=(banks,)) as pool:
        wet_jobs = [(u.cond, u.dry, [by_id[b].dry for b in u.cond.babble], u.wav, rate) for u in utts]
        clipped = list(pool.map(_wet_job, wet_jobs, chunksize=8))
        t3 = time.time()
    shutil.rmtree(out / ".dry")
    for split in SPLITS:
        (out / f"{split}.tsv").write_text("".join(f"{u.utt}\t{u.voice.name}\t{u.wav}\t{u.text.upper()}\n"
                                                  for u in utts if u.split == split))
    (out / "conditions.tsv").write_text("\t".join(["split"] + cc.Condition.HEADER) + "\n" +
                                        "".join(f"{u.split}\t{u.cond.row()}" for u in utts))
    hours = samples / rate / 3600
    print(f"make_corpus.py: {len(utts)} utterances, {hours:.2f} h; rooms {t1 - t0:.0f} s, dry speech "
          f"{t2 - t1:.0f} s, conditions {t3 - t2:.0f} s at --nj {nj}; {sum(c > 0 for c in clipped)} "
          f"utterances with clipped samples", file=sys.stderr)
    return ({s: [v.name for v in splits[s]] for s in SPLITS},
            {u.text for u in utts if u.split != "train"})


def _mild(split: str) -> cc.Family:
    """--conditions v1 under this pipeline: the original corpus's mild gain and faint white noise."""
    return cc.Family(split, noise=(("white", 1.0),), snr_db=(40.0, 55.0), reverb_share=0.0, rt60_s=(0.0, 0.0),
                     room_m=((1.0, 1.0, 1.0), (1.0, 1.0, 1.0)), channel=(("wide", 1.0),), tempo=(1.0, 1.0),
                     pitch_cents=(0.0, 0.0), gain_db=(-6.0, 3.0))


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0] + " Run make_corpus.py; this module has no "
                            "command of its own.").parse_args(argv)
    print("corpus_build.py: run make_corpus.py --voices v2 --conditions v2 (see its --help)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
