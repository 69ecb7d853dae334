"""Decode log-probability matrices with TLG.fst: one word sequence per LM weight (one job of steps/decode.sh).

Writes <out-dir>/<lmwt>.<job>.tra (`utt word-id ...`) for each LM weight and logs
the real-time factor: decoding time over audio time (frames x --frame-shift). With --nbest N it
also writes <out-dir>/nbest.<job>.txt, the N best distinct word sequences of each utterance's
lattice with their graph and acoustic costs (nas.decoding.rescore: the input of LM rescoring).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, TextIO

from nas.data.table import TableError
from nas.decoding.logprobs import iter_logprobs, num_outputs, resolve_scp
from nas.decoding.rescore import write_nbest
from nas.decoding.wfst import DecoderConfig, WfstDecoder, load_graph
from nas.lang.symbols import invert, read_symbols

PROG = "decode_wfst"


def lmwt_name(w: float) -> str:
    """File-name form of an LM weight: 0.5 -> '0.5', 1.0 -> '1', 10.0 -> '10'."""
    return f"{w:g}"


def parse_weights(spec: str) -> List[float]:
    try:
        ws = [float(x) for x in spec.split()]
    except ValueError:
        raise ValueError(f"--lm-weights must be numbers, got {spec!r}") from None
    if not ws or any(w <= 0 for w in ws):
        raise ValueError(f"--lm-weights must be positive numbers, got {spec!r}")
    names = [lmwt_name(w) for w in ws]
    if len(set(names)) != len(names):
        raise ValueError(f"--lm-weights has repeated values: {spec!r}")
    return ws


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--beam", type=float, default=15.0)
    p.add_argument("--max-active", type=int, default=7000)
    p.add_argument("--min-active", type=int, default=20)
    p.add_argument("--acwt", type=float, default=1.0, help="acoustic scale")
    p.add_argument("--lm-weights", default="1.0", help="space-separated LM weights")
    p.add_argument("--mode", choices=("auto", "lattice", "redecode"), default="auto",
                   help="auto: redecode for up to 3 LM weights, else lattice (one lattice pass costs "
                        "about 3-4 FasterDecoder passes; docs/decoding.md)")
    p.add_argument("--lattice-beam", type=float, default=8.0)
    p.add_argument("--lattice-lmwt", type=float, default=None,
                   help="LM weight of the lattice pass (default: the middle of --lm-weights)")
    p.add_argument("--nbest", type=int, default=0, help="also write the N best word sequences of each lattice "
                   "(mode lattice; 0: none)")
    p.add_argument("--frame-shift", type=float, default=0.03, help="seconds per network output frame")
    p.add_argument("--job", default="1", help="job id in the output file names")
    p.add_argument("--verbose", action="store_true", help="log each utterance's hypothesis")
    p.add_argument("graph_dir", help="has TLG.fst and words.txt, tokens.txt")
    p.add_argument("logprobs", help="scp, or a directory with logprobs.scp")
    p.add_argument("out_dir")
    return p


def main(argv: Optional[List[str]] = None) -> int:
    a = _parser().parse_args(argv)
    graph = Path(a.graph_dir)
    try:
        weights = parse_weights(a.lm_weights)
        mode = a.mode if a.mode != "auto" else ("redecode" if len(weights) <= 3 else "lattice")
        lattice_lmwt = a.lattice_lmwt if a.lattice_lmwt is not None else sorted(weights)[len(weights) // 2]
        config = DecoderConfig(beam=a.beam, max_active=a.max_active, min_active=a.min_active, acwt=a.acwt,
                               lattice_beam=a.lattice_beam, lattice_lmwt=lattice_lmwt, mode=mode)
        config.check()
        if a.nbest < 0 or (a.nbest and mode != "lattice"):
            raise ValueError(f"--nbest {a.nbest}: n-best lists come from the lattice pass (--mode lattice), "
                             f"and N must be positive")
        words = invert(read_symbols(graph / "words.txt"))
        v = num_outputs(read_symbols(graph / "tokens.txt"))
        scp = resolve_scp(a.logprobs)
        if not (graph / "TLG.fst").is_file():
            raise TableError(f"no such file: {graph / 'TLG.fst'} (run utils/mkgraph.sh)")
        t0 = time.perf_counter()
        decoder = WfstDecoder(load_graph(str(graph / "TLG.fst")), config)
        print(f"{PROG}: loaded {graph / 'TLG.fst'} in {time.perf_counter() - t0:.1f}s; mode {mode}, "
              f"beam {a.beam:g}, max-active {a.max_active}, acwt {a.acwt:g}, LM weights {a.lm_weights}")
    except (TableError, OSError, ValueError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    out = Path(a.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files: Dict[float, TextIO] = {w: open(out / f"{lmwt_name(w)}.{a.job}.tra", "w", encoding="utf-8")
                                  for w in weights}
    nbest_file = open(out / f"nbest.{a.job}.txt", "w", encoding="utf-8") if a.nbest else None
    n_utt = n_frames = n_not_final = 0
    decode_s = 0.0
    try:
        for utt, x in iter_logprobs(scp, v):
            t = time.perf_counter()
            hyps, nbest = decoder.decode_nbest(x, weights, a.nbest)
            decode_s += time.perf_counter() - t
            n_utt += 1
            n_frames += x.shape[0]
            if not all(h.reached_final for h in hyps.values()):
                n_not_final += 1
                print(f"{PROG}: WARNING: utterance {utt}: no final state reached (beam {a.beam:g} too small, "
                      f"or the utterance is not in the graph's language); keeping the best partial path")
            for w, h in hyps.items():
                files[w].write(" ".join([utt] + [str(i) for i in h.words]) + "\n")
            if nbest_file is not None:
                write_nbest(nbest_file, utt, nbest)
            if a.verbose:
                w = lattice_lmwt if lattice_lmwt in hyps else weights[0]
                print(f"{utt} " + " ".join(words.get(i, str(i)) for i in hyps[w].words))
    except (TableError, OSError, ValueError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    finally:
        for f in list(files.values()) + ([nbest_file] if nbest_file is not None else []):
            f.close()
    audio_s = n_frames * a.frame_shift
    rtf = decode_s / audio_s if audio_s else 0.0
    print(f"{PROG}: decoded {n_utt} utterances ({n_not_final} without a final state), {n_frames} frames")
    print(f"{PROG}: RTF {rtf:.4f} = decode {decode_s:.2f}s / audio {audio_s:.2f}s "
          f"({len(weights)} LM weights, mode {mode})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
