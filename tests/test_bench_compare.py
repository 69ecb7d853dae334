"""Search methods judged on an exhaustive table by lookup (nas.bench.compare, bench compare)."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from nas.bench.codec import codec_of_space
from nas.bench.compare import (ExhaustiveTable, Pick, multi_trial_picks, pairwise, random_picks, read_searches,
                               report_lines, summarize)
from nas.models.space import load_space

SPACE = Path(__file__).resolve().parents[1] / "egs/synth/conf/exhaustive/space.json"


@pytest.fixture(scope="module")
def codec():
    return codec_of_space(load_space(SPACE, verbose=False))


def _rows(codec, seeds=(0, 1, 2), drop=()):
    """A table of every architecture: WER falls with the first block's index, dev is WER plus
    seed noise; the all-zero vector is the named 'shallow' design."""
    rng = np.random.default_rng(0)
    rows = []
    for i, v in enumerate(codec.vectors()):
        true = 0.30 + 0.01 * (3 - v[0][0]) + 0.001 * v[1][0] + 0.0001 * v[2][0]
        for s in seeds:
            if (i, s) in drop:
                continue
            rows.append({"id": f"t{i:03d}", "arch": codec.string(v), "hash": codec.hash(v), "seed": str(s),
                         "origin": "shallow" if i == 0 else "sampled", "dev_wer": str(true + rng.normal(0, 0.002)),
                         "test_wer": str(true + rng.normal(0, 0.002)), "train_seconds": "100"})
    return rows


def _write_table(path: Path, rows) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return path


def test_a_full_budget_picks_the_best_dev_of_the_seed_it_sees(codec):
    rows = _rows(codec)
    table = ExhaustiveTable(rows, codec)
    picks = multi_trial_picks(table, "random", budget=64, runs=6)
    for p in picks:
        seed = table.seeds[p.run % 3]
        want = min((r for r in rows if int(r["seed"]) == seed), key=lambda r: float(r["dev_wer"]))["hash"]
        assert p.hash == want and p.trainings == 64


def test_incomplete_architectures_are_left_out(codec, tmp_path):
    table = ExhaustiveTable(_rows(codec, drop={(5, 2)}), codec)
    assert len(table.means) == 63
    bad = tmp_path / "searches.csv"
    v = list(codec.vectors())[5]
    bad.write_text(f"method,run_seed,arch,hash,trainings\nst,0,\"{codec.string(v)}\",{codec.hash(v)},3\n")
    with pytest.raises(ValueError, match="line 2: st run 0 picked"):
        read_searches(bad, table)


def test_random_pick_is_uniform_and_the_summary_scores_it(codec):
    table = ExhaustiveTable(_rows(codec), codec)
    picks = random_picks(table, 4000, seed=1)
    s = summarize(picks, table)["random pick"]
    values = np.array(list(table.means.values()))
    assert abs(s["mean"] - values.mean()) < 3 * values.std() / np.sqrt(4000)
    assert s["top10_share"] == pytest.approx(np.mean(values <= table.top10), abs=0.03)
    assert s["regret"] == pytest.approx(s["mean"] - values.min())


def test_pairs_report_the_difference_its_test_and_what_they_could_detect(codec):
    table = ExhaustiveTable(_rows(codec), codec)
    hs = sorted(table.means, key=table.means.get)
    good = [Pick("good", r, hs[r % 4], 1.0) for r in range(20)]          # among the best 4
    bad = [Pick("bad", r, hs[-1 - r % 4], 1.0) for r in range(20)]       # among the worst 4
    same = [Pick("same", r, hs[r % 4], 1.0) for r in range(20)]
    pairs = {(p["a"], p["b"]): p for p in pairwise(summarize(good + bad + same, table))}
    gb = pairs[("good", "bad")]
    want = np.mean([table.means[p.hash] for p in good]) - np.mean([table.means[p.hash] for p in bad])
    assert gb["diff"] == pytest.approx(want) and gb["low"] <= want <= gb["high"] and gb["p"] < 0.001
    gs = pairs[("good", "same")]
    assert gs["diff"] == 0 and gs["p"] == 1.0 and gs["mdd"] > 0


def test_the_command_matches_the_budget_to_the_one_shot_searches(codec, tmp_path, capsys):
    rows = _rows(codec)
    table_csv = _write_table(tmp_path / "exhaustive.csv", rows)
    vecs = list(codec.vectors())
    searches = tmp_path / "searches.csv"
    searches.write_text("method,run_seed,warmup_seed,arch,hash,trainings,converged\n" + "".join(
        f"st,{r},0,\"{codec.string(vecs[60 + r])}\",{codec.hash(vecs[60 + r])},{t},{c}\n"
        for r, (t, c) in enumerate([(2.2, "true"), (3.4, "false"), (2.9, "true")]))
        + f"random,0,0,\"{codec.string(vecs[5])}\",{codec.hash(vecs[5])},0.1,\n")     # weight sharing, one-shot
    md = tmp_path / "compare.md"
    from nas.bin.bench import main
    assert main(["compare", "--table-csv", str(table_csv), "--space", str(SPACE), "--searches", str(searches),
                 "--runs", "10", "--methods", "random", "--markdown", str(md)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["budget_trainings"] == 3                      # the median 2.9, rounded up
    assert res["methods"]["st"]["runs"] == 3 and res["methods"]["st"]["converged"] == 2
    assert res["methods"]["shallow"]["runs"] == 1
    # the one-shot random search is not counted among the tabular random search's runs
    assert res["methods"]["random"]["runs"] == 10 and res["methods"]["random-ws"]["runs"] == 1
    assert "| st | 3 |" in md.read_text()
    from nas.bench.exhaustive_report import methods_section
    section = methods_section(table_csv, str(SPACE), searches, runs=5)
    assert section.startswith("## Search methods on the exhaustive table") and "| st | 3 |" in section
    assert "Tabular methods: 3 trainings per run" in section


def _fake_run(bench: Path, method: str, run: int, choices: dict, probs: dict, converged, seconds: float, warm: int):
    """A run dir as local/run_searches.sh leaves it: derive/arch.json (as stage 6 writes it), seconds, warm-up seed."""
    from nas.models.arch import Arch
    d = bench / "runs" / f"{method}_run{run}"
    (d / "derive").mkdir(parents=True)
    space = load_space(SPACE, verbose=False)
    source = {"method": method, "seed": run, "convergence": {"converged": converged, "epochs": 4}}
    Arch(space, choices, probs=probs, source=source).write(d / "derive" / "arch.json")
    (d / "seconds").write_text(f"{seconds}\n")
    (d / "warmup_seed").write_text(f"{warm}\n")


def _runs_dir(tmp_path: Path):
    """A runs dir with one warm-up of 150 s; the candidates and a sharp distribution on tdnn-C1D3."""
    bench = tmp_path / "searches"
    (bench / "warmup_seed0").mkdir(parents=True)
    (bench / "warmup_seed0" / "seconds").write_text("150\n")
    cands = ["identity", "tdnn-C0D1", "tdnn-C1D1", "tdnn-C1D3"]
    sharp = {b: {c: (0.91 if c == "tdnn-C1D3" else 0.03) for c in cands} for b in ("block1", "block2", "block3")}
    return bench, cands, sharp


def test_a_tiny_comparison_from_run_dirs_to_the_report(codec, tmp_path, capsys):
    """Two methods, two runs each, collected into searches.csv and judged on a small table."""
    rows = _rows(codec)
    table_csv = _write_table(tmp_path / "exhaustive.csv", rows)
    bench, cands, sharp = _runs_dir(tmp_path)
    flat = {b: {c: 0.25 for c in cands} for b in ("block1", "block2", "block3")}
    best = {"block1": "tdnn-C1D3", "block2": "identity", "block3": "identity"}
    worst = {"block1": "identity", "block2": "tdnn-C1D3", "block3": "tdnn-C1D3"}
    _fake_run(bench, "st", 0, best, sharp, True, 250, 0)
    _fake_run(bench, "st", 1, best, sharp, True, 350, 0)
    _fake_run(bench, "darts", 0, worst, flat, False, 450, 0)
    _fake_run(bench, "darts", 1, worst, flat, False, 550, 0)
    (bench / "runs" / "darts_run2").mkdir()                      # unfinished: no row
    out = tmp_path / "searches.csv"
    from nas.bin.bench import main
    assert main(["searches", str(bench), "--space", str(SPACE), "--table-csv", str(table_csv), "--csv", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["runs"] == {"darts": 2, "st": 2}
    got = list(csv.DictReader(open(out)))
    st0 = got[2]
    assert (st0["method"], st0["run_seed"], st0["converged"], st0["trainings"]) == ("st", "0", "true", "4.0")
    assert st0["arch"] == "[[3],[0],[0]]" and st0["hash"] == codec.hash([[3], [0], [0]])
    assert float(got[0]["max_rel_entropy"]) == pytest.approx(1.0)
    table = ExhaustiveTable(rows, codec)
    summary = summarize(read_searches(out, table), table)
    assert summary["st"]["regret"] < summary["darts"]["regret"] and summary["st"]["converged"] == 2
    assert summary["darts"]["converged"] == 0 and summary["darts"]["trainings"] == pytest.approx(6.5)


def test_a_run_killed_before_it_recorded_its_seconds_costs_at_least_the_search_clock(codec, tmp_path):
    """st_run4 of the issue-28 runs: killed with the session, resumed at epoch 10; only the last
    attempt's 126 s were written, while its search clock (probs.jsonl) had counted 635 s."""
    from nas.bench.search_runs import run_row
    bench = tmp_path / "searches"
    (bench / "warmup_seed0").mkdir(parents=True)
    (bench / "warmup_seed0" / "seconds").write_text("150\n")
    choices = {"block1": "tdnn-C1D3", "block2": "identity", "block3": "identity"}
    _fake_run(bench, "st", 4, choices, None, False, 126.4, 0)
    d = bench / "runs" / "st_run4"
    assert run_row(d, codec, 100.0, bench)["search_seconds"] == 126.4        # no trace: the file's
    (d / "search").mkdir()
    (d / "search" / "probs.jsonl").write_text("".join(
        json.dumps({"step": s, "seconds": 0.4 * s, "probs": {}}) + "\n" for s in range(1, 1589)))
    row = run_row(d, codec, 100.0, bench)
    assert row["search_seconds"] == pytest.approx(635.2) and row["trainings"] == pytest.approx(7.852)
    (d / "seconds").write_text("700.0\n")                                  # recorded attempts cover it
    assert run_row(d, codec, 100.0, bench)["search_seconds"] == 700.0


def test_collecting_a_runs_dir_that_lost_earlier_runs_keeps_their_committed_rows(codec, tmp_path, capsys):
    """exp/ is scratch: a new checkout resumes the latency searches without the runs of an earlier
    session, and collecting must add its runs to the committed searches.csv, not drop theirs."""
    from nas.bin.bench import main
    table_csv = _write_table(tmp_path / "exhaustive.csv", _rows(codec))
    bench, out = tmp_path / "searches", tmp_path / "searches.csv"
    (bench / "warmup_seed0").mkdir(parents=True)
    (bench / "warmup_seed0" / "seconds").write_text("150\n")
    best = {"block1": "tdnn-C1D3", "block2": "identity", "block3": "identity"}
    worst = {"block1": "identity", "block2": "tdnn-C1D3", "block3": "tdnn-C1D3"}
    for run in (0, 1, 10):
        _fake_run(bench, "st", run, best, None, True, 250 + run, 0)
    cmd = ["searches", str(bench), "--space", str(SPACE), "--table-csv", str(table_csv), "--csv", str(out)]
    assert main(cmd) == 0
    first, _ = out.read_text(), capsys.readouterr()
    import shutil
    shutil.rmtree(bench / "runs")                                        # a new checkout: the runs are gone ...
    (bench / "warmup_seed0" / "seconds").write_text("100\n")              # ... and its warm-up, remade, cost less
    _fake_run(bench, "st", 1, worst, None, False, 400, 0)              # ... one is redone, another is new
    _fake_run(bench, "st", 2, worst, None, False, 500, 0)
    assert main(cmd) == 0
    assert json.loads(capsys.readouterr().out)["kept_from_csv"] == 2
    got = [(r["run_seed"], r["search_seconds"], r["converged"]) for r in csv.DictReader(open(out))]
    assert got == [("0", "250.0", "true"), ("1", "400.0", "false"), ("2", "500.0", "false"), ("10", "260.0", "true")]
    kept = {r["run_seed"]: r for r in csv.DictReader(open(out))}["10"]   # the table's training: 100 s
    was = list(csv.DictReader(io.StringIO(first)))[-1]                   # the committed text but its price
    assert {k: v for k, v in kept.items() if k not in ("warmup_seconds", "trainings")} == \
        {k: v for k, v in was.items() if k not in ("warmup_seconds", "trainings")} and was["warmup_seconds"] == "150.0"
    assert (kept["warmup_seconds"], kept["trainings"]) == ("100.0", "3.6")      # one warm-up, one price
    assert main(cmd + ["--replace"]) == 0
    assert [r["run_seed"] for r in csv.DictReader(open(out))] == ["1", "2"]


def test_the_ranking_of_shared_weights_against_the_table(codec, tmp_path):
    from nas.bench.ranking import ranking_lines, ranking_rows
    rows = _rows(codec)
    table = ExhaustiveTable(rows, codec)
    ids = {r["id"]: r["hash"] for r in rows}
    bench = tmp_path / "searches"
    by_id = {i: table.means[h] for i, h in ids.items()}

    def scores(d: Path, loss):
        d.mkdir(parents=True)
        (d / "scores.json").write_text(json.dumps({"scores": [{"id": i, "loss": loss(w)} for i, w in by_id.items()]}))

    scores(bench / "warmup_seed0" / "score", lambda w: 3 * w)           # ranks exactly as the table
    scores(bench / "runs" / "st_run0" / "score", lambda w: -w)          # exactly reversed
    scores(bench / "runs" / "st_run1" / "score", lambda w: -w)
    got = ranking_rows(bench, table, ids)
    assert [(r["kind"], r["run"]) for r in got] == [("warm-up", 0), ("st", 0), ("st", 1)]
    assert got[0]["kendall"] == pytest.approx(1.0) and got[0]["spearman_better_half"] == pytest.approx(1.0)
    assert got[1]["kendall"] == pytest.approx(-1.0) and got[0]["archs"] == 64
    lines = ranking_lines(got)
    assert any(line.startswith("| st | 2 | 64 | -1.00") for line in lines)


def test_the_proxy_guided_method_keeps_the_best_on_dev_of_the_proxys_top_k(codec):
    from nas.bench.compare import proxy_picks
    rows = _rows(codec)
    table = ExhaustiveTable(rows, codec)
    perfect = [{"hash": h, "seed": str(s), "oracle": str(-m)} for h, m in table.means.items() for s in (0, 1)]
    picks = proxy_picks(table, perfect, "oracle", 1)
    best = min(table.means, key=table.means.get)
    assert [(p.method, p.run, p.hash, p.trainings) for p in picks] == [("oracle top-1", 0, best, 1.0),
                                                                        ("oracle top-1", 1, best, 1.0)]
    every = proxy_picks(table, perfect, "oracle", 64)              # the whole table: the best dev WER wins
    for p in every:
        seed = table.seeds[p.run]
        assert p.hash == min(table.means, key=lambda h: table.dev[(h, seed)]) and p.trainings == 64


def test_the_unit_of_cost_can_be_the_trainings_of_some_seeds_only(codec, tmp_path, capsys):
    """Seeds 0-2 trained on a busy machine (100 s), seeds 3-5 alone (50 s): --unit-seeds "3 4 5"
    prices a search in the 50 s unit, and the report says which seeds the unit is the mean of."""
    rows = _rows(codec, seeds=range(6))
    for r in rows:
        r["train_seconds"] = "100" if int(r["seed"]) < 3 else "50"
    assert ExhaustiveTable(rows, codec).train_seconds == pytest.approx(75)
    table = ExhaustiveTable(rows, codec, unit_seeds=[3, 4, 5])
    assert table.train_seconds == pytest.approx(50)
    assert "One stand-alone training: 50 s (the mean over the trainings of seeds 3, 4, 5)" in \
        report_lines(table, {}, [], 4)[0]
    with pytest.raises(ValueError, match=r"no row of seeds \[7\]"):
        ExhaustiveTable(rows, codec, unit_seeds=[7])
    table_csv = _write_table(tmp_path / "exhaustive.csv", rows)
    bench, _, sharp = _runs_dir(tmp_path)
    _fake_run(bench, "st", 0, {"block1": "tdnn-C1D3", "block2": "identity", "block3": "identity"}, sharp, True, 250, 0)
    from nas.bin.bench import main
    out = tmp_path / "searches.csv"
    args = ["searches", str(bench), "--space", str(SPACE), "--table-csv", str(table_csv), "--csv", str(out)]
    assert main(args + ["--unit-seeds", "3 4 5"]) == 0
    assert list(csv.DictReader(open(out)))[0]["trainings"] == "8.0"           # (250 + 150) / 50
    assert main(args + ["--replace"]) == 0
    assert list(csv.DictReader(open(out)))[0]["trainings"] == "5.333"         # every row's mean, 75 s
    with pytest.raises(SystemExit, match="--unit-seeds 'x'"):
        main(args + ["--unit-seeds", "x"])
