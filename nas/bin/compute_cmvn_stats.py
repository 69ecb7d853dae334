"""Per-speaker CMVN statistics (Kaldi's 2 x (D+1) matrix) from feats.scp into cmvn ark/scp.

Speakers none of whose utterances have features are reported and left out. --write-global
accumulates one matrix over every utterance instead (saved to that file), and --read-global
takes one from such a file (the training set's, for dev and test): every speaker of cmvn.scp
then gets it, so the per-speaker CMVN of the training stages normalizes with global statistics
(NAS-Bench-ASR normalizes with the training set's mean and variance).
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

import kaldiio

from nas.data.table import TableError, iter_table
from nas.features.cmvn import accumulate

PROG = "compute_cmvn_stats"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--spk2utt", help="accumulate per speaker; without it, per utterance")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--write-global", metavar="FILE", help="one matrix over all utterances, also saved to FILE")
    g.add_argument("--read-global", metavar="FILE", help="the matrix of FILE (a --write-global output) for everyone")
    p.add_argument("feats_scp")
    p.add_argument("ark")
    p.add_argument("scp")
    a = p.parse_args(argv)
    feats = kaldiio.load_scp(a.feats_scp)
    try:
        groups = ([(e.key, e.value.split()) for e in iter_table(a.spk2utt)] if a.spk2utt
                  else [(u, [u]) for u in feats.keys()])
    except TableError as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 2
    fixed = None
    if a.read_global:
        try:
            fixed = kaldiio.load_mat(a.read_global)
        except (OSError, ValueError) as e:
            print(f"{PROG}: ERROR: --read-global {a.read_global}: {e}", file=sys.stderr)
            return 2
    elif a.write_global:
        fixed = accumulate(feats[u] for u in feats.keys())
        if fixed is None:
            print(f"{PROG}: ERROR: {a.feats_scp}: no features to accumulate", file=sys.stderr)
            return 1
        kaldiio.save_mat(a.write_global, fixed)
    done, missing_spk, missing_utt = 0, [], 0
    with kaldiio.WriteHelper(f"ark,scp:{a.ark},{a.scp}") as writer:
        for spk, utts in groups:
            present = [u for u in utts if u in feats]
            missing_utt += len(utts) - len(present)
            stats = (fixed if present else None) if fixed is not None else accumulate(feats[u] for u in present)
            if stats is None:
                missing_spk.append(spk)
                print(f"{PROG}: WARNING: no features for any utterance of speaker {spk}", file=sys.stderr)
                continue
            writer(spk, stats)
            done += 1
    kind = "global stats" if fixed is not None else "stats"
    print(f"{PROG}: wrote {kind} for {done} speakers; {len(missing_spk)} speakers without features, "
          f"{missing_utt} utterances without features", file=sys.stderr)
    return 0 if done else 1


if __name__ == "__main__":
    sys.exit(main())
