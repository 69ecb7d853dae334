"""Stage 6: write the architecture a finished search derived as arch.json.

Reads SEARCH_DIR/final.pt, where the search keeps what its strategy derived (the top-1 op per
block, or the random search's best-scored sample), the space, the input features, the
final probabilities and the convergence record, and writes OUT_DIR/arch.json with its
provenance and every block's relative entropy and top-1/top-2 margin ("decisions"). It warns on
stderr about each undecided block (relative entropy not below the search's --converge-entropy)
and about a search that ended unconverged: such a pick is close to a random one.
A search run with --latency-table (its config in final.pt) derived within its latency budget or
under its soft term; arch.json then records the table, its setting and the predicted latency,
checked here once more against the table: an architecture over a hard budget is an error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List, Optional

from nas.bench.latency import LatencyError, load_latency_table
from nas.models.arch import Arch
from nas.models.decision import DECIDED_ENTROPY, decisions, undecided
from nas.models.space import SpaceError
from nas.options import parse_bool
from nas.train.checkpoint import CheckpointError, load_checkpoint
from nas.train.search import arch_from_search


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m nas.bin.derive", description=__doc__.split("\n\n")[0],
                                epilog="example: python -m nas.bin.derive exp/nas/search exp/nas/derive")
    p.add_argument("search_dir")
    p.add_argument("out_dir")
    p.add_argument("--overwrite", type=parse_bool, default=False, metavar="BOOL",
                   help="replace an existing arch.json (default: false)")
    args = p.parse_args(argv)
    out = Path(args.out_dir) / "arch.json"
    if out.exists() and not args.overwrite:
        raise SystemExit(f"{out} exists; pass --overwrite true to replace it")
    final = Path(args.search_dir) / "final.pt"
    if not final.is_file():
        raise SystemExit(f"{args.search_dir}: no final.pt; the search has not finished (resume it with --resume true)")
    try:
        arch = arch_from_search(load_checkpoint(final, fix="rerun the search (stage 5) with --overwrite true"), final)
    except (SpaceError, CheckpointError) as e:
        raise SystemExit(str(e)) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    arch.write(out)
    print(f"derive: {out}: " + " ".join(f"{b}={op}" for b, op in arch.choices.items()))
    dec = decisions(arch.probs)
    for b, pr in arch.probs.items():
        print(f"  {b:<10} " + "  ".join(f"{op}={x:.3f}" for op, x in pr.items())
              + f"  (relative entropy {dec[b]['rel_entropy']:.3f}, margin {dec[b]['margin']:.3f})")
    warn_undecided(arch, dec)
    if arch.latency:
        print(f"  latency: {latency_line(arch)}")
    return 0


def latency_line(arch: Arch) -> str:
    """The predicted latency against the budget or target, recomputed from the table when it is
    still there; SystemExit when the architecture exceeds a hard budget."""
    lat = arch.latency
    predicted = float(lat["predicted_ms"])
    note = ""
    if Path(lat["table"]).is_file():
        try:
            predicted = load_latency_table(lat["table"]).predict(arch.choices)
        except LatencyError as e:
            raise SystemExit(f"derive: {e}") from None
        if abs(predicted - float(lat["predicted_ms"])) > 1e-3:
            note = f" (the search predicted {lat['predicted_ms']} ms: the table changed since)"
    else:
        note = " (the table is gone: the search's prediction)"
    if "budget_ms" in lat and predicted > float(lat["budget_ms"]):
        raise SystemExit(f"derive: the derived architecture takes {predicted:.4g} ms by {lat['table']}, over the "
                         f"search's budget of {lat['budget_ms']:g} ms")
    bound = (f"budget {lat['budget_ms']:g} ms" if "budget_ms" in lat else
             f"soft term {lat.get('form')}" + (f", target {lat['target_ms']:g} ms" if "target_ms" in lat else ""))
    mode = lat.get("setting", {}).get("mode", "?")
    return f"predicted {predicted:.4g} ms ({bound}; {mode} setting of {lat['table']}){note}"


def warn_undecided(arch: Arch, dec: dict) -> List[str]:
    """Warn on stderr about undecided blocks and an unconverged search; returns the warnings."""
    conv = arch.source.get("convergence") or {}
    threshold = conv.get("threshold", DECIDED_ENTROPY)
    lines = [f"derive: warning: block {b} is undecided: relative entropy {dec[b]['rel_entropy']:.3f} (not below "
             f"{threshold:g}), top-1/top-2 margin {dec[b]['margin']:.3f}: its pick is close to a random one"
             for b in undecided(dec, threshold)]
    if conv.get("converged") is False:
        lines.append(f"derive: warning: the search ended unconverged ({conv.get('stopped_by')}, after "
                     f"{conv.get('epochs')} of at most {conv.get('max_epochs')} epochs)")
    for line in lines:
        print(line, file=sys.stderr)
    return lines


if __name__ == "__main__":
    sys.exit(main())
