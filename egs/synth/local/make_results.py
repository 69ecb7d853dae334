#!/usr/bin/env python3
"""Write RESULTS.md from the exp dirs of local/run_compare.sh.

Usage: local/make_results.py [--seeds "0 1 2"] <exp-dir> <RESULTS.md>

Rows (each over the seeds found): ST-NAS (its derived architecture retrained with CTC-CRF),
random search, TDNN-D, and ST-NAS's architecture retrained with CTC. Columns: test WER (TLG,
at the LM weight best on dev, from retrain/RESULTS) and greedy PER, as mean, sample standard deviation and the per-seed values;
then the derived architectures, the measured run times, the search's probability plot
(copied next to RESULTS.md as results/probs_st_seed<S>.png) and stage 9's LM rescoring
(--only-rescore rewrites that section alone).
"""
from __future__ import annotations

import argparse
import json
import platform
import re
import shutil
import statistics
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROWS = [  # (label, exp dir pattern, retrain dir)
    ("ST-NAS, retrained with CTC-CRF", "nas_st_seed{s}", "retrain"),
    ("Random search (best of 10), CTC-CRF", "nas_random_seed{s}", "retrain"),
    ("TDNN-D (hand-designed), CTC-CRF", "tdnn_d_seed{s}", "retrain"),
    ("ST-NAS architecture, retrained with CTC", "nas_st_seed{s}", "retrain_ctc"),
]
_RATE = re.compile(r"%(WER|PER) ([\d.]+) \[ (\d+) / (\d+)")


def read_rate(path: Path, prefix: str = "") -> Optional[Tuple[float, int, int]]:
    """(rate, errors, reference count) from the first Kaldi-style %WER/%PER line of a file that
    starts with `prefix`, or None if absent."""
    if not path.is_file():
        return None
    for line in path.read_text().splitlines():
        m = _RATE.search(line) if line.startswith(prefix) else None
        if m:
            return float(m.group(2)), int(m.group(3)), int(m.group(4))
    return None


def num_params(d: Path) -> Optional[int]:
    log = d / "log" / "train.log"
    m = re.search(r"retrain: (\d+) parameters", log.read_text()) if log.is_file() else None
    return int(m.group(1)) if m else None


def summary(values: List[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def read_times(path: Path) -> Dict[str, int]:
    out: Dict[str, int] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            name, _, sec = line.partition(" ")
            if sec.strip().isdigit():
                out[name] = int(sec)        # the last run of a name counts
    return out


def stage_seconds(d: Path) -> float:
    """Training time of a stage dir: the sum of its logged epoch times."""
    log = d / "log" / "train.log"
    if not log.is_file():
        return 0.0
    return sum(float(m.group(1)) for m in re.finditer(r"time_s ([\d.]+)", log.read_text()))


RESCORE_TITLE = "## LM rescoring (stage 9), ST-NAS"


def rescore_section(exp: Path, seeds: List[str]) -> List[str]:
    """The first pass with the word bigram against its n-best lists rescored with the 4-gram, per
    seed with a retrain/RESULTS_rescore (stage 9), dev and test at the LM weight best on dev."""
    rows = []
    for s in seeds:
        f = exp / f"nas_st_seed{s}" / "retrain" / "RESULTS_rescore"
        if not f.is_file():
            continue
        found = re.findall(r"^(dev|test) WER at LM weight ([\d.]+) \(best on dev\): %WER ([\d.]+)", f.read_text(), re.M)
        if len(found) != 4:
            continue
        (_, w1, d1), (_, _, t1), (_, w2, d2), (_, _, t2) = found
        stage8 = read_rate(f.parent / "RESULTS", "test WER at LM weight")
        rows.append(f"| st seed {s} | {d1} | {t1} (LM weight {w1}) | {d2} | {t2} (LM weight {w2}) | "
                    f"{float(t2) - float(t1):+.2f} | {'-' if stage8 is None else f'{stage8[0]:.2f}'} |")
    if not rows:
        return []
    ppl = []                             # the LMs' dev perplexities (steps/train_word_lm.sh's logs)
    for name, d in (("bigram", "lm_o2"), ("4-gram", "lm_o4"), ("stage 1's trigram", "lm")):
        log = exp.parent / "data" / "local" / d / "log" / "train_word_lm.log"
        m = re.search(r" ppl= ([\d.]+)", log.read_text()) if log.is_file() else None
        if m:
            ppl.append(f"{name} {m.group(1)}")
    note = [f"Perplexity of the dev text: {', '.join(ppl)}."] if ppl else []
    return ["", RESCORE_TITLE, "",
            "The retrained model's log-probabilities decoded with a word bigram (lattice mode; the 100 best "
            "distinct word sequences of each lattice kept), then those lists rescored with a word 4-gram (the "
            "bigram's cost out, the 4-gram's in; docs/decoding.md), both LMs on stage 1's LM text; the LM weight "
            f"of each pass chosen on dev. From retrain/RESULTS_rescore (`./run.sh --stage 9`), written on "
            f"{time.strftime('%Y-%m-%d')}; the last column is the same run's stage 8 (the trigram TLG), which "
            "may be a later run of the seed than the table above.", "",
            "| run | dev WER %, bigram | test WER %, bigram | dev WER %, 4-gram rescored | test WER %, 4-gram rescored "
            "| test change | test WER %, stage 8 (trigram) |", "|---|---|---|---|---|---|---|"] + rows + ([""] + note if note else [])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default="0 1 2")
    p.add_argument("--only-rescore", action="store_true",
                   help="only (re)write the LM rescoring section of an existing RESULTS.md, before its Notes")
    p.add_argument("exp_dir")
    p.add_argument("results")
    args = p.parse_args()
    exp, out = Path(args.exp_dir), Path(args.results)
    seeds = args.seeds.split()
    if args.only_rescore:
        section = rescore_section(exp, seeds)
        if not section:
            raise SystemExit(f"make_results: no nas_st_seedS/retrain/RESULTS_rescore in {exp} (run ./run.sh --stage 9)")
        text = out.read_text()
        if RESCORE_TITLE in text:                      # replace the old section, up to the next one
            a = text.index("\n" + RESCORE_TITLE)
            b = text.find("\n## ", a + 1)
            text = text[:a] + text[b:] if b >= 0 else text[:a]
        a = text.find("\n## Notes")
        text = (text[:a] + "\n".join(section) + "\n" + text[a:]) if a >= 0 else text + "\n".join(section) + "\n"
        out.write_text(text)
        print(f"{out}: LM rescoring section written")
        return 0

    lines = ["# Results of the default recipe (egs/synth)", "",
             f"Written by `local/make_results.py` on {time.strftime('%Y-%m-%d')} from the exp dirs of "
             f"`local/run_compare.sh --seeds \"{args.seeds}\"`; machine: {platform.machine()}, "
             f"{platform.system()}, Python {platform.python_version()}.",
             "Test set: the held-out voices (speaker-disjoint from training). WER: TLG decoding with the "
             "recipe's word 3-gram, at the LM weight that is best on the dev voices. PER: greedy (best path per frame) phone error rate.",
             "Mean ± sample standard deviation over the seeds found, then the per-seed values.", "",
             "| system | seeds | params (M) | test WER % | test PER % (greedy) | WER per seed | PER per seed |",
             "|---|---|---|---|---|---|---|"]
    for label, pattern, rdir in ROWS:
        wers, pers, found, params = [], [], [], []
        for s in seeds:
            d = exp / pattern.format(s=s) / rdir / "decode_test"
            w, ph = read_rate(d.parent / "RESULTS", "test WER at LM weight"), read_rate(d / "per.txt")
            if w is None:
                continue
            found.append(s)
            n = num_params(d.parent)
            if n is not None:
                params.append(n / 1e6)
            wers.append(w[0])
            if ph is not None:
                pers.append(ph[0])
        if not found:
            lines.append(f"| {label} | none | - | - | - | - | - |")
            continue
        size = "-" if not params else (f"{params[0]:.2f}" if len(set(params)) == 1 else
                                       f"{min(params):.2f}-{max(params):.2f}")
        lines.append(f"| {label} | {' '.join(found)} | {size} | {summary(wers)} | {summary(pers)} | "
                     f"{' '.join(f'{v:.2f}' for v in wers)} | {' '.join(f'{v:.2f}' for v in pers)} |")

    lines += ["", "## Architectures", "", "| run | " + " | ".join(f"block{i}" for i in range(1, 7)) + " |",
              "|---|" + "---|" * 6]
    for method in ("st", "random"):
        for s in seeds:
            f = exp / f"nas_{method}_seed{s}" / "derive" / "arch.json"
            if f.is_file():
                ch = json.loads(f.read_text())["choices"]
                lines.append(f"| {method} seed {s} | " + " | ".join(ch.get(f"block{i}", "?") for i in range(1, 7)) + " |")

    times = read_times(exp / "compare_times.txt")
    if times:
        lines += ["", "## Run times", "",
                  "Wall-clock seconds of each `run.sh` call of `local/run_compare.sh` (the first includes "
                  "stages 0-3 when they had not run yet), and the training time of the stages in it.", "",
                  "| run | wall s | warm-up s | search s | retrain s |", "|---|---|---|---|---|"]
        for name, sec in times.items():
            m = re.match(r"(st|random|tdnn_d|st_ctc)_seed(\d+)$", name)
            if not m:
                continue
            kind, s = m.groups()
            d = exp / ("tdnn_d_seed" + s if kind == "tdnn_d" else f"nas_{'random' if kind == 'random' else 'st'}_seed{s}")
            warm = stage_seconds(exp / f"warmup_seed{s}") if kind == "st" else 0.0
            search = stage_seconds(d / "search") if kind in ("st", "random") else 0.0
            rt = stage_seconds(d / ("retrain_ctc" if kind == "st_ctc" else "retrain"))
            lines.append(f"| {name} | {sec} | {warm:.0f} | {search:.0f} | {rt:.0f} |")
        lines.append(f"| all | {sum(times.values())} | | | |")

    plots = []
    for s in seeds:
        src = exp / f"nas_st_seed{s}" / "search" / "probs.png"
        if src.is_file():
            dst = out.parent / "results" / f"probs_st_seed{s}.png"
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)
            plots.append((s, dst.relative_to(out.parent)))
        txt = exp / f"nas_st_seed{s}" / "search" / "probs.txt"
        if s == seeds[0] and txt.is_file():
            lines += ["", f"## Final architecture probabilities, ST-NAS seed {s}", "", "```",
                      txt.read_text().rstrip(), "```"]
    if plots:
        lines += ["", "## The search's probabilities (ST-NAS)", ""]
        lines += [f"![seed {s}]({rel})" for s, rel in plots]
    lines += rescore_section(exp, seeds)
    lines += ["", "## Notes", "",
              "- The schedule is scaled for a 2-core CPU (conf/*.yaml, batches of 16): warm-up and search on "
              "the unperturbed training set, two epochs on the anchor sub-graph (TDNN-D) whose ops then seed "
              "every candidate and two of uniform sub-graphs, then two search epochs; two retraining epochs "
              "on the 3-way perturbed set. The paper ran 65, 22 and 29 epochs of batches of 128/64/128 on "
              "80 hours. The anchor start favours the non-dilated candidates at first (docs/nas.md), which "
              "the TDNN-D and random-search rows help to judge.",
              "- Random search scores 10 uniformly drawn architectures on the held-out utterances with the "
              "warmed-up super-network's weights and retrains the best.",
              "- Greedy PER takes the best token per frame. A CTC-retrained model is trained for that; a "
              "CTC-CRF one is not (its scores are normalized over whole sequences with the phone LM of the "
              "denominator), and its greedy output has many insertions: compare CTC-CRF models by WER."]
    out.write_text("\n".join(lines) + "\n")
    print(f"{out}: {len(lines)} lines")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
