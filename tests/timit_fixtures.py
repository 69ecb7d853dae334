"""Miniature TIMIT (LDC93S1) corpora for tests, in the real distribution's formats.

Written from the corpus's own documentation (README.DOC, PHONCODE.DOC, SPKRINFO.TXT,
TESTSET.DOC) and the conventions public readers (Kaldi's egs/timit, NLTK) rely on,
not from any parser of ours:

* layout ``<top>/TRAIN/DR1/FCJF0/SA1.WAV`` with ``SA1.PHN``, ``SA1.WRD``, ``SA1.TXT``
  beside it; ``<top>/TEST/...`` likewise. The LDC disc is upper case; the common
  copies are all lower case (``<top>/train/dr1/fcjf0/sa1.wav``). ``<top>`` is
  ``<root>/TIMIT`` (``<root>/timit``) and holds ``DOC/SPKRINFO.TXT`` too.
* speaker dirs: sex letter, three initials, a digit; dialect regions DR1..DR8.
* sentences: SA1, SA2 (read by every speaker, same text), SX<n> (450 compact
  sentences, SX3..SX452, each read by 7 speakers: a speaker reads SXm, SXm+90, ...,
  SXm+360), SI<n> (diverse, SI453..SI2342). A real speaker reads 2 SA + 5 SX + 3 SI.
* .WAV: NIST SPHERE, 1024-byte header with TIMIT's fields, in TIMIT's order
  (database_id, database_version, utterance_id, channel_count, sample_count,
  sample_max, sample_min, sample_rate, sample_n_bytes, sample_byte_format,
  sample_sig_bits; no sample_coding), then 16-bit little-endian PCM at 16 kHz.
  ``riff=True`` writes RIFF/WAVE 16-bit PCM under the same names instead (the
  sox-converted copies).
* .PHN ``begin end phone`` (samples, contiguous from 0, h# first and last, the
  61-symbol set); .WRD ``begin end word`` (lower case, no h#); .TXT one line
  ``0 <last sample> <Sentence.>``.

Kaldi's conventions for the splits (what :func:`timit_expected` reports):
utterance ids ``<speaker>_<sentence>`` in lower case (``fcjf0_si1027``); SA sentences
are dropped everywhere; train = every TRAIN speaker; dev = the 50 speakers of
egs/timit/s5/conf/dev_spk.list; test = the 24-speaker core test set.

Public API::

    make_timit(root, *, case="upper", riff=False, train_speakers=4, dev_speakers=2,
               core_speakers=2, other_test_speakers=1, sentences=None, seconds=0.6,
               seed=0, docs=True, missing_phn=(), bad_phone=(), phn_overrun=(),
               missing_speaker=()) -> Path            # the corpus top
    full_lists() -> TimitLists                          # the speaker lists
    sentence_ids(speaker, sentences=None) -> [str]      # e.g. ["SA1", "SA2", "SI..", ...]
    utt_ids(speaker, sentences=None) -> [str]           # e.g. ["fcjf0_sa1", ...]
    timit_expected(top) -> TimitExpected                # splits, phones, ... of a tree
    utt_file(top, utt, ext) -> Path                     # e.g. (top, "fcjf0_sa1", "phn")
    remove_utt_file(top, utt, ext="phn") -> Path
    corrupt_phone(top, utt, line=2, symbol="xx") -> str  # the phone it replaced
    overrun_phn(top, utt, by=160) -> int                # the new last end
    remove_speaker(top, speaker) -> Path
    phone_frequency(phone) -> float | None              # the tone of a phone's segments
    PHONES61, SILENCES

Audio: every phone segment holds a tone whose frequency depends on the phone only
(:func:`phone_frequency`; h#, pau and epi are near-silence) plus a little noise, so
a model could learn the phones from it.
"""
from __future__ import annotations

import re
import shutil
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from sphere_fixtures import sphere_header

__all__ = ["make_timit", "full_lists", "sentence_ids", "utt_ids", "timit_expected", "utt_file",
           "remove_utt_file", "corrupt_phone", "overrun_phn", "remove_speaker", "phone_frequency",
           "TimitLists", "TimitExpected", "PHONES61", "SILENCES", "SAMPLE_RATE", "SPHERE_FIELDS"]

SAMPLE_RATE = 16000

# PHONCODE.DOC's 61 symbols, as they appear (lower case) in the .PHN files.
PHONES61: Tuple[str, ...] = (
    "b", "d", "g", "p", "t", "k", "dx", "q",
    "bcl", "dcl", "gcl", "pcl", "tcl", "kcl",
    "jh", "ch",
    "s", "sh", "z", "zh", "f", "th", "v", "dh",
    "m", "n", "ng", "em", "en", "eng", "nx",
    "l", "r", "w", "y", "hh", "hv", "el",
    "iy", "ih", "eh", "ey", "ae", "aa", "aw", "ay", "ah", "ao", "oy", "ow", "uh", "uw", "ux",
    "er", "ax", "ix", "axr", "ax-h",
    "pau", "epi", "h#",
)
assert len(PHONES61) == 61 and len(set(PHONES61)) == 61
SILENCES = ("h#", "pau", "epi")
_CLOSURES = {"bcl", "dcl", "gcl", "pcl", "tcl", "kcl"}
_STOPS = {"b", "d", "g", "p", "t", "k", "dx", "q"}
_VOWELS = {"iy", "ih", "eh", "ey", "ae", "aa", "aw", "ay", "ah", "ao", "oy", "ow", "uh", "uw", "ux",
           "er", "ax", "ix", "axr", "ax-h"}

# The SPHERE fields of a TIMIT .WAV, in the order the disc has them, with their types.
SPHERE_FIELDS: Tuple[Tuple[str, str], ...] = (
    ("database_id", "s"), ("database_version", "s"), ("utterance_id", "s"),
    ("channel_count", "i"), ("sample_count", "i"), ("sample_max", "i"), ("sample_min", "i"),
    ("sample_rate", "i"), ("sample_n_bytes", "i"), ("sample_byte_format", "s"),
    ("sample_sig_bits", "i"),
)

# ------------------------------------------------------------------------------ speaker lists

# TESTSET.DOC's core test set: per dialect region two men and a woman.
_CORE = {1: ("MDAB0", "MWBT0", "FELC0"), 2: ("MTAS1", "MWEW0", "FPAS0"), 3: ("MJMP0", "MLNT0", "FPKT0"),
         4: ("MLLL0", "MTLS0", "FJLM0"), 5: ("MBPM0", "MKLT0", "FNLP0"), 6: ("MCMJ0", "MJDH0", "FMGD0"),
         7: ("MGRT0", "MNJM0", "FDHC0"), 8: ("MJLN0", "MPAM0", "FMLD0")}

# Kaldi's egs/timit/s5/conf/dev_spk.list, in its order. Its speakers' dialect regions are
# not recorded there; these groups (the list runs by region) are plausible, no more.
_DEV = {1: "faks0 fdac1 fjem0 mgwt0 mjar0 mmdb1 mmdm2 mpdf0", 2: "fcmh0 fkms0 mbdg0 mbwm0 mcsh0",
        3: "fadg0 fdms0 fedw0 mgjf0 mglb0 mrtk0 mtaa0 mtdt0 mthc0 mwjg0",
        4: "fnmr0 frew0 fsem0 mbns0 mmjr0", 5: "mdls0 mdlf0 mdvc0 mers0", 6: "fmah0 fdrw0 mrcs0 mrjm4",
        7: "fcal1 mmwh0 fjsj0 majc0 mjsw0 mreb0", 8: "fgjd0 fjmg0 mroa0 mteb0 mjfc0 mrjr0 fmml0 mrws1"}

# TRAIN speakers (ids in TIMIT's style; the first few spread over regions and sexes).
_TRAIN = (("FCJF0", 1), ("MARC0", 2), ("FALK0", 3), ("MAEB0", 4), ("FBJL0", 5), ("MBMA0", 6),
          ("FBLV0", 7), ("MBCG0", 8), ("MDAC0", 1), ("FAEM0", 2), ("MADC0", 3), ("FALR0", 4),
          ("MAHH0", 5), ("FAPB0", 6), ("MADD0", 7), ("FBCG1", 8))

# TEST speakers outside both the core test set and the dev list (in no Kaldi split).
_OTHER_TEST = (("MKXL0", 1), ("FPJB0", 2), ("MQZE0", 3), ("FTUV0", 4), ("MZYW0", 5), ("FWXB1", 6),
               ("MUIO0", 7), ("FKRQ0", 8))


@dataclass(frozen=True)
class TimitLists:
    """The speaker lists, lower case (Kaldi's spelling); ``dr`` maps every id to its region."""
    core: Tuple[str, ...]        # 24, TESTSET.DOC's order (by region: two men, a woman)
    dev: Tuple[str, ...]         # 50, dev_spk.list's order
    train: Tuple[str, ...]       # the TRAIN speakers this fixture can write
    other_test: Tuple[str, ...]  # TEST speakers in neither list
    dr: Dict[str, int]

    def split_dir(self, speaker: str) -> str:
        """``"TRAIN"`` or ``"TEST"``: where the speaker's dir lies."""
        return "TRAIN" if speaker.lower() in self.train else "TEST"

    @property
    def all(self) -> Tuple[str, ...]:
        return self.train + self.dev + self.core + self.other_test


def full_lists() -> TimitLists:
    dr: Dict[str, int] = {}
    core = []
    for r, spks in _CORE.items():
        for s in spks:
            core.append(s.lower())
            dr[s.lower()] = r
    dev = []
    for r, spks in _DEV.items():
        for s in spks.split():
            dev.append(s)
            dr[s] = r
    train = tuple(s.lower() for s, _ in _TRAIN)
    other = tuple(s.lower() for s, _ in _OTHER_TEST)
    dr.update({s.lower(): r for s, r in _TRAIN + _OTHER_TEST})
    return TimitLists(core=tuple(core), dev=tuple(dev), train=train, other_test=other, dr=dr)


_LISTS = full_lists()
assert len(_LISTS.core) == 24 and len(_LISTS.dev) == 50
assert len(set(_LISTS.all)) == len(_LISTS.all), "speaker lists overlap"
assert all(re.fullmatch(r"[fm][a-z]{3}[0-9]", s) for s in _LISTS.all)

# ------------------------------------------------------------------------------ sentences

_SA = {"SA1": "She had your dark suit in greasy wash water all year.",
       "SA2": "Don't ask me to carry an oily rag like that."}

# Short sentences for SX / SI ids (a sentence id always has the same text).
_POOL = ("The chef judged the vision.", "Young thieves sang a song.", "Bottle the boy's oil.",
         "How about the good book?", "Put the pepper in the pot.", "Her yellow hat is open.",
         "Something is wrong.", "Which church is open?", "Ten winter nights.", "Keep the cake.",
         "Lock and key.", "Zoe saw a few.", "Over the river, how wrong.", "Her yellow hat.")

# Word -> pronunciations in TIMIT's phones (closures before their releases, as the .PHN
# files transcribe them). One is picked per utterance, so speakers differ.
_LEX: Dict[str, Tuple[str, ...]] = {
    "she": ("sh iy", "sh ix"), "had": ("hv ae dcl d", "hh ae dcl"), "your": ("y axr", "y er"),
    "dark": ("dcl d aa r kcl k", "dcl d aa kcl k"), "suit": ("s uw tcl t", "s ux tcl"),
    "in": ("ih n", "ix n", "q ih n"), "greasy": ("gcl g r iy s iy", "gcl g r iy z iy"),
    "wash": ("w ao sh", "w aa sh"), "water": ("w ao dx axr", "w aa dx er"), "all": ("ao l", "q ao l"),
    "year": ("y ih axr", "y iy axr"), "don't": ("dcl d ow n", "dcl d ow n tcl t"),
    "ask": ("ae s kcl k", "q ae s kcl"), "me": ("m iy",), "to": ("tcl t ux", "tcl t ax-h"),
    "carry": ("kcl k eh r iy", "kcl k ae r iy"), "an": ("en", "ax n", "q ae n"),
    "oily": ("oy l iy", "q oy l iy"), "rag": ("r ae gcl g",), "like": ("l ay kcl k", "l ay kcl"),
    "that": ("dh ae tcl t", "dh ae q"), "the": ("dh ax", "dh ix", "dh iy"), "chef": ("sh eh f",),
    "judged": ("jh ah dcl jh dcl d",), "vision": ("v ih zh en", "v ih zh ix n"),
    "young": ("y ah ng",), "thieves": ("th iy v z",), "sang": ("s ae ng",), "a": ("ax", "ey", "ax-h"),
    "song": ("s ao ng",), "bottle": ("bcl b aa dx el", "bcl b aa tcl t el"), "boy's": ("bcl b oy z",),
    "oil": ("oy el", "q oy l"), "how": ("hh aw", "hv aw"), "about": ("ax bcl b aw tcl t", "ax-h bcl b aw dx"),
    "good": ("gcl g uh dcl d", "gcl g uh dcl"), "book": ("bcl b uh kcl k",),
    "put": ("pcl p uh tcl t", "pcl p uh dx"), "pepper": ("pcl p eh pcl p axr",), "pot": ("pcl p aa tcl t",),
    "her": ("hv er", "er", "hh axr"), "yellow": ("y eh l ow",), "hat": ("hh ae tcl t",),
    "is": ("ih z", "ix z"), "open": ("ow pcl p em", "ow pcl p ax n"), "something": ("s ah m th ix ng",),
    "wrong": ("r ao ng",), "which": ("w ih tcl ch",), "church": ("tcl ch er tcl ch",),
    "ten": ("tcl t eh n",), "winter": ("w ih nx axr", "w ih n tcl t axr"),
    "nights": ("n ay tcl t s", "n ay tcl s"), "keep": ("kcl k iy pcl p",), "cake": ("kcl k ey kcl k",),
    "lock": ("l aa kcl k",), "and": ("eng", "ae n dcl d", "en"), "key": ("kcl k iy",),
    "zoe": ("z ow iy",), "saw": ("s ao",), "few": ("f y ux", "f y uw"), "over": ("ow v axr", "q ow v er"),
    "river": ("r ih v axr",),
}


def _words(text: str) -> List[str]:
    return [w for w in re.sub(r"[^a-z' ]", " ", text.lower()).split()]


def _check_lexicon() -> None:
    for text in (*_SA.values(), *_POOL):
        for w in _words(text):
            assert w in _LEX, w
            assert all(p in PHONES61 for pron in _LEX[w] for p in pron.split()), w


_check_lexicon()


def _text(sentence: str) -> str:
    if sentence in _SA:
        return _SA[sentence]
    return _POOL[zlib.crc32(sentence.encode()) % len(_POOL)]


def _speaker_index(speaker: str) -> int:
    s = speaker.lower()
    if s in _LISTS.all:
        return _LISTS.all.index(s)
    return zlib.crc32(s.encode()) % 1000


def sentence_ids(speaker: str, sentences: Optional[Sequence[str]] = None) -> List[str]:
    """The sentence ids (upper case) ``speaker`` reads.

    ``sentences`` None: a real speaker's ten (SA1, SA2, three SI, five SX). Otherwise each
    entry is SA1 / SA2, a literal id (``SX37``, ``SI1027``), or ``SI`` / ``SX`` (also
    ``SI...``): that speaker's next own SI / SX sentence (at most 3 SI and 5 SX).
    """
    if sentences is None:
        sentences = ("SA1", "SA2", "SI", "SI", "SI", "SX", "SX", "SX", "SX", "SX")
    g = _speaker_index(speaker)
    m = 3 + (7 * g) % 90
    own = {"SX": [f"SX{m + 90 * j}" for j in range(5)],
           "SI": [f"SI{453 + (17 * g + 631 * j) % 1890}" for j in range(3)]}
    used = {"SX": 0, "SI": 0}
    out: List[str] = []
    for s in sentences:
        s = s.upper().rstrip(".")
        if s in ("SX", "SI"):
            if used[s] >= len(own[s]):
                raise ValueError(f"a speaker reads at most {len(own[s])} {s} sentences")
            kind = s
            s = own[kind][used[kind]]
            used[kind] += 1
        elif not re.fullmatch(r"SA[12]|SX\d+|SI\d+", s):
            raise ValueError(f"not a TIMIT sentence id: {s!r}")
        if s in out:
            raise ValueError(f"{speaker} reads {s} twice")
        out.append(s)
    return out


def utt_ids(speaker: str, sentences: Optional[Sequence[str]] = None) -> List[str]:
    """Kaldi-style ids (``fcjf0_si1027``) of what ``speaker`` reads."""
    return [f"{speaker.lower()}_{s.lower()}" for s in sentence_ids(speaker, sentences)]


# ------------------------------------------------------------------------------ audio

def phone_frequency(phone: str) -> Optional[float]:
    """The tone (Hz) of ``phone``'s segments; None for h#, pau and epi (noise only)."""
    if phone in SILENCES:
        return None
    return 180.0 + 52.0 * PHONES61.index(phone)


def _rng(seed: int, *keys: str) -> np.random.Generator:
    return np.random.default_rng([seed, *(zlib.crc32(k.encode()) for k in keys)])


def _weight(p: str) -> float:
    if p == "h#":
        return 2.5
    if p == "pau":
        return 2.0
    if p == "epi" or p in _STOPS:
        return 0.6
    if p in _CLOSURES:
        return 1.0
    if p in _VOWELS:
        return 3.0
    return 1.6


_MIN_SEG = 80  # samples (5 ms)


def _utterance(speaker: str, sentence: str, seconds: float, seed: int):
    """(segments [(begin, end, phone)], words [(begin, end, word)], text, samples int16)."""
    rng = _rng(seed, speaker.lower(), sentence)
    text = _text(sentence)
    phones: List[str] = ["h#"]
    spans: List[Tuple[int, int, str]] = []  # word -> indices into phones
    for i, w in enumerate(_words(text)):
        if i:
            r = rng.random()
            if r < 0.12:
                phones.append("pau")
            elif r < 0.18:
                phones.append("epi")
        prons = _LEX[w]
        pron = prons[int(rng.integers(len(prons)))].split()
        spans.append((len(phones), len(phones) + len(pron), w))
        phones.extend(pron)
    phones.append("h#")

    n = int(round(seconds * SAMPLE_RATE * rng.uniform(0.9, 1.1)))
    tail = 0 if rng.random() < 0.5 else int(rng.integers(1, 200))
    last = n - tail
    free = last - _MIN_SEG * len(phones)
    if free < 0:
        raise ValueError(f"{seconds} s is too short for {sentence}'s {len(phones)} phones")
    w = np.array([_weight(p) for p in phones]) * rng.uniform(0.7, 1.3, len(phones))
    bounds = np.rint(np.cumsum(w) / w.sum() * free).astype(np.int64) + _MIN_SEG * np.arange(1, len(phones) + 1)
    bounds[-1] = last
    begins = np.concatenate([[0], bounds[:-1]])
    segments = [(int(b), int(e), p) for b, e, p in zip(begins, bounds, phones)]
    words = [(segments[a][0], segments[b - 1][1], wd) for a, b, wd in spans]

    shift = 1.0 + 0.03 * (_speaker_index(speaker) % 5 - 2) / 2   # a speaker's own pitch, +-3 %
    x = np.zeros(n)
    for b, e, p in segments:
        f = phone_frequency(p)
        if f is None:
            continue
        t = np.arange(e - b) / SAMPLE_RATE
        amp = 900.0 if p in _CLOSURES else (4000.0 if p in _VOWELS else 2500.0)
        ramp = np.minimum(1.0, np.minimum(np.arange(e - b), np.arange(e - b)[::-1]) / 40.0)
        x[b:e] = amp * ramp * (np.sin(2 * np.pi * f * shift * t) + 0.3 * np.sin(4 * np.pi * f * shift * t))
    x += 60.0 * rng.standard_normal(n)
    samples = np.clip(np.rint(x), -32768, 32767).astype(np.int16)
    return segments, words, text, samples


def _timit_header(sample_count: int, utterance_id: str, smin: int, smax: int) -> bytes:
    """sphere_fixtures' header with TIMIT's fields, in TIMIT's order, without sample_coding."""
    extra = {"database_id": "TIMIT", "database_version": "1.0", "utterance_id": utterance_id,
             "sample_min": int(smin), "sample_max": int(smax)}
    text = sphere_header(sample_count, SAMPLE_RATE, 1, extra_fields=extra).decode("ascii")
    lines = text.split("\n")
    assert lines[0] == "NIST_1A" and lines[1].strip() == "1024", lines[:2]
    body = {ln.split(" ", 1)[0]: ln for ln in lines[2:lines.index("end_head")]}
    head = "NIST_1A\n   1024\n" + "".join(body[k] + "\n" for k, _ in SPHERE_FIELDS) + "end_head\n"
    assert len(head) <= 1024
    return (head + " " * (1024 - len(head))).encode("ascii")


def _write_wav(path: Path, samples: np.ndarray, utterance_id: str, riff: bool) -> None:
    if riff:
        import soundfile as sf
        sf.write(str(path), samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        return
    head = _timit_header(len(samples), utterance_id, int(samples.min()), int(samples.max()))
    path.write_bytes(head + samples.astype("<i2").tobytes())


# ------------------------------------------------------------------------------ the corpus

def _pick(kind: str, names: Sequence[str], n: int) -> List[str]:
    if not 0 <= n <= len(names):
        raise ValueError(f"{kind}: 0..{len(names)} speakers, not {n}")
    return list(names[:n])


def _as_list(x) -> list:
    """A fault option as a list: one id, or several."""
    if x is None:
        return []
    return [x] if isinstance(x, str) else list(x)


def _bad_phone_list(x) -> List[Tuple[str, int]]:
    """``bad_phone`` as [(utt, line)]: ``utt``, ``(utt, line)``, or a list of either."""
    if isinstance(x, tuple) and len(x) == 2 and isinstance(x[0], str) and isinstance(x[1], int):
        x = [x]
    return [(i, 2) if isinstance(i, str) else (i[0], int(i[1])) for i in _as_list(x)]


def make_timit(root: Union[str, Path], *, case: str = "upper", riff: bool = False,
               train_speakers: int = 4, dev_speakers: int = 2, core_speakers: int = 2,
               other_test_speakers: int = 1, sentences: Optional[Sequence[str]] = None,
               seconds: float = 0.6, seed: int = 0, docs: bool = True,
               missing_phn: Union[str, Iterable[str]] = (),
               bad_phone: Union[str, Tuple[str, int], Iterable] = (),
               phn_overrun: Union[str, Iterable[str]] = (),
               missing_speaker: Union[str, Iterable[str]] = ()) -> Path:
    """Write a miniature TIMIT under ``root`` and return its top (``root/TIMIT`` or ``root/timit``).

    The first ``train_speakers`` / ``dev_speakers`` / ``core_speakers`` /
    ``other_test_speakers`` of :func:`full_lists`' lists; each reads
    :func:`sentence_ids` (``sentences``), each utterance about ``seconds`` long (+-10 %).
    ``case`` "upper" (the LDC disc) or "lower" (the common copies); ``riff`` writes the
    .WAV files as RIFF/WAVE. Same arguments, same bytes.

    Faults (utterances as Kaldi ids, ``fcjf0_sa1``; each a single value or a list):
    ``missing_phn`` leaves out their .PHN; ``bad_phone`` (``utt`` or ``(utt, line)``,
    line 1-based, default 2) puts ``xx`` in place of that line's phone; ``phn_overrun``
    makes their .PHN's last end 160 samples past the audio's sample count;
    ``missing_speaker`` leaves out those speakers' dirs. A fault naming an utterance or
    speaker that is not written raises ValueError.
    """
    if case not in ("upper", "lower"):
        raise ValueError("case must be 'upper' or 'lower'")
    cased = str.upper if case == "upper" else str.lower
    root = Path(root)
    top = root / cased("timit")
    if top.exists():
        raise FileExistsError(top)
    lists = _LISTS
    speakers = (_pick("train", lists.train, train_speakers) + _pick("dev", lists.dev, dev_speakers)
                + _pick("core", lists.core, core_speakers)
                + _pick("other_test", lists.other_test, other_test_speakers))
    for spk in speakers:
        d = top / cased(lists.split_dir(spk)) / cased(f"dr{lists.dr[spk]}") / cased(spk)
        d.mkdir(parents=True)
        for sent in sentence_ids(spk, sentences):
            segments, words, text, samples = _utterance(spk, sent, seconds, seed)
            stem = d / cased(sent)
            _write_wav(stem.with_suffix(cased(".wav")), samples, f"{spk[1:]}_{sent.lower()}", riff)
            stem.with_suffix(cased(".phn")).write_text("".join(f"{b} {e} {p}\n" for b, e, p in segments))
            stem.with_suffix(cased(".wrd")).write_text("".join(f"{b} {e} {w}\n" for b, e, w in words))
            stem.with_suffix(cased(".txt")).write_text(f"0 {segments[-1][1]} {text}\n")
    if docs:
        _write_spkrinfo(top / cased("doc") / cased("spkrinfo.txt"), speakers)

    for utt in _as_list(missing_phn):
        remove_utt_file(top, utt, "phn")
    for utt, line in _bad_phone_list(bad_phone):
        corrupt_phone(top, utt, line)
    for utt in _as_list(phn_overrun):
        overrun_phn(top, utt)
    for spk in _as_list(missing_speaker):
        remove_speaker(top, spk)
    return top


def _write_spkrinfo(path: Path, speakers: Sequence[str]) -> None:
    """DOC/SPKRINFO.TXT: ';' comment lines, then ID (no sex letter), Sex, DR, Use (TRN/TST), ..."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [";  Speaker information (miniature TIMIT test fixture)", ";",
            ";  ID  Sex DR Use  RecDate   BirthDate  Ht     Race Edu  Comments", ";"]
    for spk in sorted(speakers, key=lambda s: s[1:]):
        use = "TRN" if _LISTS.split_dir(spk) == "TRAIN" else "TST"
        rows.append(f"  {spk[1:].upper()}  {spk[0].upper()}  {_LISTS.dr[spk]}  {use}  03/03/86  06/17/60"
                    f"  5'10\"  WHT  BS")
    path.write_text("\n".join(rows) + "\n")


# ------------------------------------------------------------------------------ finding files

def _child(d: Path, name: str) -> Optional[Path]:
    for c in d.iterdir() if d.is_dir() else ():
        if c.name.lower() == name.lower():
            return c
    return None


def _speaker_dirs(top: Path) -> Dict[str, Tuple[str, int, Path]]:
    """{speaker (lower): (split "train"/"test", region, dir)} of a written tree."""
    out = {}
    for split in sorted(top.iterdir()):
        if split.name.lower() not in ("train", "test") or not split.is_dir():
            continue
        for dr in sorted(split.iterdir()):
            m = re.fullmatch(r"dr([1-8])", dr.name.lower())
            if not m or not dr.is_dir():
                continue
            for spk in sorted(dr.iterdir()):
                if spk.is_dir():
                    out[spk.name.lower()] = (split.name.lower(), int(m.group(1)), spk)
    return out


def _split_utt(utt: str) -> Tuple[str, str]:
    m = re.fullmatch(r"([fm][a-z]{3}[0-9])_(sa[12]|sx\d+|si\d+)", utt.lower())
    if not m:
        raise ValueError(f"not a TIMIT utterance id (speaker_sentence): {utt!r}")
    return m.group(1), m.group(2)


def utt_file(top: Union[str, Path], utt: str, ext: str) -> Path:
    """The ``ext`` (wav/phn/wrd/txt) file of utterance ``utt``, in the tree's own case."""
    spk, sent = _split_utt(utt)
    dirs = _speaker_dirs(Path(top))
    if spk not in dirs:
        raise ValueError(f"no speaker dir for {spk} under {top}")
    f = _child(dirs[spk][2], f"{sent}.{ext}")
    if f is None:
        raise ValueError(f"no {sent}.{ext} in {dirs[spk][2]}")
    return f


def remove_utt_file(top, utt: str, ext: str = "phn") -> Path:
    f = utt_file(top, utt, ext)
    f.unlink()
    return f


def corrupt_phone(top, utt: str, line: int = 2, symbol: str = "xx") -> str:
    """Put ``symbol`` (not one of the 61) in place of the phone on 1-based ``line`` of the .PHN."""
    f = utt_file(top, utt, "phn")
    lines = f.read_text().splitlines()
    if not 1 <= line <= len(lines):
        raise ValueError(f"{f} has {len(lines)} lines, no line {line}")
    b, e, old = lines[line - 1].split()
    lines[line - 1] = f"{b} {e} {symbol}"
    f.write_text("".join(ln + "\n" for ln in lines))
    return old


def _num_samples(wav: Path) -> int:
    with open(wav, "rb") as fh:
        head = fh.read(1024)
    if head[:4] == b"RIFF":
        import soundfile as sf
        return sf.info(str(wav)).frames
    m = re.search(rb"\nsample_count -i (\d+)\n", head)
    if not head.startswith(b"NIST_1A\n") or not m:
        raise ValueError(f"{wav}: neither SPHERE with sample_count nor RIFF")
    return int(m.group(1))


def overrun_phn(top, utt: str, by: int = 160) -> int:
    """Make the .PHN's last end ``by`` samples past the audio's sample count; returns that end."""
    f = utt_file(top, utt, "phn")
    lines = f.read_text().splitlines()
    b, _, p = lines[-1].split()
    end = _num_samples(utt_file(top, utt, "wav")) + by
    lines[-1] = f"{b} {end} {p}"
    f.write_text("".join(ln + "\n" for ln in lines))
    return end


def remove_speaker(top, speaker: str) -> Path:
    dirs = _speaker_dirs(Path(top))
    if speaker.lower() not in dirs:
        raise ValueError(f"no speaker dir for {speaker} under {top}")
    d = dirs[speaker.lower()][2]
    shutil.rmtree(d)
    return d


# ------------------------------------------------------------------------------ expectations

@dataclass
class TimitExpected:
    """What a written tree holds, in Kaldi's conventions (utterance ids ``fcjf0_si1027``).

    ``splits`` lists the good utterances of train / dev / test (sorted); ``phones`` etc. hold
    every good utterance, SA and other-test ones included; ``bad`` maps each faulty utterance
    (no .PHN, a phone outside the 61, a .PHN that is not contiguous from 0 or ends past the
    audio) to the reason, and those are in no split.
    """
    splits: Dict[str, List[str]]
    phones: Dict[str, List[str]] = field(default_factory=dict)
    segments: Dict[str, List[Tuple[int, int, str]]] = field(default_factory=dict)
    words: Dict[str, List[str]] = field(default_factory=dict)
    text: Dict[str, str] = field(default_factory=dict)
    wav: Dict[str, Path] = field(default_factory=dict)
    num_samples: Dict[str, int] = field(default_factory=dict)
    utt2spk: Dict[str, str] = field(default_factory=dict)
    spk2gender: Dict[str, str] = field(default_factory=dict)
    spk2dr: Dict[str, int] = field(default_factory=dict)
    bad: Dict[str, str] = field(default_factory=dict)


def _check_phn(segments: List[Tuple[int, int, str]], n: int) -> Optional[str]:
    prev = 0
    for i, (b, e, p) in enumerate(segments, 1):
        if p not in PHONES61:
            return f"unknown phone {p!r} at line {i}"
        if b != prev or e <= b:
            return f"segment {b} {e} at line {i} does not follow {prev}"
        prev = e
    if not segments:
        return "empty .PHN"
    if prev > n:
        return f"last end {prev} past the {n} samples"
    return None


def timit_expected(top: Union[str, Path]) -> TimitExpected:
    """Walk a written tree (either case) and say what a preparation should make of it."""
    lists = _LISTS
    exp = TimitExpected(splits={"train": [], "dev": [], "test": []})
    for spk, (split, dr, d) in sorted(_speaker_dirs(Path(top)).items()):
        exp.spk2gender[spk] = spk[0]
        exp.spk2dr[spk] = dr
        for wav in sorted(d.iterdir()):
            if wav.suffix.lower() != ".wav":
                continue
            sent = wav.stem.lower()
            utt = f"{spk}_{sent}"
            phn = _child(d, f"{sent}.phn")
            n = _num_samples(wav)
            if phn is None:
                exp.bad[utt] = "no .PHN"
                continue
            segs = []
            for ln in phn.read_text().splitlines():
                b, e, p = ln.split()
                segs.append((int(b), int(e), p))
            why = _check_phn(segs, n)
            if why:
                exp.bad[utt] = why
                continue
            exp.utt2spk[utt] = spk
            exp.wav[utt] = wav
            exp.num_samples[utt] = n
            exp.segments[utt] = segs
            exp.phones[utt] = [p for _, _, p in segs]
            wrd, txt = _child(d, f"{sent}.wrd"), _child(d, f"{sent}.txt")
            if wrd is not None:
                exp.words[utt] = [ln.split()[2] for ln in wrd.read_text().splitlines()]
            if txt is not None:
                exp.text[utt] = txt.read_text().strip().split(" ", 2)[2]
            if sent.startswith("sa"):
                continue
            if split == "train":
                exp.splits["train"].append(utt)
            elif spk in lists.dev:
                exp.splits["dev"].append(utt)
            elif spk in lists.core:
                exp.splits["test"].append(utt)
    for v in exp.splits.values():
        v.sort()
    return exp
