"""nas.bench.seed_agreement and `bench seeds`: do a table's added seeds agree with its first ones."""
import json
import re

import numpy as np
import pytest

from nas.bench.seed_agreement import seed_agreement


def _runs(n_arch=12, shift=0.0, slow=1.0, noise=0.002, seed=0, missing=()):
    """(hash, seed) -> row: architecture a has true WER 0.30 + 0.01 a; seeds 3-5 are `shift` off
    and take `slow` times the seconds of seeds 0-2."""
    rng = np.random.default_rng(seed)
    runs = {}
    for a in range(n_arch):
        for s in range(6):
            if (a, s) in missing:
                continue
            later = s >= 3
            runs[(f"h{a}", s)] = {"test_wer": 0.30 + 0.01 * a + (shift if later else 0.0) + rng.normal(0, noise),
                                  "train_time": (100.0 + 10 * a) * (slow if later else 1.0)}
    return runs


def test_a_shift_of_the_added_seeds_is_found_and_an_absent_one_is_not():
    moved = seed_agreement(_runs(shift=0.01), [0, 1, 2], [3, 4, 5])
    assert moved.n == 12 and moved.shift_low < 0.01 < moved.shift_high and moved.shift_low > 0
    assert moved.p < 1e-3 and moved.r > 0.95
    same = seed_agreement(_runs(shift=0.0), [0, 1, 2], [3, 4, 5])
    assert same.shift_low < 0 < same.shift_high and same.p > 0.05
    assert 0 < same.detectable < 0.01          # 12 architectures detect far less than a point
    assert re.search(r"new - old = \+(0\.9|1\.0)\d points \[\+", moved.summary(100, " points"))


def test_the_seconds_ratio_is_new_over_old_per_architecture():
    a = seed_agreement(_runs(slow=0.75), [0, 1, 2], [3, 4, 5])
    assert a.seconds_ratio == pytest.approx((0.75, 0.75, 0.75))


def test_only_architectures_with_every_seed_of_both_groups_count():
    runs = _runs(n_arch=5, missing={(0, 4), (1, 0)})
    assert seed_agreement(runs, [0, 1, 2], [3, 4, 5]).n == 3
    with pytest.raises(ValueError, match="2 architectures have every seed"):
        seed_agreement(_runs(n_arch=5, missing={(0, 4), (1, 0), (2, 5)}), [0, 1, 2], [3, 4, 5])
    with pytest.raises(ValueError, match="disjoint"):
        seed_agreement(runs, [0, 1], [1, 2])


def test_bench_seeds_reports_the_waiting_rows_too(monkeypatch, capsys, tmp_path):
    import nas.bench.ground_truth as gt
    from nas.bin.bench import main
    asked = []
    monkeypatch.setattr(gt, "tabled_runs", lambda bench, name, waiting=True: asked.append(waiting) or _runs(shift=0.01))
    with pytest.raises(SystemExit, match="no tables/tdnn"):
        main(["seeds", str(tmp_path)])
    (tmp_path / "tables" / "tdnn").mkdir(parents=True)
    assert main(["seeds", str(tmp_path)]) == 0
    out = capsys.readouterr()
    assert asked == [True]
    d = json.loads(out.out)
    assert d["architectures"] == 12 and d["shift_ci"][0] > 0 and d["seconds_ratio"]["median"] == pytest.approx(1.0)
    assert re.search(r"new - old = \+(0\.9|1\.0)\d points", out.err)
    with pytest.raises(SystemExit, match="expected seeds"):
        main(["seeds", str(tmp_path), "--new", "3 four"])


def test_a_seed_that_shifts_every_architecture_shows_in_the_seed_effect():
    runs = _runs()
    assert seed_agreement(runs, [0, 1, 2], [3, 4, 5]).seed_effect.p > 0.01
    for (h, s), row in runs.items():
        if s == 1:
            row["test_wer"] += 0.01
    a = seed_agreement(runs, [0, 1, 2], [3, 4, 5])
    assert a.seed_effect.p < 1e-6 and a.seed_means[1] - a.seed_means[0] == pytest.approx(0.01, abs=0.003)
    assert a.shift_high < 0                 # the old group is worse by seed 1 alone
    assert "seed effect F(5, 55)" in a.summary(100, " points")


def test_bench_power_can_judge_the_table_on_some_seeds_only(monkeypatch, capsys, tmp_path):
    """--only-seeds: seeds added later judged as a table of their own (a replication of the first)."""
    import nas.bench.ground_truth as gt
    from nas.bench.stats import table_power
    from nas.bin.bench import main
    runs = _runs(noise=0.01)
    monkeypatch.setattr(gt, "tabled_runs", lambda bench, name, waiting=False: runs)
    assert main(["power", str(tmp_path), "--only-seeds", "3 4 5", "--n-boot", "50"]) == 0
    d = json.loads(capsys.readouterr().out)
    new = table_power([(h, s, r["test_wer"]) for (h, s), r in runs.items() if s >= 3], n_boot=50)
    assert d["seeds_per_arch"] == [3, 3] and d["df"] == [11, 24]
    assert d["F"] == pytest.approx(new.anova.f) and d["gap_in_se"] == pytest.approx(new.gap_in_se)
    with pytest.raises(SystemExit, match=r"no test_wer rows of seeds 7 \(it has seeds \[0, 1, 2, 3, 4, 5\]\)"):
        main(["power", str(tmp_path), "--only-seeds", "7"])


def test_bench_power_distinct_counts_one_network_of_two_vectors_once(monkeypatch, capsys, tmp_path):
    import nas.bench.ground_truth as gt
    from nas.bin.bench import main
    runs = _runs(noise=0.01)
    for s in range(6):                      # h12 is h3's network under another vector: the same rows
        runs[("h12", s)] = dict(runs[("h3", s)], train_time=runs[("h3", s)]["train_time"] + 7.0)
        # h13 ties h4 on test WER with every seed but is another network (its other figures differ)
        runs[("h13", s)] = dict(runs[("h4", s)], dev_wer=0.5 + 0.01 * s)
    monkeypatch.setattr(gt, "tabled_runs", lambda bench, name, waiting=False: runs)
    assert main(["power", str(tmp_path), "--n-boot", "50"]) == 0
    assert json.loads(capsys.readouterr().out)["architectures"] == 14
    assert main(["power", str(tmp_path), "--n-boot", "50", "--distinct"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["architectures"] == 13 and "14 architectures, 13 distinct" in out.err
