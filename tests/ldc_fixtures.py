"""Miniature copies of LDC distributions (WSJ0/WSJ1, Switchboard-1, eval2000, Fisher text) for tests.

The layouts, index / transcript / stm / glm / pem syntax and SPHERE audio follow
the real corpora; each holds a handful of utterances, plus the faults the
preparations must report (an index entry without audio, audio without a
transcript, a CD that is not there, a CD that no set uses). WSJ audio is
Shorten-compressed SPHERE (our encoder in sphere_fixtures); Switchboard audio is
two-channel 8 kHz mu-law SPHERE, uncompressed.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from conftest import REPO, script_env
from sphere_fixtures import write_sphere


def recipe_copy(tmp_path: Path, name: str) -> Path:
    """egs/<name> copied without outputs, its steps/utils links pointing into the repository."""
    d = tmp_path / name
    shutil.copytree(REPO / "egs" / name, d, symlinks=True,
                    ignore=shutil.ignore_patterns("data", "exp", "fbank", "steps", "utils"))
    (d / "steps").symlink_to(REPO / "steps")
    (d / "utils").symlink_to(REPO / "utils")
    return d


def assert_stage_configs(conf: Path) -> None:
    """Every key of a recipe's stage YAMLs (conf/{warmup,search,retrain}.yaml) is an option of that stage."""
    import yaml

    from nas.options import flags
    from nas.train.cli import PLANS
    for kind in ("warmup", "search", "retrain"):
        names = {fl.name for fl in flags(PLANS[kind].Config)}
        keys = {k.replace("-", "_") for k in yaml.safe_load((conf / f"{kind}.yaml").read_text())}
        assert keys <= names, (kind, keys - names)


def run_module(module: str, *args: str, input: Optional[str] = None) -> subprocess.CompletedProcess:
    """`python -m module args...` with the interpreter running the tests, from outside the repository."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd="/", env=script_env(),
                          capture_output=True, text=True, input=input)


# ------------------------------------------------------------------------------------------- audio

def _tone(seconds: float, rate: int, seed: int, channels: int = 1) -> np.ndarray:
    """A few harmonics plus noise: enough spectral shape for fbank, nothing to recognize."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = []
    for c in range(channels):
        f0 = 110 + 40 * ((seed + c) % 5)
        x = sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))
        x = 3000 * x + 300 * rng.standard_normal(len(t))
        out.append(np.clip(x, -32768, 32767).astype(np.int16))
    return np.stack(out, axis=1) if channels > 1 else out[0]


def _write(path: Path, text: str, encoding: str = "latin-1") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def _gzip(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wb") as f:
        f.write(text.encode("latin-1"))
    return path


# --------------------------------------------------------------------------------------------- WSJ

# (CD, path of the .wv1, transcript or None): None = audio without transcript
WSJ_TRAIN0 = [
    ("11-1.1", "wsj0/si_tr_s/011/011c0201.wv1",
     "Shares of Ford Motor Company ,COMMA fell \\\"DOUBLE-QUOTE sharply \\\"END-QUOTE in [loud_breath] trading"),
    ("11-1.1", "wsj0/si_tr_s/011/011c0202.wv1",
     "The company said its profit rose ten %PERCENT [door_slam>] to sixty two million dollars .PERIOD"),
    ("11-1.1", "wsj0/si_tr_s/01i/01ic0201.wv1",
     "[lip_smack] Mr\\. Smith isn\\'t *sure* about the <the> deal ~"),
    ("11-1.1", "wsj0/si_tr_s/01i/01ic0202.wv1", None),
    ("11-2.1", "wsj0/si_tr_s/401/401c0201.wv1", "Speaker four oh one is left out"),
]
WSJ_TRAIN1 = [
    ("13-1.1", "wsj1/si_tr_s/46a/46ac0201.wv1", "Interest rates fell [phone_ring/] again this week [/phone_ring]"),
    ("13-1.1", "wsj1/si_tr_s/46a/46ac0202.wv1", "Bond prices --DASH however --DASH rose . slightly"),
]
WSJ_EVAL92 = [
    ("11-14.1", "wsj0/si_et_20/440/440c0201.wv1", "The index rose [<door_slam] one point two percent"),
    ("11-14.1", "wsj0/si_et_20/440/440c0202.wv1", "Analysts expect further gains next year"),
]
WSJ_DEV93 = [
    ("13-16.1", "wsj1/si_dt_20/4k0/4k0c0301.wv1", "Stocks closed higher in heavy trading"),
    ("13-16.1", "wsj1/si_dt_20/4k0/4k0c0302.wv1", "THE DOLLAR WAS MIXED"),    # only in the .lsn
]
WSJ_LM_WORDS = ("THE INDEX ROSE ONE POINT TWO PERCENT ANALYSTS EXPECT FURTHER GAINS NEXT YEAR STOCKS CLOSED "
                "HIGHER IN HEAVY TRADING DOLLAR WAS MIXED SHARES OF FORD MOTOR COMPANY FELL SHARPLY").split()


def _ndx(header: str, entries: Sequence[str]) -> str:
    return (";\n; File:  " + header + "\n;\n; Index of the files of this set (LDC CSR-I/II layout)\n;\n"
            + "".join(e + "\n" for e in entries))


def _disk(cd: str) -> str:
    return cd.replace("-", "_").replace(".", "_")


def _arpa(words: Sequence[str], order: int) -> str:
    """A small but well-formed ARPA LM over `words` (uniform 1-grams, a chain of 2- and 3-grams)."""
    uni = ["<s>", "</s>", "<UNK>"] + list(words)
    bi = [(words[i], words[i + 1]) for i in range(len(words) - 1)] + [("<s>", words[0])]
    tri = [(words[i], words[i + 1], words[i + 2]) for i in range(len(words) - 2)]
    lines = ["\\data\\", f"ngram 1={len(uni)}", f"ngram 2={len(bi)}"]
    if order >= 3:
        lines.append(f"ngram 3={len(tri)}")
    lines += ["", "\\1-grams:"]
    p = -np.log10(len(uni))
    for w in uni:
        lines.append(f"{-99 if w == '<s>' else p:.4f}\t{w}\t-0.3010" if w != "</s>" else f"{p:.4f}\t{w}")
    lines += ["", "\\2-grams:"]
    for a, b in bi:
        lines.append(f"-0.5229\t{a} {b}\t-0.1761" if order >= 3 else f"-0.5229\t{a} {b}")
    if order >= 3:
        lines += ["", "\\3-grams:"]
        for t in tri:
            lines.append(f"-0.3010\t{' '.join(t)}")
    lines += ["", "\\end\\", ""]
    return "\n".join(lines)


def make_wsj(root: Path, rate: int = 16000, seconds: float = 0.4) -> Tuple[Path, Path]:
    """A miniature LDC93S6B and LDC94S13B under `root`; returns (wsj0, wsj1). Layout and syntax as the
    LDC's (CD dirs, .ndx indices, .dot/.lsn transcripts, compressed LMs with a header).

    Faults on purpose: 01ic0202 has audio but no transcript, 01ic0203 is indexed without
    audio, 13-5.1 is indexed but absent, speaker 401 is left out by rule, 11-4.1 is a CD
    no set uses; 4k0c0302's transcript is only in a .lsn file.
    """
    wsj0, wsj1 = root / "LDC93S6B", root / "LDC94S13B"
    seed = 0
    dots: Dict[Path, List[str]] = {}
    for base, items, dot_dir in ((wsj0, WSJ_TRAIN0, "wsj0/transcrp/dots/si_tr_s"),
                                 (wsj1, WSJ_TRAIN1, "wsj1/trans/wsj1/si_tr_s"),
                                 (wsj0, WSJ_EVAL92, None), (wsj1, WSJ_DEV93, None)):
        for cd, rel, text in items:
            seed += 1
            utt = Path(rel).stem
            (base / cd / rel).parent.mkdir(parents=True, exist_ok=True)
            write_sphere(base / cd / rel, _tone(seconds, rate, seed), rate,
                         shorten=True, extra_fields={"database_id": base.name.lower(), "utterance_id": utt,
                                                     "speaking_mode": "read-common"})
            if text is None:
                continue
            if dot_dir:     # training transcripts live under transcrp/; test ones beside the audio
                dot = base / cd / dot_dir / utt[:3] / f"{utt[:6]}.dot"
            else:
                dot = (base / cd / rel).parent / f"{utt[:6]}.dot"
            if text.isupper():
                dot = dot.with_suffix(".lsn")
            dots.setdefault(dot, []).append(f"{text} ({utt})")
    for dot, lines in dots.items():
        _write(dot, "".join(l + "\n" for l in lines))

    idx0 = wsj0 / "11-13.1/wsj0/doc/indices"
    _write(idx0 / "train/tr_s_wv1.ndx", _ndx("tr_s_wv1.ndx", [
        f"{_disk(cd)}:{rel}" for cd, rel, _ in WSJ_TRAIN0] + ["11_1_1:wsj0/si_tr_s/01i/01ic0203.wv1"]))
    _write(idx0 / "test/nvp/si_et_20.ndx", _ndx("si_et_20.ndx", [
        f"{_disk(cd)}:{rel[:-4]}" for cd, rel, _ in WSJ_EVAL92]))
    idx1 = wsj1 / "13-34.1/wsj1/doc/indices"
    _write(idx1 / "si_tr_s.ndx", _ndx("si_tr_s.ndx", [
        f"{_disk(cd)}:{rel}" for cd, rel, _ in WSJ_TRAIN1] + ["13_5_1:wsj1/si_tr_s/4a0/4a0c0201.wv1"]))
    _write(idx1 / "h1_p0.ndx", _ndx("h1_p0.ndx", [f"{_disk(cd)}:{rel}" for cd, rel, _ in WSJ_DEV93]))
    # a CD of speaker-dependent data that none of the recipe's sets uses
    (wsj0 / "11-4.1/wsj0/sd_tr_s/001").mkdir(parents=True)
    write_sphere(wsj0 / "11-4.1/wsj0/sd_tr_s/001/001c0201.wv1", _tone(0.1, rate, 99), rate, shorten=True)
    # the base LMs (gzip'ed here; the LDC's are compress(1)'ed: gzip -dc reads both), with a header
    lm = wsj1 / "13-32.1/wsj1/doc/lng_modl/base_lm"
    header = "WSJ 20K open vocabulary LM, non-verbalized punctuation\n(header text before the ARPA data)\n\n"
    _gzip(lm / "tcb20onp.z", header + _arpa(WSJ_LM_WORDS, 3))
    _gzip(lm / "bcb20onp.z", header + _arpa(WSJ_LM_WORDS, 2))
    np_data = wsj1 / "13-32.1/wsj1/doc/lng_modl/lm_train/np_data/87"
    _gzip(np_data / "870102.z", "<art.870102-0001>\n<p.870102-0001.1>\n<s.870102-0001.1.1>\n"
          "The index rose one point two percent. Analysts expect further gains\n</s>\n"
          "<s.870102-0001.1.2>\nStocks closed higher in heavy trading said Mr. Smith\n</s>\n</p>\n</art>\n")
    return wsj0, wsj1


WSJ_EXPECTED_TEXT = {
    "011c0201": "SHARES OF FORD MOTOR COMPANY COMMA FELL DOUBLE QUOTE SHARPLY END QUOTE IN <NOISE> TRADING",
    "011c0202": "THE COMPANY SAID ITS PROFIT ROSE TEN PERCENT TO SIXTY TWO MILLION DOLLARS PERIOD",
    "01ic0201": "<NOISE> MR. SMITH ISN'T *SURE* ABOUT THE THE DEAL",
    "46ac0201": "INTEREST RATES FELL AGAIN THIS WEEK",
    "46ac0202": "BOND PRICES DASH HOWEVER DASH ROSE SLIGHTLY",
    "440c0201": "THE INDEX ROSE ONE POINT TWO PERCENT",
    "440c0202": "ANALYSTS EXPECT FURTHER GAINS NEXT YEAR",
    "4k0c0301": "STOCKS CLOSED HIGHER IN HEAVY TRADING",
    "4k0c0302": "THE DOLLAR WAS MIXED",
}


# ---------------------------------------------------------------------------------- Switchboard

def ulaw_encode(x: np.ndarray) -> np.ndarray:
    """ITU-T G.711 mu-law bytes of int16 samples (the coding of Switchboard's SPHERE files)."""
    x = x.astype(np.int32)
    sign = (x < 0).astype(np.int32)
    mag = np.minimum(np.abs(x), 32635) + 0x84
    exp = np.floor(np.log2(mag)).astype(np.int32) - 7
    mant = (mag >> (exp + 3)) & 0x0F
    return (~((sign << 7) | (exp << 4) | mant) & 0xFF).astype(np.uint8)


def write_ulaw_sphere(path: Path, samples: np.ndarray, rate: int = 8000) -> Path:
    """Two-channel (n, 2) int16 samples as interleaved mu-law SPHERE, uncompressed (the eval2000
    speech here; LDC97S62's discs are Shorten-compressed mu-law, written with write_sphere)."""
    n, ch = samples.shape
    fields = [("database_id", "-s29", "Switchboard-1 Telephone Speech"), ("sample_count", "-i", str(n)),
              ("sample_rate", "-i", str(rate)), ("channel_count", "-i", str(ch)),
              ("sample_byte_format", "-s1", "1"), ("sample_n_bytes", "-i", "1"), ("sample_coding", "-s4", "ulaw")]
    body = "".join(f"{k} {t} {v}\n" for k, t, v in fields) + "end_head\n"
    head = f"NIST_1A\n   1024\n{body}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write((head + " " * (1024 - len(head))).encode("ascii"))
        f.write(ulaw_encode(samples.reshape(-1)).tobytes())
    return path


# MS98 transcripts: (conversation side, [(start, end, text)])
MS98_TRANS = {
    "2001A": [(0.0, 0.977625, "[silence]"),
              (0.977625, 2.2, "hi um yeah i'd like to talk about [noise] how you dress for work"),
              (2.2, 2.9, "uh-huh"),
              (2.9, 3.6, "[laughter-yes] i think -[an]y ab[solute]- them_1 <b_aside> measure <e_aside>")],
    "2001B": [(0.3, 1.1, "uh-huh"),
              (1.1, 2.0, "that's right [vocalized-noise] the weather is nice here in june"),
              (2.0, 2.6, "uh-huh"),
              (2.6, 3.7, "[it'n/isn't] {yuppiedom} boy go she church [laughter]")],
    "2005A": [(0.2, 1.5, "button bottle good very they people"),
              (1.5, 2.4, "uh-huh")],
    "2005B": [(0.4, 1.9, "a yes a hi")],
    "2099A": [(0.1, 1.0, "no audio for this conversation")],
    "2099B": [(0.2, 0.9, "okay")],
}
MS98_DICT_ENTRIES = """hi hh ay
um ah m
yeah y ae
i'd ay d
like l ay k
to t uw
talk t ao k
about ax b aw t
how hh aw
you y uw
dress d r eh s
for f er
work w er k
uh-huh ah hh ah
i ay
think th ih ng k
that's dh ae t s
right r ay t
the dh ax
the dh iy
weather w eh dh er
is ih z
nice n ay s
here hh iy r
in ih n
june jh uw n
measure m eh zh er
boy b oy
go g ow
she sh iy
church ch er ch
button b ah t en
bottle b aa t el
good g uh d
very v eh r iy
they dh ey
people p iy p el
a ax
a ey
yes y eh s
them dh eh m
[silence] sil
[laughter] lau
"""
SWBD_PHONES = sorted(("aa ae ah ao aw ax ay b ch d dh eh el en er ey f g hh ih iy jh k l m n ng ow oy p r s sh "
                      "t th uh uw v w y z zh").split())
STM = """;; CATEGORY "0" "" ""
;; LABEL "O" "Overall" "The Complete Test Set"
;; CATEGORY "1" "Hub5 2000 Subsets" ""
;; LABEL "sw" "Switchboard" "Switchboard Conversations"
;; LABEL "en" "CallHome" "CallHome Conversations"
en_4156 A en_4156_A 0.50 1.60 <O,en,F,en-F>  oh yeah (%HESITATION) i'm going home
en_4156 A en_4156_A 1.80 2.90 <O,en,F,en-F>  we (WI-) will see
en_4156 B en_4156_B 0.20 1.20 <O,en,M,en-M>  IGNORE_TIME_SEGMENT_IN_SCORING
en_4156 B en_4156_B 1.40 2.60 <O,en,M,en-M>  that's right
sw_4390 A sw_4390_A 0.30 1.50 <O,sw,M,sw-M>  the weather is nice
sw_4390 B sw_4390_B 0.60 2.05 <O,sw,F,sw-F>  uh-huh (TH-) they go home <B_ASIDE> now <E_ASIDE>
"""
PEM = """;; hub5e_00.pem: the evaluation's segmentation
en_4156 A unknown_speaker 0.50 1.60
en_4156 A unknown_speaker 1.80 2.90
en_4156 B unknown_speaker 0.20 1.20
en_4156 B unknown_speaker 1.40 2.60
sw_4390 A unknown_speaker 0.30 1.50
sw_4390 B unknown_speaker 0.60 2.05
"""
GLM = """;;
;;  File: en20000405_hub5.glm (a few of its rules, in its syntax)
;;
* name "en20000405_hub5.glm"
* desc "Hub5-E 2000 evaluation GLM, test excerpt"
* format = 'NIST1'
* max_nrules = '2000'
* copy_no_hit = 'T'
* case_sensitive = 'F'
;; hesitation sound mappings
uh => %hesitation / [ ] __ [ ]
um => %hesitation / [ ] __ [ ]
;; contractions
i'm => {i'm / i am} / [ ] __ [ ]
that's => {that's / that is} / [ ] __ [ ]
"""


def make_swbd(root: Path, seconds: float = 4.0) -> Dict[str, Path]:
    """Miniature LDC97S62 (+ MS98 transcripts), LDC2002S09, LDC2002T43 and Fisher text under `root`.

    As the corpora are: MS98 has both sides of every conversation, sw2099's too, whose audio is
    not here (copies of LDC97S62 with 2435 files lack 3 conversations MS98 transcribes); every
    conversation of the pem and stm has audio, every segment lies within it. The times are
    the LDC's, two decimals: sw_4390 B ends at 2.05 s, which Kaldi's eval2000 ids truncate to
    000204 (2.05 * 100 is 204.999... in floating point). Tests make the faults themselves.
    """
    swbd = root / "LDC97S62"
    for i, name in enumerate(("sw02001", "sw02005")):    # Shorten-compressed mu-law, as the discs have it
        path = swbd / f"swb1_d{i + 1}/data/{name}.sph"
        path.parent.mkdir(parents=True, exist_ok=True)
        write_sphere(path, ulaw_encode(_tone(seconds, 8000, 10 + i, channels=2)), 8000, shorten=True, ulaw=True,
                     extra_fields={"database_id": "Switchboard-1 Telephone Speech"})
    ms98 = root / "swb_ms98_transcriptions"
    for side, segs in MS98_TRANS.items():
        conv = side[:-1]
        lines = [f"sw{side}-ms98-a-{i + 1:04d} {s:.6f} {e:.6f} {t}" for i, (s, e, t) in enumerate(segs)]
        _write(ms98 / conv[:2] / conv / f"sw{side}-ms98-a-trans.text", "\n".join(lines) + "\n")
    _write(ms98 / "sw-ms98-dict.text", "#\n# sw-ms98-dict.text: the ISIP Switchboard lexicon (excerpt)\n#\n"
           + MS98_DICT_ENTRIES)
    audio = root / "LDC2002S09/hub5e_00"
    for i, name in enumerate(("en_4156", "sw_4390")):
        write_ulaw_sphere(audio / f"english/{name}.sph", _tone(3.0, 8000, 20 + i, channels=2))
    _write(audio / "english/hub5e_00.pem", PEM)
    text = root / "LDC2002T43"
    _write(text / "2000_hub5_eng_eval_tr/reference/hub5e00.english.000405.stm", STM)
    _write(text / "2000_hub5_eng_eval_tr/reference/en20000405_hub5.glm", GLM)
    fisher = root / "LDC2004T19/fe_03_p1_tran"
    _write(fisher / "data/trans/000/fe_03_00001.txt",
           "# fe_03_00001.sph\n\n0.36 1.56 A: hello\n1.82 3.44 B: hi my name is john\n4.01 5.00 A: how you doing\n")
    return {"swbd": swbd, "ms98": ms98, "eval2000_audio": root / "LDC2002S09", "eval2000_text": text,
            "fisher": fisher}
