"""CTC prefix beam search (nas.decoding.prefix_beam) and its CLI (nas.bin.ctc_prefix_decode)."""
import itertools
import subprocess
import sys

import kaldiio
import numpy as np
import pytest

from conftest import script_env
from graph_fixtures import LEX, logprobs
from nas.bin.ctc_prefix_decode import main as prefix_main
from nas.bin.greedy_decode import main as greedy_main
from nas.decoding.greedy import greedy_ctc
from nas.decoding.prefix_beam import prefix_beam_nbest, prefix_beam_search
from nas.lang.lang_dir import write_lang_dir
from nas.lang.symbols import read_symbols


def collapse(path):
    """Frame path of columns -> token ids (column + 1): repeats merged, blanks dropped."""
    out, prev = [], None
    for c in path:
        if c != prev and c != 0:
            out.append(c + 1)
        prev = c
    return tuple(out)


def exact_labelings(x):
    """{labeling: log P(labeling)} by summing every frame path of a small (T, V) matrix."""
    t, v = x.shape
    probs = {}
    for path in itertools.product(range(v), repeat=t):
        lp = float(x[np.arange(t), path].sum())
        key = collapse(path)
        probs[key] = np.logaddexp(probs[key], lp) if key in probs else lp
    return probs


def random_logprobs(rng, t, v, concentration):
    p = rng.dirichlet(np.full(v, concentration), size=t)
    return np.log(np.maximum(p, 1e-300))


def test_unpruned_search_is_exact():
    """With a beam that never prunes, every final prefix's score is the exact sum over its paths,
    every labeling is there, and the best one is the exact most probable labeling."""
    rng = np.random.default_rng(0)
    differs_from_greedy = 0
    for trial in range(300):
        t, v = int(rng.integers(1, 6)), int(rng.integers(2, 5))
        x = random_logprobs(rng, t, v, concentration=[0.3, 1.0, 3.0][trial % 3])
        exact = exact_labelings(x)
        nbest = prefix_beam_nbest(x, beam=v ** t)
        got = {tuple(ids): s for ids, s in nbest}
        assert set(got) == set(exact), (x, sorted(got), sorted(exact))
        for k, s in exact.items():
            assert got[k] == pytest.approx(s, abs=1e-9), (x, k)
        best = max(exact, key=exact.get)
        assert tuple(prefix_beam_search(x, beam=v ** t)) == best
        assert [s for _, s in nbest] == sorted((s for _, s in nbest), reverse=True)
        differs_from_greedy += tuple(greedy_ctc(x)) != best
        # a narrower beam prunes: its scores are lower bounds of the exact ones
        for ids, s in prefix_beam_nbest(x, beam=2):
            assert s <= exact[tuple(ids)] + 1e-9
    assert differs_from_greedy >= 20     # the test covers cases where the best path is not the best labeling


def test_beam_one_on_peaked_outputs_is_greedy():
    rng = np.random.default_rng(1)
    for _ in range(50):
        t, v = int(rng.integers(1, 60)), int(rng.integers(2, 12))
        best = rng.integers(0, v, size=t)
        best[rng.random(t) < 0.4] = 0                      # blanks between units, and repeats
        logits = rng.normal(size=(t, v))
        logits[np.arange(t), best] += 10.0
        x = logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)
        assert prefix_beam_search(x, beam=1) == greedy_ctc(x)
        assert prefix_beam_search(x, beam=12) == greedy_ctc(x)   # peaked: the best path is the best labeling


def test_beam_finds_a_labeling_more_probable_than_the_best_path():
    # two frames, P(blank) = 0.6 > P(a) = 0.4 on each: the best path is "- -" (labeling empty, 0.36),
    # but "a" has the paths "a -", "- a", "a a": 0.24 + 0.24 + 0.16 = 0.64
    x = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))
    assert greedy_ctc(x) == []
    for beam in (2, 3, 12):
        nbest = prefix_beam_nbest(x, beam=beam)
        assert nbest[0][0] == [2] and np.exp(nbest[0][1]) == pytest.approx(0.64)
        assert nbest[1][0] == [] and np.exp(nbest[1][1]) == pytest.approx(0.36)
        assert prefix_beam_search(x, beam=beam) == [2]
    assert prefix_beam_search(x, beam=1) == []           # beam 1 drops "a" after the first frame
    # a repeated unit needs a blank in between: "a - a" is [a, a], "a a" is [a]
    y = np.log(np.array([[0.1, 0.9], [0.8, 0.2], [0.1, 0.9]]))
    assert prefix_beam_search(y) == [2, 2]
    assert exact_labelings(y)[(2, 2)] == pytest.approx(prefix_beam_nbest(y)[0][1])


def test_cutoff_top_n():
    rng = np.random.default_rng(2)
    for _ in range(30):
        t, v = int(rng.integers(1, 20)), int(rng.integers(2, 8))
        x = random_logprobs(rng, t, v, 1.0)
        assert prefix_beam_nbest(x, 12, cutoff_top_n=v) == prefix_beam_nbest(x, 12)
        assert prefix_beam_search(x, 12, cutoff_top_n=1) == greedy_ctc(x)   # only the best path is left
        assert prefix_beam_search(x, v ** 2, cutoff_top_n=2) is not None


def test_edge_cases_and_input_checks():
    assert prefix_beam_search(np.zeros((0, 3))) == []
    assert prefix_beam_search(np.zeros((4, 1))) == []                  # blank only
    assert prefix_beam_search(np.log(np.full((3, 2), 0.5)).astype(np.float32), beam=4) == [2]
    with pytest.raises(ValueError, match=r"\(frames, outputs\) matrix, got shape \(2, 3, 4\)"):
        prefix_beam_search(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match=r"\(frames, outputs\) matrix, got shape \(5,\)"):
        prefix_beam_search(np.zeros(5))
    with pytest.raises(ValueError, match="no columns"):
        prefix_beam_search(np.zeros((3, 0)))
    bad = np.log(np.full((3, 2), 0.5))
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="must be finite; frame 1, column 1 is nan"):
        prefix_beam_search(bad)
    bad[1, 1] = -np.inf
    with pytest.raises(ValueError, match="frame 1, column 1 is -inf"):
        prefix_beam_search(bad)
    for beam in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="beam must be a positive integer"):
            prefix_beam_search(np.zeros((2, 2)), beam=beam)
    with pytest.raises(ValueError, match="cutoff_top_n must be"):
        prefix_beam_search(np.zeros((2, 2)), cutoff_top_n=0)


# u2: blank is each frame's best output, but AH summed over its paths is likelier than nothing
UTTS = {"u1": (["-", "EY", "-", "T", "-"], "EIGHT"),
        "u2": ([{"<blk>": 5.0, "AH": 4.6}, {"<blk>": 5.0, "AH": 4.6}], "A"),
        "u3": (["-", "N", "N", "-", "N", "OW"], "NO")}


@pytest.fixture(scope="module")
def lang_and_logprobs(tmp_path_factory):
    d = tmp_path_factory.mktemp("prefix")
    write_lang_dir(d / "lang", LEX)
    tokens = read_symbols(d / "lang/tokens.txt")
    (d / "lp").mkdir()
    with kaldiio.WriteHelper(f"ark,scp:{d / 'lp/logprobs.ark'},{d / 'lp/logprobs.scp'}") as w:
        for u in sorted(UTTS):
            w(u, logprobs(UTTS[u][0], tokens))
    (d / "text").write_text("".join(f"{u} {UTTS[u][1]}\n" for u in sorted(UTTS)))
    (d / "text_units").write_text("u1 EY T\nu2 AH\nu3 N OW\n")
    return d


def test_cli_end_to_end(lang_and_logprobs, tmp_path):
    d = lang_and_logprobs
    proc = subprocess.run([sys.executable, "-m", "nas.bin.ctc_prefix_decode", "--beam", "12", "--ref-text",
                           str(d / "text"), "--label", "PER", str(d / "lang"), str(d / "lp"), str(tmp_path / "hyp")],
                          capture_output=True, text=True, env=script_env(), cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "hyp").read_text() == "u1 EY T\nu2 AH\nu3 N N OW\n"     # scp order
    assert proc.stdout.splitlines() == ["%PER 20.00 [ 1 / 5, 1 ins, 0 del, 0 sub ]", "%SER 33.33 [ 1 / 3 ]"]


def test_cli_against_greedy_and_options(lang_and_logprobs, tmp_path, capsys):
    d = lang_and_logprobs
    scp = str(d / "lp/logprobs.scp")
    assert greedy_main(["--ref-text", str(d / "text_units"), "--ref-is-units", "--label", "PER",
                        str(d / "lang"), scp, str(tmp_path / "greedy")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "%PER 40.00 [ 2 / 5, 1 ins, 1 del, 0 sub ]"
    assert (tmp_path / "greedy").read_text() == "u1 EY T\nu2\nu3 N N OW\n"
    # beam 1 keeps the greedy answer here; beam 2 finds AH
    assert prefix_main(["--beam", "1", str(d / "lang"), scp, str(tmp_path / "b1")]) == 0
    assert capsys.readouterr().out == f"ctc_prefix_decode: 3 utterances decoded to {tmp_path / 'b1'}\n"
    assert (tmp_path / "b1").read_text() == (tmp_path / "greedy").read_text()
    assert prefix_main(["--beam", "2", "--ref-text", str(d / "text_units"), "--ref-is-units", "--ignore-units",
                        "N", str(d / "lang"), scp, str(tmp_path / "b2")]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "%TER 0.00 [ 0 / 4, 0 ins, 0 del, 0 sub ]"
    assert prefix_main(["--cutoff-top-n", "1", str(d / "lang"), scp, str(tmp_path / "top1")]) == 0
    assert (tmp_path / "top1").read_text() == (tmp_path / "greedy").read_text()
    assert prefix_main([str(d / "lang"), str(tmp_path / "missing.scp"), str(tmp_path / "x")]) == 1
    assert "ctc_prefix_decode: ERROR: no such file or directory" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        prefix_main(["--beam", "0", str(d / "lang"), scp, str(tmp_path / "x")])
    assert e.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_cli_help():
    proc = subprocess.run([sys.executable, "-m", "nas.bin.ctc_prefix_decode", "--help"],
                          capture_output=True, text=True, env=script_env())
    assert proc.returncode == 0 and "--beam" in proc.stdout and "--ref-is-units" in proc.stdout
    assert proc.stdout.startswith("usage: ctc_prefix_decode")
