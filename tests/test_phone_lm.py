"""The phone LM of the denominator, its FST and ARPA renderings, T o P, and steps/prep_den_lm.sh."""
import math
import random
import subprocess
from collections import defaultdict

import kaldifst
import numpy as np
import pytest

from ctc_crf.fst import FstArrays, read_fst, write_fst
from nas.graphs.den_graph import compose_ctc_lm, ctc_topology
from nas.lm.phone_lm import EOS, PhoneLM


def corpus(v=6, n=60, seed=0):
    rng = random.Random(seed)
    return [[rng.randint(2, v) for _ in range(rng.randint(1, 8))] for _ in range(n)]


@pytest.fixture
def lm():
    return PhoneLM.estimate(corpus(), range(2, 7), order=4, no_prune_order=3, num_extra_states=10)


def test_every_state_sums_to_one(lm):
    a = lm.to_arrays()
    total = np.exp(a.final_logp).copy()
    np.add.at(total, a.src, np.exp(a.logp))
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    assert len(a.src) == a.num_states * 5          # one arc per (state, token): epsilon-free, dense


def test_bounded_histories():
    seqs = corpus(v=10, n=300, seed=1)
    full = PhoneLM.estimate(seqs, range(2, 11), order=4, num_extra_states=10 ** 6)
    capped = PhoneLM.estimate(seqs, range(2, 11), order=4, num_extra_states=7)
    n_short = sum(1 for h in full.histories if len(h) <= 2)
    assert sum(1 for h in capped.histories if len(h) <= 2) == n_short     # all up to order 3 kept
    assert sum(1 for h in capped.histories if len(h) == 3) == 7           # at most N longer
    assert sum(1 for h in full.histories if len(h) == 3) > 7


def test_path_weight_is_the_sum_of_arc_weights(lm, tmp_path):
    a = lm.to_arrays()
    write_fst(tmp_path / "p.fst", FstArrays(a.start, (-a.final_logp).astype(np.float32), a.src, a.label, a.label,
                                            (-a.logp).astype(np.float32), a.dst))
    fst = kaldifst.StdVectorFst.read(str(tmp_path / "p.fst"))        # read back by the OpenFst library
    arcs = {(s, arc.ilabel): (arc.nextstate, arc.weight.value)
            for s in range(fst.num_states) for arc in kaldifst.ArcIterator(fst, s)}
    for seq in corpus(seed=5)[:20]:
        s, cost = fst.start, 0.0
        for w in seq:
            s, c = arcs[(s, w)]
            cost += c
        cost += fst.final(s).value
        assert -cost == pytest.approx(lm.log_prob(seq), abs=1e-4)


def test_arpa_gives_the_same_probabilities(lm, tmp_path):
    lm.write_arpa(str(tmp_path / "lm.arpa"))
    prob, bow, section = {}, defaultdict(float), 0
    for line in (tmp_path / "lm.arpa").read_text().splitlines():
        if line.endswith("-grams:"):
            section = int(line[1])
        elif section and line and not line.startswith("\\"):
            f = line.split("\t")
            ng = tuple(f[1].split())
            prob[ng] = float(f[0])
            if len(f) > 2:
                bow[ng] = float(f[2])

    def score(hist, w):  # standard ARPA backoff lookup, log10
        if hist + (w,) in prob:
            return prob[hist + (w,)]
        return bow[hist] + score(hist[1:], w)

    for seq in corpus(seed=7)[:30]:
        words = [str(t) for t in seq] + ["</s>"]
        hist, total = ("<s>",), 0.0
        for w in words:
            total += score(hist[-3:], w)
            hist = hist + (w,)
        assert total * math.log(10) == pytest.approx(lm.log_prob(seq), abs=1e-4)


def test_estimate_errors():
    with pytest.raises(ValueError, match="sequence 2: token id 9"):
        PhoneLM.estimate([[2], [9]], range(2, 5))
    with pytest.raises(ValueError, match="no training sequences"):
        PhoneLM.estimate([], range(2, 5))


def test_den_graph_equals_kaldifst_composition(lm, tmp_path):
    v = 6
    den = compose_ctc_lm(lm.to_arrays(), v)
    assert (den.ilabel > 0).all()
    t = ctc_topology(v)
    a = lm.to_arrays()
    write_fst(tmp_path / "T.fst", t)
    write_fst(tmp_path / "P.fst", FstArrays(a.start, (-a.final_logp).astype(np.float32), a.src, a.label, a.label,
                                            (-a.logp).astype(np.float32), a.dst))
    T = kaldifst.StdVectorFst.read(str(tmp_path / "T.fst"))
    P = kaldifst.StdVectorFst.read(str(tmp_path / "P.fst"))
    kaldifst.arcsort(T, sort_type="olabel")
    TP = kaldifst.compose(T, P)
    kaldifst.connect(TP)
    assert TP.num_states == den.num_states
    assert sum(TP.num_arcs(s) for s in range(TP.num_states)) == den.num_arcs
    # same weighted language: shortest distance of random label strings agree
    TP.write(str(tmp_path / "tp.fst"))
    ref = read_fst(tmp_path / "tp.fst")

    def walk(f: FstArrays, labels):
        arcs = {(int(s), int(l)): (int(d), float(w)) for s, l, d, w in zip(f.src, f.ilabel, f.dst, f.weight)}
        s, cost = f.start, 0.0
        for l in labels:
            if (s, l) not in arcs:
                return None
            s, w = arcs[(s, l)]
            cost += w
        return cost + float(f.final[s])

    rng = random.Random(3)
    for _ in range(50):
        labels = [rng.randint(1, v) for _ in range(rng.randint(1, 9))]
        a_cost, b_cost = walk(den, labels), walk(ref, labels)
        assert (a_cost is None) == (b_cost is None)
        if a_cost is not None:
            assert a_cost == pytest.approx(b_cost, abs=1e-4)


def test_prep_den_lm_script(run, tmp_path):
    lang, data = tmp_path / "lang", tmp_path / "data"
    lang.mkdir(), data.mkdir()
    (lang / "tokens.txt").write_text("<eps> 0\n<blk> 1\nAH 2\nB 3\nK 4\nT 5\n#0 6\n#1 7\n")
    (lang / "lexicon_numbers.txt").write_text("<UNK> 2\nBAT 3 2 5\nCAT 4 2 5\nTAB 5 2 3\n")
    (data / "text").write_text("u1 CAT BAT\nu2 TAB CAT\nu3 BAT DOG\nu4 CAT BAT\n")
    r = run("steps/prep_den_lm.sh", lang, data, tmp_path / "den")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 OOV words (1 distinct) mapped to <UNK>; most frequent: DOG(1)" in r.stdout
    assert "4 utterances, 3 distinct token sequences, 4 units (5 network outputs)" in r.stdout
    info = subprocess.run(["fstinfo", str(tmp_path / "den/den_lm.fst")], capture_output=True, text=True, check=True).stdout
    assert "# of input epsilons                               0" in info
    den = read_fst(tmp_path / "den/den_lm.fst")
    assert f"den_lm.fst: {den.num_states} states, {den.num_arcs} arcs" in r.stdout
    weights = dict(l.split() for l in (tmp_path / "den/path_weight.txt").read_text().splitlines())
    assert set(weights) == {"u1", "u2", "u3", "u4"} and weights["u1"] == weights["u4"]
    seqs = {"u1": [4, 2, 5, 3, 2, 5], "u2": [5, 2, 3, 4, 2, 5], "u3": [3, 2, 5, 2]}  # DOG -> <UNK> -> 2
    ref = PhoneLM.estimate(sorted(map(tuple, seqs.values())), range(2, 6))       # deduplicated
    for u, seq in seqs.items():
        assert float(weights[u]) == pytest.approx(ref.log_prob(seq), abs=1e-5)
    dev = tmp_path / "dev_text"
    dev.write_text("d1 TAB BAT\n")
    r = run("steps/prep_den_lm.sh", "--extra-text", dev, lang, data, tmp_path / "den_dev")
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "den_dev/den_lm.fst").read_bytes() == (tmp_path / "den/den_lm.fst").read_bytes()
    weights = dict(l.split() for l in (tmp_path / "den_dev/path_weight.txt").read_text().splitlines())
    assert set(weights) == {"u1", "u2", "u3", "u4", "d1"}
    assert float(weights["d1"]) == pytest.approx(ref.log_prob([5, 2, 3, 3, 2, 5]), abs=1e-5)
    (lang / "lexicon_numbers.txt").write_text("<unk> 2\nBAT 3 2 5\nCAT 4 2 5\nTAB 5 2 3\n")
    (lang / "oov.txt").write_text("<unk>\n")             # the lang dir's unknown word, not <UNK>
    r = run("steps/prep_den_lm.sh", lang, data, tmp_path / "den_unk")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 OOV words (1 distinct) mapped to <unk>" in r.stdout
    assert (tmp_path / "den_unk/path_weight.txt").read_text() == (tmp_path / "den/path_weight.txt").read_text()
    (data / "text").write_text("u1 CAT\nu2 ZZZ\n")
    (lang / "lexicon_numbers.txt").write_text("CAT 4 2 5\n")
    r = run("steps/prep_den_lm.sh", lang, data, tmp_path / "den2")
    assert r.returncode != 0
    assert "text:2: word 'ZZZ' of utterance u2 is not in" in r.stdout + r.stderr
