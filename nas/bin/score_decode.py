"""Score a decode dir: every <dir>/scoring/<lmwt>.filt.txt against a reference text (steps/score.sh's core).

Per LM weight writes <dir>/wer_<lmwt> (Kaldi's %WER / %SER lines),
<dir>/scoring/wer_details/per_utt_<lmwt> (ref / hyp / op / #csid per utterance) and
<dir>/scoring/<lmwt>.trn (with <dir>/scoring/ref.trn, for sclite); prints one
`%WER ... <dir>/wer_<lmwt>` line per weight. With --sclite, also runs sclite on
the trn files (reports under <dir>/scoring/sclite/) and prints its counts.

A partial score (a reference without hypothesis, a hypothesis without reference) is never
silent: the %WER line says 'over N of M utterances (PARTIAL: ...)' and the utterances are
named in <dir>/scoring/partial_<lmwt> (see --mode for what a missing hypothesis counts for).
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Dict, List, Optional

from nas.data.table import TableError, read_dict
from nas.decoding.sclite import find_sclite, run_sclite, write_trn
from nas.decoding.texts import read_text
from nas.decoding.wer import MODES, SCLITE_COSTS, UNIT_COSTS, ErrorCounts, normalize, partial_warnings, score

PROG = "score_decode"
HYP_NAME = re.compile(r"^(\d+(?:\.\d+)?)\.filt\.txt$")


def find_weights(scoring: Path) -> List[str]:
    """LM-weight names of the hypothesis files, in numeric order."""
    names = [m.group(1) for f in scoring.iterdir() if (m := HYP_NAME.match(f.name))]
    return sorted(names, key=float)


def write_partial_list(counts: ErrorCounts, path: Path) -> None:
    """<decode-dir>/scoring/partial_<lmwt>: the utterances a partial score left out or counted
    as deletions (removed when the score is complete)."""
    lines = counts.partial_lines()
    if lines:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        counts.partial_list = str(path)
    elif path.exists():
        path.unlink()


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--ignore-words", default="", help="space-separated words removed from ref and hyp")
    p.add_argument("--costs", choices=("levenshtein", "sclite"), default="levenshtein")
    p.add_argument("--sclite", action="store_true", help="also score with sclite (Debian's sctk)")
    p.add_argument("--mode", choices=MODES, default="all",
                   help="a reference without hypothesis: all deletions (all), not scored (present), an error (strict)")
    p.add_argument("--utt2spk", help="speakers for the trn ids (spk-utt)")
    p.add_argument("ref_text")
    p.add_argument("decode_dir")
    a = p.parse_args(argv)
    d = Path(a.decode_dir)
    scoring = d / "scoring"
    drop = a.ignore_words.split()
    try:
        refs = {u: normalize(w, drop) for u, w in read_text(a.ref_text).items()}
        utt2spk: Optional[Dict[str, str]] = read_dict(a.utt2spk) if a.utt2spk else None
        weights = find_weights(scoring) if scoring.is_dir() else []
        if not weights:
            raise TableError(f"no hypotheses <lmwt>.filt.txt in {scoring} (run steps/decode.sh first)")
        sclite = find_sclite() if a.sclite else None
        if a.sclite and sclite is None:
            raise TableError("--sclite: sclite not found (install Debian's sctk, or set $SCLITE)")
    except (TableError, OSError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    costs = SCLITE_COSTS if a.costs == "sclite" else UNIT_COSTS
    details_dir = scoring / "wer_details"
    details_dir.mkdir(parents=True, exist_ok=True)
    utts = sorted(refs)
    write_trn(scoring / "ref.trn", refs, utt2spk, utts)
    for w in weights:
        try:
            hyps = {u: normalize(x, drop) for u, x in read_text(scoring / f"{w}.filt.txt").items()}
        except (TableError, OSError) as e:
            print(f"{PROG}: ERROR: {e}", file=sys.stderr)
            return 1
        try:
            counts, details = score(refs, hyps, costs, a.mode)
        except ValueError as e:
            print(f"{PROG}: ERROR: {scoring / f'{w}.filt.txt'}: {e}", file=sys.stderr)
            return 1
        write_partial_list(counts, scoring / f"partial_{w}")
        with open(d / f"wer_{w}", "w", encoding="utf-8") as f:
            f.write(counts.wer_line() + "\n" + counts.ser_line() + "\n" + counts.scored_line() + "\n")
        with open(details_dir / f"per_utt_{w}", "w", encoding="utf-8") as f:
            for u in details:
                f.write("\n".join(u.detail_lines()) + "\n")
        write_trn(scoring / f"{w}.trn", hyps, utt2spk, utts)
        for line in partial_warnings(counts, a.ref_text, str(scoring / f"{w}.filt.txt")):
            print(f"{PROG}: WARNING: LM weight {w}: {line}", file=sys.stderr)
        print(counts.wer_line(str(d / f"wer_{w}")))
        if sclite:
            try:
                s = run_sclite(scoring / "ref.trn", scoring / f"{w}.trn", scoring / "sclite", w, sclite)
            except (RuntimeError, ValueError, OSError) as e:
                print(f"{PROG}: ERROR: {e}", file=sys.stderr)
                return 1
            sc = ErrorCounts(ref_words=s.words, corr=s.corr, ins=s.ins, dels=s.dels, subs=s.subs,
                             sentences=s.sentences, sent_errors=s.sent_errors)
            with open(scoring / "sclite" / f"wer_{w}", "w", encoding="utf-8") as f:
                f.write(sc.wer_line() + "\n" + sc.ser_line() + "\n")
            print(sc.wer_line(str(scoring / "sclite" / f"wer_{w}")) + " (sclite)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
