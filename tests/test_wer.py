"""WER: alignments and counts on hand-checked examples, utils/compute_wer.py, best_wer.sh, sclite agreement."""
import random
import re

import pytest

from nas.decoding.sclite import find_sclite, run_sclite, trn_id, write_trn
from nas.decoding.wer import SCLITE_COSTS, align, normalize, op, score


def counts_of(ref, hyp, costs=(1, 1, 1)):
    pairs = align(ref.split(), hyp.split(), costs)
    ops = [op(p) for p in pairs]
    return {k: ops.count(k) for k in "CSID"}


@pytest.mark.parametrize("ref, hyp, c, s, i, d", [
    ("a b c", "a b c", 3, 0, 0, 0),
    ("a b c", "a x c", 2, 1, 0, 0),
    ("a b c", "a c", 2, 0, 0, 1),
    ("a b c", "a b c d", 3, 0, 1, 0),
    ("a b c", "", 0, 0, 0, 3),            # empty hypothesis: all deletions
    ("", "a b", 0, 0, 2, 0),              # empty reference: all insertions
    ("", "", 0, 0, 0, 0),
    ("a b c d", "b c d e", 3, 0, 1, 1),   # shift: delete a, insert e (2 errors, not 4 substitutions)
    ("x y", "y x", 0, 2, 0, 0),           # swap: 2 substitutions (ties go to substitution)
])
def test_hand_checked_alignments(ref, hyp, c, s, i, d):
    assert counts_of(ref, hyp) == {"C": c, "S": s, "I": i, "D": d}


def test_alignment_pairs_and_details():
    pairs = align("a b c".split(), "a x c d".split())
    assert pairs == [("a", "a"), ("b", "x"), ("c", "c"), (None, "d")]
    counts, details = score({"u1": "a b c".split()}, {"u1": "a x c d".split()})
    assert details[0].detail_lines() == ["u1 ref  a b c ***", "u1 hyp  a x c d", "u1 op   C S C I",
                                         "u1 #csid 2 1 1 0"]
    assert counts.wer_line("x/wer_1") == "%WER 66.67 [ 2 / 3, 1 ins, 0 del, 1 sub ] x/wer_1"


def test_corpus_counts_missing_hypotheses_and_empty_references():
    refs = {"u1": "a b c".split(), "u2": "d e".split(), "u3": [], "u4": "x y".split(), "u5": []}
    hyps = {"u1": "a x c d".split(), "u2": ["e"], "u3": ["f"], "u5": [], "zz": ["q"]}
    counts, _ = score(refs, hyps)
    assert (counts.ins, counts.dels, counts.subs, counts.ref_words) == (2, 3, 1, 7)
    assert counts.missing == ["u4"]                                    # counted as 2 deletions
    assert counts.wer_line() == ("%WER 85.71 [ 6 / 7, 2 ins, 3 del, 1 sub ] over 5 utterances (PARTIAL: 1 without "
                                 "hypothesis, scored as all deletions; 1 hypothesis without reference, not scored; "
                                 "named on stderr)")
    assert counts.ser_line() == "%SER 80.00 [ 4 / 5 ]"                 # u5 (empty, empty) is correct


def test_wer_with_no_reference_words():
    c, _ = score({"u": []}, {"u": []})
    assert c.wer == 0.0 and c.wer_line() == "%WER 0.00 [ 0 / 0, 0 ins, 0 del, 0 sub ]"
    c, _ = score({"u": []}, {"u": ["a"]})
    assert c.wer == float("inf")


def test_sclite_costs_can_choose_more_errors():
    # the example of docs/decoding.md: plain edit distance 1 ins + 5 sub = 6 errors;
    # sclite's 3/3/4 weights prefer 3 del + 4 ins (cost 21 < 23) = 7 errors
    ref, hyp = "b c c a a a", "a a a c b c b"
    assert counts_of(ref, hyp) == {"C": 1, "S": 5, "I": 1, "D": 0}
    assert counts_of(ref, hyp, SCLITE_COSTS) == {"C": 3, "S": 0, "I": 4, "D": 3}


def test_normalize_removes_words():
    assert normalize("<NOISE> a <SPN> b".split(), ["<NOISE>", "<SPN>"]) == ["a", "b"]


def test_compute_wer_script(run, tmp_path):
    (tmp_path / "ref").write_text("u1 a b c\nu2 d e\nu3\nu4 x y\n")
    (tmp_path / "hyp").write_text("u1 a x c d\nu2 e\nu3 f\nu9 z\n")
    p = run("utils/compute_wer.py", "--details", tmp_path / "det", tmp_path / "ref", tmp_path / "hyp", check=True)
    assert p.stdout.splitlines() == ["%WER 85.71 [ 6 / 7, 2 ins, 3 del, 1 sub ] over 4 utterances (PARTIAL: 1 "
                                     "without hypothesis, scored as all deletions; 1 hypothesis without reference, "
                                     "not scored; named on stderr)", "%SER 100.00 [ 4 / 4 ]",
                                     "Scored 4 sentences, 1 not present in hyp."]
    assert "u4" in p.stderr and "u9" in p.stderr                       # missing and extra utterances named
    assert "u4 op   D D" in (tmp_path / "det").read_text()
    p = run("utils/compute_wer.py", "--ignore-words", "f", tmp_path / "ref", tmp_path / "hyp", check=True)
    assert p.stdout.startswith("%WER 71.43 [ 5 / 7, 1 ins, 3 del, 1 sub ]")
    (tmp_path / "dup").write_text("u1 a\nu1 b\n")
    p = run("utils/compute_wer.py", tmp_path / "dup", tmp_path / "hyp")
    assert p.returncode == 1 and "dup:2" in p.stderr and "duplicate" in p.stderr


def test_best_wer(run):
    lines = ("d/wer_0.5:%WER 12.00 [ 12 / 100, 1 ins, 2 del, 9 sub ]\n"
             "d/wer_1:%WER 10.00 [ 10 / 100, 1 ins, 2 del, 7 sub ]\n"
             "%WER 10.00 [ 10 / 100, 3 ins, 2 del, 5 sub ] d/wer_1.5\n"
             "d/wer_2:%WER 9.50 [ 19 / 200, 1 ins, 2 del, 16 sub ]\n")
    p = run("utils/best_wer.sh", input=lines, check=True)
    assert p.stdout == "%WER 9.50 [ 19 / 200, 1 ins, 2 del, 16 sub ] d/wer_2\n"
    assert run("utils/best_wer.sh", input="nothing\n").returncode == 1


@pytest.mark.skipif(find_sclite() is None, reason="sclite (Debian sctk) not installed")
def test_agreement_with_sclite(tmp_path):
    rng = random.Random(3)
    vocab = [f"w{i}" for i in range(12)]
    refs, hyps = {}, {}
    for i in range(300):
        ref = [rng.choice(vocab) for _ in range(rng.randint(0, 12))]
        hyp = list(ref)
        for _ in range(rng.randint(0, 5)):             # random edits of the reference
            k = rng.randint(0, len(hyp))
            r = rng.random()
            if r < 0.33 and hyp:
                del hyp[min(k, len(hyp) - 1)]
            elif r < 0.66:
                hyp.insert(k, rng.choice(vocab))
            elif hyp:
                hyp[min(k, len(hyp) - 1)] = rng.choice(vocab)
        refs[f"s{i % 7}-u{i:03d}"], hyps[f"s{i % 7}-u{i:03d}"] = ref, hyp
    write_trn(tmp_path / "ref.trn", refs)
    write_trn(tmp_path / "hyp.trn", hyps)
    total = run_sclite(tmp_path / "ref.trn", tmp_path / "hyp.trn", tmp_path / "out", "hyp")
    ours, _ = score(refs, hyps, SCLITE_COSTS)
    plain, _ = score(refs, hyps)
    assert (total.sentences, total.words, total.sent_errors) == (ours.sentences, ours.ref_words, ours.sent_errors)
    # every utterance: sclite's alignment has the same weighted cost as ours (ties may split differently)
    pra = (tmp_path / "out/hyp.pra").read_text()
    per_utt = {m.group(1): tuple(map(int, m.groups()[1:])) for m in re.finditer(
        r"id: \((\S+)\)\nScores: \(#C #S #D #I\) (\d+) (\d+) (\d+) (\d+)", pra)}
    assert len(per_utt) == len(refs)
    for utt in refs:
        c, s, d, i = per_utt[trn_id(utt, None)]
        mine = counts_of(" ".join(refs[utt]), " ".join(hyps[utt]), SCLITE_COSTS)
        assert 3 * (d + i) + 4 * s == 3 * (mine["D"] + mine["I"]) + 4 * mine["S"], utt
        plain_errors = sum(v for k, v in counts_of(" ".join(refs[utt]), " ".join(hyps[utt])).items() if k != "C")
        assert plain_errors <= s + d + i, utt                          # edit distance is the minimum
    assert abs(total.errors - ours.errors) <= 3 and plain.errors <= total.errors
