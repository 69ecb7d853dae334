"""Transcribe audio files with a trained model and a decoding graph: one line of words per file.

Output (stdout), one line per file, in the order given:
    <file> <word> <word> ... (RTF <x>)
<file> is the path as given (one with whitespace gets a note: its line no longer splits like a
Kaldi text line), the words are the best path of TLG at the LM weight, and x is the real-time
factor: the seconds spent on that file (reading, resampling, features, network, search) over its
audio's seconds.
`sed 's/ (RTF [0-9.]*)$//'` leaves a Kaldi text file. Everything else goes to stderr, each line
starting with 'transcribe:': the settings (LM weight and where it comes from, fbank config,
CMVN), a note per adapted file (channels mixed down, resampled, truncated, no final state), an
ERROR line per file that cannot be read, and a summary with the overall RTF.

Audio: wav, flac, NIST SPHERE (plain or Shorten), at any rate (resampled with sox to the fbank
config's rate) and any channel count (mixed down to their mean). CMVN: a recording has no
speaker statistics; by default each file is normalized with its own statistics (a speaker of
one utterance), or with --cmvn's (the training set's global statistics: a matrix from
steps/make_features.sh --global-cmvn, or a cmvn.scp whose speakers are summed).

Exit status: 0 when every file was transcribed; 1 when some file could not be read (the others
are still transcribed); 2 when the model, graph or options cannot be used (nothing decoded).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional

from nas.data.audio import AudioError
from nas.decoding.transcriber import (DEFAULT_LMWT, SetupError, Stage8, Transcriber, Transcript, stage8_choices,
                                      training_fbank_config)
from nas.decoding.wfst import DecoderConfig
from nas.features.fbank import FbankConfig
from nas.features.kaldi_options import OptionError
from nas.features.recording import read_cmvn_stats

PROG = "transcribe"
SEARCH_DEFAULTS = {"--beam": 15.0, "--max-active": 7000, "--acwt": 1.0}      # steps/decode.sh's


def _parser() -> argparse.ArgumentParser:
    """The command line; --help carries the module docstring (output format, CMVN, exit status)."""
    p = argparse.ArgumentParser(prog=f"python -m nas.bin.{PROG}", description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]) + "\n\nexample: python -m nas.bin."
                                "transcribe egs/synth/exp/nas_st_seed0/retrain egs/synth/data/lang_phn my.wav",
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model_dir", type=Path, help="a retrain exp dir (arch.json and best.pt)")
    p.add_argument("graph_dir", type=Path, help="a graph dir with TLG.fst, words.txt, tokens.txt "
                                                "(utils/mkgraph.sh), or a lang dir with one in graph/")
    p.add_argument("audio", nargs="+", help="audio files: wav, flac, SPHERE")
    p.add_argument("--lmwt", type=float, default=None,
                   help="LM weight (default: the one stage 8 chose on dev, from MODEL_DIR/RESULTS or "
                        f"MODEL_DIR/decode_dev/best_wer; without either {DEFAULT_LMWT:g})")
    p.add_argument("--cmvn", type=Path, default=None, help="CMVN statistics for every file: a stats matrix or a "
                   "cmvn.scp (summed); default: each file's own")
    p.add_argument("--fbank-config", type=Path, default=None,
                   help="Kaldi fbank options (default: the config the model's training features were made with, "
                        "as stage 2 recorded it in the training data dir)")
    for flag, kind, what in (("--beam", float, "decoding beam"), ("--max-active", int, "most active states per frame"),
                             ("--acwt", float, "acoustic scale")):
        p.add_argument(flag, type=kind, default=None, help=f"{what} (default: as stage 8 decoded the dev set, from "
                       f"MODEL_DIR/decode_<dev>/.inputs.json; without it steps/decode.sh's {SEARCH_DEFAULTS[flag]})")
    p.add_argument("--checkpoint", default="best.pt", help="checkpoint in MODEL_DIR (default: %(default)s)")
    p.add_argument("--device", default="cpu", help="torch device of the network (default: %(default)s)")
    return p


def note(text: str) -> None:
    """A line on stderr, which keeps stdout to the transcripts."""
    print(f"{PROG}: {text}", file=sys.stderr)


def _setup(a: argparse.Namespace) -> Transcriber:
    """Everything checked before the first file: options, fbank config, LM weight, model vs graph."""
    if not a.model_dir.is_dir():
        raise SetupError(f"no such model dir: {a.model_dir}")
    config = _model_config(a.model_dir)
    if a.fbank_config is not None:
        conf, how = a.fbank_config, f"{a.fbank_config} (--fbank-config)"
    else:
        conf, how = training_fbank_config(a.model_dir, config)
    try:
        fbank = FbankConfig.from_file(conf)
    except OptionError as e:
        raise SetupError(str(e)) from None
    note(f"fbank config {how}: {fbank.dim} dims at {fbank.sample_frequency:g} Hz")
    stage8 = stage8_choices(a.model_dir)
    lmwt, how = ((a.lmwt, "--lmwt") if a.lmwt is not None else (stage8.lmwt, stage8.lmwt_from) if stage8.lmwt
                 else (DEFAULT_LMWT, f"the default; {a.model_dir} records none chosen on dev"))
    if not lmwt > 0:
        raise SetupError(f"--lmwt must be positive, got {lmwt:g}")
    note(f"LM weight {lmwt:g} ({how})")
    cmvn = read_cmvn_stats(a.cmvn) if a.cmvn is not None else None
    dec = DecoderConfig(mode="redecode", **_search_options(a, stage8))
    dec.check()
    t = Transcriber(a.model_dir, a.graph_dir, fbank, lmwt, dec, cmvn, a.checkpoint, a.device, config)
    if t.pipeline.apply_cmvn:
        note("CMVN: " + (f"the statistics of {a.cmvn} for every file" if cmvn is not None else
                         "each file's own statistics (no speaker statistics for a single recording; "
                         "--cmvn gives the training set's)"))
    note(f"model {a.model_dir / a.checkpoint}, graph {t.graph_dir / 'TLG.fst'}")
    return t


def _search_options(a: argparse.Namespace, stage8: Stage8) -> dict:
    """beam, max_active, acwt: the flags', else stage 8's, else steps/decode.sh's defaults; noted."""
    opts, hows = {}, []
    for flag, default in SEARCH_DEFAULTS.items():
        key = flag[2:].replace("-", "_")
        given = getattr(a, key)
        src = "flag" if given is not None else "stage 8" if key in stage8.search else "default"
        opts[key] = given if given is not None else stage8.search.get(key, default)
        hows.append(f"{flag[2:]} {opts[key]:g} ({src})")
    note("search: " + ", ".join(hows) + (f"; stage 8's {stage8.search_from}" if stage8.search else ""))
    return opts


def _model_config(model_dir: Path) -> dict:
    """The training stage's config.json (the data and lang dirs it used), {} when absent."""
    f = model_dir / "config.json"
    try:
        return json.loads(f.read_text()) if f.is_file() else {}
    except ValueError as e:
        raise SetupError(f"{f}: {e}") from None


def line(t: Transcript) -> str:
    """The stdout line of one file."""
    return " ".join([t.path, *t.words, f"(RTF {t.rtf:.3f})"])


def main(argv: Optional[List[str]] = None) -> int:
    """Set up once, then each file in turn: a file that fails is reported and the rest go on."""
    a = _parser().parse_args(argv)
    try:
        transcriber = _setup(a)
    except (SetupError, ValueError, OSError) as e:    # TableError, SpaceError, a bad TLG are ValueErrors
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 2
    failed: List[str] = []
    audio_s = decode_s = 0.0
    for path in a.audio:
        try:
            t = transcriber.transcribe(path)
        except (AudioError, ValueError) as e:
            msg = str(e)
            print(f"{PROG}: ERROR: {msg if path in msg else f'{path}: {msg}'}", file=sys.stderr)
            failed.append(path)
            continue
        if any(c.isspace() for c in path):
            t.notes.append("the path has whitespace: its line does not split like a Kaldi text line")
        for n in t.notes:
            note(f"note: {path}: {n}")
        if not t.reached_final:
            note(f"note: {path}: no final state reached (beam {transcriber.decoder.config.beam:g}); "
                 f"words of the best partial path")
        print(line(t), flush=True)
        audio_s += t.seconds
        decode_s += t.decode_s
    done = len(a.audio) - len(failed)
    note(f"{done} of {len(a.audio)} files transcribed" + (f"; could not read: {' '.join(failed)}" if failed else "")
         + (f"; RTF {decode_s / audio_s:.3f} = {decode_s:.2f}s / {audio_s:.2f}s of audio" if audio_s else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
