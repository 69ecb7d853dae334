"""Score a decode dir against an stm reference with sclite after a GLM, per subset (steps/score_stm.sh).

For every <decode-dir>/scoring/<lmwt>.txt (steps/decode.sh) writes
<decode-dir>/score_<lmwt>/: ctm (words spread over their stm segments), ctm.filt
(through the GLM), and per subset <subset>.stm, <subset>.ctm.filt and sclite's
<subset>.sys / <subset>.raw; prints one Kaldi %WER line per weight and subset,
and writes <decode-dir>/best_wer_<subset> (the best weight of each subset).
The stm goes through the GLM once: <decode-dir>/scoring/stm.filt.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

from nas.data.table import TableError
from nas.decoding.stm_score import (SubsetScore, drop_ctm_lines, find_sclite_or_fail, glm_filter, hyps_to_ctm,
                                    parse_subsets, read_reco2file_and_channel, read_segments, read_stm_spans,
                                    run_sclite_stm, select_lines, write_ctm)
from nas.decoding.texts import read_text

PROG = "score_stm"
HYP_NAME = re.compile(r"^(\d+(?:\.\d+)?)\.txt$")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--stm", help="reference (default: <data-dir>/stm)")
    p.add_argument("--glm", help="GLM applied to both sides (default: <data-dir>/glm if present; '' for none)")
    p.add_argument("--subsets", default="all:.",
                   help="space-separated NAME:REGEX on the stm/ctm file ids, e.g. 'swbd:^sw_ callhm:^en_'")
    p.add_argument("--ignore-words", default="", help="hypothesis words left out of the ctm")
    p.add_argument("--ignore-regex", default="",
                   help="ctm lines matching this regular expression, case-insensitively, are left out (as "
                        "`grep -i -v -E`), e.g. Kaldi's Switchboard hesitations and partial words")
    p.add_argument("--sclite-opts", default="-F -D", help="options for sclite's stm/ctm scoring")
    p.add_argument("data_dir", help="with segments and reco2file_and_channel (and stm, glm)")
    p.add_argument("decode_dir")
    a = p.parse_args(argv)
    data, dec = Path(a.data_dir), Path(a.decode_dir)
    try:
        stm = Path(a.stm) if a.stm else data / "stm"
        glm: Optional[Path] = None
        if a.glm is None:
            glm = data / "glm" if (data / "glm").is_file() else None
        elif a.glm:
            glm = Path(a.glm)
        for f in [stm, data / "segments", data / "reco2file_and_channel"] + ([glm] if glm else []):
            if not f.is_file():
                raise TableError(f"{f}: no such file")
        subsets = parse_subsets(a.subsets)
        try:
            re.compile(a.ignore_regex)
        except re.error as e:
            raise ValueError(f"--ignore-regex {a.ignore_regex!r}: {e}") from None
        segments = read_segments(data / "segments")
        reco2fc = read_reco2file_and_channel(data / "reco2file_and_channel")
        weights = sorted((m.group(1) for f in (dec / "scoring").glob("*.txt") if (m := HYP_NAME.match(f.name))),
                         key=float) if (dec / "scoring").is_dir() else []
        if not weights:
            raise TableError(f"no hypotheses <lmwt>.txt in {dec / 'scoring'} (run steps/decode.sh first)")
        sclite = find_sclite_or_fail()
        stm_filt = dec / "scoring" / "stm.filt"
        glm_filter(stm, stm_filt, "stm", "ref", glm, sclite)
        ignore = set(a.ignore_words.split())
        spans = read_stm_spans(stm)
        best: Dict[str, SubsetScore] = {}
        for w in weights:
            out = dec / f"score_{w}"
            out.mkdir(parents=True, exist_ok=True)
            rows, unplaced = hyps_to_ctm(read_text(dec / "scoring" / f"{w}.txt"), segments, reco2fc, ignore,
                                         spans)
            if unplaced:
                print(f"{PROG}: WARNING: LM weight {w}: {len(unplaced)} hypotheses have no segment or recording "
                      f"in {data} (left out): {' '.join(unplaced[:5])}", file=sys.stderr)
            rows, _ = drop_ctm_lines(rows, a.ignore_regex)
            write_ctm(out / "ctm", rows)
            glm_filter(out / "ctm", out / "ctm.filt", "ctm", "hyp", glm, sclite)
            for name, rx in subsets:
                n_ref = select_lines(stm_filt, out / f"{name}.stm", rx, keep_comments=True)
                if n_ref == 0:
                    raise TableError(f"subset {name} ({rx}): no stm line of {stm} has a matching file id")
                select_lines(out / "ctm.filt", out / f"{name}.ctm.filt", rx, keep_comments=False)
                summary = run_sclite_stm(out / f"{name}.stm", out / f"{name}.ctm.filt", out, name, sclite,
                                         a.sclite_opts.split())
                s = SubsetScore(w, name, summary, out / f"{name}.sys")
                print(s.kaldi_line())
                if name not in best or s.wer < best[name].wer:
                    best[name] = s
    except (TableError, OSError, ValueError, RuntimeError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    for name, s in best.items():
        (dec / f"best_wer_{name}").write_text(s.kaldi_line() + "\n", encoding="utf-8")
        print(f"{PROG}: best {name}: {s.kaldi_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
