"""egs/wsj on a miniature LDC93S6B + LDC94S13B: transcript normalization, corpus errors, stages 1-2."""
from __future__ import annotations

import shutil
import time

import kaldiio
import pytest

from conftest import REPO
from ldc_fixtures import WSJ_EXPECTED_TEXT, assert_stage_configs, make_wsj, recipe_copy, run_module
from nas.corpora.ldc import CorpusError, Report
from nas.corpora.wsj import locate, normalize_transcript, read_index, unused_cds, verbal_punctuation


@pytest.fixture(scope="module")
def wsj(tmp_path_factory):
    return make_wsj(tmp_path_factory.mktemp("ldc"))


# ------------------------------------------------------------------------------- normalization

@pytest.mark.parametrize("dot, words", [
    # non-speech events: their own token, or dropped when they only overlap words
    ("[loud_breath] Shares fell [door_slam]", "<NOISE> SHARES FELL <NOISE>"),
    ("The index [<door_slam] rose [tap>] two", "THE INDEX ROSE TWO"),
    ("Analysts [phone_ring/] expect further [/phone_ring] gains", "ANALYSTS EXPECT FURTHER GAINS"),
    # verbal deletion, pause, truncation, escapes
    ("about the <the> deal . and ~", "ABOUT THE THE DEAL AND"),
    ("Mr\\. Smith isn\\'t I\\. B\\. M\\.", "MR. SMITH ISN'T I. B. M."),
    # verbalized punctuation: spoken names (Kaldi's %PERCENT and .POINT rules included)
    ("ten %PERCENT ,COMMA \\\"DOUBLE-QUOTE yes \\\"END-QUOTE .PERIOD", "TEN PERCENT COMMA DOUBLE QUOTE YES END QUOTE PERIOD"),
    ("one .POINT five --DASH (LEFT-PAREN ?QUESTION-MARK ;SEMI-COLON", "ONE POINT FIVE DASH LEFT PAREN QUESTION MARK SEMI COLON"),
    ("'SINGLE-QUOTE", "SINGLE QUOTE"),
    # words with an apostrophe, fragments and mispronunciations stay (OOV in training, as Kaldi)
    ("'em 'cause rock 'n roll", "'EM 'CAUSE ROCK 'N ROLL"),
    ("the tele- -ation *administration* was", "THE TELE- -ATION *ADMINISTRATION* WAS"),
    ("[<breath] ~", ""),
])
def test_wsj_normalization(dot, words):
    assert " ".join(normalize_transcript(dot)) == words


def test_verbal_punctuation_rule():
    assert verbal_punctuation("&AMPERSAND") == ["AMPERSAND"]
    assert verbal_punctuation("...ELLIPSIS") == ["ELLIPSIS"]
    assert verbal_punctuation("-HYPHEN") == ["HYPHEN"]
    for word in ("'EM", "-ING", "MR.", "ISN'T", "*SURE*", "<NOISE>", "1990"):
        assert verbal_punctuation(word) is None, word


def test_normalize_cli():
    r = run_module("nas.corpora.wsj", "normalize", input="011c0201 The [<door_slam] cat ,COMMA sat [loud_breath]\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "011c0201 THE CAT COMMA SAT <NOISE>\n"


# ---------------------------------------------------------------------------- corpus errors

def test_corpus_errors_name_what_was_expected(wsj, tmp_path):
    wsj0, wsj1 = wsj
    sets = ["train_si284", "test_dev93", "test_eval92"]
    with pytest.raises(CorpusError, match=r"no such directory \(expected the WSJ0 distribution \(LDC93S6B\)"):
        locate([tmp_path / "nowhere"], [wsj1], sets, Report())
    with pytest.raises(CorpusError, match=r"no CD directories \(named like 11-13.1\)"):
        locate([tmp_path], [wsj1], sets, Report())
    with pytest.raises(CorpusError, match=r"no CD directory 11-13.1 .*are --wsj0 and --wsj1 swapped\?"):
        locate([wsj1], [wsj0], sets, Report())
    # a copy without the dev93 index
    cut = tmp_path / "cut1"
    shutil.copytree(wsj1, cut)
    (cut / "13-34.1/wsj1/doc/indices/h1_p0.ndx").unlink()
    with pytest.raises(CorpusError, match=r"13-34.1/wsj1/doc/indices/h1_p0.ndx: no such file \(expected the "
                                          r"index file of test_dev93"):
        locate([wsj0], [cut], sets, Report())
    # the CD dirs themselves, as Kaldi's recipe takes them, work too
    corpus = locate(sorted(wsj0.iterdir()), sorted(wsj1.iterdir()), sets, Report())
    assert {"11-13.1", "13-34.1", "13-16.1"} <= set(corpus.cds)


def test_stage0_checks_every_cd_the_sets_need_and_decodes_one_file_each(wsj, tmp_path):
    wsj0, wsj1 = wsj
    check = ["nas.corpora.wsj", "check", "--need-lm", "--wsj0", wsj0]
    # the fixture indexes one utterance on 13-5.1, which is not there: a partial copy
    r = run_module(*check, "--wsj1", wsj1)
    assert r.returncode == 1
    assert "no CD directory 13-5.1: the indices name audio on it (train_si284: 1 entries); expected WSJ1 " \
           "(--wsj1)'s CD 13-5.1 (a partial copy: --allow-partial true" in r.stderr
    r = run_module(*check, "--wsj1", wsj1, "--allow-partial")
    assert r.returncode == 0, r.stderr
    # 11-1.1, 11-14.1 (eval92), 13-1.1, 13-16.1 (dev93): one file of each decoded
    assert "the first audio file of each of the 4 CDs the indices of train_si284, test_dev93, test_eval92 name " \
           "decodes" in r.stdout
    assert "CD directories the indices name that are not here (their entries left out): 1; e.g. 13-5.1" in r.stdout
    # the dev93 audio CD or the LM CD missing: stage 0 fails, naming it
    for cd, expect in (("13-16.1", "no CD directory 13-16.1: the indices name audio on it (test_dev93: 2 entries); expected "
                                  "WSJ1 (--wsj1)'s CD 13-16.1; none of test_dev93's audio is here"),
                       ("13-32.1", "no CD directory 13-32.1 (expected WSJ1's CD 13-32.1, which holds the language")):
        cut = tmp_path / f"no_{cd}"
        shutil.copytree(wsj1, cut, ignore=lambda d, names: [cd] if d == str(wsj1) else [])
        r = run_module(*check, "--wsj1", cut, "--allow-partial")
        assert r.returncode == 1 and expect in r.stderr, r.stderr
    # an audio coding the reader cannot decode, on the eval92 CD: named with its file
    bad = tmp_path / "bad0"
    shutil.copytree(wsj0, bad)
    for f in (bad / "11-14.1").rglob("*.wv1"):
        head = f.read_bytes()
        f.write_bytes(head.replace(b"embedded-shorten-v2.00", b"embedded-shorten-v9.99"))
    r = run_module("nas.corpora.wsj", "check", "--wsj0", bad, "--wsj1", wsj1, "--allow-partial")
    assert r.returncode == 1
    assert f"{bad}/11-14.1/wsj0/si_et_20/440/440c0201.wv1: cannot decode the first audio file of CD 11-14.1" \
           in r.stderr and "v9.99" in r.stderr, r.stderr


def test_stage1_writes_nothing_when_a_set_is_empty_and_knows_transcript_cds(wsj, tmp_path):
    wsj0, wsj1 = wsj
    cut = tmp_path / "no_dev93"
    shutil.copytree(wsj1, cut, ignore=lambda d, names: ["13-16.1"] if d == str(wsj1) else [])
    r = run_module("nas.corpora.wsj", "data", "--wsj0", wsj0, "--wsj1", cut, tmp_path / "data")
    assert r.returncode == 1
    assert r.stderr.startswith("wsj_data_prep: ERROR: test_dev93: no utterance has both audio and a transcript; "
                               "test_dev93: index entries on CD directories that are not here (left out): 2; "
                               "e.g. 13-16.1 (2)"), r.stderr
    assert not (tmp_path / "data" / "train_si284").exists()
    # training transcripts on a CD of their own (WSJ0's 11-4.1 holds them): that CD is used
    sets = ["train_si284", "test_dev93", "test_eval92"]
    assert "11-4.1" in unused_cds(locate([wsj0], [wsj1], sets, Report()), sets)
    moved = tmp_path / "moved0"
    shutil.copytree(wsj0, moved)
    shutil.move(str(moved / "11-1.1/wsj0/transcrp"), str(moved / "11-4.1/wsj0/transcrp"))
    assert unused_cds(locate([moved], [wsj1], sets, Report()), sets) == []


def test_bad_index_line_names_file_and_line(tmp_path):
    ndx = tmp_path / "x.ndx"
    ndx.write_text(";\n; comment\n11_1_1:wsj0/si_tr_s/011/011c0201.wv1\nwsj0/si_tr_s/011/011c0202.wv1\n")
    with pytest.raises(CorpusError, match=rf"{ndx}:4: cannot read index line"):
        list(read_index(ndx))


# ---------------------------------------------------------------------------------- recipe

def test_help_lists_stages_and_options(run):
    r = run("egs/wsj/run.sh", "--help")
    assert r.returncode == 0
    for s in range(9):
        assert f"\n  {s}  " in r.stdout, s
    for opt in ("--wsj0", "--wsj1", "--lm-source", "--space (wsj)", "--arch", "--nas-launcher", "--stop-stage"):
        assert opt in r.stdout, opt


def test_stage_configs_are_stage_options():
    assert_stage_configs(REPO / "egs/wsj/conf")


def test_missing_or_wrong_corpus_fails_at_once(run, wsj, tmp_path):
    d = recipe_copy(tmp_path, "wsj")
    wsj0, wsj1 = wsj
    t0 = time.time()
    r = run(str(d / "run.sh"), "--stage", "1", "--stop-stage", "1", "--wsj0", str(tmp_path / "no_wsj0"),
            "--wsj1", str(wsj1))
    assert r.returncode != 0
    assert f"{tmp_path / 'no_wsj0'}: no such directory (expected the WSJ0 distribution (LDC93S6B)" in r.stderr
    r = run(str(d / "run.sh"), "--stage", "1", "--stop-stage", "1", "--wsj0", str(wsj1), "--wsj1", str(wsj0))
    assert r.returncode != 0
    assert "no CD directory 11-13.1 (expected WSJ0's CD 11-13.1" in r.stderr
    assert time.time() - t0 < 20
    assert not (d / "data" / "lang_phn").exists()


def test_stages_1_and_2(run, wsj, tmp_path):
    d = recipe_copy(tmp_path, "wsj")
    wsj0, wsj1 = wsj
    args = ["--wsj0", str(wsj0), "--wsj1", str(wsj1), "--nj", "2"]
    r = run(str(d / "run.sh"), *args, "--allow-partial", "true", "--stop-stage", "2")   # 13-5.1 is not here
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = r.stdout
    # what was left out, with counts and reasons
    for line in ("train_si284: audio without a transcript (left out): 1",
                 "train_si284: index entries without audio (left out): 1",
                 "train_si284: index entries on CD directories that are not here (left out): 1; e.g. 13-5.1 (1)",
                 "train_si284: left out: speaker 401 of si_tr_s",
                 "CD directories not used by these sets (fine: WSJ has other sets too): 1; e.g. 11-4.1",
                 "test_dev93: transcripts from .lsn (no .dot line): 1",
                 "prepare_lang: text: 1 of 51 words (1.96%) are OOV, 1 distinct; most frequent: *SURE*(1)",
                 "data/lang_phn: 72 network outputs (units + blank), as the paper"):
        assert line in out, line
    data = d / "data"
    texts = {}
    for x, n in (("train_si284", 5), ("test_dev93", 2), ("test_eval92", 2)):
        wav = dict(l.split(" ", 1) for l in (data / x / "wav.scp").read_text().splitlines())
        assert len(wav) == n
        assert all(v.startswith("sph2pipe -f wav -p ") and v.endswith(".wv1 |") for v in wav.values())
        texts.update(l.split(" ", 1) for l in (data / x / "text").read_text().splitlines())
        utt2spk = dict(l.split() for l in (data / x / "utt2spk").read_text().splitlines())
        assert all(s == u[:3] for u, s in utt2spk.items())
    assert texts == WSJ_EXPECTED_TEXT
    # lexicon: CMUdict with stress, 69 phones + <NSN> + <SPN>
    units = [l.split()[0] for l in (data / "lang_phn/units.txt").read_text().splitlines()]
    assert len(units) == 71 and {"<NSN>", "<SPN>", "AH0", "AH1", "AH2"} <= set(units)
    assert (data / "lang_phn/oov.txt").read_text().strip() == "<UNK>"
    # LMs: the corpus' trigram (header dropped), pruned for the first pass; the TLG
    lm = data / "local/lm"
    assert (lm / "lm_tg.arpa.gz").is_file() and (lm / "lm_tgpr.arpa.gz").is_file()
    assert (data / "lang_phn_test_tgpr/graph/TLG.fst").is_file()
    # stage 2: 3-way perturbed training set, 40-dim fbank, CMVN
    for x, n in (("train_si284_sp", 15), ("test_dev93", 2), ("test_eval92", 2)):
        feats = kaldiio.load_scp(str(data / x / "feats.scp"))
        assert len(feats) == n
        assert next(iter(feats.values())).shape[1] == 40
        assert (data / x / "cmvn.scp").is_file()
    sp_utts = {l.split()[0] for l in (data / "train_si284_sp/utt2spk").read_text().splitlines()}
    train_utts = {l.split()[0] for l in (data / "train_si284/utt2spk").read_text().splitlines()}
    assert sp_utts == train_utts | {f"sp{f}-{u}" for f in ("0.9", "1.1") for u in train_utts}   # Kaldi's ids
    # a rerun redoes nothing and keeps the features
    r = run(str(d / "run.sh"), *args, "--stage", "1", "--stop-stage", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    for what in ("(unchanged: left as it was)", "data/lang_phn is up to date", "lm_tgpr.arpa.gz exists; skipping",
                 "TLG.fst is up to date", "data/test_eval92 has features and CMVN stats; skipping"):
        assert what in r.stdout, what


def test_lm_text_from_the_corpus(wsj, tmp_path):
    wsj0, wsj1 = wsj
    words = tmp_path / "words.txt"
    words.write_text("MR. 1\nTHE 2\n")
    out = tmp_path / "lm_text"
    r = run_module("nas.corpora.wsj", "lm-text", "--wsj0", wsj0, "--wsj1", wsj1, "--vocab", words, out)
    assert r.returncode == 0, r.stderr
    assert out.read_text().splitlines() == [
        "lmtext-00000001 THE INDEX ROSE ONE POINT TWO PERCENT",
        "lmtext-00000002 ANALYSTS EXPECT FURTHER GAINS",
        "lmtext-00000003 STOCKS CLOSED HIGHER IN HEAVY TRADING SAID MR. SMITH"]
