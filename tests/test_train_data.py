"""Training data: targets, dropped utterances, batches, epoch order, shards, held-out splits."""
from pathlib import Path

import pytest
import torch

from nas.features.pipeline import FeaturePipeline
from nas.train import data as D
from train_fixtures import make_data, make_lang


def test_speech_data_targets_and_drops(tmp_path):
    lang = make_lang(tmp_path / "lang")
    d = make_data(tmp_path / "train", n_spk=2, per_spk=4)
    text = (d / "text").read_text().splitlines()
    text[0] = text[0].split()[0] + " a zzz"                 # an OOV word, and no <UNK> in the lexicon
    (d / "text").write_text("\n".join(text) + "\n")
    frames = {k: int(v) for k, v in (x.split() for x in (d / "utt2num_frames").read_text().splitlines())}
    first = text[0].split()[0]
    victim = min((k for k in frames if k != first), key=frames.get)
    # the network gives `victim` no output frames: it cannot hold its labels
    data = D.SpeechData(d, lang, FeaturePipeline(), out_frames=lambda n: 0 if n == frames[victim] else n)
    assert data.oov == {"zzz": 1} and data.dropped["no_targets"] == 1
    assert data.dropped["too_short"] >= 1 and victim not in [u.key for u in data.utts]
    assert len(data) + sum(data.dropped.values()) == 8
    key, x, targets, _ = data.load(0)
    assert x.shape[1] == 120 and all(1 <= t <= 4 for t in targets)          # columns: token id - 1
    lex = {"a": [2, 3], "b": [4], "c": [3, 5], "d": [5, 2, 4]}
    for u in data.utts:
        words = next(x for x in text if x.split()[0] == u.key).split()[1:]
        assert u.targets == [i - 1 for w in words for i in lex[w]]


def test_make_batches_sorted_and_capped():
    frames = [50, 10, 30, 20, 40, 60]
    assert D.make_batches(frames, 2) == [[1, 3], [2, 4], [0, 5]]
    # at most 70 padded frames: 10+20 (2*20=40), then 30 alone would make 3*30=90 > 70
    assert D.make_batches(frames, 10, max_batch_frames=70) == [[1, 3], [2], [4], [0], [5]]


def test_epoch_order_and_shards():
    a = D.epoch_order(20, seed=3, epoch=1)
    assert a == D.epoch_order(20, seed=3, epoch=1) and sorted(a) == list(range(20))
    assert a != D.epoch_order(20, seed=3, epoch=2)
    batch = [7, 8, 9, 10, 11]
    parts = [D.shard(batch, r, 2) for r in range(2)]
    assert parts == [[7, 8], [9, 10, 11]]


def test_heldout_split_keeps_perturbed_copies_together(tmp_path):
    d = tmp_path / "sp"
    d.mkdir()
    utts, uniq = [], []
    for f in ("sp0.9-", "sp1.0-", "sp1.1-"):
        for s in range(4):
            for u in range(3):
                utts.append((f"{f}s{s}-u{u}", f"{f}s{s}"))
                uniq.append((f"{f}s{s}-u{u}", f"s{s}-u{u}"))
    (d / "utt2spk").write_text("".join(f"{u} {s}\n" for u, s in sorted(utts)))
    (d / "utt2uniq").write_text("".join(f"{u} {s}\n" for u, s in sorted(uniq)))
    by_spk = D.heldout_split(d, 0.25, "speaker", seed=0)
    assert len(by_spk) == 9 and len({u.split("-")[1] for u in by_spk}) == 1        # one speaker, 3 copies
    by_utt = D.heldout_split(d, 0.25, "utterance", seed=0)
    assert len(by_utt) == 9 and len({u.split("-", 1)[1] for u in by_utt}) == 3     # 3 recordings x 3 copies
    with pytest.raises(ValueError, match="ratio"):
        D.heldout_split(d, 1.5, "speaker", seed=0)


def test_oov_word_comes_from_the_lang_dir(tmp_path):
    lang = make_lang(tmp_path / "lang")
    with open(lang / "lexicon_numbers.txt", "a") as f:
        f.write("<SPN> 5\n")
    (lang / "oov.txt").write_text("<SPN>\n")
    d = make_data(tmp_path / "train", n_spk=1, per_spk=3)
    text = (d / "text").read_text().splitlines()
    key = text[0].split()[0]
    (d / "text").write_text("\n".join([f"{key} a zzz"] + text[1:]) + "\n")
    data = D.SpeechData(d, lang, FeaturePipeline())
    assert data.oov == {"zzz": 1} and data.dropped["no_targets"] == 0
    assert next(u for u in data.utts if u.key == key).targets == [1, 2, 4]     # a = 2 3, zzz -> <SPN> = 5


def test_batches_carry_path_weights_into_the_ctc_crf_loss(tmp_path):
    """One Batch from collate to the loss: its path weights are the den dir's, and the CTC-CRF loss
    subtracts them (-log p(l|x) = log Z - log p_ctc - log p_LM(l))."""
    import subprocess

    import torch

    from conftest import REPO
    from nas.train.losses import DenDir, StageLoss
    lang = make_lang(tmp_path / "lang")
    d = make_data(tmp_path / "train", n_spk=2, per_spk=3)
    den = tmp_path / "den"
    subprocess.run([str(REPO / "steps" / "prep_den_lm.sh"), str(lang), str(d), str(den)], check=True,
                   capture_output=True)
    weights = {k: float(v) for k, v in (x.split() for x in (den / "path_weight.txt").read_text().splitlines())}
    data = D.SpeechData(d, lang, FeaturePipeline(), path_weights=den / "path_weight.txt")
    batch = next(D.iterate(data, [[0, 1, 2]]))
    assert isinstance(batch, D.Batch) and len(batch) == 3
    assert batch.path_weights.tolist() == pytest.approx([weights[k] for k in batch.keys])
    assert all(w < 0 for w in batch.path_weights.tolist())                # log-probabilities
    loss = StageLoss("ctc-crf", DenDir.open(den), lamb=0.01)
    log_probs = torch.randn(3, int(batch.lengths.max()), data.num_outputs,
                            generator=torch.Generator().manual_seed(0)).log_softmax(-1)
    args = (log_probs, batch.targets, batch.lengths, batch.target_lengths)
    with_weights, without = float(loss(*args, batch.path_weights)), float(loss(*args))
    assert with_weights == pytest.approx(without - float(batch.path_weights.mean()), rel=1e-6)
    with pytest.raises(FileNotFoundError, match="path_weight.txt: no such file"):
        (den / "path_weight.txt").unlink()
        DenDir.open(den)


def test_greedy_token_errors_collapse_repeats_drop_blanks_and_count_edits():
    from nas.train.metrics import greedy_token_errors
    # frames' best columns: utt 0: 2 2 0 2 3 3 (-> 2 2 3), utt 1: 1 0 0 (-> 1; its last 2 frames padding)
    best = torch.tensor([[2, 2, 0, 2, 3, 3], [1, 0, 0, 4, 4, 4]])
    log_probs = torch.nn.functional.one_hot(best, 5).float().log_softmax(-1)
    targets = torch.tensor([[2, 2, 3, 0], [1, 3, 0, 0]])
    errors, tokens = greedy_token_errors(log_probs, torch.tensor([6, 3]), targets, torch.tensor([3, 2]))
    assert (errors, tokens) == (0 + 1, 3 + 2)
    errors, _ = greedy_token_errors(log_probs, torch.tensor([6, 6]), targets, torch.tensor([4, 2]))
    assert errors == 1 + 1                    # utt 0: a deletion (of the 0); utt 1: 1 4 against 1 3
