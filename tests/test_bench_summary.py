"""BENCH.md's table-only diagnostics (nas.bench.summary) on a hand-made bench dir: what the
table says about its space before any search is scored against it."""
import json
import random

import numpy as np

from conftest import REPO
from nas.bench.codec import codec_of_space
from nas.bench.fileformat import STATIC_NAME, TRAINING_NAME, write_static, write_training
from nas.bench.ground_truth import number, read_plan, sample_blocks, write_plan
from nas.bench.summary import write_bench_md
from nas.models.space import load_space

WERS = [0.050, 0.052, 0.055, 0.080, 0.100, 0.120]     # test WER of the 6 architectures, seed 0
PARAMS = [600, 500, 400, 300, 200, 100]               # bigger is better here: tau = -1


def make_bench(tmp_path, noise_wers):
    space = load_space(REPO / "egs/synth/conf/bench_tdnn.json", verbose=False)
    codec = codec_of_space(space)
    entries = number(sample_blocks(space, codec, len(WERS), random.Random(0)), "tdnn", 2, [0, 1])
    write_plan(tmp_path, {"tdnn": (space, entries, {})})

    def rows(wers):
        return [{"model_hash": e.hash, "arch_vec": e.vec, "val_per": [0.5], "test_per": 0.5, "train_time": 10.0,
                 "dev_wer": w, "test_wer": w, "lm_weight": 0.6, "dev_per": 0.5, "dev_loss": [1.0]}
                for e, w in zip(entries, wers)]
    extra = ("dev_wer", "test_wer", "lm_weight", "dev_per", "dev_loss")
    for name, seeds, members in (("tdnn", {0: WERS}, entries), ("tdnn_noise", noise_wers, entries[:2])):
        out = tmp_path / "tables" / name
        out.mkdir(parents=True)
        for seed, wers in seeds.items():
            write_training(out / TRAINING_NAME.format(epochs=1, seed=seed), rows(wers[:len(members)]), 1, seed,
                           codec=codec, extra_columns=extra)
        write_static(out / STATIC_NAME, [{"model_hash": e.hash, "params": p, "flops": 1}
                                         for e, p in zip(members, PARAMS)], codec=codec)
    return tmp_path


def test_table_diagnostics_before_any_search(tmp_path):
    # two seeds of the first two architectures: stds 0.004 and 0.002, a floor of 0.003
    bench = make_bench(tmp_path, {0: WERS, 1: [0.0557, 0.0548]})
    floor = np.mean([np.std([0.050, 0.0557], ddof=1), np.std([0.052, 0.0548], ddof=1)])
    text = write_bench_md(bench, tmp_path / "BENCH.md", ["tdnn"], ["st"], [0]).read_text()
    close = sum(w <= 0.050 + 2 * floor for w in WERS)
    assert close == 3                  # 0.055 is within 2 floors (0.006) of the best, not within 1
    assert f"Within twice the noise floor of the best: {close} of 6 architectures; the median is " \
           f"{(np.median(WERS) - 0.050) / floor:.1f} noise floors above the best." in text
    assert "Parameters against test WER: Kendall tau -1.00" in text
    assert "No search has been scored against this table yet" in text and "| st | 0 |" not in text


def test_searches_from_records_alone(tmp_path):
    # what score_search.sh exports: no search or training dirs, only records/: the same BENCH.md rows
    bench = make_bench(tmp_path, {0: WERS, 1: [0.0557, 0.0548]})          # noise floor 0.003
    entries = read_plan(bench)["entries"]
    (bench / "records").mkdir()
    for name, wer in (("st_seed0", 0.080), ("st_seed1", 0.090), ("random_seed0", 0.100)):
        rec = {"choices": entries[3]["choices"], "run": {"test_wer": wer}, "search_s": 20.0,
               "scores": {e["id"]: float(i) for i, e in enumerate(entries)}, "heldout_leak": False}
        (bench / "records" / f"tdnn_{name}.json").write_text(json.dumps(rec))
    text = write_bench_md(bench, tmp_path / "BENCH.md", ["tdnn"], ["st", "random"], [0, 1]).read_text()
    assert "| st | 0 | " in text and "| 8.00 | 50% | 3.00 | 2.0x |" in text      # 3 of 6 better; 20 s / 10 s
    assert "| st | 2 | 8.50 ± 0.71 | 3.50 | 58% |" in text and "| random | 1 | 10.00 | 5.00 | 67% |" in text
    # st 8.5 against random 10.0: 1.5 points, beyond twice the 0.3-point floor
    assert "- ST-NAS against random: better by 1.50 points (noise floor 0.30)." in text
    # against the table's median, 6.75: 1.75 points worse
    assert "median architecture (what a random draw gives, trained once): worse by 1.75 points" in text
    row = next(l for l in text.splitlines() if l.startswith("| st seed 0 | 6 | "))
    half = row.split("|")[5].strip()                   # the 3 of 6 at most the median WER, ranked alike
    assert half == "+1.00 (n=3: no interval, resamples of so few tie)", row
    assert "| random seed 0 | 6 |" not in text          # random search trains no weights: no row of its own
    assert "![scatter](results/bench_tdnn_scatter.png)" in text


def test_leaked_searches_are_marked_and_not_averaged(tmp_path):
    """A seed-1 search of an older record (no held-out field) drew its own split from the seed-0
    warm-up: marked "leaked", left out of the per-method mean; a new record says so itself."""
    bench = make_bench(tmp_path, {0: WERS, 1: [0.0557, 0.0548]})
    entries = read_plan(bench)["entries"]
    (bench / "records").mkdir()
    dec = {"b1": {"rel_entropy": 0.91, "margin": 0.05}, "b2": {"rel_entropy": 0.30, "margin": 0.60}}
    for name, wer, extra in (("st_seed0", 0.080, {"decisions": dec, "converged": False, "heldout_leak": False}),
                             ("st_seed1", 0.050, {}), ("st_seed2", 0.120, {"heldout_leak": True})):
        rec = {"choices": entries[3]["choices"], "run": {"test_wer": wer}, "search_s": 20.0, **extra}
        (bench / "records" / f"tdnn_{name}.json").write_text(json.dumps(rec))
    text = write_bench_md(bench, tmp_path / "BENCH.md", ["tdnn"], ["st"], [0, 1, 2]).read_text()
    rows = {l.split("|")[2].strip(): l for l in text.splitlines()
            if l.startswith("| st | ") and len(l.split("|")) == 13}     # the derived-architectures table
    assert rows["0"].endswith("| 0.91 | 0.05 | no | warm-up's |")
    assert rows["1"].endswith("| - | - | - | leaked |") and rows["2"].endswith("| leaked |")
    assert "| st | 1 | 8.00 | 3.00 | 50% |" in text              # seed 0 alone: 8.00, not the mean of three
    assert '**Held-out "leaked"**' in text and "one counted search here" in text
