"""NAS-Bench-ASR arch vectors and model hash against the benchmark's published facts, and the
`nas.bin.bench info` / `space` commands."""
import json

import pytest

from nas.bench.archvec import (ArchVecError, BLOCKS, all_vectors, check_vector, from_choices, parse_vector,
                               to_choices, vector_string)
from nas.bench.model_hash import class_sizes, model_graph, model_hash
from nas.bench.synthetic import synthetic_table
from nas.bench.table import load_folder
from nas.bin import bench
from nas.models.arch import read_arch
from nas.models.space import load_space

# published in the benchmark's README (the entry of seed 1235 in nb-asr-e40-1235.pickle)
PUBLISHED_VEC, PUBLISHED_HASH = [[1, 0], [1, 0, 0], [1, 0, 0, 0]], "36855332a5778e0df5114305bc3ce238"


def test_space_counts_and_class_sizes():
    sizes = class_sizes()
    assert sum(sizes) == 13824 and len(sizes) == 8242
    assert sizes[:3] == [812, 812, 160]


def test_published_hash():
    assert model_hash(PUBLISHED_VEC) == PUBLISHED_HASH
    assert model_hash([(1, 0), (1, 0, 0), (1, 0, 0, 0)]) == PUBLISHED_HASH     # the tables' tuple form


def test_graph_edges_follow_the_skip_bits_and_zero_ops_are_removed():
    mat, labels = model_graph([[0, 1], [1, 0, 0], [3, 0, 1, 1]], minimize=False)
    edges = {(int(i), int(j)) for i, j in zip(*mat.nonzero())}
    # the chain, node 1's skip into vertex 2, node 3's skips (from x1, x2) into the output
    assert edges == {(0, 1), (1, 2), (2, 3), (3, 4), (0, 2), (1, 4), (2, 4)}
    assert labels == [-1, 0, 1, 3, -2]
    mat, labels = model_graph([[0, 0], [1, 0, 0], [5, 0, 0, 1]])      # op3 zero: its vertex goes
    assert labels == [-1, 0, 1, -2] and mat.sum() == 3
    # everything zero: no input-output path, the empty graph, one model for all such vectors
    assert model_hash([[5, 0], [5, 0, 0], [5, 0, 0, 0]]) == model_hash([[5, 0], [0, 0, 0], [5, 0, 0, 0]])


def test_hash_separates_labels_and_structure():
    assert model_hash([[1, 0], [1, 0, 0], [1, 0, 0, 0]]) != model_hash([[1, 0], [1, 0, 0], [2, 0, 0, 0]])
    assert model_hash([[1, 0], [1, 0, 0], [1, 0, 0, 0]]) != model_hash([[1, 1], [1, 0, 0], [1, 0, 0, 0]])


def test_vectors_parse_check_and_round_trip_through_choices():
    vec = parse_vector(" [[0,1], [1,1,0], [4,1,0,1]] ")
    assert vector_string(vec) == "[[0,1],[1,1,0],[4,1,0,1]]"
    for bad, msg in (("[[6,0],[1,0,0],[1,0,0,0]]", "node 1 position 0 is 6"), ("[[1,0],[1,0],[1,0,0,0]]", "expected"),
                     ("[[1,0],[1,0,0],[1,0,0,2]]", "node 3 position 3 is 2"), ("nope", "cannot read")):
        with pytest.raises(ArchVecError, match=msg.replace("[", r"\[")):
            parse_vector(bad)
    space = load_space("nb_asr_small", verbose=False)
    assert set(space.blocks) == set(BLOCKS)
    for v in list(all_vectors())[::997]:
        choices = to_choices(v, space.blocks)
        space.check_arch(choices)
        assert from_choices(choices, space.blocks) == check_vector(v)
    assert to_choices(vec, space.blocks)["op3"] == "nbconv-K7D2" and to_choices(vec, space.blocks)["s3_1"] == "zero"


def run_cli(capsys, *argv):
    assert bench.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_cli_info_space_and_write_arch(capsys, tmp_path):
    out = run_cli(capsys, "info", "--arch-vec", "[[1,0],[1,0,0],[1,0,0,0]]")
    assert out["hash"] == PUBLISHED_HASH and out["params_tf"] == 26338848
    # torch: the LSTM's second bias (4 x 500) and the 49th output row (500 + 1) on top
    assert out["params_torch"] == 26338848 + 2000 + 501
    assert out["arch_json"]["op1"] == "nbconv-K5" and out["arch_json"]["s2_1"] == "zero"
    assert out["graph"]["vertices"] == "input conv5 conv5 conv5 output"
    out = run_cli(capsys, "info", "--space", "nb_asr_small", "--arch-vec", "[[0,1],[1,1,0],[4,1,0,1]]",
                  "--write-arch", str(tmp_path / "a.arch.json"))
    arch = read_arch(tmp_path / "a.arch.json")
    assert arch.space.name == "nb_asr_small" and arch.choices == out["arch_json"]
    again = run_cli(capsys, "info", "--space", "nb_asr_small", "--arch", str(tmp_path / "a.arch.json"))
    assert again["arch_vec"] == "[[0,1],[1,1,0],[4,1,0,1]]" and again["hash"] == out["hash"]
    out = run_cli(capsys, "space", "--space", "nb_asr_small")
    assert (out["vectors"], out["unique"], out["largest_classes"]) == (13824, 8242, [812, 812, 160])
    assert out["tied_edges"]["op1"] == 4 and out["params"]["width"] == 0.1
    with pytest.raises(SystemExit, match="give one of --arch-vec"):
        bench.main(["info"])


def test_cli_info_with_a_table_and_search(capsys, tmp_path):
    synthetic_table(tmp_path / "t", n_models=40, epochs=5, rng_seed=3)
    table = load_folder(tmp_path / "t", epochs=5)
    vec = table.arch_vecs()[7]
    out = run_cli(capsys, "info", "--arch-vec", vector_string(vec), "--table", str(tmp_path / "t"), "--epochs", "5")
    assert out["table"]["model_hash"] == out["hash"] and out["table"]["test_per"] == pytest.approx(table.test(vec))
    assert out["table"]["seed"].startswith("mean of")
    assert bench.main(["info", "--arch-vec", vector_string(vec), "--table", str(tmp_path / "t"), "--epochs", "5",
                       "--brief", "--features", '{"delta_order": 0}', "--write-arch", str(tmp_path / "b.json")]) == 0
    line = capsys.readouterr().out.strip()
    assert line == (f"arch: NAS-Bench-ASR vector {vector_string(vec)}, model hash {out['hash']}; {tmp_path / 't'}: "
                    f"test PER {100 * out['table']['test_per']:.2f}%, best dev PER {100 * out['table']['val_per']:.2f}% "
                    f"({out['table']['seed']}, 5 epochs)")
    assert read_arch(tmp_path / "b.json").pipeline().delta_order == 0
    with pytest.raises(SystemExit, match="a JSON object of feature options"):
        bench.main(["info", "--arch-vec", vector_string(vec), "--features", '{"delta": 0}',
                    "--write-arch", str(tmp_path / "c.json")])
    out = run_cli(capsys, "search", "--table", str(tmp_path / "t"), "--epochs", "5", "--method", "random,rea",
                  "--runs", "3", "--budget-queries", "10", "--out", str(tmp_path / "s"))
    assert set(out["summary"]["methods"]) == {"random", "rea"}
    assert (tmp_path / "s" / "regret.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "s" / "regret.csv").read_text().splitlines()[0].startswith("method,x,x_unit,runs,mean_regret")
    with pytest.raises(SystemExit, match="unknown \\['sa'\\]"):
        bench.main(["search", "--table", str(tmp_path / "t"), "--epochs", "5", "--method", "sa"])
    with pytest.raises(SystemExit, match="nb-asr-e40"):
        bench.main(["search", "--table", str(tmp_path / "t")])          # no 40-epoch files there
