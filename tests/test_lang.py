"""Lexicons, units, disambiguation symbols, lang dirs and utils/prepare_lang_ctc.sh."""

import pytest

from nas.bin.make_den_lm import read_lexicon as den_read_lexicon
from nas.bin.make_den_lm import read_tokens as den_read_tokens
from nas.data.table import TableError
from nas.lang.cmu import cmudict_lexicon, strip_stress
from nas.lang.lang_dir import write_lang_dir
from nas.lang.lexicon import add_disambig, format_oov_report, count_oov, read_lexicon
from nas.lang.symbols import read_symbols
from nas.lang.units import bpe_lexicon, char_lexicon, train_bpe

# a tiny phone lexicon: homophones (READ/RED, ATE/EIGHT), a prefix (A of AN), a word with two prons
LEX = [("A", ("AH",)), ("AN", ("AH", "N")), ("ATE", ("EY", "T")), ("EIGHT", ("EY", "T")),
       ("READ", ("R", "EH", "D")), ("READ", ("R", "IY", "D")), ("RED", ("R", "EH", "D")),
       ("NO", ("N", "OW")), ("<UNK>", ("<SPN>",))]


def test_disambig_homophones_and_prefixes():
    entries, max_k = add_disambig(LEX)
    k = {(w, p): d for w, p, d in entries}
    assert k[("A", ("AH",))] == 1                      # proper prefix of AN's AH N
    assert k[("AN", ("AH", "N"))] == 0
    assert sorted([k[("ATE", ("EY", "T"))], k[("EIGHT", ("EY", "T"))]]) == [1, 2]
    assert sorted([k[("READ", ("R", "EH", "D"))], k[("RED", ("R", "EH", "D"))]]) == [1, 2]
    assert k[("READ", ("R", "IY", "D"))] == 0
    assert k[("NO", ("N", "OW"))] == 0
    assert max_k == 2


def test_disambig_makes_prons_unique_and_prefix_free():
    entries, _ = add_disambig(LEX)
    seqs = [tuple(p) + ((f"#{d}",) if d else ()) for _, p, d in entries]
    assert len(set(seqs)) == len(seqs)
    for s in seqs:
        assert not any(o != s and o[:len(s)] == s for o in seqs), s


def test_lang_dir_files(tmp_path):
    summary = write_lang_dir(tmp_path, LEX)
    tokens = read_symbols(tmp_path / "tokens.txt")
    lines = (tmp_path / "tokens.txt").read_text().splitlines()
    assert lines[:2] == ["<eps> 0", "<blk> 1"]
    assert [ln.split()[0] for ln in lines[-3:]] == ["#0", "#1", "#2"]
    units = sorted({u for _, p in LEX for u in p})
    assert [tokens[u] for u in units] == list(range(2, 2 + len(units)))
    words = (tmp_path / "words.txt").read_text().splitlines()
    assert words[0] == "<eps> 0" and [w.split()[0] for w in words[-3:]] == ["#0", "<s>", "</s>"]
    assert summary.num_outputs == len(units) + 1 and summary.num_disambig == 2
    # units.txt: network column = token id - 1
    for line in (tmp_path / "units.txt").read_text().splitlines():
        u, col = line.split()
        assert int(col) == tokens[u] - 1
    assert (tmp_path / "oov.txt").read_text().strip() == "<UNK>"
    assert (tmp_path / "L.fst").stat().st_size > 0 and (tmp_path / "T.fst").stat().st_size > 0


def test_lang_dir_is_what_make_den_lm_reads(tmp_path):
    write_lang_dir(tmp_path, LEX)
    units, v = den_read_tokens(tmp_path / "tokens.txt")
    lex = den_read_lexicon(tmp_path / "lexicon_numbers.txt")
    tokens = read_symbols(tmp_path / "tokens.txt")
    assert v == len(units) + 1
    assert lex["AN"] == [tokens["AH"], tokens["N"]]
    assert all(t in units for seq in lex.values() for t in seq)     # no disambiguation ids


def test_reserved_symbols_are_rejected(tmp_path):
    with pytest.raises(TableError, match="reserved"):
        write_lang_dir(tmp_path, [("#0", ("AH",))])
    with pytest.raises(TableError, match="reserved"):
        write_lang_dir(tmp_path, [("A", ("<blk>",))])


def test_read_lexicon_errors_name_the_line(tmp_path):
    p = tmp_path / "lexicon.txt"
    p.write_text("A AH\nB\n")
    with pytest.raises(TableError, match=r"lexicon.txt:2: word 'B' has an empty pronunciation"):
        read_lexicon(p)


def test_cmudict_stress_and_case():
    lex, missing = cmudict_lexicon(["Read", "HELLO", "QQQXYZ"], keep_stress=False)
    assert ("Read", ("R", "EH", "D")) in lex and ("Read", ("R", "IY", "D")) in lex
    assert all(not any(c.isdigit() for u in p for c in u) for _, p in lex)
    assert missing == ["QQQXYZ"]
    stressed, _ = cmudict_lexicon(["HELLO"], keep_stress=True, all_prons=False)
    assert len(stressed) == 1 and any(u[-1].isdigit() for u in stressed[0][1])
    assert strip_stress(["AH0", "EY1", "T"]) == ("AH", "EY", "T")


def test_char_and_bpe_units(tmp_path):
    assert char_lexicon(["CAT", "<UNK>"]) == [("CAT", ("C", "A", "T"))]
    text = ["THE CAT SAT ON THE MAT", "THE DOG SAT ON THE LOG", "A CAT AND A DOG"] * 20
    model = train_bpe(text, tmp_path / "bpe", vocab_size=30)
    lex = bpe_lexicon(["CAT", "DOG", "MAT", "<UNK>"], model)
    assert [w for w, _ in lex] == ["CAT", "DOG", "MAT"]
    for w, pieces in lex:
        assert pieces[0].startswith("\u2581") and "".join(pieces).lstrip("\u2581") == w


def test_oov_report_counts():
    oov = count_oov([["A", "ZZ", "ZZ"], ["YY"]], {"A"})
    assert oov == {"ZZ": 2, "YY": 1}
    assert format_oov_report(oov, 4) == "3 of 4 words (75.00%) are OOV, 2 distinct; most frequent: ZZ(2) YY(1)"


def test_prepare_lang_script_reports_missing_words(run, tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 HELLO WORLD QQQXYZ\nu2 QQQXYZ HELLO\n")
    p = run("utils/prepare_lang_ctc.sh", "--text", text, tmp_path / "lang", check=True)
    assert "QQQXYZ(2)" in p.stderr                           # the word and its count
    assert "2 of 5 words (40.00%) are OOV" in p.stdout
    lexicon = (tmp_path / "lang/lexicon.txt").read_text()
    assert "HELLO HH" in lexicon and "QQQXYZ" not in lexicon and "<UNK> <SPN>" in lexicon
    p = run("utils/prepare_lang_ctc.sh", "--missing", "error", "--text", text, tmp_path / "lang2")
    assert p.returncode != 0 and "QQQXYZ" in p.stderr


def test_prepare_lang_script_char_units(run, tmp_path):
    text = tmp_path / "text"
    text.write_text("u1 AB BA\n")
    run("utils/prepare_lang_ctc.sh", "--unit", "char", "--noise-word", "", "--text", text, tmp_path / "lang",
        check=True)
    assert (tmp_path / "lang/lexicon.txt").read_text() == "<UNK> <SPN>\nAB A B\nBA B A\n"
    tokens = read_symbols(tmp_path / "lang/tokens.txt")
    assert set(tokens) == {"<eps>", "<blk>", "<SPN>", "A", "B", "#0"}     # no homophones or prefixes


def test_map_oov_text_unk_and_drop(run, tmp_path):
    from conftest import make_data_dir
    write_lang_dir(tmp_path / "lang", LEX)
    utts = {"u1": {"spk": "s", "text": "A NO", "wav": "/a.wav"}, "u2": {"spk": "s", "text": "AN ZORK ZORK", "wav": "/b.wav"},
            "u3": {"spk": "s", "text": "EIGHT", "wav": "/c.wav"}}
    data = make_data_dir(tmp_path / "data", utts)
    p = run("utils/map_oov_text.sh", tmp_path / "lang", data, check=True)
    assert "ZORK(2)" in p.stdout and "2 words mapped to <UNK>" in p.stdout
    assert (data / "text").read_text() == "u1 A NO\nu2 AN <UNK> <UNK>\nu3 EIGHT\n"
    p = run("utils/map_oov_text.sh", "--mode", "drop", tmp_path / "lang", data, check=True)
    assert "dropped 1 of 3 utterances: u2" in p.stdout
    assert (data / "text").read_text() == "u1 A NO\nu3 EIGHT\n"
    assert "u2" not in (data / "utt2spk").read_text() and "u2" not in (data / "wav.scp").read_text()
