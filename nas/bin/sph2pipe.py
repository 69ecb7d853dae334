"""sph2pipe-compatible converter: NIST SPHERE (plain or Shorten) to WAV on stdout.

Our implementation over nas.data.audio (desphere, and our decoder for Shorten
version 1), so that Kaldi-style wav.scp entries such as
`sph2pipe -f wav -p -c 1 /corpus/x.sph |` work without the original tool, for
every coding LDC discs carry (pcm or ulaw, embedded-shorten-v1.09/-v1.1/-v2.00).
Options: -f wav|raw (output format), -p (PCM output; always the case here),
-c N (1-based channel), -t beg:end (seconds) or -s beg:end (samples).
"""
from __future__ import annotations

import argparse
import io
import sys
from typing import List, Optional

import numpy as np
import soundfile

from nas.data.audio import AudioError, read_audio_checked


def _range(spec: str, scale: float, n: int) -> slice:
    beg, _, end = spec.partition(":")
    b = int(round(float(beg) * scale)) if beg else 0
    e = int(round(float(end) * scale)) if end else n
    return slice(max(0, b), min(n, e))


def _declare_length(wav: bytes, data_bytes: int) -> bytes:
    """`wav` with its data chunk's size (and the RIFF size) set to `data_bytes`."""
    pos = wav.index(b"data", 12)
    out = bytearray(wav)
    out[pos + 4:pos + 8] = data_bytes.to_bytes(4, "little")
    out[4:8] = (pos + 8 + data_bytes - 8).to_bytes(4, "little")
    return bytes(out)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="sph2pipe", description=__doc__.split("\n\n")[0])
    p.add_argument("-f", dest="fmt", default="wav", choices=["wav", "raw", "rif"], help="output format (rif = wav)")
    p.add_argument("-p", dest="pcm", action="store_true", help="16-bit PCM output (always)")
    p.add_argument("-c", dest="channel", type=int, default=0, help="1-based channel to keep (default: all)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-t", dest="time", help="time range beg:end in seconds")
    g.add_argument("-s", dest="samples", help="sample range beg:end")
    p.add_argument("input")
    p.add_argument("output", nargs="?", default="-")
    a = p.parse_args(argv)
    try:
        x, rate, short = read_audio_checked(a.input)
    except AudioError as e:
        print(f"sph2pipe: {e}", file=sys.stderr)
        return 1
    if a.channel:
        if not 1 <= a.channel <= x.shape[1]:
            print(f"sph2pipe: {a.input}: channel {a.channel} requested, file has {x.shape[1]}", file=sys.stderr)
            return 1
        x = x[:, a.channel - 1:a.channel]
    n_present = len(x)
    # a truncated input: the header keeps the length it declares, as LDC's sph2pipe writes it, so
    # that the reader of the pipe (compute_fbank) sees the shortfall instead of a whole short file
    n_declared = n_present if short is None else n_present * short.declared // max(short.present, 1)
    sel = slice(0, n_declared)
    if a.time:
        sel = _range(a.time, rate, n_declared)
    elif a.samples:
        sel = _range(a.samples, 1, n_declared)
    x = x[sel]
    n_header = sel.stop - sel.start
    pcm = x.astype(np.int16)
    if a.fmt == "raw":
        data = pcm.tobytes()
    else:
        buf = io.BytesIO()
        soundfile.write(buf, pcm, rate, format="WAV", subtype="PCM_16")
        data = buf.getvalue()
        if short is not None and n_header > len(pcm):
            print(f"sph2pipe: WARNING: {a.input}: {short.describe()}", file=sys.stderr)
            data = _declare_length(data, n_header * pcm.shape[1] * 2)
    if a.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        with open(a.output, "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
