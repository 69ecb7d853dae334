"""utils/prepare_lang_ctc.sh --tokens: a lang dir (and TLG) over a trained model's token ids.

The "model" is a lang dir built from TRAIN_LEX; the new vocabulary NEW_LEX lacks
some of its phones (AH, EY, R), so without --tokens its tokens.txt renumbers the
units and the network's output columns no longer mean the graph's tokens.
"""
import filecmp
import re

import pytest

from graph_fixtures import logprobs, words_of
from nas.data.table import TableError
from nas.decoding.logprobs import num_outputs
from nas.decoding.wfst import DecoderConfig, WfstDecoder, load_graph
from nas.lang.lang_dir import read_token_set, write_lang_dir
from nas.lang.symbols import read_symbols

TRAIN_LEX = "A AH\nAN AH N\nATE EY T\nEIGHT EY T\nNO N OW\nREAD R EH D\nREAD R IY D\nRED R EH D\n"
NEW_LEX = "DEN D EH N\nDOE D OW\nNEED N IY D\nTEN T EH N\nTOE T OW\n"
NEW_WORDS = ("DEN", "DOE", "NEED", "TEN", "TOE", "<UNK>", "<NOISE>")


def write_arpa(path, words):
    """A unigram LM, all words equally likely."""
    lines = ["\\data\\", f"ngram 1={len(words) + 2}", "", "\\1-grams:", "-1.0\t</s>", "-99\t<s>"]
    lines += [f"-1.0\t{w}" for w in words] + ["", "\\end\\", ""]
    path.write_text("\n".join(lines))


def lang(run, d, lexicon, *opts):
    d.mkdir(parents=True, exist_ok=True)
    (d.parent / f"{d.name}.lex").write_text(lexicon)
    return run("utils/prepare_lang_ctc.sh", "--lexicon", d.parent / f"{d.name}.lex", *opts, d, check=True)


@pytest.fixture(scope="module")
def model_lang(tmp_path_factory):
    from conftest import run_script
    d = tmp_path_factory.mktemp("model") / "lang"
    lang(run_script, d, TRAIN_LEX)
    return d


def test_tokens_txt_is_the_given_one(run, model_lang, tmp_path):
    lang(run, tmp_path / "lang", NEW_LEX, "--tokens", model_lang / "tokens.txt")
    out = tmp_path / "lang"
    assert (out / "tokens.txt").read_text() == (model_lang / "tokens.txt").read_text()
    assert (out / "units.txt").read_text() == (model_lang / "units.txt").read_text()
    assert filecmp.cmp(out / "T.fst", model_lang / "T.fst", shallow=False)
    tokens = read_symbols(out / "tokens.txt")
    numbers = dict(line.split(maxsplit=1) for line in (out / "lexicon_numbers.txt").read_text().splitlines())
    assert numbers["TEN"] == f"{tokens['T']} {tokens['EH']} {tokens['N']}"
    # the bug: without --tokens the same lexicon gets other ids and fewer network outputs
    lang(run, tmp_path / "plain", NEW_LEX)
    plain = read_symbols(tmp_path / "plain/tokens.txt")
    assert plain["T"] != tokens["T"] and num_outputs(plain) < num_outputs(tokens)


def test_more_disambiguation_symbols_follow_the_given_ids(tmp_path):
    (tmp_path / "tokens.txt").write_text("<eps> 0\n<blk> 1\nD 2\nEY 3\nT 4\n#0 5\n")
    lex = [("ATE", ("EY", "T")), ("EIGHT", ("EY", "T")), ("DAY", ("D", "EY"))]
    summary = write_lang_dir(tmp_path / "lang", lex, tokens=read_token_set(tmp_path / "tokens.txt"))
    assert (tmp_path / "lang/tokens.txt").read_text() == "<eps> 0\n<blk> 1\nD 2\nEY 3\nT 4\n#0 5\n#1 6\n#2 7\n"
    assert summary.num_outputs == 4 and summary.num_disambig == 2


def test_unknown_units_are_reported_and_dropped(run, model_lang, tmp_path):
    lexicon = NEW_LEX + "BEIGE B EY ZH\nNEED N IY D IY\nTOE T OW ZH\n"
    p = lang(run, tmp_path / "lang", lexicon, "--tokens", model_lang / "tokens.txt")
    assert "2 of 10 pronunciations use units that are not in" in p.stderr
    assert "(units: ZH(2) B(1))" in p.stderr
    assert "BEIGE (B ZH in 'B EY ZH')" in p.stderr and "TOE (ZH in 'T OW ZH')" in p.stderr
    assert "1 words have no pronunciation left" in p.stderr and "units of" in p.stderr
    lexicon_txt = (tmp_path / "lang/lexicon.txt").read_text()
    assert "BEIGE" not in lexicon_txt and "ZH" not in lexicon_txt and "TOE T OW\n" in lexicon_txt
    assert "BEIGE" not in read_symbols(tmp_path / "lang/words.txt")
    p = run("utils/prepare_lang_ctc.sh", "--missing", "error", "--lexicon", tmp_path / "lang.lex",
            "--tokens", model_lang / "tokens.txt", tmp_path / "lang2")
    assert p.returncode != 0 and "ERROR: 1 words have no pronunciation left" in p.stderr and "BEIGE" in p.stderr
    (tmp_path / "zh.lex").write_text("BEIGE B EY ZH\n")
    p = run("utils/prepare_lang_ctc.sh", "--oov-word", "", "--noise-word", "", "--lexicon", tmp_path / "zh.lex",
            "--tokens", model_lang / "tokens.txt", tmp_path / "lang3")
    assert p.returncode != 0
    assert f"ERROR: {model_lang / 'tokens.txt'}: no pronunciation of the lexicon is spelled in its units" in p.stderr


@pytest.mark.parametrize("text, error", [
    ("<eps> 0\n<blk> 1\nA 3\n", "ids must run from 0 without gaps; there is no id 2"),
    ("<eps> 0\nA 1\n<blk> 2\n", "tokens.txt:2: id 1 must be '<blk>'"),
    ("<eps> 0\n<blk> 1\nA 2\n#0 3\nB 4\n", "tokens.txt:5: unit 'B' (id 4) comes after the disambiguation"),
    ("<eps> 0\n<blk> 1\nA 2\n#1 3\n", "tokens.txt:4: expected the disambiguation symbol '#0' at id 3"),
    ("<eps> 0\n<blk> 1\n#0 2\n", "no units"),
    ("<eps> 0\n<blk> 1\nA 2\nA 3\n", "tokens.txt:4: duplicate symbol 'A'"),
])
def test_bad_token_sets_name_the_file_and_line(tmp_path, text, error):
    (tmp_path / "tokens.txt").write_text(text)
    with pytest.raises(TableError, match=re.escape(error)):
        read_token_set(tmp_path / "tokens.txt")


def graph(run, d, lexicon, *opts):
    """Lang dir with --tokens opts, G from a unigram LM over the new words, TLG by utils/mkgraph.sh."""
    lang(run, d / "lang", lexicon, *opts)
    write_arpa(d / "lm.arpa", NEW_WORDS)
    run("utils/format_lm.sh", d / "lang", d / "lm.arpa", d / "lang_test", check=True)
    run("utils/mkgraph.sh", "--max-mem-gb", "0", d / "lang_test", d / "graph", check=True)
    return load_graph(str(d / "graph/TLG.fst")), read_symbols(d / "graph/words.txt")


def test_decoding_a_new_vocabulary_with_the_models_tokens(run, model_lang, tmp_path):
    """The network's outputs are over the model's tokens; TLG of another vocabulary must read them."""
    model_tokens = read_symbols(model_lang / "tokens.txt")
    frames = ["-", "T", "EH", "N", "-", "D", "OW", "-", "N", "IY", "IY", "D", "-"]
    x = logprobs(frames, model_tokens)                   # (13, V) over the full token set
    assert x.shape[1] == num_outputs(model_tokens) == 12
    decoder_config = DecoderConfig(beam=20.0)
    tlg, words = graph(run, tmp_path / "fixed", NEW_LEX, "--tokens", model_lang / "tokens.txt")
    hyp = WfstDecoder(tlg, decoder_config).decode(x, [1.0])[1.0]
    assert hyp.reached_final and words_of(hyp.words, words) == ["TEN", "DOE", "NEED"]
    # the bug: a graph over the new lexicon's own units reads the same columns as other phones
    tlg, words = graph(run, tmp_path / "plain", NEW_LEX)
    assert num_outputs(read_symbols(tmp_path / "plain/graph/tokens.txt")) != x.shape[1]
    hyp = WfstDecoder(tlg, decoder_config).decode(x, [1.0])[1.0]
    assert words_of(hyp.words, words) != ["TEN", "DOE", "NEED"]
