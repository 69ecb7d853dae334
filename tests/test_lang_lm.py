"""Word n-gram LMs: training, pruning, perplexity, OOV mapping, steps/train_word_lm.sh."""
import math

import pytest

from nas.lm.word_lm import arpa_counts, map_oov, perplexity, prune_arpa, train_arpa

TEXT = [s.split() for s in [
    "the cat sat on the mat", "the dog sat on the log", "a cat and a dog", "the cat ate the fish",
    "a dog ate a bone", "the mat is red", "the log is brown", "a fish is red", "the cat sat", "a dog sat"]] * 3


@pytest.fixture(autouse=True)
def quiet(monkeypatch):
    monkeypatch.setenv("TQDM_DISABLE", "1")


def test_train_and_perplexity(tmp_path):
    counts = train_arpa(TEXT, 3, tmp_path / "lm.arpa")
    assert counts[1] == len({w for s in TEXT for w in s}) + 2          # words, <s>, </s>
    assert counts == arpa_counts(tmp_path / "lm.arpa") and counts[3] > 0
    dev = [s.split() for s in ["the cat sat on the log", "a dog ate the fish"]]
    ppl = perplexity(tmp_path / "lm.arpa", dev)
    from kaldingram.ppl import compute_ppl            # the package's own scorer agrees without OOVs
    from kaldingram.prune import ArpaParser
    ref = compute_ppl(ArpaParser().loadf(str(tmp_path / "lm.arpa"), encoding="utf-8")[0], [" ".join(s) for s in dev])
    assert ppl.ppl == pytest.approx(ref["ppl"], rel=1e-9) and ppl.oov == 0
    assert ppl.ppl1 == pytest.approx(10 ** (-ppl.logprob10 / 11))
    assert 1.0 < ppl.ppl < 20.0


def _unigrams(arpa):
    lines = arpa.read_text().split("\\1-grams:\n")[1].split("\n\n")[0].splitlines()
    return {f[1]: 10 ** float(f[0]) for f in (l.split("\t") for l in lines)}


def test_vocab_words_the_text_lacks_get_the_left_over_mass(tmp_path):
    """SRILM's -vocab: every vocabulary word in the LM, the unseen ones (zerotons) sharing evenly
    what discounting the seen unigrams left; the distributions still sum to one."""
    vocab = {w for s in TEXT for w in s} | {"zebra", "yak", "<UNK>"}
    train_arpa(TEXT, 3, tmp_path / "lm.arpa", vocab=vocab)
    uni = _unigrams(tmp_path / "lm.arpa")
    assert set(uni) == vocab | {"<s>", "</s>"}
    assert uni["zebra"] == uni["yak"] == uni["<UNK>"] > 0
    assert sum(p for w, p in uni.items() if w != "<s>") == pytest.approx(1.0, abs=1e-5)
    from kaldingram.prune import ArpaParser           # a history's distribution over the vocabulary sums to one
    lm = ArpaParser().loadf(str(tmp_path / "lm.arpa"), encoding="utf-8")[0]
    for hist in (("the",), ("<s>", "a"), ("zebra",)):
        total = sum(10 ** lm.log_p_raw(hist + (w,)) for w in uni if w != "<s>")
        assert total == pytest.approx(1.0, abs=1e-4), hist
    train_arpa(TEXT, 3, tmp_path / "plain.arpa")
    assert set(_unigrams(tmp_path / "plain.arpa")) == {w for s in TEXT for w in s} | {"<s>", "</s>"}


def test_oov_words_are_skipped_in_perplexity(tmp_path):
    train_arpa(TEXT, 2, tmp_path / "lm.arpa")
    with_oov = perplexity(tmp_path / "lm.arpa", [["the", "zebra", "sat"]])
    assert (with_oov.words, with_oov.oov) == (3, 1)
    assert math.isfinite(with_oov.ppl)


def test_pruning_drops_ngrams(tmp_path):
    train_arpa(TEXT, 3, tmp_path / "lm.arpa")
    before = arpa_counts(tmp_path / "lm.arpa")
    after = prune_arpa(tmp_path / "lm.arpa", tmp_path / "pruned.arpa", 1e-2)
    assert after[1] == before[1] and after[3] < before[3]


def test_map_oov():
    out, oov = map_oov([["a", "b", "zz"], ["zz"]], {"a", "b", "<UNK>"}, "<UNK>")
    assert out == [["a", "b", "<UNK>"], ["<UNK>"]] and oov == {"zz": 2}
    out, _ = map_oov([["a", "zz"]], {"a"}, None)
    assert out == [["a"]]


def test_train_word_lm_script(run, tmp_path):
    lang = tmp_path / "lang"
    lang.mkdir()
    vocab = sorted({w for s in TEXT for w in s} - {"fish"}) + ["<UNK>"]
    (lang / "words.txt").write_text("".join(f"{w} {i}\n" for i, w in enumerate(["<eps>"] + vocab + ["#0", "<s>", "</s>"])))
    (lang / "oov.txt").write_text("<UNK>\n")
    (tmp_path / "text").write_text("".join(f"u{i} {' '.join(s)}\n" for i, s in enumerate(TEXT)))
    (tmp_path / "dev").write_text("d1 the cat ate the fish\n")
    p = run("steps/train_word_lm.sh", "--order", "3", "--prune-threshold", "1e-3", "--dev-text", tmp_path / "dev",
            lang, tmp_path / "text", tmp_path / "lm", check=True)
    assert "fish(6)" in p.stdout and "mapped to <UNK>" in p.stdout     # OOV of the lexicon, counted
    assert "\t<UNK>" in (tmp_path / "lm/lm.arpa").read_text() and "fish" not in (tmp_path / "lm/lm.arpa").read_text()
    assert p.stdout.count("perplexity of") == 2                         # unpruned and pruned
    assert (tmp_path / "lm/log/train_word_lm.log").read_text() == p.stdout
    assert f"training text: 30 sentences, 135 words, 6 of them (4.44%, 1 distinct) not in {lang / 'words.txt'}, " \
        "mapped to <UNK>: fish(6)" in p.stdout
    assert "1 sentences, 5 words, 0 of them not in the LM (not scored)" in p.stdout


def test_train_word_lm_all_words(run, tmp_path):
    """--all-words: the LM has every word of words.txt, and no other (Kaldi's swbd1_train_lms.sh)."""
    lang = tmp_path / "lang"
    lang.mkdir()
    vocab = sorted({w for s in TEXT for w in s} - {"fish"}) + ["<UNK>", "zebra"]
    symbols = ["<eps>"] + vocab + ["#0", "<s>", "</s>"]
    (lang / "words.txt").write_text("".join(f"{w} {i}\n" for i, w in enumerate(symbols)))
    (lang / "oov.txt").write_text("<UNK>\n")
    (tmp_path / "text").write_text("".join(f"u{i} {' '.join(s)}\n" for i, s in enumerate(TEXT)))
    (tmp_path / "dev").write_text("d1 the zebra ate the fish\n")
    p = run("steps/train_word_lm.sh", "--all-words", "true", "--dev-text", tmp_path / "dev", lang, tmp_path / "text",
            tmp_path / "lm", check=True)
    assert set(_unigrams(tmp_path / "lm/lm.arpa")) == set(vocab) | {"<s>", "</s>"}
    assert f"--all-words: 1 of the {len(vocab)} words of {lang / 'words.txt'} are not in the training text" in p.stdout
    assert f"{tmp_path / 'dev'}: 1 sentences, 5 words, 1 of them" in p.stdout      # fish: not in the lexicon
    assert "1 sentences, 5 words, 0 of them not in the LM (not scored)" in p.stdout  # zebra is in the LM
