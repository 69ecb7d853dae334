"""A tiny corpus for the training stages: random 40-dim features whose frames carry their labels.

Each unit has its own mean vector, so the data are learnable: an utterance's frames are the
means of its phones (each held for several frames) plus noise.
"""
from __future__ import annotations

import json
from pathlib import Path

import kaldiio
import numpy as np

WORDS = {"a": [2, 3], "b": [4], "c": [3, 5], "d": [5, 2, 4]}
UNITS = ["AA", "BB", "CC", "DD"]                       # token ids 2..5


def make_lang(d: Path, extra_unit: bool = False) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    units = UNITS + (["EE"] if extra_unit else [])
    toks = ["<eps> 0", "<blk> 1"] + [f"{u} {i + 2}" for i, u in enumerate(units)] + [f"#0 {len(units) + 2}"]
    (d / "tokens.txt").write_text("\n".join(toks) + "\n")
    words = dict(WORDS, **({"e": [6]} if extra_unit else {}))
    (d / "lexicon_numbers.txt").write_text("".join(f"{w} {' '.join(map(str, p))}\n" for w, p in sorted(words.items())))
    return d


def make_data(d: Path, n_spk: int = 4, per_spk: int = 8, seed: int = 0, dim: int = 40,
              extra_unit: bool = False, nan_utt: str = "") -> Path:
    rng = np.random.default_rng(seed)
    means = np.random.default_rng(123).normal(0, 2.0, (8, dim)).astype(np.float32)
    d.mkdir(parents=True, exist_ok=True)
    words = sorted(WORDS) + (["e"] if extra_unit else [])
    lex = dict(WORDS, **({"e": [6]} if extra_unit else {}))
    texts, utt2spk, feats = {}, {}, {}
    for s in range(n_spk):
        for u in range(per_spk):
            key = f"spk{s}-u{u:02d}"
            ws = list(rng.choice(words, size=int(rng.integers(1, 4))))
            frames = []
            for w in ws:
                for t in lex[w]:
                    frames += [means[0]] * int(rng.integers(2, 5)) + [means[t]] * int(rng.integers(5, 9))
            frames += [means[0]] * 4
            x = np.stack(frames) + rng.normal(0, 0.5, (len(frames), dim)).astype(np.float32) + s * 0.3
            texts[key], utt2spk[key], feats[key] = " ".join(ws), f"spk{s}", x.astype(np.float32)
    with kaldiio.WriteHelper(f"ark,scp:{d / 'feats.ark'},{d / 'feats.scp'}") as w:
        for k in sorted(feats):
            w(k, np.full_like(feats[k], np.nan) if k == nan_utt else feats[k])     # stats stay clean
    (d / "text").write_text("".join(f"{k} {texts[k]}\n" for k in sorted(texts)))
    (d / "utt2spk").write_text("".join(f"{k} {utt2spk[k]}\n" for k in sorted(utt2spk)))
    spks = sorted(set(utt2spk.values()))
    (d / "spk2utt").write_text("".join(f"{s} {' '.join(k for k in sorted(utt2spk) if utt2spk[k] == s)}\n"
                                       for s in spks))
    (d / "utt2num_frames").write_text("".join(f"{k} {feats[k].shape[0]}\n" for k in sorted(feats)))
    with kaldiio.WriteHelper(f"ark,scp:{d / 'cmvn.ark'},{d / 'cmvn.scp'}") as w:
        for s in spks:
            x = np.concatenate([feats[k] for k in sorted(feats) if utt2spk[k] == s]).astype(np.float64)
            stats = np.zeros((2, dim + 1))
            stats[0, :dim], stats[0, dim] = x.sum(0), len(x)
            stats[1, :dim] = (x ** 2).sum(0)
            w(s, stats)
    return d


TINY_SPACE = {"name": "tiny", "hidden": 24, "dropout": 0.0, "layer_norm": True,
              "candidates": ["tdnn-C1D1", "tdnn-C1D2", "tdnn-C2D1"],
              "nodes": [{"name": "b1", "search": True}, {"name": "sub", "op": "tdnn-C1D1S3"},
                        {"name": "b2", "search": True}, {"name": "output", "op": "linear", "out": "tokens"}]}


def make_space(path: Path, **over) -> Path:
    path.write_text(json.dumps(dict(TINY_SPACE, **over)))
    return path
