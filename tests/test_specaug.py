"""SpecAugment (nas.features.specaug) and its hook in the training data loader (nas.train.data):
masks stay within each utterance's length and width bounds, hide the same bins of every delta
block, are a function of (seed, epoch, utterance) alone, off is the identity, and held-out
batches are never masked."""
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.features.pipeline import FeaturePipeline
from nas.features.specaug import SpecAugment, spec_augment_spec
from nas.options import add_config_args, build_config
from nas.train import data as D
from nas.train.config import TrainOptions
from train_fixtures import make_data, make_lang

LENGTHS = [400, 20, 137, 3]


def _batch(dim: int = 120, lengths=LENGTHS):
    """A padded batch of ones (no feature is 0 before masking) with its lengths and keys."""
    x = torch.zeros(len(lengths), max(lengths), dim)
    for i, n in enumerate(lengths):
        x[i, :n] = 1.0 + torch.rand(n, dim)
    return x, torch.tensor(lengths), [f"utt{i}" for i in range(len(lengths))]


def _bands(cols: np.ndarray):
    """The runs of True in a boolean vector, as (start, width)."""
    runs, start = [], None
    for i, c in enumerate(list(cols) + [False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            runs.append((start, i - start))
            start = None
    return runs


@pytest.mark.parametrize("epoch", range(5))
def test_masks_stay_within_lengths_and_widths(epoch):
    aug = SpecAugment(freq_masks=2, freq_width=7, time_masks=2, time_width=0.5, time_max=30, blocks=3, seed=1)
    x, lengths, keys = _batch()
    x0 = x.clone()
    y = aug(x, lengths, keys, epoch).numpy()
    assert torch.equal(x, x0)                                     # the input is left as it was
    for i, n in enumerate(LENGTHS):
        assert not y[i, n:].any()                                 # the padding stays zero
        zero = y[i, :n] == 0
        rows = zero.all(axis=1)                                   # time masks: whole frames
        assert rows.sum() <= 2 * min(30, int(0.5 * n))            # a share of this utterance's own length
        cols = zero[~rows].all(axis=0) if (~rows).any() else np.zeros(120, bool)
        blocks = cols.reshape(3, 40)
        assert (blocks == blocks[0]).all()                        # the same bins in every delta block
        assert sum(w for _, w in _bands(blocks[0])) <= 2 * 7
        # nothing else is masked: a zero is in a masked frame or a masked bin
        assert not (zero & ~rows[:, None] & ~cols[None, :]).any()


def test_masks_are_drawn_and_respect_the_cap():
    """Over epochs some masks are wide, none wider than the cap, and frames of a long utterance
    get masked (the masks are not all of width 0)."""
    aug = SpecAugment(freq_masks=1, freq_width=10, time_masks=1, time_width=0.2, time_max=25, seed=3)
    x, lengths, keys = _batch(dim=40, lengths=[300])
    widths = []
    for epoch in range(40):
        y = aug(x, lengths, keys, epoch)[0]
        widths.append(int((y == 0).all(dim=1).sum()))
    assert max(widths) <= 25 and max(widths) >= 15 and len(set(widths)) > 5


def test_deterministic_per_seed_epoch_and_utterance():
    aug = SpecAugment(blocks=3, seed=7)
    x, lengths, keys = _batch()
    a = aug(x, lengths, keys, epoch=2)
    assert torch.equal(a, aug(x, lengths, keys, epoch=2))
    assert not torch.equal(a, aug(x, lengths, keys, epoch=3))                     # new masks each epoch
    assert not torch.equal(a, SpecAugment(blocks=3, seed=8)(x, lengths, keys, epoch=2))
    # an utterance's masks do not depend on its batch: loader workers and ranks agree
    alone = aug(x[2:3, :137], lengths[2:3], keys[2:3], epoch=2)
    assert torch.equal(alone[0], a[2, :137])


def test_off_is_the_identity():
    for spec in ("", "off", " none ", "False"):
        assert SpecAugment.parse(spec) is None
    x, lengths, keys = _batch()
    assert torch.equal(SpecAugment(freq_masks=0, time_masks=0, blocks=3)(x, lengths, keys, 0), x)


def test_parse_spec_and_option_errors(tmp_path):
    a = SpecAugment.parse("freq_masks=1,time-width=0.1,time_max=12", seed=4, blocks=3)
    assert (a.freq_masks, a.freq_width, a.time_width, a.time_max, a.seed, a.blocks) == (1, 10, 0.1, 12, 4, 3)
    assert SpecAugment.parse("on") == SpecAugment()
    for bad in ("freq_masks", "warp=5", "freq_width=x", "time_width=2", "freq_masks=-1"):
        with pytest.raises(ValueError):
            SpecAugment.parse(bad)
    with pytest.raises(ValueError, match="not 3 equal blocks"):
        SpecAugment(blocks=3)(torch.ones(1, 5, 40), torch.tensor([5]), ["u"], 0)
    # the stages' option: checked where it is parsed, the error naming the option
    import argparse
    p = argparse.ArgumentParser()
    add_config_args(p, TrainOptions)
    cfg = build_config(TrainOptions, p.parse_args(["--data", "d", "--lang", "l", "--spec-augment", "on"]))
    assert cfg.spec_augment == "on" and TrainOptions.__dataclass_fields__["spec_augment"].default == ""
    with pytest.raises(SystemExit):
        p.parse_args(["--spec-augment", "freq=2"])
    conf = tmp_path / "c.yaml"
    conf.write_text("spec_augment: time_masks=two\n")
    with pytest.raises(SystemExit, match="spec_augment"):
        build_config(TrainOptions, p.parse_args(["--data", "d", "--lang", "l", "--config", str(conf)]))
    assert (spec_augment_spec(" on "), spec_augment_spec("True"), spec_augment_spec("False")) == ("on", "on", "")
    conf.write_text("spec_augment: on\n")                     # YAML's on is true
    assert build_config(TrainOptions, p.parse_args(["--data", "d", "--lang", "l", "--config", str(conf)])
                        ).spec_augment == "on"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("specaug")
    return make_data(d / "train", n_spk=2, per_spk=4), make_lang(d / "lang")


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_masks_only_when_given(tiny, workers):
    data = D.SpeechData(tiny[0], tiny[1], FeaturePipeline())
    batches = [[0, 1, 2], [3, 4, 5, 6, 7]]
    plain = list(D.iterate(data, batches, workers))
    assert all(torch.equal(p.feats, D.collate([data.load(j) for j in b]).feats) for p, b in zip(plain, batches))
    aug = SpecAugment(blocks=3, time_width=0.3, seed=0)
    masked = list(D.iterate(data, batches, workers, augment=aug, epoch=1))
    for p, m in zip(plain, masked):
        assert p.keys == m.keys and torch.equal(m.feats, aug(p.feats, p.lengths, p.keys, 1))
        assert not torch.equal(m.feats, p.feats)


def _loop_passes_spec_augment() -> bool:
    from nas.train import loop
    return "spec_augment" in Path(loop.__file__).read_text()


@pytest.mark.skipif(not _loop_passes_spec_augment(),
                    reason="nas/train/loop.py does not pass --spec-augment to D.iterate yet")
def test_training_masks_training_batches_never_heldout(tiny, tmp_path, monkeypatch):
    """A search with --spec-augment on: its weight steps see masked batches; its architecture
    steps and held-out evaluations see the features as they are."""
    from nas.train.cli import stage_main
    from train_fixtures import make_space
    seen = []
    orig = D.iterate

    def spy(data, batches, num_workers=0, *args, **kw):
        index = {u.key: i for i, u in enumerate(data.utts)}
        for b in orig(data, batches, num_workers, *args, **kw):
            clean = D.collate([data.load(index[k]) for k in b.keys]).feats
            seen.append((b.keys, torch.equal(b.feats, clean)))
            yield b
    monkeypatch.setattr(D, "iterate", spy)
    exp = tmp_path / "s"
    stage_main("search", ["--data", str(tiny[0]), "--lang", str(tiny[1]), "--space", str(make_space(tmp_path / "space.json")),
                          "--batch-size", "2", "--max-epochs", "1", "--heldout-ratio", "0.5", "--tensorboard",
                          "false", "--plots", "false", "--spec-augment", "time_width=0.3", str(exp)])
    held = set((exp / "heldout.list").read_text().split())
    train_batches = [same for keys, same in seen if not set(keys) & held]
    held_batches = [same for keys, same in seen if set(keys) <= held]
    assert train_batches and held_batches and len(train_batches) + len(held_batches) == len(seen)
    assert all(held_batches) and not any(train_batches)
