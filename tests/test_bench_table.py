"""nas.bench.table, .fileformat and .synthetic: the released NAS-Bench-ASR pickle format, the checks on
load, deterministic queries, the Objective adaptor and the synthetic benchmark."""
from __future__ import annotations

import os
import pickle
import statistics
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from nas.bench.archvec import all_vectors
from nas.bench.errors import ArchNotInTable, BenchFileError
from nas.bench.fileformat import (BENCHMARKING_COLUMNS, STATIC_COLUMNS, TIMED_TRAINING_COLUMNS, TRAINING_COLUMNS,
                                  write_benchmarking, write_folder, write_static, write_training)
from nas.bench.model_hash import model_hash
from nas.bench.objective import Eval
from nas.bench.synthetic import synthetic_table
from nas.bench.table import BenchTable, load_folder

# The released example: seed 1235's entry of [[1,0],[1,0,0],[1,0,0,0]].
EX = [[1, 0], [1, 0, 0], [1, 0, 0, 0]]
EX_HASH = "36855332a5778e0df5114305bc3ce238"
EX_TEST_1235, EX_PARAMS, EX_LATENCY = 0.242688849568367, 26338848, 0.04320073127746582
OTHER = [[3, 1], [0, 0, 1], [2, 1, 0, 1]]
ABSENT = [[4, 1], [4, 1, 1], [4, 1, 1, 1]]
SAME_A, SAME_B = [[0, 0], [0, 0, 0], [5, 0, 0, 0]], [[0, 0], [0, 0, 1], [5, 0, 0, 0]]   # one model
SEEDS = (1234, 1235, 1236)
GPU = "gtx-1080ti-fp32"
SPACE = {"shape": [[6, 2], [6, 2, 2], [6, 2, 2, 2]],
         "ops": ["linear", "conv5", "conv5d2", "conv7", "conv7d2", "zero"], "nodes": 3}


def curves(seed: int):
    """Two models, five epochs, different per seed; EX's seed-1235 test PER is the released one."""
    k = SEEDS.index(seed)
    ex = {"arch_vec": EX, "val_per": [0.9, 0.5 + k / 100, 0.6, 0.4 - k / 100, 0.45],
          "test_per": EX_TEST_1235 if seed == 1235 else 0.25 + k / 100, "train_time": 100.0 + 10 * k}
    other = {"arch_vec": OTHER, "model_hash": model_hash(OTHER), "val_per": [0.8, 0.7, 0.3 + k / 50, 0.35, 0.32],
             "test_per": 0.33 + k / 100, "train_time": 200.0 + 20 * k}
    return [ex, other]


def write_small(folder: Path, epochs: int = 5) -> Path:
    latency = [{"arch_vec": EX, "latency": EX_LATENCY}, {"model_hash": model_hash(OTHER), "latency": 0.05}]
    static = [{"arch_vec": EX, "params": EX_PARAMS, "flops": 7_000_000_000},
              {"arch_vec": OTHER, "params": 30_000_000, "flops": 8_000_000_000}]
    write_folder(folder, {s: curves(s) for s in SEEDS}, epochs, benchmarking={GPU: latency}, static=static)
    return folder


def raw_load(path: Path):
    """What the released reader does: two pickle.load calls, header then rows."""
    with open(path, "rb") as f:
        header, rows = pickle.load(f), pickle.load(f)
        assert f.read() == b""
    return header, rows


def raw_write(path: Path, *objs) -> Path:
    with open(path, "wb") as f:
        for obj in objs:
            pickle.dump(obj, f)
    return path


def training_header(**changes):
    header = {"dataset_type": "training", "version": 2, "columns": list(TRAINING_COLUMNS),
              "search_space": SPACE, "epochs": 5, "seed": 1234}
    header.update(changes)
    return {k: v for k, v in header.items() if v is not None}


def ex_row():
    return [EX_HASH, [0.9, 0.5, 0.6, 0.4, 0.45], 0.25, ((1, 0), (1, 0, 0), (1, 0, 0, 0))]


@pytest.fixture
def small(tmp_path: Path) -> Path:
    return write_small(tmp_path / "bench")


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> BenchTable:
    """The synthetic benchmark with every model: the only test data that takes seconds to build."""
    return load_folder(synthetic_table(tmp_path_factory.mktemp("full"), epochs=12), epochs=12)


# ---------------------------------------------------------------------------------------- format

def test_written_files_are_in_the_released_format(small: Path):
    header, rows = raw_load(small / "nb-asr-e5-1235.pickle")
    assert header == {"dataset_type": "training", "version": 2, "columns": list(TIMED_TRAINING_COLUMNS),
                      "search_space": SPACE, "epochs": 5, "seed": 1235}
    assert header["columns"][:3] == ["model_hash", "val_per", "test_per"]
    assert header["columns"][-1] == "arch_vec"
    ex = rows[0]
    assert ex[0] == EX_HASH and ex[2] == EX_TEST_1235
    assert ex[-1] == ((1, 0), (1, 0, 0), (1, 0, 0, 0)) and all(type(n) is tuple for n in ex[-1])
    assert type(ex[1]) is list and len(ex[1]) == 5 and all(type(x) is float for x in ex[1])

    # The released reader's validation: every seed's rows keyed by hash, last value equal across seeds.
    # This is why train_time goes before arch_vec.
    dbs = [{h: rest for h, *rest in raw_load(small / f"nb-asr-e5-{s}.pickle")[1]} for s in SEEDS]
    assert all(db.keys() == dbs[0].keys() for db in dbs)
    assert all(db[h][-1] == dbs[0][h][-1] for db in dbs for h in db)

    header, rows = raw_load(small / f"nb-asr-bench-{GPU}.pickle")
    assert header == {"dataset_type": "benchmarking", "version": 2, "columns": list(BENCHMARKING_COLUMNS),
                      "search_space": SPACE, "device": GPU}
    assert rows[0] == [EX_HASH, EX_LATENCY]
    header, rows = raw_load(small / "nb-asr-info.pickle")
    assert header == {"dataset_type": "static", "version": 2, "columns": list(STATIC_COLUMNS[2]),
                      "search_space": SPACE}
    assert rows[0] == [EX_HASH, EX_PARAMS, 7_000_000_000]


def test_training_file_without_train_time_has_the_four_released_columns(tmp_path: Path):
    rows = [{k: v for k, v in r.items() if k != "train_time"} for r in curves(1234)]
    header, _ = raw_load(write_training(tmp_path / "t.pickle", rows, 5, 1234))
    assert header["columns"] == ["model_hash", "val_per", "test_per", "arch_vec"]
    table = BenchTable([tmp_path / "t.pickle"])
    assert "train_time" not in table.query(EX) and table.train_time(EX) is None
    assert table.objective().evaluate(EX).cost is None


def test_round_trip_gives_the_released_example(small: Path):
    table = load_folder(small, epochs=5)
    assert (len(table), table.seeds, table.epochs, table.devices) == (2, SEEDS, 5, (GPU,))
    q = table.query(EX, seed=1235)
    assert q["model_hash"] == EX_HASH and q["arch_vec"] == EX
    assert q["test_per"] == EX_TEST_1235 and table.test(EX, seed=1235) == EX_TEST_1235
    assert q["params"] == EX_PARAMS == table.params(EX)
    assert q["latency"] == {GPU: EX_LATENCY} and table.latency(EX) == table.latency(EX, GPU) == EX_LATENCY
    assert table.flops(EX) == 7_000_000_000
    # the same model by hash, by printed vector, by tuples
    assert table.query(EX_HASH, seed=1235) == q == table.query("[[1,0],[1,0,0],[1,0,0,0]]", seed=1235)
    assert table.query(tuple(map(tuple, EX)), seed=1235) == q
    assert EX in table and EX_HASH.upper() in table and ABSENT not in table
    assert table.hashes() == [EX_HASH, model_hash(OTHER)] and table.arch_vecs() == [EX, OTHER]


def test_writer_computes_missing_hash_and_takes_objects(tmp_path: Path):
    rows = [SimpleNamespace(arch_vec=OTHER, val_per=[0.5] * 3, test_per=0.4)]
    _, got = raw_load(write_training(tmp_path / "t.pickle", rows, 3, 7))
    assert got[0][0] == model_hash(OTHER) == "fb90589bda3dc81588a819c756350377"


def test_writer_refuses_a_hash_that_does_not_match_arch_vec(tmp_path: Path):
    row = {"arch_vec": OTHER, "model_hash": EX_HASH, "val_per": [0.5], "test_per": 0.4}
    with pytest.raises(BenchFileError, match=rf"t\.pickle.*{EX_HASH} does not match arch_vec "
                                             rf"\[\[3,1\],\[0,0,1\],\[2,1,0,1\]\], whose hash is fb9058"):
        write_training(tmp_path / "t.pickle", [row], 1, 7)
    with pytest.raises(BenchFileError, match="does not match"):
        write_static(tmp_path / "s.pickle", [{"arch_vec": OTHER, "model_hash": EX_HASH, "params": 1, "flops": 1}])
    assert os.listdir(tmp_path) == []       # nothing written, no temporary left


@pytest.mark.parametrize("rows, epochs, match", [
    ([{"arch_vec": EX, "val_per": [0.5, 0.4], "test_per": 0.4}], 3, "2 validation PERs for 3 epochs"),
    ([{"arch_vec": EX, "val_per": [0.5], "test_per": 0.4}] * 2, 1, "has a row already"),
    ([{"arch_vec": SAME_A, "val_per": [0.5], "test_per": 0.4},
      {"arch_vec": SAME_B, "val_per": [0.5], "test_per": 0.4}], 1, "one row per model hash"),
    ([{"arch_vec": EX, "val_per": [0.5], "test_per": 0.4, "train_time": 3.0},
      {"arch_vec": OTHER, "val_per": [0.5], "test_per": 0.4}], 1, "row 1 lacks train_time"),
    ([{"model_hash": EX_HASH, "val_per": [0.5], "test_per": 0.4}], 1, "row 0 has no arch_vec"),
    ([{"arch_vec": EX, "val_per": [0.5]}], 1, "row 0 has no test_per"),
    ([{"arch_vec": [[1, 0], [9, 0, 0], [1, 0, 0, 0]], "val_per": [0.5], "test_per": 0.4}], 1, "node 2 position 0 is 9"),
])
def test_writer_refuses_bad_rows(tmp_path: Path, rows, epochs, match):
    with pytest.raises(BenchFileError, match=match) as e:
        write_training(tmp_path / "t.pickle", rows, epochs, 1234)
    assert "t.pickle" in str(e.value)
    assert not (tmp_path / "t.pickle").exists()


def test_writer_refuses_bad_settings(tmp_path: Path):
    row = {"arch_vec": EX, "val_per": [0.5], "test_per": 0.4}
    with pytest.raises(BenchFileError, match="extra_header may not set"):
        write_training(tmp_path / "t.pickle", [row], 1, 1, extra_header={"seed": 3})
    with pytest.raises(BenchFileError, match="letters, digits and '-'"):
        write_benchmarking(tmp_path / "b.pickle", [{"arch_vec": EX, "latency": 0.1}], "gtx_1080")
    with pytest.raises(BenchFileError, match="neither model_hash nor arch_vec"):
        write_benchmarking(tmp_path / "b.pickle", [{"latency": 0.1}], "gpu")


def test_a_failed_write_keeps_the_old_file(tmp_path: Path):
    path = write_training(tmp_path / "t.pickle", curves(1234), 5, 1234)
    before = path.read_bytes()
    with pytest.raises(BenchFileError):
        write_training(path, curves(1234) + [{"arch_vec": ABSENT, "val_per": [1.0], "test_per": 1.0}], 5, 1234)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["t.pickle"]


# ---------------------------------------------------------------------------------------- queries

def test_default_query_is_the_deterministic_mean_over_seeds(small: Path):
    table = load_folder(small, epochs=5)
    first, again = table.query(EX), table.query(EX)
    assert first == again
    per_seed = [table.query(EX, seed=s) for s in SEEDS]
    assert first["seed"] == "mean of 1234,1235,1236" and first["seeds"] == list(SEEDS)
    for key in ("val_per", "val_per_last", "test_per", "train_time"):
        assert first[key] == pytest.approx(statistics.fmean(q[key] for q in per_seed))
    mean_curve = [statistics.fmean(c) for c in zip(*(q["val_per_curve"] for q in per_seed))]
    assert first["val_per_curve"] == pytest.approx(mean_curve)
    assert any(first["val_per"] != q["val_per"] for q in per_seed)
    assert first["test_per"] != per_seed[1]["test_per"]
    assert table.val(EX) == first["val_per"] and table.test(EX) == first["test_per"]
    assert table.train_time(EX) == pytest.approx(110.0)


def test_seed_selection_gives_that_seeds_file(small: Path):
    table = load_folder(small, epochs=5)
    for seed in SEEDS:
        _, rows = raw_load(small / f"nb-asr-e5-{seed}.pickle")
        q = table.query(OTHER, seed=seed)
        assert (q["seed"], q["seeds"]) == (seed, [seed])
        assert q["val_per_curve"] == rows[1][1] and q["test_per"] == rows[1][2] and q["train_time"] == rows[1][3]
        assert q["val_per"] == min(rows[1][1])
    with pytest.raises(BenchFileError, match=r"seed 99 is not loaded.*\[1234, 1235, 1236\].*nb-asr-e5-1234\.pickle"):
        table.query(EX, seed=99)


def test_best_versus_last_and_epoch_truncation(small: Path):
    table = load_folder(small, epochs=5)
    curve = [0.9, 0.5, 0.6, 0.4, 0.45]       # EX, seed 1234
    assert table.val(EX, seed=1234) == 0.4 and table.val(EX, best=False, seed=1234) == 0.45
    assert table.val(EX, epoch=3, seed=1234) == 0.5 and table.val(EX, epoch=3, best=False, seed=1234) == 0.6
    assert table.val(EX, epoch=1, seed=1234) == table.val(EX, epoch=1, best=False, seed=1234) == 0.9
    q = table.query(EX, seed=1234, epoch=3)
    assert q["val_per_curve"] == curve[:3] and q["epoch"] == 3 and q["test_per"] == 0.25   # test PER as stored
    # the mean of per-seed bests, not the best of the mean curve: seeds' bests are 0.4, 0.39, 0.38
    assert table.val(EX) == pytest.approx(0.39)
    for bad in (0, 6, 2.5):
        with pytest.raises(ValueError, match="epochs 1..5"):
            table.val(EX, epoch=bad)


def test_an_architecture_not_in_the_table_is_named(small: Path):
    table = load_folder(small, epochs=5)
    absent_hash = model_hash(ABSENT)
    with pytest.raises(ArchNotInTable) as e:
        table.query(ABSENT)
    msg = str(e.value)
    assert "[[4,1],[4,1,1],[4,1,1,1]]" in msg and absent_hash in msg and "nb-asr-e5-1234.pickle" in msg
    assert isinstance(e.value, KeyError) and isinstance(e.value, BenchFileError)
    with pytest.raises(ArchNotInTable, match=f"model hash {absent_hash} is not in the table"):
        table.test(absent_hash)
    with pytest.raises(KeyError, match=r"\[\[4,1\],\[4,1,1\],\[4,1,1,1\]\]"):
        table.objective().evaluate(ABSENT)


def test_missing_parts_are_reported(small: Path):
    table = load_folder(small, epochs=5, devices=[], static=False)
    assert table.files == [small / f"nb-asr-e5-{s}.pickle" for s in SEEDS]
    assert "latency" not in table.query(EX) and "params" not in table.query(EX)
    with pytest.raises(BenchFileError, match="no benchmarking file is loaded"):
        table.latency(EX)
    with pytest.raises(BenchFileError, match="nb-asr-info.pickle"):
        table.params(EX)
    table = load_folder(small, epochs=5)
    with pytest.raises(BenchFileError, match="device 'jetson-nano-fp32'.*loaded: \\['gtx-1080ti-fp32'\\]"):
        table.latency(EX, "jetson-nano-fp32")


# ---------------------------------------------------------------------------------------- file errors

def bad_file(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "nb-asr-e5-1234.pickle"
    if case == "missing":
        return path
    if case == "not a pickle":
        path.write_text("model_hash,val_per\n")
    elif case == "empty":
        path.write_bytes(b"")
    elif case == "header only":
        raw_write(path, training_header())
    elif case == "cut short":
        raw_write(path, training_header(), [ex_row()])
        path.write_bytes(path.read_bytes()[:-20])
    elif case == "foreign object":
        raw_write(path, training_header(), [ex_row(), SimpleNamespace(x=1)])
    elif case == "not a dict":
        raw_write(path, ["dataset_type", "training"], [])
    elif case == "lacks keys":
        raw_write(path, training_header(epochs=None, seed=None), [ex_row()])
    elif case == "lacks dataset_type":
        raw_write(path, training_header(dataset_type=None), [ex_row()])
    elif case == "wrong type":
        raw_write(path, {"dataset_type": "static", "version": 2, "columns": list(STATIC_COLUMNS[2]),
                         "search_space": SPACE}, [])
    elif case == "columns":
        raw_write(path, training_header(columns=["model_hash", "test_per", "val_per", "arch_vec"]), [ex_row()])
    elif case == "no arch_vec":
        raw_write(path, training_header(columns=["model_hash", "val_per", "test_per"]), [ex_row()[:3]])
    elif case == "newer version":
        raw_write(path, training_header(version=3), [ex_row()])
    elif case == "other space":
        raw_write(path, training_header(search_space={**SPACE, "nodes": 4}), [ex_row()])
    elif case == "short curve":
        raw_write(path, training_header(), [[EX_HASH, [0.9, 0.5], 0.25, ex_row()[3]]])
    elif case == "short row":
        raw_write(path, training_header(), [ex_row()[:3]])
    elif case == "duplicate":
        raw_write(path, training_header(), [ex_row(), ex_row()])
    elif case == "bad vector":
        raw_write(path, training_header(), [ex_row()[:3] + [((7, 0), (1, 0, 0), (1, 0, 0, 0))]])
    return path


@pytest.mark.parametrize("case, match", [
    ("missing", "no such file"),
    ("not a pickle", "not a NAS-Bench-ASR pickle, or truncated"),
    ("empty", "empty, not a NAS-Bench-ASR pickle"),
    ("header only", "truncated: it ends after the header"),
    ("cut short", "truncated"),
    ("foreign object", "types.SimpleNamespace.*refused"),
    ("not a dict", "not a header dict"),
    ("lacks keys", r"lacks \['epochs', 'seed'\]"),
    ("lacks dataset_type", "lacks dataset_type"),
    ("wrong type", "a 'static' file where a 'training' file is needed"),
    ("columns", r"do not start with \['model_hash', 'val_per', 'test_per'\]"),
    ("no arch_vec", "have no arch_vec"),
    ("newer version", r"version 3 is newer than the versions this reader knows, \[1, 2\]"),
    ("other space", "is not NAS-Bench-ASR's"),
    ("short curve", "has 2 validation PERs, but the header says 5 epochs"),
    ("short row", "row 0 is not a list of 4 values"),
    ("duplicate", f"model {EX_HASH} has more than one row"),
    ("bad vector", "node 1 position 0 is 7"),
])
def test_a_bad_training_file_is_refused_by_name(tmp_path: Path, case: str, match: str):
    path = bad_file(tmp_path, case)
    with pytest.raises(BenchFileError, match=match) as e:
        BenchTable([path])
    assert str(path) in str(e.value)


def test_training_files_must_agree(tmp_path: Path):
    a = write_training(tmp_path / "a.pickle", curves(1234), 5, 1234, extra_header={"note": "x"})
    b = write_training(tmp_path / "b.pickle", curves(1235), 5, 1235, extra_header={"note": "y"})
    with pytest.raises(BenchFileError, match=r"b\.pickle: its header differs from .*a\.pickle's once seed is "
                                             r"removed \(note: 'y' vs 'x'\)"):
        BenchTable([a, b])
    c = write_training(tmp_path / "c.pickle", curves(1235)[:1], 5, 1235, extra_header={"note": "x"})
    with pytest.raises(BenchFileError, match=r"c\.pickle: its models differ from .*a\.pickle's: 0 more .* 1 fewer"):
        BenchTable([a, c])
    d = write_training(tmp_path / "d.pickle", curves(1234), 5, 1234, extra_header={"note": "x"})
    with pytest.raises(BenchFileError, match=r"d\.pickle: seed 1234 again \(also in .*a\.pickle\)"):
        BenchTable([a, d])
    e1 = write_training(tmp_path / "e1.pickle", [{"arch_vec": SAME_A, "val_per": [0.5], "test_per": 0.4}], 1, 1)
    e2 = write_training(tmp_path / "e2.pickle", [{"arch_vec": SAME_B, "val_per": [0.5], "test_per": 0.4}], 1, 2)
    assert model_hash(SAME_A) == model_hash(SAME_B)
    with pytest.raises(BenchFileError, match=r"e2\.pickle: model .* arch_vec "
                                             r"\[\[0,0\],\[0,0,1\],\[5,0,0,0\]\] differs"):
        BenchTable([e1, e2])
    with pytest.raises(BenchFileError, match="no training file given"):
        BenchTable([])


def test_benchmarking_and_static_files_are_checked(small: Path, tmp_path: Path):
    training = [small / f"nb-asr-e5-{s}.pickle" for s in SEEDS]
    partial = write_benchmarking(tmp_path / "nb-asr-bench-cpu.pickle", [{"arch_vec": EX, "latency": 1.0}], "cpu")
    with pytest.raises(BenchFileError, match=r"nb-asr-bench-cpu\.pickle has no latency for 1 of the table's 2 models"):
        BenchTable(training, [partial])
    with pytest.raises(BenchFileError, match=r"nb-asr-e5-1234\.pickle: a 'training' file where a 'benchmarking'"):
        BenchTable(training, [training[0]])
    gpu = small / f"nb-asr-bench-{GPU}.pickle"
    with pytest.raises(BenchFileError, match=rf"device '{GPU}' again"):
        BenchTable(training, [gpu, gpu])
    header, rows = raw_load(gpu)
    odd = raw_write(tmp_path / "nb-asr-bench-odd.pickle", {**header, "device": "odd", "version": 1}, rows)
    with pytest.raises(BenchFileError, match=r"nb-asr-bench-odd\.pickle: its header differs .* once device is "
                                             r"removed \(version: 1 vs 2\)"):
        BenchTable(training, [gpu, odd])

    _, rows = raw_load(small / "nb-asr-info.pickle")
    v1 = raw_write(tmp_path / "nb-asr-info.pickle", {"dataset_type": "static", "version": 1,
                                                      "columns": ["model_hash", "params"], "search_space": SPACE},
                   [r[:2] for r in rows])
    table = BenchTable(training, static_file=v1)
    assert table.params(EX) == EX_PARAMS and "flops" not in table.query(EX)
    with pytest.raises(BenchFileError, match=r"nb-asr-info\.pickle: version 1 static file, which has no flops"):
        table.flops(EX)
    v2_short = raw_write(tmp_path / "v2.pickle", {"dataset_type": "static", "version": 2,
                                                   "columns": ["model_hash", "params"], "search_space": SPACE}, [])
    with pytest.raises(BenchFileError, match=r"v2\.pickle: columns .* do not start with "
                                             r"\['model_hash', 'params', 'flops'\]"):
        BenchTable(training, static_file=v2_short)


def test_check_hashes_catches_a_mislabelled_row(tmp_path: Path):
    row = ex_row()
    row[0] = model_hash(OTHER)
    path = raw_write(tmp_path / "x.pickle", training_header(), [row])
    assert BenchTable([path]).arch_vecs() == [EX]          # not checked by default (2 s for the full table)
    with pytest.raises(BenchFileError, match=rf"x\.pickle: model {row[0]}'s arch_vec \[\[1,0\],\[1,0,0\],"
                                             rf"\[1,0,0,0\]\] has model hash {EX_HASH}"):
        BenchTable([path], check_hashes=True)


def test_load_folder_reports_what_it_looked_for(small: Path, tmp_path: Path):
    with pytest.raises(BenchFileError, match=r"nowhere: no such folder"):
        load_folder(tmp_path / "nowhere")
    with pytest.raises(BenchFileError, match=r"no training file for 40 epochs: looked for nb-asr-e40-\{seed\}\.pickle "
                                             r"\(any seed\); the folder has nb-asr-bench-gtx-1080ti-fp32\.pickle, "
                                             r"nb-asr-e5-1234\.pickle"):
        load_folder(small)
    with pytest.raises(BenchFileError, match=r"no training file nb-asr-e5-1237\.pickle: looked for "
                                             r"nb-asr-e5-1234\.pickle, nb-asr-e5-1237\.pickle"):
        load_folder(small, epochs=5, seeds=[1234, 1237])
    with pytest.raises(BenchFileError, match=r"no benchmarking file nb-asr-bench-cpu\.pickle"):
        load_folder(small, epochs=5, devices=["cpu"])
    two = load_folder(small, epochs=5, seeds=[1236, 1234], devices=[])
    assert two.seeds == (1234, 1236) and two.devices == ()
    one = load_folder(small, epochs=5, seeds=1235, devices=GPU)
    assert one.seeds == (1235,) and one.devices == (GPU,)
    assert "params" in load_folder(small, epochs=5).query(EX)
    assert "params" not in load_folder(small, epochs=5, static=False).query(EX)
    (small / "nb-asr-info.pickle").unlink()
    assert "params" not in load_folder(small, epochs=5).query(EX)       # static only if there, by default
    with pytest.raises(BenchFileError, match="no static file nb-asr-info.pickle \\(static=True asks for it"):
        load_folder(small, epochs=5, static=True)
    (small / "nb-asr-e5-1236.pickle").rename(small / "nb-asr-e5-1237.pickle")
    with pytest.raises(BenchFileError, match=r"nb-asr-e5-1237\.pickle: header seed 1236, but its name says 1237"):
        load_folder(small, epochs=5)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(BenchFileError, match="the folder is empty"):
        load_folder(empty)


# ---------------------------------------------------------------------------------------- objective

def test_objective_over_the_full_table(full: BenchTable):
    assert len(full) == 8242 and full.epochs == 12
    objective = full.objective()
    vectors = objective.vectors()
    assert len(vectors) == 13824 and vectors[0] == [[0, 0], [0, 0, 0], [0, 0, 0, 0]]
    assert {full.hash_of(v) for v in vectors} == set(full.hashes())
    assert full.hash_of(EX) == EX_HASH                     # the memoized hashes are the real ones
    e = objective.evaluate(EX)
    q = full.query(EX)
    assert e == Eval(EX_HASH, q["val_per"], q["test_per"], q["train_time"])
    assert objective.evaluate(SAME_A) == objective.evaluate(SAME_B)
    vals = {h: full.val(h) for h in full.hashes()}
    tests = {h: full.test(h) for h in full.hashes()}
    best = min(tests, key=tests.get)
    assert objective.optimum() == Eval(best, min(vals.values()), tests[best], full.train_time(best))

    early = full.objective(epoch=3)
    assert early.evaluate(EX).val == pytest.approx(full.val(EX, epoch=3)) and early.evaluate(EX).val > e.val
    assert early.evaluate(EX).test == e.test                      # test PER as stored
    assert early.evaluate(EX).cost == pytest.approx(e.cost * 3 / 12)
    one = full.objective(seed=1236).evaluate(EX)
    assert (one.val, one.test) == (full.val(EX, seed=1236), full.test(EX, seed=1236))


def test_objective_over_part_of_the_space(full: BenchTable, tmp_path: Path):
    table = load_folder(synthetic_table(tmp_path, n_models=40, seeds=(1, 2), epochs=4, devices=()), epochs=4)
    sizes = Counter(full.vector_hashes().values())          # vectors per model, from the full table's cache
    vectors = table.objective().vectors()
    assert len(vectors) == sum(sizes[h] for h in table.hashes()) > len(table) == 40
    assert all(v in table for v in vectors)
    missing = next(v for v in all_vectors() if full.hash_of(v) not in set(table.hashes()))
    with pytest.raises(KeyError):
        table.objective().evaluate(missing)


# ---------------------------------------------------------------------------------------- synthetic

def test_synthetic_table_is_plausible_and_deterministic(tmp_path: Path):
    a = synthetic_table(tmp_path / "a", n_models=30, epochs=(10, 5), devices=("jetson-nano-fp32",))
    assert sorted(os.listdir(a)) == sorted([f"nb-asr-e{e}-{s}.pickle" for e in (10, 5) for s in SEEDS]
                                           + ["nb-asr-bench-jetson-nano-fp32.pickle", "nb-asr-info.pickle"])
    ten = load_folder(a, epochs=10, check_hashes=True)       # every arch_vec matches its hash
    five = load_folder(a, epochs=5)
    assert len(ten) == len(set(ten.hashes())) == 30 and ten.hashes() == five.hashes()
    for h in ten.hashes():
        curve = ten.query(h, seed=1234)["val_per_curve"]
        assert curve[0] > curve[-1] and 0 < min(curve) and max(curve) <= 1
        assert ten.test(h) > 0 and ten.params(h) > 0 and ten.latency(h) > 0
    assert statistics.fmean(ten.val(h) for h in ten.hashes()) < statistics.fmean(five.val(h) for h in five.hashes())
    assert len({ten.val(h) for h in ten.hashes()}) == 30                     # depends on the architecture
    b = synthetic_table(tmp_path / "b", n_models=30, epochs=(10, 5), devices=("jetson-nano-fp32",))
    c = synthetic_table(tmp_path / "c", n_models=30, epochs=(10, 5), devices=("jetson-nano-fp32",), rng_seed=1)
    name = "nb-asr-e10-1235.pickle"
    assert (a / name).read_bytes() == (b / name).read_bytes() != (c / name).read_bytes()


def test_full_synthetic_table_has_every_model(full: BenchTable):
    assert set(full.hashes()) == set(full.vector_hashes().values())
    assert full.seeds == SEEDS and full.devices == ("gtx-1080ti-fp32", "jetson-nano-fp32")
    assert full.query(EX)["seed"] == "mean of 1234,1235,1236"
    assert "flops" in full.query(EX) and "train_time" in full.query(EX)
