"""BENCH.md: the search methods scored against the ground-truth tables, written by script.

Reads a bench dir as egs/synth/local/run_bench.sh and score_search.sh leave it: the plan, the
tables (tables/<space>, tables/<space>_noise), each search's derived architecture trained
stand-alone (derived/<space>_<method>_seed<S>), the super-network scores of the table's
architectures (search/<space>_<method>_seed<S>/score, search/<space>_warmup/score) and the
tabular methods' summaries (tabular/<space>). What BENCH.md takes from the (large) search and
training dirs is kept in records/<name>.json, rewritten whenever those dirs are there, so that
a copy of the bench dir without them (the tables, records/ and tabular/: egs/synth/results/bench)
still makes the same BENCH.md. Every figure in the file is computed here from those files; none
is typed in.

Verdicts compare two methods' mean test WER over seeds with the table's noise floor (the mean
standard deviation over seeds of one architecture trained several times): a difference within
twice the noise floor is "no difference beyond the noise".

Each search's row also says how decided its blocks ended (the largest relative entropy and the
smallest top-1/top-2 margin over its blocks, nas.models.decision) and whether it converged. A
search whose held-out set was not its warm-up's ("heldout_leak": its alpha was fitted on
utterances the shared weights were trained on) is marked and left out of the means and verdicts.
Records written before searches took their warm-up's held-out list have no such field: for those,
a search of another seed than the warm-up's (the first seed, as score_search.sh runs them) drew
its own split and is taken as leaked.
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from nas.bench.errors import BenchFileError
from nas.bench.exhaustive_report import exhaustive_sections
from nas.bench.ground_truth import read_plan, read_run, space_codec
from nas.bench.report import markdown_table, noise_floor, rank_correlations, scatter, standing
from nas.bench.table import load_folder
from nas.models.arch import read_arch
from nas.models.decision import decisions


def _pct(x: Optional[float]) -> str:
    return "-" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.2f}"


def _stage_seconds(exp: Path) -> Optional[float]:
    f = exp / "final.pt"
    if not f.is_file():
        return None
    state = torch.load(f, map_location="cpu", weights_only=False)
    return float(sum(h.get("time_s", 0.0) for h in state["history"]))


def _scores(d: Path) -> Optional[Dict[str, float]]:
    f = d / "score" / "scores.json"
    return {x["id"]: x["loss"] for x in json.loads(f.read_text())["scores"]} if f.is_file() else None


def _search_record(bench: Path, space: str, method: str, seed: int) -> Optional[dict]:
    """A search's derived architecture (its choices), that architecture's stand-alone row, the
    search's seconds and the super-network's scores of the table; None before the row exists."""
    s = bench / "search" / f"{space}_{method}_seed{seed}"
    run = read_run(bench / "derived" / f"{space}_{method}_seed{seed}")
    if run is None:
        return None
    arch = read_arch(s / "derive" / "arch.json")
    conv = arch.source.get("convergence") or {}
    return {"choices": arch.choices, "run": run, "search_s": _stage_seconds(s / "search"), "scores": _scores(s),
            "decisions": decisions(arch.probs), "converged": conv.get("converged"),
            "heldout_leak": _leaked(s / "search", bench / "search" / f"{space}_warmup" / "warmup")}


def _leaked(search: Path, warmup: Path) -> Optional[bool]:
    """Whether a search held out other utterances than its warm-up (None: a list is missing)."""
    lists = [d / "heldout.list" for d in (search, warmup)]
    if not all(f.is_file() for f in lists):
        return None
    return sorted(lists[0].read_text().split()) != sorted(lists[1].read_text().split())


def leaked(rec: dict, seed: int, warmup_seed: int) -> bool:
    """A record's held-out leak, or for a record without the field (written before searches took
    their warm-up's list) whether its seed differs from the warm-up's, which then meant a leak."""
    if "heldout_leak" in rec:
        return bool(rec["heldout_leak"])
    return seed != warmup_seed


def _decided(rec: dict) -> Tuple[str, str, str]:
    """The row's max relative entropy, min margin and converged cells ("-" for older records)."""
    dec = rec.get("decisions")
    if not dec:
        return "-", "-", "-"
    conv = rec.get("converged")
    return (f"{max(d['rel_entropy'] for d in dec.values()):.2f}", f"{min(d['margin'] for d in dec.values()):.2f}",
            "-" if conv is None else ("yes" if conv else "no"))


def _warmup_record(bench: Path, space: str) -> Optional[dict]:
    d = bench / "search" / f"{space}_warmup"
    scores = _scores(d)
    return None if scores is None else {"scores": scores, "warmup_s": _stage_seconds(d / "warmup")}


def _transfer_record(bench: Path, space: str, seed: int) -> Optional[dict]:
    run = read_run(bench / "derived" / f"{space}_transfer_seed{seed}", "retrain_width=0.1")
    spk = bench / "proxy_speakers.txt"
    return None if run is None else {"run": run, "voices": len(spk.read_text().split()) if spk.is_file() else None}


def record(bench: Path, name: str, build: Callable[[], Optional[dict]]) -> Optional[dict]:
    """records/<name>.json, rebuilt from the search and training dirs when `build` finds them
    (then written, so that it stays current), else the stored copy (None if neither)."""
    f = bench / "records" / f"{name}.json"
    rec = build()
    if rec is None:
        return json.loads(f.read_text()) if f.is_file() else None
    f.parent.mkdir(parents=True, exist_ok=True)
    f.write_text(json.dumps(rec, indent=1, sort_keys=True) + "\n")
    return rec


def _verdict(a: List[float], b: List[float], floor: Optional[float]) -> str:
    if not a or not b:
        return "not measured"
    diff = float(np.mean(a) - np.mean(b))
    if floor is None:
        return f"{100 * diff:+.2f} points (no noise floor measured)"
    if abs(diff) <= 2 * floor:
        return f"no difference beyond the noise ({100 * diff:+.2f} points; noise floor {100 * floor:.2f})"
    return f"{'better' if diff < 0 else 'worse'} by {100 * abs(diff):.2f} points (noise floor {100 * floor:.2f})"


def table_diagnostics(table, test: np.ndarray, floor: Optional[float]) -> List[str]:
    """What the table alone says about its space: how many architectures are as good as the best
    within the noise (twice the floor), how far the median is from the best in noise floors (is
    there anything to find?), and whether size alone ranks them (Kendall's tau of the parameter
    count against test WER)."""
    lines = []
    ok = ~np.isnan(test)
    best = float(np.min(test[ok]))
    if floor:
        close = int(np.sum(test[ok] <= best + 2 * floor))
        lines.append(f"Within twice the noise floor of the best: {close} of {int(ok.sum())} architectures; the "
                     f"median is {(float(np.median(test[ok])) - best) / floor:.1f} noise floors above the best.\n")
    params = np.array([float(table.query(h)["params"] or np.nan) for h in table.hashes()])
    keep = ok & ~np.isnan(params)
    if keep.sum() >= 3 and len(set(params[keep])) > 1:
        tau, _ = rank_correlations(params[keep], test[keep])
        lines.append(f"Parameters against test WER: Kendall tau {tau} (negative: the bigger, the better).\n")
    return lines


def _open_table(bench: Path, space: str):
    """(table, epochs) of a space's table in `bench`; IndexError or BenchFileError if there is none."""
    files = sorted((bench / "tables" / space).glob("nb-asr-e*-*.pickle"))
    epochs = int(files[0].name.split("-e")[1].split("-")[0])
    return load_folder(bench / "tables" / space, epochs=epochs), epochs


def _table_lines(bench: Path, space: str, table, epochs: int, test: np.ndarray) -> Tuple[List[str], Optional[float]]:
    """What the table says alone: its spread, the noise floor (from the {space}_noise table, if any;
    returned too) and the diagnostics."""
    lines = [f"## {space}: {len(table)} architectures, {epochs} epochs each\n"]
    lines.append(f"Table: test WER best {_pct(np.nanmin(test))}%, median {_pct(float(np.nanmedian(test)))}%, "
                 f"worst {_pct(np.nanmax(test))}% (TLG, LM weight chosen on dev); one training takes "
                 f"{np.mean(table.column('train_time')):.0f} s on average.\n")
    floor = None
    noise_dir = bench / "tables" / f"{space}_noise"
    if noise_dir.is_dir():
        noise = load_folder(noise_dir, epochs=epochs)
        per_seed = {h: [noise.column("test_wer", seed=s)[i] for s in noise.seeds] for i, h in enumerate(noise.hashes())}
        nf = noise_floor(per_seed)
        floor = nf["mean_std"]
        lines.append(f"Noise floor: {nf['architectures']} architectures x {len(noise.seeds)} seeds: test WER std "
                     f"{_pct(nf['mean_std'])} points on average, largest range {_pct(nf['max_range'])} points.\n")
    return lines + table_diagnostics(table, test, floor), floor


def _searches(bench: Path, space: str, methods: Sequence[str], seeds: Sequence[int], codec, test: np.ndarray,
              train_s: float) -> Tuple[List[list], Dict[str, List[float]], Dict[str, dict]]:
    """Each search's row of the derived-architectures table, the test WERs by method, and the
    super-network scores by search (not random search's: it trains no weights)."""
    rows, wers, scored = [], {}, {}
    for method in methods:
        for seed in seeds:
            name = f"{space}_{method}_seed{seed}"
            rec = record(bench, name, lambda: _search_record(bench, space, method, seed))
            if rec is None:
                rows.append([method, seed] + ["-"] * 9)
                continue
            run, leak = rec["run"], leaked(rec, seed, seeds[0])
            if not leak:                                      # leaked runs: marked, not averaged
                wers.setdefault(method, []).append(run["test_wer"])
            if rec.get("scores") and method != "random":     # random search trains no weights: its
                scored[f"{method} seed {seed}" + (" (leaked)" if leak else "")] = rec["scores"]  # the warm-up's
            st = standing(run["test_wer"], test)
            vec = codec.from_choices(rec["choices"])
            cost = "-" if rec["search_s"] is None else f"{rec['search_s'] / train_s:.1f}x"
            rows.append([method, seed, codec.string(vec), _pct(run["test_wer"]), f"{100 * st['better_share']:.0f}%",
                         _pct(st["regret"]), cost, *_decided(rec), "leaked" if leak else "warm-up's"])
    return rows, wers, scored


def _search_lines(rows: List[list], wers: Dict[str, List[float]], warm: Optional[dict], train_s: float,
                  test: np.ndarray) -> List[str]:
    """The derived architectures' table and the per-method summary."""
    lines = ["### Derived architectures, trained stand-alone with the table's budget\n"]
    if not wers:
        return lines + ["No search has been scored against this table yet (local/score_search.sh).\n"]
    lines.append(markdown_table(["method", "seed", "architecture", "test WER %", "table better", "regret (points)",
                                 "search cost (x one training)", "max rel. entropy", "min margin", "converged",
                                 "held-out"], rows))
    lines.append("Regret: the test WER minus the table's best (negative: better than every architecture of "
                 "the table, in one training; the noise floor applies). Search cost: the search stage's "
                 "training seconds over one stand-alone training's (the shared warm-up not counted). Max rel. "
                 "entropy, min margin: over the search's blocks, each block's entropy relative to the uniform "
                 "distribution (1: uniform) and its top-1 minus top-2 probability; converged: every block's "
                 "relative entropy below the search's threshold (docs/nas.md); \"-\": recorded before these were.\n")
    if any(r[-1] == "leaked" for r in rows):
        lines.append("**Held-out \"leaked\"**: the search held out other utterances than its warm-up, so its "
                     "alpha was fitted (random search: its samples scored) on utterances the shared weights were "
                     "trained on. These rows are shown, not counted: the means and verdicts below leave them "
                     "out. Rerun them (local/score_search.sh; a search now takes its warm-up's held-out list).\n")
    if warm and warm.get("warmup_s"):
        lines.append(f"The warm-up every search of this space starts from: {warm['warmup_s']:.0f} s of training, "
                     f"{warm['warmup_s'] / train_s:.1f}x one stand-alone training.\n")
    summ = []
    for m, w in wers.items():
        st_m = [standing(x, test) for x in w]
        spread = f" ± {_pct(float(np.std(w, ddof=1)))}" if len(w) > 1 else ""
        summ.append([m, len(w), f"{_pct(float(np.mean(w)))}{spread}",
                     _pct(float(np.mean([x["regret"] for x in st_m]))),
                     f"{100 * np.mean([x['better_share'] for x in st_m]):.0f}%"])
    lines.append("Per method, over its seeds (std over seeds; one stand-alone training each):\n")
    lines.append(markdown_table(["method", "searches", "test WER % (mean ± std)", "mean regret (points)",
                                 "mean share of the table better"], summ))
    return lines


def _st_lines(wers: Dict[str, List[float]], methods: Sequence[str], hand_wers: List[Tuple[str, float]],
              test: np.ndarray, floor: Optional[float]) -> List[str]:
    """ST-NAS against the other methods, the hand-picked architectures and the table's median."""
    if "st" not in wers:
        return []
    lines = ["**Does ST-NAS beat the others here?** (means over seeds; \"noise\": within twice the noise floor)\n"]
    if min(len(w) for w in wers.values()) < 2:
        lines.append("Some methods have one counted search here: one stand-alone training varies by about the "
                     "noise floor, so the difference of two single searches by about 1.4 floors, and a difference "
                     "beyond twice the floor is weak evidence until more seeds are run.\n")
    for other in [m for m in methods if m != "st"]:
        lines.append(f"- ST-NAS against {other}: {_verdict(wers['st'], wers.get(other, []), floor)}.\n")
    for origin, wer in hand_wers:
        lines.append(f"- ST-NAS against {origin}: {_verdict(wers['st'], [wer], floor)}.\n")
    lines.append(f"- ST-NAS against the table's median architecture (what a random draw gives, trained once): "
                 f"{_verdict(wers['st'], [float(np.nanmedian(test))], floor)}.\n")
    return lines


def _transfer_lines(bench: Path, space: str, seed: int, test: np.ndarray, wers: Dict[str, List[float]]) -> List[str]:
    """The cell searched on a proxy (fewer voices, half width) and retrained at full size, if run."""
    rec = record(bench, f"{space}_transfer_seed{seed}", lambda: _transfer_record(bench, space, seed))
    if rec is None:
        return []
    transfer = rec["run"]
    st = standing(transfer["test_wer"], test)
    same = wers.get("st", [None])[0]
    voices = rec["voices"] or "?"
    return ["### A cell searched on a proxy, retrained at full size (He, Su, Yu)\n",
            f"ST-NAS (seed {seed}) on {voices} of the training voices with the network at half width, the "
            f"cell retrained at nb_asr_small's size on the whole set: test WER {_pct(transfer['test_wer'])}%, "
            f"{100 * st['better_share']:.0f}% of the table better (table best {_pct(np.nanmin(test))}%, "
            f"median {_pct(float(np.nanmedian(test)))}%); the same search on the whole set: "
            f"{_pct(same)}%.\n"]


def _ranking_lines(space: str, scores_by: Dict[str, dict], entries: Dict[str, dict], test: np.ndarray,
                   by_hash: Dict[str, int], figures: Path) -> List[str]:
    """How the super-network's scores (warm-up's and each search's) rank the table's architectures."""
    corr_rows, series = [], {}
    for label, scores in scores_by.items():
        pairs = [(scores[i], test[by_hash[e["hash"]]]) for i, e in entries.items() if i in scores and e["hash"] in by_hash]
        if len(pairs) < 3:
            continue
        x, y = zip(*pairs)
        tau, rho = rank_correlations(x, y)
        # the better half of the table alone: is what ranks them telling broken cells from working ones?
        half = [(a, b) for a, b in pairs if b <= np.median(y)]
        tau_half = str(rank_correlations(*zip(*half))[0]) if len(half) >= 3 else "-"
        corr_rows.append([label, len(pairs), str(tau), str(rho), tau_half])
        if label == "warm-up" or len(series) < 2:
            series[label] = (list(x), list(y))
    if not corr_rows:
        return []
    png = f"bench_{space}_scatter.png"
    scatter(figures / png, series, "held-out loss with super-network weights", "stand-alone test WER",
            f"{space}: one-shot score vs stand-alone")
    return ["### Does the super-network rank architectures as stand-alone training does?\n",
            "Held-out loss with the super-network's weights against stand-alone test WER (95% bootstrap "
            "intervals over the architectures; random search trains no weights, so its scores are the "
            "warm-up's row):\n",
            markdown_table(["weights", "architectures", "Kendall tau", "Spearman rho",
                            "Kendall tau, the better half (stand-alone WER at most the median)"], corr_rows),
            f"![scatter]({figures.name}/{png})\n"]


def _tabular_lines(bench: Path, space: str, figures: Path) -> List[str]:
    """The tabular methods' regret on the table (bench/tabular/{space}/summary.json), if run."""
    summary = bench / "tabular" / space / "summary.json"
    if not summary.is_file():
        return []
    sm = json.loads(summary.read_text())
    rows = [[m, f"{100 * v['final_mean_regret']:.2f} [{100 * v['final_ci'][0]:.2f}, {100 * v['final_ci'][1]:.2f}]",
             f"{100 * v['found_optimum_fraction']:.0f}%"] for m, v in sm["methods"].items()]
    lines = [f"### Tabular methods on the table ({sm['runs']} runs of {sm['budget_queries']} queries; dev WER "
             f"seen, test WER judged)\n",
             markdown_table(["method", "regret, points (95% interval)", "runs that found the best"], rows)]
    curves = bench / "tabular" / space / "regret.png"
    if curves.is_file():
        png = f"bench_{space}_regret.png"
        shutil.copyfile(curves, figures / png)
        lines.append(f"![regret curves]({figures.name}/{png})\n")
    return lines


def space_section(bench: Path, space: str, methods: Sequence[str], seeds: Sequence[int], plan: dict,
                  figures: Path) -> str:
    """One space's part of BENCH.md; its plots go to `figures` (linked as figures.name/...)."""
    try:
        table, epochs = _open_table(bench, space)
    except (IndexError, BenchFileError) as e:
        return f"## {space}\n\nNo table ({e}).\n"
    codec = space_codec(plan, space)
    test = table.column("test_wer")
    by_hash = {h: i for i, h in enumerate(table.hashes())}
    entries = {e["id"]: e for e in plan["entries"] if e["space"] == space}
    lines, floor = _table_lines(bench, space, table, epochs, test)
    hand = [e for e in entries.values() if e.get("origin", "sampled") != "sampled" and e["hash"] in by_hash]
    for e in hand:
        lines.append(f"Hand-picked {e['origin']}: test WER {_pct(test[by_hash[e['hash']]])}%, "
                     f"{standing(test[by_hash[e['hash']]], test)['better_share'] * 100:.0f}% of the table better.\n")

    warm = record(bench, f"{space}_warmup", lambda: _warmup_record(bench, space))
    train_s = float(np.mean(table.column("train_time")))
    rows, wers, scored = _searches(bench, space, methods, seeds, codec, test, train_s)
    lines += _search_lines(rows, wers, warm, train_s, test)
    lines += _st_lines(wers, methods, [(e["origin"], float(test[by_hash[e["hash"]]])) for e in hand], test, floor)
    lines += _transfer_lines(bench, space, seeds[0], test, wers)
    scores_by = {**({"warm-up": warm["scores"]} if warm else {}), **scored}
    lines += _ranking_lines(space, scores_by, entries, test, by_hash, figures)
    lines += _tabular_lines(bench, space, figures)
    return "\n".join(lines)


def write_bench_md(bench: Path, out: Path, spaces: Sequence[str], methods: Sequence[str],
                   seeds: Sequence[int], exhaustive: Optional[Dict[str, Optional[Path]]] = None) -> Path:
    """Write BENCH.md and its plots (in results/ beside it, so that the two travel together)
    from a bench dir's files; the bench dir's NOTE.md, if any, follows the introduction.
    `exhaustive` (table_csv and space, optional searches, ranking and proxies: the exhaustive
    table's CSV, its space, searches.csv, ranking.csv, proxies.csv) puts the sections judged on
    that table first."""
    plan = read_plan(bench)
    figures = Path(out).parent / "results"
    figures.mkdir(parents=True, exist_ok=True)
    parts = ["# Does the search find anything? Search methods against ground-truth tables\n",
             f"Written by `local/score_search.sh` (nas.bench.summary) on {time.strftime('%Y-%m-%d')} from "
             f"`{bench}`; see docs/bench.md for the protocol. All WERs are on the test voices, which "
             f"nothing was tuned on; the LM weight is chosen on dev.\n"]
    if exhaustive is not None:
        parts += exhaustive_sections(figures=figures, **exhaustive)
    note = bench / "NOTE.md"          # what the tables were made on, when that is not the current default
    if note.is_file():
        parts.append(note.read_text().strip() + "\n")
    for space in spaces:
        parts.append(space_section(bench, space, methods, seeds, plan, figures))
    Path(out).write_text("\n".join(parts))
    return Path(out)
