"""Kaldi-convention helpers under utils/: table tools, data-dir tools, parse_options.sh.

Every script runs from `/` (the `run` fixture), on data dirs made in tmp_path.
"""
from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, make_data_dir, script_env, write_table

SCRIPTS = [
    "utils/run.pl", "utils/sym2int.pl", "utils/int2sym.pl", "utils/utt2spk_to_spk2utt.pl",
    "utils/spk2utt_to_utt2spk.pl", "utils/filter_scp.pl", "utils/split_scp.pl",
    "utils/split_data.sh", "utils/copy_data_dir.sh", "utils/subset_data_dir.sh",
    "utils/subset_data_dir_tr_cv.sh", "utils/combine_data.sh",
]

# Scripts that need positional arguments, with a too-short argument list.
TOO_FEW = {
    "utils/run.pl": [],
    "utils/sym2int.pl": [],
    "utils/int2sym.pl": [],
    "utils/filter_scp.pl": [],
    "utils/split_scp.pl": ["/dev/null"],
    "utils/split_data.sh": ["/tmp"],
    "utils/copy_data_dir.sh": ["/tmp"],
    "utils/subset_data_dir.sh": ["/tmp", "3"],
    "utils/subset_data_dir_tr_cv.sh": ["/tmp", "/tmp/x"],
    "utils/combine_data.sh": ["/tmp/x"],
}

# Speakers A (3 utterances), B (2), C (1), D (2).
UTTS = {
    "A-1": {"spk": "A", "text": "a one", "wav": "/w/A-1.wav", "dur": "3.0"},
    "A-2": {"spk": "A", "text": "a two", "wav": "/w/A-2.wav", "dur": "1.0"},
    "A-3": {"spk": "A", "text": "a three", "wav": "/w/A-3.wav", "dur": "2.5"},
    "B-1": {"spk": "B", "text": "b one", "wav": "/w/B-1.wav", "dur": "0.5"},
    "B-2": {"spk": "B", "text": "b two", "wav": "sox /w/B-2.sph -t wav - |", "dur": "4.0"},
    "C-1": {"spk": "C", "text": "c one", "wav": "/w/C-1.wav", "dur": "2.0"},
    "D-1": {"spk": "D", "text": "d one", "wav": "/w/D-1.wav", "dur": "0.7"},
    "D-2": {"spk": "D", "text": "d two", "wav": "/w/D-2.wav", "dur": "1.5"},
}
RECO = {"A-1": "recA", "A-2": "recA", "A-3": "recA", "B-1": "recB", "B-2": "recB",
        "C-1": "recC", "D-1": "recD1", "D-2": "recD2"}


def lines(p: Path):
    return p.read_text().splitlines()


def plain_dir(d: Path) -> Path:
    """Unsegmented data dir: wav.scp keyed by utterance, plus speaker-keyed files."""
    make_data_dir(d, UTTS)
    write_table(d / "cmvn.scp", [(s, f"cmvn.ark:{i}") for i, s in enumerate("ABCD")])
    write_table(d / "spk2gender", [("A", "m"), ("B", "f"), ("C", "m"), ("D", "f")])
    write_table(d / "feats.scp", [(u, f"feats.ark:{i}") for i, u in enumerate(sorted(UTTS))])
    return d


def seg_dir(d: Path) -> Path:
    """Segmented data dir: wav.scp and reco2file_and_channel keyed by recording."""
    plain_dir(d)
    write_table(d / "segments", [(u, RECO[u], "0.0", UTTS[u]["dur"]) for u in sorted(UTTS)])
    recos = sorted(set(RECO.values()))
    write_table(d / "wav.scp", [(r, f"/w/{r}.wav") for r in recos])
    write_table(d / "reco2file_and_channel", [(r, r, "A") for r in recos])
    return d


# ---------------------------------------------------------------- all scripts

@pytest.mark.parametrize("script", SCRIPTS)
def test_help(run, script):
    p = run(script, "--help")
    assert p.returncode == 0, p.stderr
    assert "Usage:" in p.stdout


@pytest.mark.parametrize("script", sorted(TOO_FEW))
def test_wrong_argument_count(run, script):
    p = run(script, *TOO_FEW[script])
    assert p.returncode != 0
    assert "Usage:" in p.stderr


def test_scripts_are_executable():
    for s in SCRIPTS + ["utils/parse_options.sh"]:
        assert os.access(REPO / s, os.X_OK), s


# ------------------------------------------------------------ parse_options.sh

def run_po(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    script = tmp_path / "opts.sh"
    script.write_text(
        "#!/usr/bin/env bash\nset -euo pipefail\n"
        "nj=4\nuse_gpu=false\nfoo_bar=\n"
        'help_message="Usage: opts.sh [options] <a> <b>"\n'
        f'. "{REPO}/utils/parse_options.sh"\n'
        'echo "nj=$nj use_gpu=$use_gpu foo_bar=[$foo_bar] n=$# args=[$*]"\n')
    script.chmod(0o755)
    return subprocess.run([str(script), *args], cwd="/", env=script_env(),
                          capture_output=True, text=True)


def test_parse_options_sets_and_shifts(tmp_path):
    p = run_po(tmp_path, "--nj", "8", "--foo-bar=x y", "--use-gpu", "true", "a", "b")
    assert p.returncode == 0, p.stderr
    assert p.stdout == "nj=8 use_gpu=true foo_bar=[x y] n=2 args=[a b]\n"


def test_parse_options_stops_at_positional_and_double_dash(tmp_path):
    p = run_po(tmp_path, "a", "--nj", "3")
    assert p.stdout == "nj=4 use_gpu=false foo_bar=[] n=3 args=[a --nj 3]\n"
    p = run_po(tmp_path, "--nj", "2", "--", "--x")
    assert p.stdout == "nj=2 use_gpu=false foo_bar=[] n=1 args=[--x]\n"


def test_parse_options_invalid_option(tmp_path):
    p = run_po(tmp_path, "--no-such-thing", "1", "a")
    assert p.returncode == 1
    assert p.stderr.strip().endswith("opts.sh: invalid option --no-such-thing")
    assert p.stdout == ""


def test_parse_options_boolean_and_missing_value(tmp_path):
    p = run_po(tmp_path, "--use-gpu", "yes")
    assert p.returncode == 1
    assert "--use-gpu" in p.stderr and "true or false" in p.stderr
    p = run_po(tmp_path, "--nj")
    assert p.returncode == 1
    assert "--nj" in p.stderr


def test_parse_options_help(tmp_path):
    p = run_po(tmp_path, "--help")
    assert p.returncode == 0
    assert p.stdout == "Usage: opts.sh [options] <a> <b>\n"


def test_parse_options_config(tmp_path):
    conf = tmp_path / "x.conf"
    conf.write_text("nj=9\nuse_gpu=true\n")
    p = run_po(tmp_path, "--config", str(conf), "--nj", "2", "a")
    assert p.stdout == "nj=2 use_gpu=true foo_bar=[] n=1 args=[a]\n"   # command line wins
    p = run_po(tmp_path, f"--config={conf}")
    assert p.stdout == "nj=9 use_gpu=true foo_bar=[] n=0 args=[]\n"
    p = run_po(tmp_path, "--config", str(tmp_path / "missing.conf"))
    assert p.returncode == 1
    assert "missing.conf" in p.stderr


# ------------------------------------------------------------ sym2int / int2sym

@pytest.fixture
def words(tmp_path):
    p = tmp_path / "words.txt"
    write_table(p, [("<eps>", "0"), ("a", "1"), ("b", "2"), ("<unk>", "3"), ("c", "4")])
    return p


def test_sym2int_field_ranges(run, tmp_path, words):
    text = tmp_path / "text"
    write_table(text, [("u1", "a", "b", "c"), ("u2", "c", "a")])
    assert run("utils/sym2int.pl", "-f", "2-", words, text, check=True).stdout == "u1 1 2 4\nu2 4 1\n"
    assert run("utils/sym2int.pl", "-f", "2", words, text, check=True).stdout == "u1 1 b c\nu2 4 a\n"
    assert run("utils/sym2int.pl", "-f", "2-3", words, text, check=True).stdout == "u1 1 2 c\nu2 4 1\n"
    p = run("utils/sym2int.pl", words, input="a b\nc\n", check=True)   # all fields, stdin
    assert p.stdout == "1 2\n4\n"


def test_sym2int_unknown_symbol(run, tmp_path, words):
    text = tmp_path / "text"
    write_table(text, [("u1", "a", "b"), ("u2", "a", "zzz")])
    p = run("utils/sym2int.pl", "-f", "2-", words, text)
    assert p.returncode == 1
    assert "zzz" in p.stderr and "line 2" in p.stderr and str(text) in p.stderr


def test_sym2int_map_oov(run, tmp_path, words):
    text = tmp_path / "text"
    write_table(text, [("u1", "a", "zzz", "b")])
    p = run("utils/sym2int.pl", "--map-oov", "<unk>", "-f", "2-", words, text)
    assert p.returncode == 0 and p.stdout == "u1 1 3 2\n"
    p = run("utils/sym2int.pl", "--map-oov", "7", "-f", "2-", words, text)
    assert p.returncode == 0 and p.stdout == "u1 1 7 2\n"
    p = run("utils/sym2int.pl", "--map-oov", "<nope>", "-f", "2-", words, text)
    assert p.returncode == 1 and "<nope>" in p.stderr


def test_int2sym(run, tmp_path, words):
    ints = tmp_path / "text.int"
    write_table(ints, [("u1", "1", "2", "4"), ("u2", "3")])
    assert run("utils/int2sym.pl", "-f", "2-", words, ints, check=True).stdout == "u1 a b c\nu2 <unk>\n"
    p = run("utils/int2sym.pl", "-f", "2-", words, input="u1 1 99\n")
    assert p.returncode == 1
    assert "99" in p.stderr and "line 1" in p.stderr


def test_sym2int_bad_symtab(run, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a 1\nb\n")
    p = run("utils/sym2int.pl", bad, input="a\n")
    assert p.returncode == 1
    assert "line 2" in p.stderr and str(bad) in p.stderr


# ------------------------------------------------- utt2spk/spk2utt, filter_scp

def test_utt2spk_spk2utt_round_trip(run, tmp_path):
    u2s = tmp_path / "utt2spk"
    write_table(u2s, [("A-1", "A"), ("A-2", "A"), ("B-1", "B"), ("C-1", "C"), ("C-2", "C")])
    p = run("utils/utt2spk_to_spk2utt.pl", u2s, check=True)
    assert p.stdout == "A A-1 A-2\nB B-1\nC C-1 C-2\n"
    q = run("utils/spk2utt_to_utt2spk.pl", input=p.stdout, check=True)
    assert q.stdout == u2s.read_text()


def test_utt2spk_bad_lines(run, tmp_path):
    u2s = tmp_path / "utt2spk"
    u2s.write_text("A-1 A\nA-2\n")
    p = run("utils/utt2spk_to_spk2utt.pl", u2s)
    assert p.returncode == 1 and "line 2" in p.stderr and str(u2s) in p.stderr
    p = run("utils/spk2utt_to_utt2spk.pl", input="A A-1\nB\n")
    assert p.returncode == 1 and "line 2" in p.stderr


def test_filter_scp(run, tmp_path):
    ids = tmp_path / "ids"
    write_table(ids, [("b", "x"), ("d",)])
    scp = tmp_path / "in.scp"
    write_table(scp, [("a", "1", "d"), ("b", "2", "a"), ("c", "3", "b"), ("d", "4", "c")])
    assert run("utils/filter_scp.pl", ids, scp, check=True).stdout == "b 2 a\nd 4 c\n"
    assert run("utils/filter_scp.pl", "--exclude", ids, scp, check=True).stdout == "a 1 d\nc 3 b\n"
    assert run("utils/filter_scp.pl", "-f", "3", ids, scp, check=True).stdout == "a 1 d\nc 3 b\n"
    p = run("utils/filter_scp.pl", ids, input="d 5\nq 6\n", check=True)
    assert p.stdout == "d 5\n"
    p = run("utils/filter_scp.pl", "-f", "3", ids, input="a 1 b\nb 2\n")
    assert p.returncode == 1 and "line 2" in p.stderr


# --------------------------------------------------------------- split_scp.pl

def test_split_scp_even(run, tmp_path):
    scp = tmp_path / "in.scp"
    write_table(scp, [(f"u{i}", str(i)) for i in range(1, 8)])
    outs = [tmp_path / f"o{k}" for k in (1, 2, 3)]
    run("utils/split_scp.pl", scp, *outs, check=True)
    assert [lines(o) for o in outs] == [["u1 1", "u2 2", "u3 3"], ["u4 4", "u5 5"], ["u6 6", "u7 7"]]
    p = run("utils/split_scp.pl", "-j", "3", "1", scp, check=True)   # 0-based job id
    assert p.stdout == "u4 4\nu5 5\n"


def test_split_scp_keeps_speakers_whole(run, tmp_path):
    u2s = tmp_path / "utt2spk"
    write_table(u2s, [(u, UTTS[u]["spk"]) for u in sorted(UTTS)])
    outs = [tmp_path / f"o{k}" for k in (1, 2, 3)]
    run("utils/split_scp.pl", f"--utt2spk={u2s}", u2s, *outs, check=True)
    assert [[l.split()[0] for l in lines(o)] for o in outs] == [
        ["A-1", "A-2", "A-3"], ["B-1", "B-2"], ["C-1", "D-1", "D-2"]]
    p = run("utils/split_scp.pl", "--utt2spk", u2s, u2s, *[tmp_path / f"p{k}" for k in range(5)])
    assert p.returncode == 1 and "only 4 speakers" in p.stderr


def test_split_scp_errors(run, tmp_path):
    scp = tmp_path / "in.scp"
    write_table(scp, [("u1", "x"), ("u2", "y")])
    p = run("utils/split_scp.pl", scp, *[tmp_path / f"o{k}" for k in range(3)])
    assert p.returncode == 1 and "only 2 lines" in p.stderr
    u2s = tmp_path / "u2s"
    write_table(u2s, [("a1", "A"), ("b1", "B"), ("a2", "A")])
    p = run("utils/split_scp.pl", f"--utt2spk={u2s}", u2s, tmp_path / "x", tmp_path / "y")
    assert p.returncode == 1 and "'A'" in p.stderr and "line 3" in p.stderr


# --------------------------------------------------------------- split_data.sh

def test_split_data_by_speaker(run, tmp_path):
    d = seg_dir(tmp_path / "data")
    p = run("utils/split_data.sh", d, "3")
    assert p.returncode == 0, p.stderr
    s = d / "split3"
    assert sorted(os.listdir(s)) == ["1", "2", "3"]
    assert lines(s / "1" / "utt2spk") == ["A-1 A", "A-2 A", "A-3 A"]
    assert lines(s / "2" / "spk2utt") == ["B B-1 B-2"]
    assert lines(s / "3" / "spk2utt") == ["C C-1", "D D-1 D-2"]
    assert lines(s / "3" / "text") == ["C-1 c one", "D-1 d one", "D-2 d two"]
    assert lines(s / "3" / "segments") == ["C-1 recC 0.0 2.0", "D-1 recD1 0.0 0.7", "D-2 recD2 0.0 1.5"]
    assert lines(s / "3" / "wav.scp") == ["recC /w/recC.wav", "recD1 /w/recD1.wav", "recD2 /w/recD2.wav"]
    assert lines(s / "1" / "wav.scp") == ["recA /w/recA.wav"]
    assert lines(s / "2" / "reco2file_and_channel") == ["recB recB A"]
    assert lines(s / "2" / "cmvn.scp") == ["B cmvn.ark:1"]
    assert lines(s / "3" / "spk2gender") == ["C m", "D f"]
    assert lines(s / "1" / "utt2dur") == ["A-1 3.0", "A-2 1.0", "A-3 2.5"]
    assert lines(s / "2" / "feats.scp") == ["B-1 feats.ark:3", "B-2 feats.ark:4"]
    for k in "123":
        assert sorted(os.listdir(s / k)) == sorted(f for f in os.listdir(d) if f != "split3")


def test_split_data_unsegmented_and_per_utt(run, tmp_path):
    d = plain_dir(tmp_path / "data")
    run("utils/split_data.sh", "--per-utt", d, "3", check=True)
    s = d / "split3utt"
    assert [lines(s / k / "utt2spk") for k in "123"] == [
        ["A-1 A", "A-2 A", "A-3 A"], ["B-1 B", "B-2 B", "C-1 C"], ["D-1 D", "D-2 D"]]
    assert lines(s / "2" / "wav.scp") == ["B-1 /w/B-1.wav", "B-2 sox /w/B-2.sph -t wav - |", "C-1 /w/C-1.wav"]
    assert lines(s / "2" / "spk2utt") == ["B B-1 B-2", "C C-1"]
    run("utils/split_data.sh", "--per-utt", d, "8", check=True)
    assert lines(d / "split8utt" / "8" / "utt2spk") == ["D-2 D"]


def test_split_data_speaker_spans_pieces_per_utt(run, tmp_path):
    d = plain_dir(tmp_path / "data")
    run("utils/split_data.sh", "--per-utt", d, "4", check=True)
    s = d / "split4utt"
    assert lines(s / "1" / "spk2utt") == ["A A-1 A-2"]
    assert lines(s / "2" / "spk2utt") == ["A A-3", "B B-1"]
    assert lines(s / "2" / "cmvn.scp") == ["A cmvn.ark:0", "B cmvn.ark:1"]


def test_split_data_skips_when_up_to_date(run, tmp_path):
    d = seg_dir(tmp_path / "data")
    run("utils/split_data.sh", d, "2", check=True)
    text1 = d / "split2" / "1" / "text"
    before = text1.stat().st_mtime_ns
    p = run("utils/split_data.sh", d, "2", check=True)
    assert "up to date" in p.stderr
    assert text1.stat().st_mtime_ns == before
    time.sleep(0.01)
    write_table(d / "text", [(u, "new words") for u in sorted(UTTS)])
    p = run("utils/split_data.sh", d, "2", check=True)
    assert "up to date" not in p.stderr
    assert lines(text1)[0] == "A-1 new words"


def test_split_data_too_few_speakers(run, tmp_path):
    d = plain_dir(tmp_path / "data")
    p = run("utils/split_data.sh", d, "5")
    assert p.returncode == 1
    assert "only 4 speakers" in p.stderr and str(d) in p.stderr
    assert not (d / "split5").exists()
    p = run("utils/split_data.sh", d, "0")
    assert p.returncode != 0


def test_split_data_without_spk2utt_and_noncontiguous_speaker(run, tmp_path):
    d = plain_dir(tmp_path / "data")
    (d / "spk2utt").unlink()
    run("utils/split_data.sh", d, "2", check=True)
    assert lines(d / "split2" / "1" / "spk2utt") == ["A A-1 A-2 A-3"]
    assert "up to date" in run("utils/split_data.sh", d, "2", check=True).stderr
    write_table(d / "utt2spk", [("A-1", "A"), ("B-1", "B"), ("C-1", "A")])
    p = run("utils/split_data.sh", d, "2")
    assert p.returncode == 1 and "'A'" in p.stderr and "C-1" in p.stderr


def test_split_data_missing_dir(run, tmp_path):
    p = run("utils/split_data.sh", tmp_path / "nope", "2")
    assert p.returncode == 1 and "nope" in p.stderr


# ----------------------------------------------------------- copy_data_dir.sh

def test_copy_data_dir_plain(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    dst = tmp_path / "dst"
    run("utils/copy_data_dir.sh", src, dst, check=True)
    for f in os.listdir(src):
        assert (dst / f).read_text() == (src / f).read_text(), f


def test_copy_data_dir_prefix_unsegmented(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    dst = tmp_path / "dst"
    run("utils/copy_data_dir.sh", "--utt-prefix", "sp0.9-", "--spk-prefix", "sp0.9-", src, dst, check=True)
    assert lines(dst / "utt2spk")[:2] == ["sp0.9-A-1 sp0.9-A", "sp0.9-A-2 sp0.9-A"]
    assert lines(dst / "spk2utt")[0] == "sp0.9-A sp0.9-A-1 sp0.9-A-2 sp0.9-A-3"
    assert lines(dst / "wav.scp")[4] == "sp0.9-B-2 sox /w/B-2.sph -t wav - |"
    assert lines(dst / "text")[0] == "sp0.9-A-1 a one"
    assert lines(dst / "cmvn.scp")[0] == "sp0.9-A cmvn.ark:0"
    assert lines(dst / "spk2gender")[1] == "sp0.9-B f"
    assert lines(dst / "utt2dur")[-1] == "sp0.9-D-2 1.5"


def test_copy_data_dir_suffix_segmented_resorts(run, tmp_path):
    src = seg_dir(tmp_path / "src")
    dst = tmp_path / "dst"
    run("utils/copy_data_dir.sh", "--utt-suffix", "_s", "--spk-suffix", "_t", src, dst, check=True)
    assert lines(dst / "segments")[0] == "A-1_s recA 0.0 3.0"
    assert (dst / "wav.scp").read_text() == (src / "wav.scp").read_text()     # keyed by recording
    assert (dst / "reco2file_and_channel").read_text() == (src / "reco2file_and_channel").read_text()
    assert lines(dst / "utt2spk")[0] == "A-1_s A_t"
    assert lines(dst / "cmvn.scp")[3] == "D_t cmvn.ark:3"


def test_copy_data_dir_sorts_in_c_locale(run, tmp_path):
    src = tmp_path / "src"
    make_data_dir(src, {"x": {"spk": "s", "text": "one"}, "x-y": {"spk": "s", "text": "two"}})
    dst = tmp_path / "dst"
    run("utils/copy_data_dir.sh", "--utt-suffix", "_s", src, dst, check=True)
    assert lines(dst / "utt2spk") == ["x-y_s s", "x_s s"]
    assert lines(dst / "text") == ["x-y_s two", "x_s one"]
    assert lines(dst / "spk2utt") == ["s x-y_s x_s"]


def test_copy_data_dir_errors(run, tmp_path):
    p = run("utils/copy_data_dir.sh", tmp_path / "nope", tmp_path / "dst")
    assert p.returncode == 1 and "nope" in p.stderr
    src = plain_dir(tmp_path / "src")
    p = run("utils/copy_data_dir.sh", "--utt-prefx", "a", src, tmp_path / "dst")
    assert p.returncode == 1 and "invalid option --utt-prefx" in p.stderr


# --------------------------------------------------------- subset_data_dir.sh

def utt_ids(d: Path):
    return [l.split()[0] for l in lines(d / "utt2spk")]


def test_subset_evenly_spaced(run, tmp_path):
    src = seg_dir(tmp_path / "src")
    dst = tmp_path / "dst"
    run("utils/subset_data_dir.sh", src, "3", dst, check=True)
    assert utt_ids(dst) == ["A-1", "A-3", "C-1"]
    assert lines(dst / "spk2utt") == ["A A-1 A-3", "C C-1"]
    assert lines(dst / "wav.scp") == ["recA /w/recA.wav", "recC /w/recC.wav"]
    assert lines(dst / "cmvn.scp") == ["A cmvn.ark:0", "C cmvn.ark:2"]
    assert lines(dst / "segments") == ["A-1 recA 0.0 3.0", "A-3 recA 0.0 2.5", "C-1 recC 0.0 2.0"]
    assert sorted(os.listdir(dst)) == sorted(os.listdir(src))


def test_subset_first_last(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    run("utils/subset_data_dir.sh", "--first", src, "2", tmp_path / "f", check=True)   # Kaldi form
    assert utt_ids(tmp_path / "f") == ["A-1", "A-2"]
    run("utils/subset_data_dir.sh", "--first", "4", src, tmp_path / "f4", check=True)  # count first
    assert utt_ids(tmp_path / "f4") == ["A-1", "A-2", "A-3", "B-1"]
    run("utils/subset_data_dir.sh", "--last", src, "3", tmp_path / "l", check=True)
    assert utt_ids(tmp_path / "l") == ["C-1", "D-1", "D-2"]
    assert lines(tmp_path / "l" / "wav.scp") == ["C-1 /w/C-1.wav", "D-1 /w/D-1.wav", "D-2 /w/D-2.wav"]


def test_subset_lists(run, tmp_path):
    src = seg_dir(tmp_path / "src")
    ul = tmp_path / "ulist"
    write_table(ul, [("D-2",), ("B-1",), ("zzz",)])
    run("utils/subset_data_dir.sh", "--utt-list", ul, src, tmp_path / "u", check=True)
    assert utt_ids(tmp_path / "u") == ["B-1", "D-2"]
    assert lines(tmp_path / "u" / "wav.scp") == ["recB /w/recB.wav", "recD2 /w/recD2.wav"]
    sl = tmp_path / "slist"
    write_table(sl, [("D",), ("A",)])
    run("utils/subset_data_dir.sh", "--spk-list", sl, src, tmp_path / "s", check=True)
    assert utt_ids(tmp_path / "s") == ["A-1", "A-2", "A-3", "D-1", "D-2"]
    assert lines(tmp_path / "s" / "spk2gender") == ["A m", "D f"]
    empty = tmp_path / "empty"
    write_table(empty, [("nobody",)])
    p = run("utils/subset_data_dir.sh", "--spk-list", empty, src, tmp_path / "e")
    assert p.returncode == 1 and "no utterances" in p.stderr


def test_subset_shortest(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    run("utils/subset_data_dir.sh", "--shortest", src, "3", tmp_path / "sh", check=True)
    assert utt_ids(tmp_path / "sh") == ["A-2", "B-1", "D-1"]            # 1.0, 0.5, 0.7
    (src / "utt2dur").unlink()
    write_table(src / "utt2num_frames", [(u, str(n)) for u, n in
                                         zip(sorted(UTTS), [5, 9, 1, 7, 3, 8, 6, 4])])
    run("utils/subset_data_dir.sh", "--shortest", "2", src, tmp_path / "sh2", check=True)
    assert utt_ids(tmp_path / "sh2") == ["A-3", "B-2"]                  # 1, 3 frames
    (src / "utt2num_frames").unlink()
    p = run("utils/subset_data_dir.sh", "--shortest", src, "2", tmp_path / "sh3")
    assert p.returncode == 1 and "utt2dur" in p.stderr


def test_subset_per_spk(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    run("utils/subset_data_dir.sh", "--per-spk", src, "2", tmp_path / "p", check=True)
    assert utt_ids(tmp_path / "p") == ["A-1", "A-2", "B-1", "B-2", "C-1", "D-1", "D-2"]
    run("utils/subset_data_dir.sh", "--per-spk", src, "1", tmp_path / "p1", check=True)
    assert utt_ids(tmp_path / "p1") == ["A-1", "B-1", "C-1", "D-1"]


def test_subset_bad_count(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    p = run("utils/subset_data_dir.sh", src, "many", tmp_path / "x")
    assert p.returncode == 1 and "many" in p.stderr


# -------------------------------------------------- subset_data_dir_tr_cv.sh

def test_tr_cv_by_speaker(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    tr, cv = tmp_path / "tr", tmp_path / "cv"
    run("utils/subset_data_dir_tr_cv.sh", "--cv-spk-percent", "50", "--seed", "5", src, tr, cv, check=True)
    tr_spk = {l.split()[0] for l in lines(tr / "spk2utt")}
    cv_spk = {l.split()[0] for l in lines(cv / "spk2utt")}
    assert len(cv_spk) == 2 and not tr_spk & cv_spk and tr_spk | cv_spk == set("ABCD")
    assert sorted(utt_ids(tr) + utt_ids(cv)) == sorted(UTTS)
    assert sorted(lines(tr / "text") + lines(cv / "text")) == lines(src / "text")
    # Deterministic given the seed.
    tr2, cv2 = tmp_path / "tr2", tmp_path / "cv2"
    run("utils/subset_data_dir_tr_cv.sh", "--cv-spk-percent", "50", "--seed", "5", src, tr2, cv2, check=True)
    assert (cv2 / "utt2spk").read_text() == (cv / "utt2spk").read_text()
    # Default 10% of 4 speakers rounds to 0: still one cv speaker.
    run("utils/subset_data_dir_tr_cv.sh", src, tmp_path / "tr3", tmp_path / "cv3", check=True)
    assert len(lines(tmp_path / "cv3" / "spk2utt")) == 1
    assert len(lines(tmp_path / "tr3" / "spk2utt")) == 3


def test_tr_cv_by_utterance(run, tmp_path):
    src = plain_dir(tmp_path / "src")
    tr, cv = tmp_path / "tr", tmp_path / "cv"
    run("utils/subset_data_dir_tr_cv.sh", "--cv-utt-percent", "25", src, tr, cv, check=True)
    assert len(utt_ids(cv)) == 2 and len(utt_ids(tr)) == 6
    assert sorted(utt_ids(tr) + utt_ids(cv)) == sorted(UTTS)


def test_tr_cv_errors(run, tmp_path):
    src = tmp_path / "src"
    make_data_dir(src, {"a-1": {"spk": "a"}, "a-2": {"spk": "a"}})
    p = run("utils/subset_data_dir_tr_cv.sh", src, tmp_path / "tr", tmp_path / "cv")
    assert p.returncode == 1 and "only 1 speaker" in p.stderr
    p = run("utils/subset_data_dir_tr_cv.sh", "--cv-spk-percent", "150", src, tmp_path / "tr", tmp_path / "cv")
    assert p.returncode == 1 and "--cv-spk-percent" in p.stderr


# ------------------------------------------------------------ combine_data.sh

def test_combine_data(run, tmp_path):
    src = seg_dir(tmp_path / "src")
    run("utils/split_data.sh", src, "3", check=True)
    parts = [src / "split3" / k for k in "312"]                      # any order
    dst = tmp_path / "all"
    p = run("utils/combine_data.sh", dst, *parts)
    assert p.returncode == 0, p.stderr
    for f in os.listdir(src):
        if f != "split3":
            assert (dst / f).read_text() == (src / f).read_text(), f


def test_combine_data_warns_on_missing_file(run, tmp_path):
    a = tmp_path / "a"
    make_data_dir(a, {"a-1": {"spk": "a", "text": "x", "dur": "1"}, "a-2": {"spk": "a", "text": "y", "dur": "2"}})
    b = tmp_path / "b"
    make_data_dir(b, {"b-1": {"spk": "b", "dur": "3"}})                 # no text
    dst = tmp_path / "ab"
    p = run("utils/combine_data.sh", dst, b, a)
    assert p.returncode == 0, p.stderr
    assert "text" in p.stderr and str(b) in p.stderr and "warning" in p.stderr
    assert not (dst / "text").exists()
    assert lines(dst / "utt2spk") == ["a-1 a", "a-2 a", "b-1 b"]
    assert lines(dst / "spk2utt") == ["a a-1 a-2", "b b-1"]
    assert lines(dst / "utt2dur") == ["a-1 1", "a-2 2", "b-1 3"]


def test_combine_data_duplicate_utterance(run, tmp_path):
    a = tmp_path / "a"
    make_data_dir(a, {"u-1": {"spk": "u"}, "u-2": {"spk": "u"}})
    b = tmp_path / "b"
    make_data_dir(b, {"u-2": {"spk": "u"}})
    p = run("utils/combine_data.sh", tmp_path / "ab", a, b)
    assert p.returncode == 1
    assert "u-2" in p.stderr and "duplicate" in p.stderr


def test_combine_data_mixed_segments(run, tmp_path):
    seg = seg_dir(tmp_path / "seg")
    flat = tmp_path / "flat"
    make_data_dir(flat, {"Z-1": {"spk": "Z", "text": "z", "wav": "/w/Z-1.wav", "dur": "1.25"}})
    dst = tmp_path / "all"
    run("utils/combine_data.sh", dst, seg, flat, check=True)
    assert lines(dst / "segments")[-1] == "Z-1 Z-1 0 1.25"
    assert lines(dst / "wav.scp") == ["Z-1 /w/Z-1.wav", "recA /w/recA.wav", "recB /w/recB.wav",
                                      "recC /w/recC.wav", "recD1 /w/recD1.wav", "recD2 /w/recD2.wav"]
