"""Speed-perturbed copies of a data dir, Kaldi style: ids prefixed `sp<factor>-`, audio through sox.

Backs utils/data/perturb_data_dir_speed.sh and perturb_data_dir_speed_3way.sh.
Each factor F gives a copy whose utterance and speaker ids (and recording ids
when there are segments) carry the prefix `spF-`, except, with `keep_ids` (the
3-way script, as Kaldi's, which combines the source dir itself with its 0.9 and
1.1 copies), the 1.0 copy, which keeps the source's ids, so that alignments,
lattices or features made on the source by Kaldi still match; wav.scp entries pipe the
audio through `sox ... speed F` (pitch and tempo change together, the sample
rate is kept); segment times and utt2dur are divided by F; utt2uniq maps every
copy to its original utterance, so train/held-out splits can keep copies
together. Features, CMVN and frame counts are not copied: they must be redone.
"""
from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from nas.data.audio import is_pipe
from nas.data.table import TableError, read_dict, spk2utt_from_utt2spk, write_table

PROG = "perturb_data_dir_speed.sh"
# formats sox cannot decode by itself (Shorten-compressed SPHERE): go through our sph2pipe
_SPHERE_EXTENSIONS = (".sph", ".wv1", ".wv2")


def format_factor(f: float) -> str:
    """Kaldi spells factors with one decimal at least: 0.9, 1.0, 1.1, 0.95."""
    s = f"{f:.4f}".rstrip("0")
    return s + "0" if s.endswith(".") else s


def perturbed_wav_entry(entry: str, factor: float) -> str:
    """The wav.scp value that yields `entry`'s audio at speed `factor`."""
    if factor == 1.0:
        return entry
    effect = f"sox -t wav - -t wav - speed {format_factor(factor)}"
    if is_pipe(entry):
        return f"{entry.rstrip()[:-1].rstrip()} | {effect} |"
    if entry.lower().endswith(_SPHERE_EXTENSIONS):
        return f"sph2pipe -f wav -p {entry} | {effect} |"
    return f"sox {entry} -t wav - speed {format_factor(factor)} |"


def perturb(src: Path, dest: Path, factors: Sequence[float], keep_ids: bool = False) -> int:
    """Write the union of the perturbed copies of `src` into `dest` (the 1.0 copy under the
    source's own ids with `keep_ids`); returns the utterance count."""
    if not (src / "utt2spk").is_file() or not (src / "wav.scp").is_file():
        raise FileNotFoundError(f"{src} needs utt2spk and wav.scp")
    for f in factors:
        if not 0.5 <= f <= 2.0:
            raise ValueError(f"speed factor {f} is outside [0.5, 2.0]")
    tables: Dict[str, Dict[str, str]] = {}
    for name in ("utt2spk", "wav.scp", "text", "segments", "utt2dur", "utt2lang", "spk2gender",
                 "reco2file_and_channel", "reco2dur", "utt2uniq"):
        if (src / name).is_file():
            tables[name] = read_dict(src / name)
    has_segments = "segments" in tables
    out: Dict[str, List] = defaultdict(list)
    for f in factors:
        p = "" if keep_ids and f == 1.0 else f"sp{format_factor(f)}-"
        for utt, spk in tables["utt2spk"].items():
            out["utt2spk"].append((p + utt, p + spk))
            out["utt2uniq"].append((p + utt, tables.get("utt2uniq", {}).get(utt, utt)))
        for name in ("text", "utt2lang"):
            out[name] += [(p + u, v) for u, v in tables.get(name, {}).items()]
        out["spk2gender"] += [(p + s, v) for s, v in tables.get("spk2gender", {}).items()]
        if "utt2dur" in tables:
            out["utt2dur"] += [(p + u, f"{float(v) / f:.4f}") for u, v in tables["utt2dur"].items()]
        if has_segments:
            for utt, v in tables["segments"].items():
                reco, start, end = v.split()[:3]
                e = float(end)
                out["segments"].append((p + utt, f"{p + reco} {float(start) / f:.3f} {e / f if e > 0 else e:.3f}"))
            out["reco2file_and_channel"] += [(p + r, v) for r, v in tables.get("reco2file_and_channel", {}).items()]
            out["reco2dur"] += [(p + r, f"{float(v) / f:.4f}") for r, v in tables.get("reco2dur", {}).items()]
        # wav.scp is keyed by recording (with segments) or by utterance: the prefix goes on either way
        out["wav.scp"] += [(p + k, perturbed_wav_entry(v, f)) for k, v in tables["wav.scp"].items()]

    dest.mkdir(parents=True, exist_ok=True)
    # every table of an earlier run goes, so none of it can disagree with this one
    for stale in ("feats.scp", "cmvn.scp", "utt2num_frames", "spk2utt", "utt2dur", "reco2dur", "segments",
                  "reco2file_and_channel", "text", "utt2lang", "spk2gender", "utt2uniq", "utt2spk", "wav.scp"):
        (dest / stale).unlink(missing_ok=True)
    for name, rows in out.items():
        if rows:
            write_table(dest / name, rows)
    utt2spk = dict(out["utt2spk"])
    write_table(dest / "spk2utt", [(s, " ".join(u)) for s, u in spk2utt_from_utt2spk(utt2spk).items()])
    return len(utt2spk)


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--factors", required=True, help="comma-separated speed factors, e.g. 0.9,1.0,1.1")
    p.add_argument("--keep-ids", action="store_true",
                   help="the 1.0 copy keeps the source's utterance, speaker and recording ids (Kaldi's 3-way script)")
    p.add_argument("src_dir")
    p.add_argument("dest_dir")
    a = p.parse_args(argv)
    try:
        factors = [float(x) for x in a.factors.split(",")]
    except ValueError:
        print(f"{PROG}: ERROR: bad --factors {a.factors!r}", file=sys.stderr)
        return 1
    if len(set(factors)) != len(factors):
        print(f"{PROG}: ERROR: repeated factor in {a.factors}", file=sys.stderr)
        return 1
    try:
        n = perturb(Path(a.src_dir), Path(a.dest_dir), factors, keep_ids=a.keep_ids)
    except (FileNotFoundError, ValueError, TableError) as e:
        print(f"{PROG}: ERROR: {e}", file=sys.stderr)
        return 1
    print(f"{PROG}: wrote {n} utterances ({len(factors)} speed(s): "
          f"{', '.join(map(format_factor, factors))}) to {a.dest_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
