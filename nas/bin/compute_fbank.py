"""Compute fbank features for a wav.scp (optionally with segments) into a Kaldi ark/scp pair.

Called per job by steps/make_fbank.sh. An utterance whose audio cannot be read is reported on
stderr with its id and skipped; the run goes on. An utterance whose audio file stops before the
end its header declares (a copy cut short) is reported with the share of its audio that is
missing and, by default (--truncated drop), skipped too: half an utterance under the whole
transcript is a wrong training target. A write that fails (a full disk) removes this job's
outputs and ends with one line naming the file and the cause. The last line states how many
utterances succeeded, failed and were truncated.
"""
from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Tuple

import numpy as np

from nas.data.audio import AudioError, Shortfall, cut_segment, read_audio_checked, select_channel
from nas.data.table import TableError, iter_table
from nas.features.ark import ArkScpWriter, ArkWriteError, blame
from nas.features.fbank import FbankConfig, compute_fbank
from nas.features.kaldi_options import OptionError, parse_option

PROG = "compute_fbank"
Segment = Optional[Tuple[float, float]]


def _utterances(wav_scp: str, segments: Optional[str]) -> Iterator[Tuple[str, str, Segment]]:
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


def missing_share(short: Optional[Shortfall], n_present: int, rate: int, seg: Segment) -> Optional[float]:
    """The share (0..1] of an utterance's audio that its truncated file lacks; None when it has it
    all (no shortfall, or a segment that ends in the part that is there)."""
    if short is None:
        return None
    if seg is None:
        return short.missing
    present_end = n_present / rate
    declared_end = present_end * short.declared / short.present if short.present else math.inf
    start, end = seg
    end = declared_end if end <= 0 else min(end, declared_end)
    if end <= present_end or end <= start:
        return None
    return min(1.0, (end - max(start, present_end)) / (end - start))


@dataclass
class JobResult:
    failed: List[str] = field(default_factory=list)
    truncated: List[Tuple[str, float, str]] = field(default_factory=list)    # (utt, share missing, entry)
    frames: Dict[str, int] = field(default_factory=dict)
    durations: Dict[str, float] = field(default_factory=dict)


def _features(utt: str, samples: np.ndarray, rate: int, seg: Segment, cfg: FbankConfig) -> Tuple[np.ndarray, float]:
    if seg is not None:
        samples = cut_segment(samples, rate, seg[0], seg[1], f"utterance {utt}")
    wave = select_channel(samples, cfg.channel, f"utterance {utt}")
    dur = len(wave) / rate
    if dur < cfg.min_duration:
        raise AudioError(f"duration {dur:.3f}s is below --min-duration={cfg.min_duration}")
    feats = compute_fbank(wave, rate, cfg)
    if feats.shape[0] == 0:
        raise AudioError(f"too short for one frame ({len(wave)} samples)")
    return feats, dur


def run_job(utts: Iterator[Tuple[str, str, Segment]], cfg: FbankConfig, writer: ArkScpWriter,
            keep_truncated: bool) -> JobResult:
    """Features of every readable utterance into `writer`; the others are reported and skipped.
    An ArkWriteError (the disk is full) propagates."""
    res = JobResult()
    cache: Tuple[str, Optional[Tuple[np.ndarray, int, Optional[Shortfall]]]] = ("", None)
    for utt, entry, seg in utts:
        try:
            if not entry:
                raise AudioError("its recording is not in wav.scp")
            if cache[0] != entry:  # segments of one recording are read once
                cache = (entry, read_audio_checked(entry))
            samples, rate, short = cache[1]
            lost = missing_share(short, samples.shape[0], rate, seg)
            if lost is not None:
                res.truncated.append((utt, lost, entry))
                print(f"{PROG}: WARNING: utterance {utt}: {math.ceil(100 * lost)}% of its audio is missing "
                      f"({entry}: {short.describe()}); " +
                      ("kept (--truncated keep)" if keep_truncated else "left out (--truncated drop)"),
                      file=sys.stderr)
                if not keep_truncated:
                    continue
            feats, dur = _features(utt, samples, rate, seg, cfg)
        except (AudioError, ValueError) as e:
            res.failed.append(utt)
            print(f"{PROG}: WARNING: utterance {utt}: {e}", file=sys.stderr)
            continue
        writer(utt, feats)
        res.frames[utt] = feats.shape[0]
        res.durations[utt] = dur
    return res


def _write_lists(a: argparse.Namespace, res: JobResult) -> None:
    tables = ((a.write_utt2num_frames, [f"{u} {n}\n" for u, n in res.frames.items()]),
              (a.write_utt2dur, [f"{u} {d:.4f}\n" for u, d in res.durations.items()]),
              (a.write_truncated, [f"{u} {math.ceil(100 * s)} {e}\n" for u, s, e in res.truncated]))
    for path, lines in tables:
        if path:
            with blame(path), open(path, "w", encoding="utf-8") as f:
                f.writelines(lines)


def _parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="Kaldi option file (e.g. conf/fbank.conf)")
    p.add_argument("--option", action="append", default=[], metavar="--NAME=VALUE",
                   help="an extra Kaldi option overriding the config file (repeatable)")
    p.add_argument("--segments", help="segments file; wav.scp is then keyed by recording")
    p.add_argument("--write-utt2num-frames", metavar="FILE", help="write '<utt> <frames>' lines")
    p.add_argument("--write-utt2dur", metavar="FILE", help="write '<utt> <seconds>' lines")
    p.add_argument("--write-truncated", metavar="FILE",
                   help="write '<utt> <percent of its audio missing> <wav.scp entry>' for truncated audio")
    p.add_argument("--truncated", choices=("drop", "keep"), default="drop",
                   help="an utterance whose audio file is shorter than its header says: left out (drop) "
                        "or computed from what is there (keep)")
    p.add_argument("--compress", action="store_true", help="Kaldi-compressed matrices (about 2x smaller)")
    p.add_argument("wav_scp")
    p.add_argument("ark")
    p.add_argument("scp")
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    a = _parse_args(argv)
    try:
        cfg = FbankConfig.from_file(a.config, [parse_option(o, "--option") for o in a.option])
    except OptionError as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 2
    print(f"{PROG}: options: " + " ".join(f"--{k}={v}" for k, v in sorted(cfg.values.items())), file=sys.stderr)
    lists = [f for f in (a.write_utt2num_frames, a.write_utt2dur, a.write_truncated) if f]
    writer = None
    try:
        writer = ArkScpWriter(a.ark, a.scp, 2 if a.compress else None, also=lists)
        res = run_job(_utterances(a.wav_scp, a.segments), cfg, writer, a.truncated == "keep")
        writer.close()
        _write_lists(a, res)
    except (TableError, ArkWriteError) as e:
        if writer is not None:
            writer.discard()
        removed = f" (removed this job's outputs: {a.ark}, {a.scp})" if isinstance(e, ArkWriteError) else ""
        print(f"{PROG}: ERROR: {e}{removed}", file=sys.stderr)
        return 2
    n_ok = len(res.frames)
    print(f"{PROG}: done {n_ok} utterances, {len(res.failed)} failed" +
          (f": {' '.join(res.failed)}" if res.failed else "") +
          (f"; {len(res.truncated)} truncated ({'kept' if a.truncated == 'keep' else 'left out'}): "
           f"{' '.join(u for u, _, _ in res.truncated)}" if res.truncated else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
