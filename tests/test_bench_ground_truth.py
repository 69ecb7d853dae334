"""Ground-truth tables (nas.bench.ground_truth): sampling, the plan, FLOPs, collecting finished
runs, and the table format's extra columns they use."""
import json
import pickle
import random

import pytest
import torch

from nas.bench.codec import NB_ASR, codec_of_space
from nas.bench.errors import BenchFileError
from nas.bench.fileformat import write_training
from nas.bench.ground_truth import (ALL_CONV7, ALL_LINEAR, add_seeds, collect, flops_per_second, number, pending_jobs,
                                    read_plan, sample_blocks, sample_cell, write_archs, write_plan)
from nas.bench.model import build_model
from nas.bench.model_hash import model_hash
from nas.bench.table import load_folder
from nas.models.space import load_space


def test_extra_columns_round_trip_and_drive_the_objective(tmp_path):
    vecs = [[[1, 0], [1, 0, 0], [k, 0, 0, 0]] for k in range(3)]
    for seed, shift in ((0, 0.0), (1, 0.1)):
        rows = [{"arch_vec": v, "val_per": [0.5, 0.4], "test_per": 0.3, "train_time": 10.0,
                 "dev_wer": 0.1 * k + shift, "test_wer": 0.2 * k, "dev_loss": [3.0 + k, 2.0]} for k, v in enumerate(vecs)]
        write_training(tmp_path / f"nb-asr-e2-{seed}.pickle", rows, 2, seed, extra_columns=("dev_wer", "test_wer", "dev_loss"))
    with open(tmp_path / "nb-asr-e2-0.pickle", "rb") as f:
        header = pickle.load(f)
    assert header["columns"] == ["model_hash", "val_per", "test_per", "train_time", "dev_wer", "test_wer", "dev_loss",
                                 "arch_vec"]
    t = load_folder(tmp_path, epochs=2)
    assert t.extra_columns == ("dev_wer", "test_wer", "dev_loss")
    q = t.query(vecs[2])
    assert q["dev_wer"] == pytest.approx(0.25) and q["dev_loss"] == [5.0, 2.0]       # means over the seeds
    assert t.query(vecs[2], seed=1)["dev_wer"] == pytest.approx(0.3)
    obj = t.objective(val="dev_wer", test="test_wer")
    assert obj.evaluate(vecs[1]).val == pytest.approx(0.15) and obj.optimum().test == pytest.approx(0.0)
    with pytest.raises(BenchFileError, match="no column 'wer'"):
        t.objective(val="wer")
    with pytest.raises(BenchFileError, match="holds lists"):
        t.objective(val="dev_loss")
    with pytest.raises(BenchFileError, match="extra_columns"):
        write_training(tmp_path / "x.pickle", [], 2, 0, extra_columns=("test_per",))
    with pytest.raises(BenchFileError, match="has no dev_wer"):
        write_training(tmp_path / "x.pickle", [{"arch_vec": vecs[0], "val_per": [0.1, 0.1], "test_per": 0.1}], 2, 0,
                       extra_columns=("dev_wer",))


def test_sampling_is_uniform_over_models_and_deterministic():
    cell = load_space("nb_asr_small", verbose=False)
    a = sample_cell(cell, 50, random.Random(3))
    b = sample_cell(cell, 50, random.Random(3))
    assert [e.hash for e in a] == [e.hash for e in b] and len({e.hash for e in a}) == len(a)
    assert {e.origin for e in a[50:]} <= {"all-linear", "all-conv7"}
    assert model_hash(ALL_LINEAR) in {e.hash for e in a} and model_hash(ALL_CONV7) in {e.hash for e in a}
    assert all(model_hash(e.vec) == e.hash and cell.check_arch(e.choices) is None for e in a)
    # uniform over hashes, not over vectors: the 812-vector classes are drawn like any other
    big = sample_cell(cell, 8242, random.Random(0))
    assert len({e.hash for e in big}) == 8242
    tdnn = load_space("wsj", verbose=False)
    blocks = sample_blocks(tdnn, codec_of_space(tdnn), 20, random.Random(1))
    assert len({e.hash for e in blocks}) == 20 and all(len(e.vec) == 6 for e in blocks)


def test_plan_interleaves_spaces_and_gives_the_noise_floor_every_seed(tmp_path):
    cell, tdnn = load_space("nb_asr_small", verbose=False), load_space("wsj", verbose=False)
    groups = {"cell": (cell, number(sample_cell(cell, 3, random.Random(0))[:3], "cell", 1, [0, 1, 2]), {}),
              "tdnn": (tdnn, number(sample_blocks(tdnn, codec_of_space(tdnn), 2, random.Random(0)), "tdnn", 1, [0, 1, 2]), {})}
    write_plan(tmp_path, groups)
    jobs = [line.split() for line in (tmp_path / "jobs.txt").read_text().splitlines()]
    assert [j[0] for j in jobs[:5]] == ["cell_000", "tdnn_000", "cell_001", "tdnn_001", "cell_002"]
    assert [(j[0], j[1]) for j in jobs[5:]] == [("cell_000", "1"), ("tdnn_000", "1"), ("cell_000", "2"), ("tdnn_000", "2")]
    plan = read_plan(tmp_path)
    assert {e["id"]: e["seeds"] for e in plan["entries"]}["cell_000"] == [0, 1, 2]
    assert json.loads((tmp_path / "archs" / "tdnn_001.arch.json").read_text())["choices"] == plan["entries"][4]["choices"]


def test_flops_count_the_lstm_that_torch_does_not():
    from torch.utils.flop_counter import FlopCounterMode
    net = build_model([[1, 0], [1, 0, 0], [1, 0, 0, 0]], "nb_asr_small", input_dim=80, num_tokens=49).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as c:
        net(torch.zeros(1, 100, 80), torch.tensor([100]))
    lstm = [m for m in net.modules() if isinstance(m, torch.nn.LSTM)][0]
    frames = 25                                            # 100 frames / stride 4 reach the LSTM
    assert flops_per_second(net) == c.get_total_flops() + 2 * frames * 4 * (lstm.input_size * 50 + 50 * 50)


def fake_run(run, epochs, wer, seed_shift=0.0):
    (run / "retrain" / "decode_dev").mkdir(parents=True)
    (run / "retrain" / "decode_test").mkdir()
    hist = [{"epoch": e + 1, "time_s": 10.0, "valid_loss": 5.0 - e, "valid_ter": 0.5 - 0.1 * e + seed_shift}
            for e in range(epochs)]
    torch.save({"history": hist, "dims": {"input": 12, "outputs": 7}}, run / "retrain" / "final.pt")
    (run / "retrain" / "RESULTS").write_text(f"test WER at LM weight 0.7 (best on dev): %WER {100 * wer:.2f} [ 1 / 9 ]\n")
    (run / "retrain" / "decode_dev" / "best_wer").write_text(f"%WER {50 * wer:.2f} [ 1 / 9 ] x/wer_0.7\n")
    (run / "retrain" / "decode_dev" / "per.txt").write_text("%PER 40.00 [ 4 / 10 ]\n")
    (run / "retrain" / "decode_test" / "per.txt").write_text("%PER 45.00 [ 9 / 20 ]\n")


def test_collect_writes_a_table_and_a_noise_table(tmp_path):
    cell = load_space("nb_asr_small", verbose=False)
    entries = number(sample_cell(cell, 3, random.Random(0))[:3], "cell", 1, [0, 1])
    write_plan(tmp_path, {"cell": (cell, entries, {})})
    fake_run(tmp_path / "runs" / "cell_000_seed0", 2, 0.10)
    fake_run(tmp_path / "runs" / "cell_000_seed1", 2, 0.20, seed_shift=0.05)
    fake_run(tmp_path / "runs" / "cell_001_seed0", 2, 0.30)
    (tmp_path / "runs" / "cell_002_seed0").mkdir()                      # not finished: left out
    notes = []
    collect(tmp_path, log=notes.append)
    assert any("1 of 4 trainings not finished" in n for n in notes)
    main = load_folder(tmp_path / "tables" / "cell", epochs=2)
    assert len(main) == 2 and main.codec is NB_ASR
    q = main.query(entries[0].vec)
    assert q["test_wer"] == pytest.approx(0.10) and q["dev_wer"] == pytest.approx(0.05) and q["lm_weight"] == 0.7
    assert q["val_per_curve"] == pytest.approx([0.5, 0.4]) and q["test_per"] == pytest.approx(0.45)
    assert q["train_time"] == 20.0 and q["params"] > 0 and q["flops"] > 0
    noise = load_folder(tmp_path / "tables" / "cell_noise", epochs=2)
    assert len(noise) == 1 and noise.seeds == (0, 1)
    assert noise.query(entries[0].vec)["test_wer"] == pytest.approx(0.15)


def test_collected_rows_outlive_their_run_dirs(tmp_path):
    """runs/ removed after a collect: the next collect (with a new training) keeps the tabled rows,
    pending lists only what neither covers, and the plan's arch.json files can be written again."""
    import shutil
    cell = load_space("nb_asr_small", verbose=False)
    entries = number(sample_cell(cell, 3, random.Random(0))[:3], "cell", 1, [0, 1])
    write_plan(tmp_path, {"cell": (cell, entries, {})})
    fake_run(tmp_path / "runs" / "cell_000_seed0", 2, 0.10)
    fake_run(tmp_path / "runs" / "cell_001_seed0", 2, 0.30)
    assert pending_jobs(tmp_path) == [("cell_002", 0, "cell"), ("cell_000", 1, "cell")]
    collect(tmp_path, log=lambda m: None)
    before = load_folder(tmp_path / "tables" / "cell", epochs=2)
    shutil.rmtree(tmp_path / "runs")
    shutil.rmtree(tmp_path / "archs")
    assert pending_jobs(tmp_path) == [("cell_002", 0, "cell"), ("cell_000", 1, "cell")]
    assert write_archs(tmp_path, only_missing=True) == 3 and write_archs(tmp_path, only_missing=True) == 0
    fake_run(tmp_path / "runs" / "cell_000_seed1", 2, 0.20, seed_shift=0.05)   # the noise floor's second seed
    notes = []
    collect(tmp_path, log=notes.append)
    assert any("2 trainings from the tables" in n for n in notes)
    after = load_folder(tmp_path / "tables" / "cell", epochs=2)
    assert len(after) == 2
    for e in entries[:2]:
        a, b = before.query(e.vec), after.query(e.vec)
        for k in ("test_wer", "dev_wer", "lm_weight", "test_per", "train_time", "params", "flops", "dev_loss"):
            assert a[k] == pytest.approx(b[k]), k
        assert a["val_per_curve"] == pytest.approx(b["val_per_curve"])
    noise = load_folder(tmp_path / "tables" / "cell_noise", epochs=2)        # seed 0 from the table, 1 from its run
    assert noise.seeds == (0, 1) and noise.query(entries[0].vec)["test_wer"] == pytest.approx(0.15)
    assert pending_jobs(tmp_path) == [("cell_002", 0, "cell")]


def test_added_seeds_wait_until_every_architecture_has_them(tmp_path):
    """add_seeds on a finished 2-seed table: the new jobs come after the old, each architecture's in a
    row; while one architecture lacks them the noise table keeps its old seeds and every architecture
    (not the few with all seeds), the finished new rows wait in tables/<space>_extra, and survive the
    removal of runs/ (a committed copy resumes them); once all have them, the table has every seed."""
    import shutil
    cell = load_space("nb_asr_small", verbose=False)
    entries = number(sample_cell(cell, 2, random.Random(0))[:2], "cell", 2, [0, 1])
    write_plan(tmp_path, {"cell": (cell, entries, {})}, order="arch")
    for i in ("cell_000", "cell_001"):
        for s in (0, 1):
            fake_run(tmp_path / "runs" / f"{i}_seed{s}", 2, 0.1 + 0.1 * s + (0.2 if i == "cell_001" else 0.0))
    collect(tmp_path, log=lambda m: None)
    assert add_seeds(tmp_path, [0, 1, 2, 3]) == 4 and add_seeds(tmp_path, [0, 1, 2, 3]) == 0
    jobs = [tuple(j.split()[:2]) for j in (tmp_path / "jobs.txt").read_text().splitlines()]
    assert jobs[4:] == [("cell_000", "2"), ("cell_000", "3"), ("cell_001", "2"), ("cell_001", "3")]
    assert read_plan(tmp_path)["seed_sets"] == [[0, 1], [0, 1, 2, 3]]
    fake_run(tmp_path / "runs" / "cell_000_seed2", 2, 0.3)
    fake_run(tmp_path / "runs" / "cell_000_seed3", 2, 0.4)
    collect(tmp_path, log=lambda m: None)
    noise = load_folder(tmp_path / "tables" / "cell_noise", epochs=2)
    assert len(noise) == 2 and noise.seeds == (0, 1)
    assert noise.query(entries[0].vec)["test_wer"] == pytest.approx(0.15)
    from nas.bench.export import export_rows                  # the CSV is the published table's too ...
    assert sorted((r["id"], r["seed"]) for r in export_rows(tmp_path, "cell")) == \
        [("cell_000", 0), ("cell_000", 1), ("cell_001", 0), ("cell_001", 1)]
    assert len(export_rows(tmp_path, "cell", waiting=True)) == 6           # ... unless the waiting rows are asked for
    shutil.rmtree(tmp_path / "runs")
    assert pending_jobs(tmp_path) == [("cell_001", 2, "cell"), ("cell_001", 3, "cell")]
    fake_run(tmp_path / "runs" / "cell_001_seed2", 2, 0.5)
    fake_run(tmp_path / "runs" / "cell_001_seed3", 2, 0.6)
    collect(tmp_path, log=lambda m: None)
    noise = load_folder(tmp_path / "tables" / "cell_noise", epochs=2)
    assert len(noise) == 2 and noise.seeds == (0, 1, 2, 3)
    assert noise.query(entries[0].vec)["test_wer"] == pytest.approx(0.25)       # all four from the tables
    assert noise.query(entries[1].vec)["test_wer"] == pytest.approx(0.45)
    assert not (tmp_path / "tables" / "cell_extra").exists() and pending_jobs(tmp_path) == []


def test_a_partial_test_wer_is_never_a_table_entry(tmp_path):
    """A run whose test set was scored in part (utterances without hypotheses) is refused, naming
    the RESULTS file, instead of entering the table as if it covered the whole set."""
    from nas.bench.ground_truth import read_run
    r = tmp_path / "run" / "retrain"
    r.mkdir(parents=True)
    torch.save({"history": [{"valid_ter": 0.5, "valid_loss": 2.0, "time_s": 3.0}]}, r / "final.pt")
    line = "test WER at LM weight 0.8 (best on dev): %WER 7.50 [ 30 / 400, 1 ins, 9 del, 20 sub ]"
    (r / "RESULTS").write_text(line + "\n")
    assert read_run(tmp_path / "run")["test_wer"] == pytest.approx(0.075)
    (r / "RESULTS").write_text(line + " over 40 utterances (PARTIAL: 2 without hypothesis, scored as all "
                               "deletions; see x/scoring/partial_0.8)\n")
    with pytest.raises(ValueError, match=r"RESULTS: the test WER is over part of the test set"):
        read_run(tmp_path / "run")
