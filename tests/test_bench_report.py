"""nas.bench.report: the statistics BENCH.md reports."""
import numpy as np
import pytest
from scipy import stats

from nas.bench.report import markdown_table, noise_floor, rank_correlations, scatter, standing


def test_rank_correlations_and_their_intervals():
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    y = x + rng.normal(scale=0.3, size=40)
    tau, rho = rank_correlations(x, y, resamples=500)
    assert tau.value == pytest.approx(stats.kendalltau(x, y).statistic) and rho.value == pytest.approx(stats.spearmanr(x, y).statistic)
    assert 0.5 < tau.value < 1 and tau.low < tau.value < tau.high and rho.name == "spearman"
    same, _ = rank_correlations(x, 2 * x + 1, resamples=200)
    assert same.value == pytest.approx(1.0) and same.low == pytest.approx(1.0)
    anti, _ = rank_correlations(x, -x, resamples=200)
    assert anti.value == pytest.approx(-1.0)
    noise_tau, _ = rank_correlations(x, rng.normal(size=40), resamples=500)
    assert noise_tau.low < 0 < noise_tau.high                 # unrelated scores: the interval holds 0
    assert str(same).startswith("+1.00 [+1.00, +1.00] (n=40)")
    with pytest.raises(ValueError, match="at least 3"):
        rank_correlations([1, 2], [1, 2])
    few, _ = rank_correlations([1, 2, 3], [1, 3, 2], resamples=200)
    assert str(few) == "+0.33 (n=3: no interval, resamples of so few tie)" and few.value == pytest.approx(1 / 3)


def test_standing_and_noise_floor():
    table = [0.10, 0.12, 0.12, 0.20, float("nan")]
    assert standing(0.12, table) == {"better_share": 0.25, "rank": 2, "of": 4, "regret": pytest.approx(0.02)}
    assert standing(0.05, table)["better_share"] == 0.0 and standing(0.05, table)["regret"] < 0
    floor = noise_floor({"a": [0.1, 0.2, 0.3], "b": [0.5, 0.5], "c": [0.4]})
    assert floor["architectures"] == 2 and floor["mean_std"] == pytest.approx(0.05) and floor["max_range"] == pytest.approx(0.2)


def test_scatter_and_markdown(tmp_path):
    scatter(tmp_path / "s.png", {"cell": ([1, 2, 3], [0.3, 0.2, 0.1])}, "loss", "WER", "t", marks={"st": (2.5, 0.15)})
    assert (tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert markdown_table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |\n"
