"""`nas.bin.bench export`: a bench dir's table as one CSV row per architecture and seed."""
import csv
import io
import json
import random

import pytest

from nas.bench.codec import codec_of_space
from nas.bench.export import COLUMNS, export_rows, to_csv
from nas.bench.ground_truth import collect, number, sample_blocks, write_plan
from nas.bin.bench import main as bench_main
from nas.models.space import parse_space
from tests.test_bench_ground_truth import fake_run

SPACE = {"name": "tiny_blocks", "hidden": 8, "candidates": ["identity", "tdnn-C0D1", "tdnn-C1D1"],
         "nodes": [{"name": "layer1", "op": "tdnn-C1D1"}, {"name": "block1", "search": True},
                   {"name": "block2", "search": True}, {"name": "output", "op": "linear", "out": "tokens"}]}


def _bench(tmp_path):
    space = parse_space(SPACE, "test")
    entries = number(sample_blocks(space, codec_of_space(space), 9, random.Random(0)), "tdnn", 9, [0, 1])
    write_plan(tmp_path, {"tdnn": (space, entries, {})})
    for k, e in enumerate(entries[:3]):                 # 3 architectures x 2 seeds, one of them unfinished
        for s in (0, 1):
            if (k, s) != (2, 1):
                fake_run(tmp_path / "runs" / f"{e.id}_seed{s}", 2, 0.1 * (k + 1) + 0.01 * s)
    collect(tmp_path, log=lambda m: None)
    return entries


def test_export_has_one_row_per_architecture_and_seed_with_the_plan_joined(tmp_path):
    entries = _bench(tmp_path)
    rows = export_rows(tmp_path, "tdnn")
    assert [(r["id"], r["seed"]) for r in rows] == [("tdnn_000", 0), ("tdnn_000", 1), ("tdnn_001", 0),
                                                    ("tdnn_001", 1), ("tdnn_002", 0)]
    r = rows[1]
    assert r["test_wer"] == pytest.approx(0.11) and r["dev_wer"] == pytest.approx(0.055)
    assert r["test_words"] == 9                      # fake_run's "%WER ... [ 1 / 9 ]"
    assert json.loads(r["arch"]) == entries[0].vec and r["hash"] == entries[0].hash
    assert r["choices"] == "/".join(entries[0].choices[b] for b in ("block1", "block2"))
    assert r["params"] > 0 and r["flops"] > 0 and r["train_seconds"] == 20.0
    assert r["val_per"] == "0.5 0.4" and r["dev_loss"] == "5 4" and r["val_per_last"] == pytest.approx(0.4)
    text = to_csv(rows)
    back = list(csv.DictReader(io.StringIO(text)))
    assert tuple(back[0]) == COLUMNS and len(back) == 5 and back[1]["test_wer"] == "0.11"


def test_export_command_writes_the_file_and_names_a_wrong_table(tmp_path, capsys):
    _bench(tmp_path)
    out = tmp_path / "exhaustive.csv"
    assert bench_main(["export", str(tmp_path), "--table", "tdnn", "--csv", str(out)]) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 5
    assert out.read_text().splitlines()[0].startswith("id,arch,choices,origin,hash,seed,dev_wer,test_wer,test_words")
    with pytest.raises(SystemExit, match="no space 'cell'"):
        bench_main(["export", str(tmp_path), "--table", "cell"])


def test_export_of_a_plan_without_tables_says_to_collect(tmp_path):
    space = parse_space(SPACE, "test")
    write_plan(tmp_path, {"tdnn": (space, number(sample_blocks(space, codec_of_space(space), 2, random.Random(0)),
                                                 "tdnn", 0, [0]), {})})
    with pytest.raises(SystemExit, match="bench collect"):
        export_rows(tmp_path, "tdnn")
