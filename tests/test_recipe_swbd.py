"""egs/swbd on miniature LDC97S62 + MS98 + eval2000 + Fisher: normalization, corpus errors (missing parts
stop, or with --allow-partial are left out of scoring), stages 1-2, the --arch transfer path, and
eval2000 scoring through sclite per subset with Kaldi's hypothesis filter."""
from __future__ import annotations

import gzip
import time

import kaldiio
import pytest

from conftest import REPO
from ldc_fixtures import PEM, STM, SWBD_PHONES, assert_stage_configs, make_swbd, recipe_copy, run_module
from nas.corpora.ldc import CorpusError, Report
from nas.corpora.swbd import find_ms98, normalize_transcript, utt_id
from nas.corpora.swbd.eval2000 import eval2000_utt_id, extend_segments, prepare_eval2000
from nas.decoding.sclite import find_sclite
from nas.decoding.stm_score import drop_ctm_lines


@pytest.fixture(scope="module")
def swbd(tmp_path_factory):
    return make_swbd(tmp_path_factory.mktemp("ldc"))


def corpus_args(c):
    return ["--swbd", str(c["swbd"]), "--ms98", str(c["ms98"]), "--eval2000-audio", str(c["eval2000_audio"]),
            "--eval2000-text", str(c["eval2000_text"])]


@pytest.mark.parametrize("ms98, words", [
    ("[silence] hi um [noise] yeah [silence]", "hi um [noise] yeah"),
    ("[laughter] yes [vocalized-noise] [laughter-yes]", "[laughter] yes [vocalized-noise] yes"),
    ("-[an]y [an]y ab[solute]- ab[solute]", "-y -y ab- ab-"),              # partial words
    ("[it'n/isn't] [lem[guini]-/linguini] ex[specially]-/especially]", "it'n lem- ex"),
    ("{yuppiedom} them_1 <b_aside> uh-huh <e_aside>", "yuppiedom them uh-huh"),
    # Kaldi's swbd1_map_words.pl rule by rule: its inside-a-word rule keeps the bracket's last letter
    # ("u[n]i" -> "n-"); "_1" goes wherever it is; a laughed partial word is unwrapped, then cut
    ("ammu[n]it-", "ammn-t-"),
    ("them_1's", "them's"),
    ("[laughter-th[e]-]", "th-"),
    ("[silence]", ""),
])
def test_swbd_normalization(ms98, words):
    assert " ".join(normalize_transcript(ms98)) == words


def test_utterance_ids_round_train_truncate_eval2000():
    """Kaldi rounds the MS98 times (int(100*t+0.5)) but truncates eval2000's (awk's %06d of t*100)."""
    assert utt_id("sw02001-A", 0.977625, 2.05) == "sw02001-A_000098-000205"
    assert eval2000_utt_id("sw_4390-B", 0.60, 2.05) == "sw_4390-B_000060-000204"    # 2.05*100 = 204.99...
    assert eval2000_utt_id("en_4156-A", 1.15, 302.48) == "en_4156-A_000114-030248"      # as awk prints them


def test_extend_segments_never_cross_neighbours():
    segs = {"a": ("r", 0.05, 1.0), "b": ("r", 1.1, 2.0), "c": ("r", 2.5, 3.0), "d": ("q", 1.0, 2.0)}
    out = extend_segments(segs, 0.1)
    assert out["a"] == ("r", 0.0, pytest.approx(1.05))
    assert out["b"] == ("r", pytest.approx(1.05), pytest.approx(2.1))
    assert out["c"] == ("r", pytest.approx(2.4), pytest.approx(3.1))
    assert out["d"] == ("q", pytest.approx(0.9), pytest.approx(2.1))


def test_corpus_errors_name_what_was_expected(swbd, tmp_path):
    with pytest.raises(CorpusError, match=r"sw-ms98-dict.text: no such file \(expected the Mississippi State "
                                          r"transcripts.*openslr.org/resources/5"):
        find_ms98(tmp_path)
    with pytest.raises(CorpusError, match=r"nowhere: no such directory \(expected the Mississippi State"):
        find_ms98(tmp_path / "nowhere")
    assert find_ms98(swbd["ms98"].parent) == swbd["ms98"]        # the dir it was unpacked in works too
    with pytest.raises(CorpusError, match=r"no hub5e00.english.000405.stm in it or below \(expected the eval2000 "
                                          r"references LDC2002T43"):
        prepare_eval2000(swbd["eval2000_audio"], tmp_path, Report())
    with pytest.raises(CorpusError, match=r"no hub5e_00.pem in it or below \(expected the eval2000 speech LDC2002S09"):
        prepare_eval2000(tmp_path, swbd["eval2000_text"], Report())


def test_stage_configs_are_stage_options():
    assert_stage_configs(REPO / "egs/swbd/conf")


def test_help_lists_stages_and_options(run):
    r = run("egs/swbd/run.sh", "--help")
    assert r.returncode == 0
    for s in range(9):
        assert f"\n  {s}  " in r.stdout, s
    for opt in ("--swbd", "--ms98", "--eval2000-audio", "--eval2000-text", "--fisher", "--arch", "--space (swbd)",
                "--num-dev-utts (4000)", "--max-dup-utts (300)", "--expected-outputs (46)"):
        assert opt in r.stdout, opt


def test_missing_corpus_fails_at_once(run, swbd, tmp_path):
    d = recipe_copy(tmp_path, "swbd")
    t0 = time.time()
    args = corpus_args(swbd)
    args[1] = str(tmp_path / "no_swbd")
    r = run(str(d / "run.sh"), "--stage", "1", "--stop-stage", "1", *args)
    assert r.returncode != 0
    assert f"{tmp_path / 'no_swbd'}: no such directory (expected Switchboard-1 Release 2 (LDC97S62)" in r.stderr
    args = corpus_args(swbd)
    args[3] = str(tmp_path)
    r = run(str(d / "run.sh"), "--stage", "1", "--stop-stage", "1", *args)
    assert r.returncode != 0
    assert f"{tmp_path / 'sw-ms98-dict.text'}: no such file (expected the Mississippi State transcripts" in r.stderr
    args = corpus_args(swbd)
    args[7] = str(tmp_path)
    r = run(str(d / "run.sh"), "--stage", "1", "--stop-stage", "1", *args)
    assert r.returncode != 0
    assert f"{tmp_path}: no hub5e00.english.000405.stm in it or below (expected the eval2000 references" in r.stderr
    assert not (d / "data" / "train").exists()           # nothing was done before the check
    assert time.time() - t0 < 20


def test_arch_skips_the_search(run, tmp_path):
    d = recipe_copy(tmp_path, "swbd")
    r = run(str(d / "run.sh"), "--arch", str(REPO / "nas/spaces/wsj_tdnn_d.arch.json"), "--stage", "4",
            "--stop-stage", "6")
    assert r.returncode == 0, r.stderr
    assert "stages 4-6 skipped: retraining the given --arch" in r.stdout
    assert not (d / "exp").exists()
    r = run(str(d / "run.sh"), "--arch", str(tmp_path / "none.json"), "--stage", "7")
    assert r.returncode != 0 and "none.json: no such file (expected an arch.json)" in r.stderr


def test_stages_1_and_2(run, swbd, tmp_path):
    d = recipe_copy(tmp_path, "swbd")
    r = run(str(d / "run.sh"), *corpus_args(swbd), "--fisher", str(swbd["fisher"]), "--num-dev-utts", "2",
            "--max-dup-utts", "1", "--nj", "2", "--stop-stage", "2")
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    out = r.stdout
    for line in ("transcribed segments whose recording has no audio here (dropped): 2; e.g. sw02099(2)",
                 "segments with no word (silence only; dropped): 1",
                 "data/train: 10 utterances, 4 conversation sides",
                 "eval2000: segments marked IGNORE_TIME_SEGMENT_IN_SCORING (not in the data dir): 1",
                 "eval2000: conversation sides (the complete set has 80): 4",
                 "data/eval2000: 5 utterances (2 Switchboard, 3 CallHome), 4 conversation sides",
                 "kept 6 of 8 utterances of data/train_nodev in data/train_nodup; dropped 2 utterances, those "
                 "beyond the first 1 with the same transcript (1 distinct transcripts had more than 1 utterances)",
                 "prepare_lang: text: 4 of 35 words (11.43%) are OOV",
                 "data/lang_phn: 46 network outputs (units + blank), as the paper",
                 "train_word_lm: data/train_dev/text: 2 sentences, 15 words, all in data/lang_phn/words.txt",
                 "perplexity of data/train_dev/text under lm.arpa: 2 sentences, 15 words, 0 of them not in the LM "
                 "(not scored)",
                 "3 Fisher transcript lines"):
        assert line in out, line
    assert "recordings without transcripts" not in out and "no MS98 transcript" not in out
    data = d / "data"
    wav = dict(l.split(" ", 1) for l in (data / "train/wav.scp").read_text().splitlines())
    assert wav["sw02001-A"].startswith("sph2pipe -f wav -p -c 1 ") and wav["sw02001-A"].endswith("sw02001.sph |")
    assert wav["sw02001-B"].startswith("sph2pipe -f wav -p -c 2 ")
    segments = (data / "train/segments").read_text().splitlines()
    assert segments[0] == "sw02001-A_000098-000220 sw02001-A 0.98 2.20"
    text = dict(l.split(" ", 1) for l in (data / "train/text").read_text().splitlines())
    assert text["sw02001-A_000290-000360"] == "yes i think -y ab- them measure"
    assert (data / "train/reco2file_and_channel").read_text().splitlines()[1] == "sw02001-B sw02001 B"
    dev = (data / "train_dev/text").read_text().splitlines()
    assert [l.split()[0] for l in dev] == sorted(text)[:2]
    nodup = [l.split(" ", 1)[1] for l in (data / "train_nodup/text").read_text().splitlines()]
    assert nodup.count("uh-huh") == 1 and len(nodup) == 6
    units = [l.split()[0] for l in (data / "lang_phn/units.txt").read_text().splitlines()]
    assert sorted(units) == sorted(SWBD_PHONES + ["spn", "nsn", "lau"])
    assert (data / "lang_phn/oov.txt").read_text().strip() == "<UNK>"
    for f in ("stm", "glm", "segments", "reco2file_and_channel"):
        assert (data / "eval2000" / f).is_file(), f
    assert "sw_4390-B_000060-000204" in (data / "eval2000/text").read_text()      # Kaldi's truncated id
    # the LM's vocabulary is the lexicon's, every word of it (Kaldi: SRILM -vocab, -limit-vocab)
    words = {l.split()[0] for l in (data / "lang_phn/words.txt").read_text().splitlines()}
    words -= {"<eps>", "<s>", "</s>"} | {w for w in words if w.startswith("#")}
    with gzip.open(data / "local/lm/lm.arpa.gz", "rt") as f:
        arpa = f.read()
    unigrams = {l.split("\t")[1] for l in arpa.split("\\1-grams:\n")[1].split("\n\n")[0].splitlines()}
    assert unigrams - {"<s>", "</s>"} == words and len(words) == 43
    assert (data / "lang_phn_sw1_tg/graph/TLG.fst").is_file()
    for x, n in (("train_nodup_sp", 18), ("train_dev", 2), ("eval2000", 5)):
        feats = kaldiio.load_scp(str(data / x / "feats.scp"))
        assert len(feats) == n, x
        assert next(iter(feats.values())).shape[1] == 40
        assert (data / x / "cmvn.scp").is_file()


@pytest.mark.skipif(find_sclite() is None, reason="sclite (Debian's sctk) is not installed")
def test_eval2000_scoring_per_subset_through_sclite(run, swbd, tmp_path):
    """A tiny stm/ctm pair through the GLM and sclite: alternations, optionally deletable words and
    fragments are not errors, ignored words are not scored, SW and CH are scored apart."""
    data = tmp_path / "eval2000"
    r = run_module("nas.corpora.swbd", "eval2000", "--audio", swbd["eval2000_audio"], "--text",
                   swbd["eval2000_text"], data)
    assert r.returncode == 0, r.stderr
    dec = tmp_path / "decode"
    (dec / "scoring").mkdir(parents=True)
    (dec / "scoring/1.0.txt").write_text(
        "en_4156-A_000050-000160 oh yeah i am going home\n"      # {i'm / i am}; (%HESITATION) may go
        "en_4156-A_000180-000290 we will sea\n"                  # (WI-) may go; sea: 1 substitution
        "en_4156-B_000140-000260 that is right\n"                # {that's / that is}
        "sw_4390-A_000030-000150 the weather is nice [noise]\n"  # [noise] not scored
        "sw_4390-B_000060-000204 uh-huh they go home\n")         # uh-huh split by -dh; now: 1 deletion
    (dec / "scoring/0.5.txt").write_text("en_4156-A_000050-000160 oh yeah\nsw_4390-A_000030-000150 the weather\n")
    r = run("steps/score_stm.sh", "--subsets", "swbd:^sw_ callhm:^en_ all:.", "--ignore-words", "[noise] <UNK>",
            str(data), "/dev/null", str(dec))
    assert r.returncode == 0, r.stdout + r.stderr
    best = {s: (dec / f"best_wer_{s}").read_text() for s in ("swbd", "callhm", "all")}
    assert best["swbd"].startswith("%WER 9.09 [ 1 / 11, 0 ins, 1 del, 0 sub ]") and "score_1.0/swbd.sys" in best["swbd"]
    assert best["callhm"].startswith("%WER 7.14 [ 1 / 14, 0 ins, 0 del, 1 sub ]")
    assert best["all"].startswith("%WER 8.00 [ 2 / 25, 0 ins, 1 del, 1 sub ]")
    assert "[noise]" not in (dec / "score_1.0/ctm").read_text()
    ctm = (dec / "score_1.0/swbd.ctm.filt").read_text()
    assert ctm and all(l.startswith("sw_") for l in ctm.splitlines())
    # a subset whose files the stm does not have is an error, not a 0% WER
    r = run("steps/score_stm.sh", "--subsets", "none:^xx_", str(data), "/dev/null", str(dec))
    assert r.returncode != 0 and "subset none (^xx_): no stm line" in r.stderr


def test_kaldi_ctm_filter_lines():
    """egs/swbd/local/score.sh's filter is Kaldi's score_sclite.sh greps, case-insensitive, on ctm lines."""
    rx = _swbd_ignore_regex()
    words = ["um", "UH", "eh", "mm", "hm", "ah", "huh", "ha", "er", "oof", "hee", "ach", "eee", "ew",    # hesitations
             "fin-", "th-", "[noise]", "[laughter]", "[vocalized-noise]", "<unk>", "<UNK>",
             "laughter", "[laughter-yes]",        # Kaldi's pattern "laughter" matches anywhere in the line
             "uh-huh", "-y", "umm", "hum", "yeah", "them's"]                    # kept
    rows = [("sw_4390", "A", 0.1 * i, 0.1, w) for i, w in enumerate(words)]
    kept, n = drop_ctm_lines(rows, rx)
    assert [r[4] for r in kept] == ["uh-huh", "-y", "umm", "hum", "yeah", "them's"] and n == len(words) - 6


def _swbd_ignore_regex() -> str:
    text = (REPO / "egs/swbd/local/score.sh").read_text()
    return next(l.split("=", 1)[1].strip("'") for l in text.splitlines() if l.startswith("ignore_regex="))


def _prep_eval2000(corpus, out, *opts):
    return run_module("nas.corpora.swbd", "eval2000", "--audio", corpus["eval2000_audio"], "--text",
                      corpus["eval2000_text"], *opts, out)


def _score(run, data, dec, hyps, subsets=("swbd", "callhm", "all")):
    """best_wer_<subset> of hypotheses `hyps` scored by the recipe's local/score.sh (its defaults)."""
    (dec / "scoring").mkdir(parents=True)
    (dec / "scoring/1.0.txt").write_text(hyps)
    rx = {"swbd": "^sw_", "callhm": "^en_", "all": "."}
    r = run("egs/swbd/local/score.sh", "--subsets", " ".join(f"{s}:{rx[s]}" for s in subsets), str(data),
            "/dev/null", str(dec))
    assert r.returncode == 0, r.stdout + r.stderr
    return {s: (dec / f"best_wer_{s}").read_text() for s in subsets}


@pytest.mark.skipif(find_sclite() is None, reason="sclite (Debian's sctk) is not installed")
def test_hesitations_and_partial_words_are_not_scored(run, swbd, tmp_path):
    """The reference's words plus hesitations, fragments, noise and <UNK>: 0 errors, as Kaldi scores it."""
    data = tmp_path / "eval2000"
    assert _prep_eval2000(swbd, data).returncode == 0
    best = _score(run, data, tmp_path / "decode",
                  "en_4156-A_000050-000160 um oh yeah uh i am going home hm\n"
                  "en_4156-A_000180-000290 we fin- will see <UNK>\n"
                  "en_4156-B_000140-000260 that is ah right [laughter]\n"
                  "sw_4390-A_000030-000150 er the weather is mm nice [noise]\n"
                  "sw_4390-B_000060-000204 uh-huh th- they go home now huh\n")
    assert best["swbd"].startswith("%WER 0.00 [ 0 / 11, 0 ins, 0 del, 0 sub ]"), best["swbd"]
    assert best["callhm"].startswith("%WER 0.00 [ 0 / 14, 0 ins, 0 del, 0 sub ]"), best["callhm"]


def test_missing_side_transcript_stops(run, tmp_path):
    """A conversation with audio whose MS98 side file is missing: stages 0 and 1 stop naming the file;
    --allow-partial true goes on, and says so."""
    c = make_swbd(tmp_path / "ldc")
    side = c["ms98"] / "20/2005/sw2005B-ms98-a-trans.text"
    side.unlink()
    for cmd in (["check"], ["train", tmp_path / "train"]):
        r = run_module("nas.corpora.swbd", *cmd, "--swbd", c["swbd"], "--ms98", c["ms98"])
        assert r.returncode == 1, (cmd, r.stdout)
        assert f"conversation sides with audio but no MS98 transcript file: 1: {side}" in r.stderr, r.stderr
        assert "--allow-partial true goes on" in r.stderr
    assert not (tmp_path / "train").exists()
    r = run_module("nas.corpora.swbd", "train", "--swbd", c["swbd"], "--ms98", c["ms98"], "--allow-partial",
                   tmp_path / "train")
    assert r.returncode == 0, r.stderr
    assert f"conversation sides with audio but no MS98 transcript file (their audio not used): 1; e.g. {side}" \
        in r.stdout
    assert "sw02005-B" not in (tmp_path / "train/wav.scp").read_text()
    d = recipe_copy(tmp_path, "swbd")
    r = run(str(d / "run.sh"), "--stage", "1", "--stop-stage", "1", *corpus_args(c))
    assert r.returncode != 0 and "sw2005B-ms98-a-trans.text" in r.stderr
    assert not (d / "data").exists()


def test_missing_eval2000_recording_stops(run, tmp_path):
    """A conversation of the pem and stm without its SPHERE file: stage 0 stops naming it; with
    --allow-partial true its stm lines go, so that what was not decoded is not scored."""
    c = make_swbd(tmp_path / "ldc")
    (c["eval2000_audio"] / "hub5e_00/english/en_4156.sph").unlink()
    d = recipe_copy(tmp_path, "swbd")
    r = run(str(d / "run.sh"), "--stage", "0", "--stop-stage", "0", *corpus_args(c))
    assert r.returncode != 0
    assert "eval2000: conversations of the pem or stm without audio: 1: en_4156.sph" in r.stderr, r.stderr
    assert "their 3 scored stm segments would count as deletions" in r.stderr
    r = run(str(d / "run.sh"), "--stage", "0", "--stop-stage", "0", "--allow-partial", "true", *corpus_args(c))
    assert r.returncode == 0, r.stderr
    assert "eval2000: conversations of the pem or stm without audio (their stm segments left out): 1" in r.stdout
    data = tmp_path / "eval2000"
    r = _prep_eval2000(c, data, "--allow-partial")
    assert r.returncode == 0, r.stderr
    assert "4 lines of" in r.stdout and "left out" in r.stdout
    stm = [l for l in (data / "stm").read_text().splitlines() if not l.startswith(";;")]
    assert len(stm) == 2 and all(l.startswith("sw_4390 ") for l in stm)
    if find_sclite() is not None:        # the Switchboard half decoded right is 0% WER, not CallHome's deletions
        best = _score(run, data, tmp_path / "decode", "sw_4390-A_000030-000150 the weather is nice\n"
                      "sw_4390-B_000060-000204 uh-huh they go home now\n", ("swbd", "all"))
        assert best["all"].startswith("%WER 0.00 [ 0 / 11,"), best["all"]


def test_segment_past_the_audio_stops(tmp_path):
    """A pem segment past its recording's end (stage 2 could not cut it) stops, naming the pem line;
    with --allow-partial it is left out of the data dir and the stm."""
    c = make_swbd(tmp_path / "ldc")
    pem = c["eval2000_audio"] / "hub5e_00/english/hub5e_00.pem"
    pem.write_text(PEM.replace("sw_4390 A unknown_speaker 0.30 1.50\n",
                               "sw_4390 A unknown_speaker 0.30 1.50\nsw_4390 A unknown_speaker 3.60 4.20\n"))
    stm = c["eval2000_text"] / "2000_hub5_eng_eval_tr/reference/hub5e00.english.000405.stm"
    stm.write_text(STM.replace("sw_4390 A sw_4390_A 0.30 1.50 <O,sw,M,sw-M>  the weather is nice\n",
                               "sw_4390 A sw_4390_A 0.30 1.50 <O,sw,M,sw-M>  the weather is nice\n"
                               "sw_4390 A sw_4390_A 3.60 4.20 <O,sw,M,sw-M>  and rain\n"))
    r = _prep_eval2000(c, tmp_path / "eval2000")
    assert r.returncode == 1
    assert (f"eval2000: pem segments past the end of their audio: 1: {pem}:7: sw_4390-A_000360-000420 ends at "
            f"4.20 s, sw_4390.sph at 3.00 s") in r.stderr, r.stderr
    r = _prep_eval2000(c, tmp_path / "eval2000", "--allow-partial")
    assert r.returncode == 0, r.stderr
    assert "eval2000: pem segments past the end of their audio (left out of the data dir and the stm): 1" in r.stdout
    assert "1 lines of" in r.stdout
    assert "and rain" not in (tmp_path / "eval2000/stm").read_text()
    assert "sw_4390-A_000360" not in (tmp_path / "eval2000/segments").read_text()


def test_stage_0_decodes_the_start_of_every_disc(tmp_path):
    """The first file of each LDC97S62 disc and of the eval2000 speech is probed at stage 0, so an
    unreadable stream fails in seconds naming the file and its disc, not at feature extraction."""
    c = make_swbd(tmp_path / "ldc")
    r = run_module("nas.corpora.swbd", "check", *corpus_args(c))
    assert r.returncode == 0, r.stderr
    assert "the first file of each of 3 discs decode (LDC97S62/swb1_d1, LDC97S62/swb1_d2, LDC2002S09)" in r.stdout
    bad = c["swbd"] / "swb1_d2/data/sw02005.sph"
    bad.write_bytes(bad.read_bytes()[:1024] + bytes(range(256)) * 8)        # the header kept, no Shorten stream
    r = run_module("nas.corpora.swbd", "check", *corpus_args(c))
    assert r.returncode == 1
    assert f"{bad}: cannot decode the first audio file of LDC97S62 disc LDC97S62/swb1_d2: " in r.stderr, r.stderr
