"""Compute fbank features for a wav.scp (optionally with segments) into a Kaldi ark/scp pair.

Called per job by steps/make_fbank.sh. An utterance whose audio cannot be read
is reported on stderr with its id and skipped; the run goes on. The last line
states how many succeeded and failed.
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, Iterator, List, Optional, Tuple

import kaldiio
import numpy as np

from nas.data.audio import AudioError, cut_segment, read_audio, select_channel
from nas.data.table import TableError, iter_table
from nas.features.fbank import FbankConfig, compute_fbank
from nas.features.kaldi_options import OptionError, parse_option

PROG = "compute_fbank"


def _utterances(wav_scp: str, segments: Optional[str]) -> Iterator[Tuple[str, str, Optional[Tuple[float, float]]]]:
    """(utt, wav.scp entry, segment or None), in the order of segments / wav.scp."""
    wavs = {e.key: e.value for e in iter_table(wav_scp)}
    if not segments:
        for utt, entry in wavs.items():
            yield utt, entry, None
        return
    for e in iter_table(segments):
        f = e.value.split()
        if len(f) not in (3, 4):
            raise TableError(f"{segments}:{e.lineno}: expected '<utt> <reco> <start> <end>'")
        try:
            start, end = float(f[1]), float(f[2])
        except ValueError:
            raise TableError(f"{segments}:{e.lineno}: bad start/end times {f[1]!r} {f[2]!r}") from None
        if f[0] not in wavs:
            yield e.key, "", None  # reported as a failure below
        else:
            yield e.key, wavs[f[0]], (start, end)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="Kaldi option file (e.g. conf/fbank.conf)")
    p.add_argument("--option", action="append", default=[], metavar="--NAME=VALUE",
                   help="an extra Kaldi option overriding the config file (repeatable)")
    p.add_argument("--segments", help="segments file; wav.scp is then keyed by recording")
    p.add_argument("--write-utt2num-frames", metavar="FILE", help="write '<utt> <frames>' lines")
    p.add_argument("--write-utt2dur", metavar="FILE", help="write '<utt> <seconds>' lines")
    p.add_argument("--compress", action="store_true", help="Kaldi-compressed matrices (about 2x smaller)")
    p.add_argument("wav_scp")
    p.add_argument("ark")
    p.add_argument("scp")
    a = p.parse_args(argv)

    try:
        cfg = FbankConfig.from_file(a.config, [parse_option(o, "--option") for o in a.option])
    except OptionError as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 2
    print(f"{PROG}: options: " + " ".join(f"--{k}={v}" for k, v in sorted(cfg.values.items())), file=sys.stderr)

    ok, failed = 0, []
    frames_out: Dict[str, int] = {}
    dur_out: Dict[str, float] = {}
    cache: Tuple[str, Optional[Tuple[np.ndarray, int]]] = ("", None)
    write_kw = {"compression_method": 2} if a.compress else {}
    try:
        with kaldiio.WriteHelper(f"ark,scp:{a.ark},{a.scp}", **write_kw) as writer:
            for utt, entry, seg in _utterances(a.wav_scp, a.segments):
                try:
                    if not entry:
                        raise AudioError("its recording is not in wav.scp")
                    if cache[0] != entry:  # segments of one recording are read once
                        cache = (entry, read_audio(entry))
                    samples, rate = cache[1]
                    if seg is not None:
                        samples = cut_segment(samples, rate, seg[0], seg[1], f"utterance {utt}")
                    wave = select_channel(samples, cfg.channel, f"utterance {utt}")
                    dur = len(wave) / rate
                    if dur < cfg.min_duration:
                        raise AudioError(f"duration {dur:.3f}s is below --min-duration={cfg.min_duration}")
                    feats = compute_fbank(wave, rate, cfg)
                    if feats.shape[0] == 0:
                        raise AudioError(f"too short for one frame ({len(wave)} samples)")
                except (AudioError, ValueError) as e:
                    failed.append(utt)
                    print(f"{PROG}: WARNING: utterance {utt}: {e}", file=sys.stderr)
                    continue
                writer(utt, feats)
                frames_out[utt] = feats.shape[0]
                dur_out[utt] = dur
                ok += 1
    except TableError as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 2

    if a.write_utt2num_frames:
        with open(a.write_utt2num_frames, "w") as f:
            f.writelines(f"{u} {n}\n" for u, n in frames_out.items())
    if a.write_utt2dur:
        with open(a.write_utt2dur, "w") as f:
            f.writelines(f"{u} {d:.4f}\n" for u, d in dur_out.items())
    print(f"{PROG}: done {ok} utterances, {len(failed)} failed" +
          (f": {' '.join(failed)}" if failed else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
