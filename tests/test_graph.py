"""T, L, G and TLG: topology, disambiguation, known best paths and costs, mkgraph.sh and its memory cap."""
import math
from typing import List, Set, Tuple

import kaldifst
import pytest

from graph_fixtures import LEX, arpa_cost, build_graph, logprobs, words_of, write_arpa
from nas.decoding.wfst import DecoderConfig, WfstDecoder, load_graph
from nas.lang.ctc_topo import make_ctc_topo
from nas.lang.fst_text import compile_fst
from nas.lang.lang_dir import write_lang_dir
from nas.lang.tlg import check_no_disambig, compose_lg


def outputs(fst: kaldifst.StdVectorFst, inputs: List[int]) -> Set[Tuple[int, ...]]:
    """Every output string `fst` gives for the input string (through all paths)."""
    chain = compile_fst(0, [(i, i + 1, x, x, 0.0) for i, x in enumerate(inputs)], [(len(inputs), 0.0)])
    c = kaldifst.compose(chain, fst)
    found: Set[Tuple[int, ...]] = set()

    def walk(s: int, out: Tuple[int, ...]) -> None:
        if c.final(s).value != math.inf:
            found.add(out)
        for arc in kaldifst.ArcIterator(c, s):
            walk(arc.nextstate, out + ((arc.olabel,) if arc.olabel else ()))

    if c.num_states:
        walk(c.start, ())
    return found


A, B, BLK = 2, 3, 1   # unit token ids; blank is token 1


def test_ctc_topology_merges_repeats_and_needs_blank_between_equal_units():
    t = make_ctc_topo([A, B])
    assert outputs(t, [A, A]) == {(A,)}
    assert outputs(t, [A, BLK, A]) == {(A, A)}
    assert outputs(t, [A, B, A]) == {(A, B, A)}
    assert outputs(t, [BLK, A, A, BLK, B, B, BLK]) == {(A, B)}
    assert outputs(t, [BLK]) == {()}


def test_compact_topology_is_also_ambiguous_on_repeats():
    t = make_ctc_topo([A, B], topo="compact")
    assert outputs(t, [A, A]) == {(A,), (A, A)}
    assert outputs(t, [A, BLK, B]) == {(A, B)}
    assert t.num_states == 3 and sum(t.num_arcs(s) for s in range(3)) < sum(
        make_ctc_topo([A, B]).num_arcs(s) for s in range(3)) + 2


def test_disambiguation_loops_on_every_state():
    t = make_ctc_topo([A, B], disambig_ids=[4, 5])
    for s in range(t.num_states):
        loops = {(a.ilabel, a.olabel) for a in kaldifst.ArcIterator(t, s) if a.nextstate == s and a.ilabel == 0}
        assert loops == {(0, 4), (0, 5)}


def test_lexicon_fst_spells_words_with_disambig(tmp_path):
    write_lang_dir(tmp_path, LEX)
    L = kaldifst.StdVectorFst.read(str(tmp_path / "L.fst"))
    kaldifst.invert(L)            # words -> tokens
    words = {l.split()[0]: int(l.split()[1]) for l in (tmp_path / "words.txt").read_text().splitlines()}
    tokens = {l.split()[0]: int(l.split()[1]) for l in (tmp_path / "tokens.txt").read_text().splitlines()}
    kaldifst.arcsort(L, sort_type="ilabel")
    an = outputs(L, [words["AN"]])
    assert an == {(tokens["AH"], tokens["N"])}
    a = outputs(L, [words["A"]])
    assert a == {(tokens["AH"], tokens["#1"])}                        # prefix of AN: needs #1
    read = outputs(L, [words["READ"]])
    assert (tokens["R"], tokens["IY"], tokens["D"]) in read and len(read) == 2


def test_lg_is_determinizable_only_with_disambiguation(tmp_path):
    write_lang_dir(tmp_path, LEX)
    write_arpa(tmp_path / "lm.arpa")
    from nas.lang.grammar_fst import make_grammar_fst
    g = make_grammar_fst(tmp_path / "lm.arpa", tmp_path / "words.txt", tmp_path / "G.fst")
    compose_lg(kaldifst.StdVectorFst.read(str(tmp_path / "L.fst")), g)      # fine with #k
    # the same L with every #k (k >= 1) input replaced by epsilon: homophones make it non-functional
    tokens = {l.split()[0]: int(l.split()[1]) for l in (tmp_path / "tokens.txt").read_text().splitlines()}
    L = kaldifst.StdVectorFst.read(str(tmp_path / "L.fst"))
    drop = {tokens["#1"], tokens["#2"]}
    arcs = [(s, a.nextstate, 0 if a.ilabel in drop else a.ilabel, a.olabel, a.weight.value)
            for s in range(L.num_states) for a in kaldifst.ArcIterator(L, s)]
    bad = compile_fst(0, arcs, [(0, 0.0)])
    with pytest.raises(RuntimeError, match="not functional"):
        compose_lg(bad, g)


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    return build_graph(tmp_path_factory.mktemp("tlg"))


def decode(graph, frames, weights=(1.0,), **cfg):
    gdir, tokens, words = graph
    dec = WfstDecoder(load_graph(str(gdir / "TLG.fst")), DecoderConfig(beam=30.0, **cfg))
    x = logprobs(frames, tokens)
    return x, {w: h for w, h in dec.decode(x, list(weights)).items()}


def test_tlg_has_no_disambig_inputs_and_only_known_labels(graph):
    gdir, tokens, words = graph
    tlg = kaldifst.StdVectorFst.read(str(gdir / "TLG.fst"))
    assert check_no_disambig(tlg, tokens["#0"]) is None
    v = max(i for s, i in tokens.items() if not s.startswith("#"))
    labels = {(a.ilabel, a.olabel) for s in range(tlg.num_states) for a in kaldifst.ArcIterator(tlg, s)}
    assert max(i for i, _ in labels) == v and min(i for i, _ in labels) == 0
    assert {o for _, o in labels} - {0} <= set(words.values()) - {words["#0"], words["<s>"], words["</s>"]}


@pytest.mark.parametrize("frames, expected", [
    (["-", "EY", "-", "T", "-"], ["EIGHT"]),                           # unigram prefers EIGHT over ATE
    (["-", "N", "OW", "EY", "T", "-"], ["NO", "ATE"]),                 # ...but "NO ATE" is a bigram
    (["-", "AH", "N", "-"], ["AN"]),                                   # AH N is AN,
    (["AH", "N", "OW"], ["A", "NO"]),                                  # AH N OW is A NO: a prefix word, no blanks
    (["-", "R", "-", "IY", "D", "-"], ["READ"]),
    (["-", "R", "EH", "D", "-", "-", "EY", "T"], ["READ", "EIGHT"]),  # homophone READ by "<s> READ"
])
def test_known_best_paths(graph, frames, expected):
    _, _, words = graph
    _, hyps = decode(graph, frames)
    assert words_of(hyps[1.0].words, words) == expected
    assert hyps[1.0].reached_final


def test_lm_weight_decides_between_acoustics_and_lm(graph):
    _, _, words = graph
    frames = ["-", "AH", {"N": 5.0, "<blk>": 4.0}, "-"]            # acoustics say AH N (AN) by 1 nat
    _, hyps = decode(graph, frames, weights=(0.1, 1.0))
    assert words_of(hyps[0.1].words, words) == ["AN"]               # LM nearly ignored
    assert words_of(hyps[1.0].words, words) == ["A"]                # the "<s> A" bigram wins


def test_path_costs_are_lm_and_acoustic_scores(graph):
    _, tokens, words = graph
    for frames, sent in ((["-", "EY", "-", "T", "-"], ["EIGHT"]), (["-", "N", "OW", "-", "EY", "T"], ["NO", "ATE"])):
        x, hyps = decode(graph, frames)
        h = hyps[1.0]
        assert len(h.tokens) == x.shape[0]                          # one input label per frame
        am = -sum(float(x[t, tok - 1]) for t, tok in enumerate(h.tokens))
        assert h.am_cost == pytest.approx(am, abs=1e-3)
        assert h.graph_cost == pytest.approx(arpa_cost(sent), abs=1e-3)


def test_lattice_and_redecode_agree_and_decoding_is_deterministic(graph):
    frames = ["-", "AH", {"N": 5.0, "<blk>": 4.0}, "-", "N", {"OW": 3.0, "N": 2.0}, "EY", "-", "T"]
    ws = (0.1, 0.3, 0.5, 1.0, 2.0)
    _, lat = decode(graph, frames, ws, mode="lattice", lattice_beam=20.0)
    _, red = decode(graph, frames, ws, mode="redecode")
    _, lat2 = decode(graph, frames, ws, mode="lattice", lattice_beam=20.0)
    for w in ws:
        assert lat[w].words == red[w].words
        assert lat[w].graph_cost == pytest.approx(red[w].graph_cost, abs=1e-3)
        assert lat[w].am_cost == pytest.approx(red[w].am_cost, abs=1e-3)
        assert (lat2[w].words, lat2[w].tokens, lat2[w].graph_cost) == (lat[w].words, lat[w].tokens, lat[w].graph_cost)
    assert len({tuple(h.words) for h in lat.values()}) > 1          # the weights do change the answer


def test_empty_utterance_decodes_to_nothing(graph):
    import numpy as np
    gdir, tokens, _ = graph
    dec = WfstDecoder(load_graph(str(gdir / "TLG.fst")), DecoderConfig())
    h = dec.decode(np.zeros((0, 9), np.float32), [1.0])[1.0]
    assert h.words == [] and h.reached_final


def test_format_lm_and_mkgraph_scripts(run, tmp_path):
    lang = tmp_path / "lang"
    write_lang_dir(lang, LEX)
    write_arpa(tmp_path / "lm.arpa")
    (tmp_path / "lm.arpa").write_text((tmp_path / "lm.arpa").read_text().replace(
        "ngram 1=10", "ngram 1=11").replace("-2.0\t<UNK>", "-2.0\t<UNK>\n-2.0\tZORK"))
    p = run("utils/format_lm.sh", lang, tmp_path / "lm.arpa", tmp_path / "lang_test", check=True)
    assert "ZORK" in p.stdout + p.stderr                             # the LM word not in words.txt is named
    assert (tmp_path / "lang_test/G.fst").is_file() and (tmp_path / "lang_test/L.fst").is_file()
    p = run("utils/mkgraph.sh", tmp_path / "lang_test", tmp_path / "graph", check=True)
    assert "T o LG" in p.stdout and "TLG.fst:" in p.stdout and "built in" in p.stdout
    for f in ("TLG.fst", "words.txt", "tokens.txt", "log/mkgraph.log"):
        assert (tmp_path / "graph" / f).is_file()
    p = run("utils/mkgraph.sh", tmp_path / "lang_test", tmp_path / "graph", check=True)
    assert "not rebuilding" in p.stdout


def test_mkgraph_fails_cleanly_under_the_memory_cap(run, tmp_path):
    # G = "the 22nd word from the end is A": its determinization has 2^22 states
    n = 22
    lang = tmp_path / "lang"
    lang.mkdir()
    compile_fst(0, [(0, 0, 2, 1, 0.0), (0, 0, 3, 2, 0.0), (0, 0, 4, 3, 0.0)], [(0, 0.0)]).write(str(lang / "L.fst"))
    arcs = [(0, 0, 1, 1, 0.0), (0, 0, 2, 2, 0.0), (0, 1, 1, 1, 0.0)]
    arcs += [(i, i + 1, w, w, 0.0) for i in range(1, n + 1) for w in (1, 2)]
    compile_fst(0, arcs, [(n + 1, 0.0)]).write(str(lang / "G.fst"))
    make_ctc_topo([2, 3], [4]).write(str(lang / "T.fst"))
    (lang / "tokens.txt").write_text("<eps> 0\n<blk> 1\na 2\nb 3\n#0 4\n")
    (lang / "words.txt").write_text("<eps> 0\nA 1\nB 2\n#0 3\n<s> 4\n</s> 5\n")
    p = run("utils/mkgraph.sh", "--max-mem-gb", "0.15", lang, tmp_path / "graph")
    assert p.returncode == 1
    assert "out of memory in step 'min(det(L o G))'" in p.stdout + p.stderr
    assert not (tmp_path / "graph/TLG.fst").exists()
