"""The answer BENCH.md states first (nas.bench.answer) and the plot of picks against cost (nas.bench.compare_plot)."""
from __future__ import annotations

import numpy as np
import pytest

from nas.bench.answer import answer, answer_lines, holm
from nas.bench.codec import codec_of_space
from nas.bench.compare import ExhaustiveTable, Pick, random_picks, summarize
from nas.models.space import load_space
from tests.test_bench_compare import SPACE, _rows


def test_holm_multiplies_the_ith_smallest_p_and_keeps_the_order():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def _summary(**picks):
    return {m: {"runs": len(x), "mean": float(np.mean(x)), "picks": list(x)} for m, x in picks.items()}


def test_verdicts_are_taken_on_holm_adjusted_p_over_the_whole_family():
    rng = np.random.default_rng(0)
    s = _summary(**{"random pick": rng.uniform(0.30, 0.36, 100), "random": rng.uniform(0.30, 0.33, 100),
                    "good": rng.uniform(0.295, 0.305, 12), "same": rng.uniform(0.30, 0.36, 12),
                    "few": [0.30, 0.31], "TDNN-D": [0.31], "pointwise": [0.36]})
    rows = answer(s, ["good", "same", "few"], designs=["TDNN-D", "pointwise"])
    assert {r["method"] for r in rows} == {"good", "same"}                    # "few": under 3 runs
    assert [r["reference"] for r in rows[:3]] == ["random pick", "random", "TDNN-D"]   # the best hand design
    assert [r["p_holm"] for r in rows] == pytest.approx(holm([r["p"] for r in rows]))
    by = {(r["method"], r["reference"]): r for r in rows}
    assert by[("good", "random pick")]["verdict"] == "better" and by[("good", "random pick")]["diff"] < 0
    assert by[("good", "TDNN-D")]["verdict"] == "better"                     # a sign-flip test about a constant
    assert by[("same", "random pick")]["verdict"] == "not told apart"
    assert by[("same", "random pick")]["mdd"] > 0
    text = "\n".join(answer_lines(rows, s))
    assert "- Against random pick (33." in text and "better: good" in text
    assert "the best hand design, TDNN-D (31.00%)" in text


def test_a_p_under_alpha_that_holm_lifts_is_not_a_verdict():
    # 12 runs at 0.5 points under random pick's mean: raw p a little under 0.05, adjusted over 6 rows above it
    rng = np.random.default_rng(3)
    ref = rng.normal(0.32, 0.01, 100)
    for shift in np.linspace(0.004, 0.008, 20):
        s = _summary(**{"random pick": ref, "a": ref[:12] - shift, "b": ref[12:24], "c": ref[24:36]})
        rows = answer(s, ["a", "b", "c"])
        r = rows[0]
        if r["p"] < 0.05 <= r["p_holm"]:
            assert r["verdict"] == "not told apart"
            return
    pytest.fail("no shift gave a raw p under 0.05 that Holm lifts over it")


def test_the_plot_puts_each_pick_at_its_cost_and_table_mean(tmp_path):
    codec = codec_of_space(load_space(SPACE, verbose=False))
    table = ExhaustiveTable(_rows(codec), codec)
    hs = sorted(table.means)
    picks = [Pick("st", r, hs[r], 2.0 + r) for r in range(3)] + random_picks(table, 30) + [Pick("shallow", 0, hs[0], 0.0)]
    from nas.bench.compare_plot import plot_picks
    points = plot_picks(tmp_path / "p.png", picks, summarize(picks, table), table)
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    x, y = points["st"]
    assert x.tolist() == [2.0, 3.0, 4.0] and y == pytest.approx([100 * table.means[h] for h in hs[:3]])
    assert len(points["random pick"][0]) == 30
