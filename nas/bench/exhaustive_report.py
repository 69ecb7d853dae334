"""BENCH.md's sections judged on the exhaustive table (issues 28 and 30), from committed files only:
the search methods (nas.bench.compare: searches.csv, the tabular methods, random pick, the hand
designs) with the super-networks' ranking (ranking.csv), the zero-cost proxies (proxies.csv), and
the Pareto front of test WER against measured latency (a latency benchmarking file of
egs/synth/results/latency/ beside the table's files; nas.bench.mo_report), and the searches under
a latency budget against that front (nas.bench.latency_searches)."""
from __future__ import annotations

import csv
import shutil
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence


def _table(table_csv: Path, space: str, unit_seeds: Optional[Sequence[int]] = None):
    """The exhaustive table of `table_csv` in `space`'s codec (nas.bench.compare.ExhaustiveTable)."""
    from nas.bench.codec import codec_of_space
    from nas.bench.compare import ExhaustiveTable
    from nas.models.space import load_space
    with open(table_csv, newline="") as f:
        return ExhaustiveTable(list(csv.DictReader(f)), codec_of_space(load_space(space, verbose=False)),
                               unit_seeds=unit_seeds)


def methods_section(table_csv: Path, space: str, searches: Optional[Path] = None, runs: int = 100,
                    ranking: Optional[Path] = None, proxies: Optional[Path] = None,
                    proxy_names: Sequence[str] = ("synflow", "naswot", "snip"), table=None,
                    figures: Optional[Path] = None) -> str:
    """BENCH.md's section on search methods judged on the exhaustive table (nas.bench.compare):
    the answer (nas.bench.answer: each one-shot method against random pick, random search and the
    best hand design), the one-shot runs of `searches` (searches.csv), the tabular methods at their
    median cost, random pick and the hand designs, with the plot of picks against cost in
    `figures` (nas.bench.compare_plot); again at equal wall-clock cost where the runs' epoch-end
    traces lie beside searches.csv (nas.bench.search_traces)."""
    from nas.bench.answer import answer, answer_lines
    from nas.bench.compare import all_picks, pairwise, read_searches, report_lines, summarize
    table = table if table is not None else _table(table_csv, space)
    proxy_rows = []
    if proxies is not None:
        with open(proxies, newline="") as f:
            proxy_rows = list(csv.DictReader(f))
    one_shot = read_searches(searches, table) if searches is not None else []
    picks, budget = all_picks(table, one_shot, runs=runs, proxy_rows=proxy_rows, proxy_names=proxy_names)
    summary = summarize(picks, table)
    source = f"`{searches}` and " if searches is not None else "no one-shot runs yet (no searches.csv); "
    designs = sorted({o for o in table.origin.values() if o != "sampled"})
    lines = [f"## Search methods on the exhaustive table\n",
             f"From {source}`{table_csv}` (`python -m nas.bin.bench compare`, docs/bench.md).\n",
             *answer_lines(answer(summary, sorted({p.method for p in one_shot}), designs), summary), "",
             *report_lines(table, summary, pairwise(summary), budget)]
    if figures is not None and one_shot:
        from nas.bench.compare_plot import plot_picks
        plot_picks(Path(figures) / "exhaustive_picks.png", picks, summary, table)
        lines += ["", "![picks against cost](results/exhaustive_picks.png)", "",
                  "Methods of one cost (the tabular ones and random pick) are spread sideways so that each "
                  "stays visible: their x positions are approximate; the cost column of the tables above "
                  "is exact."]
    if searches is not None:
        from nas.bench.search_traces import equal_cost, equal_cost_lines, traces_beside, traces_for
        traces = traces_for(searches)
        if traces:
            lines += ["", f"### At equal wall-clock cost (`{traces_beside(searches)}`)\n",
                      *equal_cost_lines(table, equal_cost(table, one_shot, traces, runs=runs, proxy_rows=proxy_rows,
                                                          proxy_names=proxy_names))]
    if ranking is not None:
        from nas.bench.ranking import ranking_lines
        with open(ranking, newline="") as f:
            lines += ["", f"### How the shared weights rank the table (`{ranking}`)\n",
                      *ranking_lines(list(csv.DictReader(f)))]
    return "\n".join(lines) + "\n"


def proxies_section(proxies_csv: Path, table_csv: Path) -> str:
    """BENCH.md's section on zero-cost proxies: proxies.csv against a table's CSV (nas.bench.proxy_report)."""
    from nas.bench.proxy_report import proxy_report, read_csv, report_lines
    rep = proxy_report(read_csv(proxies_csv), read_csv(table_csv))
    return "\n".join([f"## Zero-cost proxies on the exhaustive table\n",
                      f"From `{proxies_csv}` (`python -m nas.bin.bench proxies`, docs/proxies.md) and "
                      f"`{table_csv}`.\n", *report_lines(rep)]) + "\n"


def pareto_section(table_dir: Path, latency: Path, figures: Path, budget: int = 10, runs: int = 100,
                   val: str = "dev_wer", test: str = "test_wer") -> str:
    """The table's true front of mean test WER against the latency of `latency` (a benchmarking file,
    nb-asr-bench-<device>.pickle), and the multi-objective methods' hypervolume ratio found/true at
    `budget` trainings over `runs` runs (`val`, dev WER, seen; `test`, test WER, judged)."""
    from nas.bench.fileformat import BENCHMARKING_NAME
    from nas.bench.mo_report import compare_mo
    from nas.bench.mo_search import MOProblem
    from nas.bench.pareto import cost_values, parse_cost
    from nas.bench.table import load_folder
    device = latency.name[len("nb-asr-bench-"):-len(".pickle")]
    if BENCHMARKING_NAME.format(device=device) != latency.name:
        raise ValueError(f"{latency}: not a benchmarking file (nb-asr-bench-<device>.pickle)")
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp) / "table"
        shutil.copytree(table_dir, t)
        shutil.copy(latency, t / latency.name)
        epochs = int(sorted(t.glob("nb-asr-e*-*.pickle"))[0].name.split("-")[2][1:])
        table = load_folder(t, epochs=epochs)
        spec = parse_cost(f"latency:{device}")
        costs = dict(zip(table.hashes(), cost_values(table, spec, table.hashes())))
        problem = MOProblem(table.objective(val=val, test=test), costs, spec.name)
        out = Path(tmp) / "out"
        summary = compare_mo(problem, {"random": {}, "rea": {}}, runs, [budget], out, 0, 2000, {})
        front = (out / "true_front.csv").read_text().strip().splitlines()
        figures.mkdir(parents=True, exist_ok=True)
        shutil.copy(out / "pareto.png", figures / f"exhaustive_pareto_{device}.png")
    lines = [f"## Test WER against latency ({device}) on the exhaustive table\n",
             f"Latency from `{latency}` (docs/latency.md), mean test WER over seeds from `{table_dir}`. The true "
             f"front has {summary['true_front_size']} of {summary['models']} architectures (`true_front.csv`'s "
             f"columns):\n", "```", *front, "```", "",
             f"Multi-objective methods at {budget} trainings per run ({runs} runs, {val} seen): hypervolume of "
             f"what they found over the true front's (95% interval over runs):", ""]
    for m, s in summary["methods"].items():
        b = s["budgets"][str(budget)]
        ci = "" if None in b["ci"] else f" [{b['ci'][0]:.3f}, {b['ci'][1]:.3f}]"     # None: no spread over runs
        lines.append(f"- {m}: {b['mean_ratio']:.3f}{ci}, whole front found in {100 * b['found_whole_front']:.0f}% "
                     f"of runs")
    lines += ["", f"![Pareto front](results/exhaustive_pareto_{device}.png)", ""]
    return "\n".join(lines)


def exhaustive_sections(table_csv: Path, space: str, searches: Optional[Path] = None, ranking: Optional[Path] = None,
                        proxies: Optional[Path] = None, latency: Optional[Path] = None,
                        table_dir: Optional[Path] = None, figures: Path = Path("results"),
                        latency_csv: Optional[Path] = None, lut: Optional[Path] = None,
                        unit_seeds: Optional[Sequence[int]] = None) -> List[str]:
    """Every section the given files allow, in BENCH.md's order; the unit of cost from `unit_seeds`
    (nas.bench.compare.ExhaustiveTable)."""
    table = _table(table_csv, space, unit_seeds)
    parts = [methods_section(table_csv, space, searches, ranking=ranking, proxies=proxies, table=table, figures=figures)]
    if proxies is not None:
        parts.append(proxies_section(proxies, table_csv))
    if latency is not None and table_dir is not None:
        parts.append(pareto_section(table_dir, latency, figures))
    if searches is not None and latency_csv is not None and lut is not None:
        from nas.bench.latency_searches import latency_search_section
        section = latency_search_section(searches, table, latency_csv, lut)
        if section:
            parts.append(section)
    return parts
