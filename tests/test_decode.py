"""steps/decode.sh, steps/score.sh and greedy decoding on the hand-made graph of graph_fixtures."""
import re
import subprocess
import sys

import kaldiio
import numpy as np
import pytest

from conftest import script_env
from graph_fixtures import build_graph, logprobs
from nas.decoding.greedy import greedy_ctc
from nas.decoding.sclite import find_sclite

UTTS = {  # utt: (frames, reference words)
    "spk1-u1": (["-", "EY", "-", "T", "-"], "EIGHT"),
    "spk1-u2": (["-", "N", "OW", "EY", "T", "-"], "NO ATE"),
    "spk2-u3": (["AH", "N", "OW"], "A NO"),
    "spk2-u4": (["-", "AH", {"N": 5.0, "<blk>": 4.0}, "-"], "AN"),     # A at LM weight >= ~0.3
    "spk2-u5": (["-", "R", "-", "IY", "D", "-", "<NOISE>"], "READ <NOISE>"),
}


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("dec")
    graph, tokens, words = build_graph(d)
    tokens_frames = {u: logprobs([f if f != "<NOISE>" else "-" for f in fr], tokens) for u, (fr, _) in UTTS.items()}
    (d / "lp").mkdir()
    with kaldiio.WriteHelper(f"ark,scp:{d / 'lp/logprobs.ark'},{d / 'lp/logprobs.scp'}") as w:
        for u in sorted(UTTS):
            w(u, tokens_frames[u])
    data = d / "data"
    data.mkdir()
    (data / "text").write_text("".join(f"{u} {UTTS[u][1]}\n" for u in sorted(UTTS)))
    (data / "utt2spk").write_text("".join(f"{u} {u.split('-')[0]}\n" for u in sorted(UTTS)))
    return d, graph, tokens_frames


def test_decode_and_score(run, setup):
    d, graph, _ = setup
    p = run("steps/decode.sh", "--nj", "2", "--min-lmwt", "0.1", "--max-lmwt", "1.1", "--lmwt-step", "0.5",
            "--data", d / "data", graph, d / "lp", d / "dec", check=True)
    weights = ["0.1", "0.6", "1.1"]
    for w in weights:
        assert (d / f"dec/scoring/{w}.tra").is_file() and (d / f"dec/wer_{w}").is_file()
        assert (d / f"dec/scoring/wer_details/per_utt_{w}").is_file() and (d / f"dec/scoring/{w}.trn").is_file()
    hyp = dict(line.split(maxsplit=1) for line in (d / "dec/scoring/1.1.txt").read_text().splitlines())
    assert hyp == {"spk1-u1": "EIGHT", "spk1-u2": "NO ATE", "spk2-u3": "A NO", "spk2-u4": "A", "spk2-u5": "READ"}
    low = dict(line.split(maxsplit=1) for line in (d / "dec/scoring/0.1.txt").read_text().splitlines())
    assert low["spk2-u4"] == "AN"
    # one %WER line per weight, then the best: at 0.1 only <NOISE> is missed (1 deletion of 8 words)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("%WER")]
    assert lines[0] == f"%WER 12.50 [ 1 / 8, 0 ins, 1 del, 0 sub ] {d}/dec/wer_0.1"
    assert lines[-1] == lines[0] and len(lines) == 4
    assert (d / "dec/best_wer").read_text().strip() == lines[0]
    assert re.search(r"RTF [0-9.]+ per core", p.stdout)
    for n in (1, 2):
        assert re.search(r"decode_wfst: RTF [0-9.]+ = decode", (d / f"dec/log/decode.{n}.log").read_text())
    details = (d / "dec/scoring/wer_details/per_utt_0.1").read_text()
    assert "spk2-u5 op   C D" in details
    assert "READ <NOISE> (spk2-spk2-u5)" in (d / "dec/scoring/ref.trn").read_text()


def test_score_options(run, setup):
    d, graph, _ = setup
    run("steps/decode.sh", "--nj", "1", "--min-lmwt", "1", "--max-lmwt", "1", graph, d / "lp/logprobs.scp",
        d / "dec1", check=True)
    p = run("steps/score.sh", "--ignore-words", "<NOISE>", d / "data", graph, d / "dec1", check=True)
    assert p.stdout.splitlines()[-1] == f"%WER 14.29 [ 1 / 7, 0 ins, 0 del, 1 sub ] {d}/dec1/wer_1"
    filt = d / "filt.sh"
    filt.write_text("#!/bin/sh\nsed 's/ *<NOISE>//g; s/ AN$/ A/'\n")
    filt.chmod(0o755)
    p = run("steps/score.sh", "--filter-cmd", filt, d / "data", graph, d / "dec1", check=True)
    assert p.stdout.splitlines()[-1].startswith("%WER 0.00 [ 0 / 7,")
    if find_sclite():
        p = run("steps/score.sh", "--sclite", "true", d / "data", graph, d / "dec1", check=True)
        assert "(sclite)" in p.stdout and (d / "dec1/scoring/sclite/1.raw").is_file()
        ours = [ln for ln in p.stdout.splitlines() if ln.startswith("%WER") and "sclite" not in ln][0]
        theirs = [ln for ln in p.stdout.splitlines() if "(sclite)" in ln][0]
        assert ours.split("]")[0] == theirs.split("]")[0]


def test_decoding_is_deterministic_across_jobs(run, setup):
    d, graph, _ = setup
    for nj in (1, 3):
        run("steps/decode.sh", "--nj", str(nj), "--mode", "redecode", "--min-lmwt", "0.5", "--max-lmwt", "1",
            graph, d / "lp", d / f"det{nj}", check=True)
    for w in ("0.5", "0.6", "1"):
        assert (d / f"det1/scoring/{w}.tra").read_text() == (d / f"det3/scoring/{w}.tra").read_text()


def test_decode_rejects_wrong_matrix_width(run, setup, tmp_path):
    d, graph, _ = setup
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path / 'x.ark'},{tmp_path / 'x.scp'}") as w:
        w("bad-utt", np.zeros((4, 5), np.float32))
    p = run("steps/decode.sh", "--nj", "1", graph, tmp_path / "x.scp", tmp_path / "dec")
    assert p.returncode != 0
    log = (tmp_path / "dec/log/decode.1.log").read_text()
    assert "bad-utt" in log and "expected (frames, 11)" in log


def test_greedy_decoding_and_per(run, setup, tmp_path):
    d, graph, frames = setup
    assert greedy_ctc(np.log(np.array([[.9, .1], [.2, .8], [.2, .8], [.9, .1], [.1, .9]]))) == [2, 2]
    assert greedy_ctc(np.zeros((0, 3))) == []
    proc = subprocess.run([sys.executable, "-m", "nas.bin.greedy_decode", "--ref-text", str(d / "data/text"),
                           "--label", "PER", str(d / "lang"), str(d / "lp"), str(tmp_path / "hyp")],
                          capture_output=True, text=True, env=script_env(), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    hyp = dict(line.split(maxsplit=1) for line in (tmp_path / "hyp").read_text().splitlines())
    assert hyp["spk1-u2"] == "N OW EY T" and hyp["spk2-u4"] == "AH N"
    # references spelled by first pronunciations: u5 "READ <NOISE>" is R EH D <SPN> (<NOISE> is OOV: <UNK>)
    assert proc.stdout.splitlines()[0] == "%PER 13.33 [ 2 / 15, 0 ins, 1 del, 1 sub ]"   # EH->IY, <SPN> missed


def test_nbest_lists_and_lm_rescoring(run, setup, tmp_path):
    """decode.sh --nbest keeps each lattice's distinct word sequences with their costs; lmrescore.sh
    with the first pass's own LM gives back the first pass, and with another LM changes what that LM
    prefers, by exactly the LMs' cost difference."""
    from graph_fixtures import BIGRAMS, UNIGRAMS, arpa_cost, write_arpa
    from nas.decoding.rescore import ArpaScorer, read_nbest
    import graph_fixtures
    d, graph, _ = setup
    dec = tmp_path / "dec"
    args = ["--min-lmwt", "0.1", "--max-lmwt", "1.1", "--lmwt-step", "0.5"]
    run("steps/decode.sh", "--nj", "2", "--mode", "lattice", "--nbest", "20", *args, graph, d / "lp", dec, check=True)
    lists = {g[0].utt: g for g in read_nbest(dec / "nbest.txt")}
    assert sorted(lists) == sorted(UTTS)
    words = dict(line.split()[::-1] for line in (graph / "words.txt").read_text().splitlines())
    for utt, g in lists.items():
        assert [e.rank for e in g] == list(range(1, len(g) + 1))
        texts = [tuple(words[str(w)] for w in e.words) for e in g]
        assert len(set(texts)) == len(texts)                       # distinct word sequences
        totals = [0.6 * e.graph_cost + e.am_cost for e in g]       # the lattice pass's weight: the middle one
        assert totals == sorted(totals)
    u4 = {tuple(words[str(w)] for w in e.words): e for e in lists["spk2-u4"]}
    assert u4[("A",)].graph_cost == pytest.approx(arpa_cost(["A"]), abs=1e-3)   # G's cost is the ARPA's
    # the same LM in and out: the first pass, weight by weight
    same = tmp_path / "same"
    run("steps/lmrescore.sh", *args, d / "lm.arpa", d / "lm.arpa", graph, dec, same, check=True)
    for w in ("0.1", "0.6", "1.1"):
        assert (same / f"scoring/{w}.tra").read_text() == (dec / f"scoring/{w}.tra").read_text(), w
    # an LM that prefers AN to A: spk2-u4 ("A" at weight 1.1 in the first pass) becomes AN
    assert (dec / "scoring/1.1.txt").read_text().count("spk2-u4 A\n") == 1
    new_arpa = tmp_path / "new.arpa"
    orig = dict(UNIGRAMS), dict(BIGRAMS)
    try:
        graph_fixtures.UNIGRAMS.update({"A": (-3.0, -0.3), "AN": (-0.2, -0.3)})
        del graph_fixtures.BIGRAMS[("<s>", "A")]
        write_arpa(new_arpa)
    finally:
        graph_fixtures.UNIGRAMS.clear(), graph_fixtures.UNIGRAMS.update(orig[0])
        graph_fixtures.BIGRAMS.clear(), graph_fixtures.BIGRAMS.update(orig[1])
    new = tmp_path / "new"
    p = run("steps/lmrescore.sh", *args, "--data", d / "data", d / "lm.arpa", new_arpa, graph, dec, new, check=True)
    assert "spk2-u4 AN\n" in (new / "scoring/1.1.txt").read_text()
    assert "the best hypothesis changed in" in p.stdout and (new / "best_wer").is_file()
    old_lm, new_lm = ArpaScorer(d / "lm.arpa"), ArpaScorer(new_arpa)
    for text in (["A"], ["AN"], ["A", "NO"]):
        assert old_lm.cost(text) == pytest.approx(arpa_cost(text), abs=1e-4)
    assert new_lm.cost(["AN"]) < new_lm.cost(["A"]) and old_lm.cost(["AN"]) > old_lm.cost(["A"])
