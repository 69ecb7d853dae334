"""nas.bench.codec: a search space's architectures as a table and a tabular search see them, and
the tables and methods on a space other than NAS-Bench-ASR's cell (the paper's TDNN space)."""
from __future__ import annotations

import hashlib
import itertools
import pickle
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from nas.bench.archvec import BLOCKS, ArchVecError, all_vectors
from nas.bench.codec import (MAX_LISTED, NB_ASR, BlockCodec, NbAsrCodec, codec_for_header, codec_of_space)
from nas.bench.errors import BenchFileError
from nas.bench.fileformat import write_benchmarking, write_folder, write_static, write_training
from nas.bench.model_hash import model_hash
from nas.bench.regret import regret_curve
from nas.bench.table import BenchTable, load_folder
from nas.bench.tabular import METHODS, Space, mutate, run_method

CANDS = ["tdnn-C1D1", "tdnn-C1D2", "tdnn-C2D1", "tdnn-C2D2"]
TDNN_BLOCKS = {f"block{i}": list(CANDS) for i in range(1, 7)}
TDNN = BlockCodec("synth", TDNN_BLOCKS)
V = [[0], [1], [2], [3], [0], [1]]
V_CANONICAL = ('["synth",[["block1","tdnn-C1D1"],["block2","tdnn-C1D2"],["block3","tdnn-C2D1"],'
               '["block4","tdnn-C2D2"],["block5","tdnn-C1D1"],["block6","tdnn-C1D2"]]]')
V_HASH = "a9e9dadd1aaaee6b060f51f8cf8dc0a7"      # computed once: a change of the canonical string fails here
NB_SPACE = {"shape": [[6, 2], [6, 2, 2], [6, 2, 2, 2]],
            "ops": ["linear", "conv5", "conv5d2", "conv7", "conv7d2", "zero"], "nodes": 3}
EX = [[1, 0], [1, 0, 0], [1, 0, 0, 0]]
EX_HASH = "36855332a5778e0df5114305bc3ce238"
QUALITY = [0.0, -0.02, -0.01, -0.03]             # per block and candidate: C2D2 best, then C1D2


def raw_load(path: Path):
    """What the released reader does: two pickle.load calls, header then rows."""
    with open(path, "rb") as f:
        header, rows = pickle.load(f), pickle.load(f)
        assert f.read() == b""
    return header, rows


def tdnn_val(vec) -> float:
    """A smooth function of the choices plus a per-model offset: distinct for every model."""
    h = TDNN.hash(vec)
    return 0.30 + sum(QUALITY[node[0]] for node in vec) + 0.01 * int(h[:8], 16) / 2 ** 32


def tdnn_rows(vectors, seed: int, epochs: int = 3):
    k = seed % 7
    out = []
    for v in vectors:
        final = tdnn_val(v) + 0.001 * k
        out.append({"arch_vec": v, "val_per": [final + 0.2, final + 0.05, final][:epochs],
                    "test_per": final + 0.01, "train_time": 100.0 + 10 * sum(n[0] for n in v)})
    return out


def write_tdnn(folder: Path, vectors, seeds=(1, 2), epochs: int = 3, codec=TDNN) -> Path:
    write_folder(folder, {s: tdnn_rows(vectors, s, epochs) for s in seeds}, epochs,
                 benchmarking={"cpu": [{"arch_vec": v, "latency": 0.01 + 0.001 * sum(n[0] for n in v)}
                                       for v in vectors]},
                 static=[{"arch_vec": v, "params": 1000 + sum(n[0] for n in v), "flops": 10 ** 6} for v in vectors],
                 codec=codec)
    return folder


def sample(n: int, seed: int = 0):
    vecs = list(TDNN.vectors())
    rng = np.random.default_rng(seed)
    return [vecs[i] for i in sorted(rng.choice(len(vecs), n, replace=False).tolist())]


@pytest.fixture(scope="module")
def full_tdnn(tmp_path_factory) -> BenchTable:
    """Every one of the 4,096 models, one seed."""
    return load_folder(write_tdnn(tmp_path_factory.mktemp("tdnn_full"), list(TDNN.vectors()), seeds=(1,)), epochs=3)


@pytest.fixture(scope="module")
def part_tdnn(tmp_path_factory) -> BenchTable:
    """150 of the models, two seeds: what a ground-truth table of sampled architectures is."""
    return load_folder(write_tdnn(tmp_path_factory.mktemp("tdnn_part"), sample(150)), epochs=3)


# ---------------------------------------------------------------------------------------- the codecs

def test_block_codec_round_trips():
    assert TDNN.shape == [[4]] * 6 and TDNN.sizes == [4] * 6 and TDNN.size == 4096
    vectors = list(TDNN.vectors())
    assert len(vectors) == 4096 and vectors[0] == [[0]] * 6 and vectors[-1] == [[3]] * 6
    assert vectors == sorted(vectors)
    for v in vectors[::37] + [V]:
        choices = TDNN.to_choices(v)
        assert list(choices) == list(TDNN_BLOCKS) and TDNN.from_choices(choices) == v
        assert TDNN.parse(TDNN.string(v)) == v
        assert TDNN.check(tuple(map(tuple, v))) == v
        assert TDNN.unflatten(TDNN.flatten(v)) == v
    assert TDNN.string(V) == "[[0],[1],[2],[3],[0],[1]]"
    assert TDNN.to_choices(V) == {"block1": "tdnn-C1D1", "block2": "tdnn-C1D2", "block3": "tdnn-C2D1",
                                  "block4": "tdnn-C2D2", "block5": "tdnn-C1D1", "block6": "tdnn-C1D2"}
    assert TDNN.search_space == {"name": "synth", "blocks": [[b, CANDS] for b in TDNN_BLOCKS],
                                 "shape": [[4]] * 6}


@pytest.mark.parametrize("vec, match", [
    ([[0], [1], [9], [0], [0], [0]], r"position 2 \(block block3\) is 9, not in 0\.\.3"),
    ([[0], [1], [0], [0], [0], [-1]], r"position 5 \(block block6\) is -1"),
    ([[0], [1, 0], [0], [0], [0], [0]], r"position 1 \(block block2\) is \[1, 0\], not one index"),
    ([[0], [1], [0]], r"3 positions for the 6 blocks of synth"),
    ([0, 1, 2, 3, 0, 1], r"expected \[\[i1\], \.\.\., \[i6\]\]"),
    ([["a"], [1], [0], [0], [0], [0]], r"expected \[\[i1\]"),
])
def test_block_codec_errors_name_the_position(vec, match):
    with pytest.raises(ArchVecError, match=match):
        TDNN.check(vec)
    with pytest.raises(ArchVecError, match=match):
        TDNN.hash(vec)


def test_block_codec_refuses_bad_choices_and_text():
    with pytest.raises(ArchVecError, match=r"block block4 has no candidate 'tdnn-C9D9'"):
        TDNN.from_choices({**TDNN.to_choices(V), "block4": "tdnn-C9D9"})
    with pytest.raises(ArchVecError, match=r"missing blocks \['block6'\], unknown blocks \['op1'\]"):
        TDNN.from_choices({**{b: c for b, c in TDNN.to_choices(V).items() if b != "block6"}, "op1": "x"})
    with pytest.raises(ArchVecError, match=r"cannot read 'block1=x' .* e\.g\. \[\[0\],\[0\],\[0\],\[0\],\[0\],\[0\]\]"):
        TDNN.parse("block1=x")
    with pytest.raises(ValueError, match="lists a candidate twice"):
        BlockCodec("s", {"b": ["x", "x"]})
    with pytest.raises(ValueError, match="at least one searching block"):
        BlockCodec("s", {})


def test_block_hashes_are_distinct_and_stable():
    hashes = [TDNN.hash(v) for v in TDNN.vectors()]
    assert len(set(hashes)) == 4096
    assert all(len(h) == 32 and h == h.lower() and int(h, 16) >= 0 for h in hashes)
    assert TDNN.canonical(V) == V_CANONICAL
    assert TDNN.hash(V) == V_HASH == hashlib.md5(V_CANONICAL.encode()).hexdigest()
    assert BlockCodec("synth", TDNN_BLOCKS).hash(tuple(map(tuple, V))) == V_HASH        # equal for the same model
    assert BlockCodec("wsj", TDNN_BLOCKS).hash(V) != V_HASH                             # the space's name counts
    assert BlockCodec("synth", TDNN_BLOCKS) == TDNN != BlockCodec("wsj", TDNN_BLOCKS)


def test_nb_asr_codec_is_the_benchmarks():
    assert NB_ASR.search_space == NB_SPACE and list(NB_ASR.search_space) == ["shape", "ops", "nodes"]
    assert NB_ASR.shape == NB_SPACE["shape"] and NB_ASR.size == 13824
    assert NB_ASR.hash(EX) == EX_HASH == model_hash(EX)
    assert NB_ASR.string(EX) == "[[1,0],[1,0,0],[1,0,0,0]]" and NB_ASR.parse("[[1,0],[1,0,0],[1,0,0,0]]") == EX
    assert next(iter(NB_ASR.vectors())) == next(all_vectors())
    with pytest.raises(ArchVecError, match="node 2 position 0 is 9"):
        NB_ASR.check([[1, 0], [9, 0, 0], [1, 0, 0, 0]])
    choices = NB_ASR.to_choices(EX)
    assert list(choices) == BLOCKS and choices["op1"] == "nbconv-K5" and choices["s1_0"] == "zero"
    assert NB_ASR.from_choices(choices) == EX


def test_codec_of_the_shipped_spaces():
    from nas.models.space import load_space

    for name in ("nb_asr", "nb_asr_small"):
        space = load_space(name, verbose=False)
        assert codec_of_space(space) is NB_ASR
        assert NB_ASR.blocks == space.blocks                 # to_choices writes the space's candidates
        space.check_arch(NB_ASR.to_choices(EX))
    root = Path(__file__).resolve().parent.parent
    for path in ("nas/spaces/wsj.json", "egs/synth/conf/space.json"):
        space = load_space(root / path, verbose=False)
        codec = codec_of_space(space)
        assert codec == BlockCodec(space.name, space.blocks) and codec.shape == [[4]] * 6
        space.check_arch(codec.to_choices(V))
    assert codec_of_space(load_space(root / "egs/synth/conf/space.json", verbose=False)) == TDNN
    # the nb_asr block names with other candidates are not the benchmark's cell
    other = SimpleNamespace(name="x", blocks={b: ["a", "b"] for b in BLOCKS})
    assert isinstance(codec_of_space(other), BlockCodec)


def test_codec_for_header(tmp_path: Path):
    assert codec_for_header(NB_SPACE, "f") is NB_ASR
    tupled = {"shape": tuple(map(tuple, NB_SPACE["shape"])), "ops": tuple(NB_SPACE["ops"]), "nodes": 3}
    assert codec_for_header(tupled, "f") is NB_ASR
    assert codec_for_header(TDNN.search_space, "f") == TDNN
    for bad, match in [
        ({"foo": 1}, r"is not NAS-Bench-ASR's .*nor a block space's"),
        ({**NB_SPACE, "nodes": 4}, r"is not NAS-Bench-ASR's"),
        ("synth", r"is not NAS-Bench-ASR's"),
        ({**TDNN.search_space, "shape": [[4]] * 5}, r"is not a block space's"),
        ({**TDNN.search_space, "extra": 1}, r"is not a block space's"),
        ({"name": "s", "blocks": {"b": ["x"]}, "shape": [[1]]}, r"not a list of \[block, \[candidates"),
        ({"name": "s", "blocks": [["b", ["x"]], ["b", ["y"]]], "shape": [[1], [1]]}, "names a block twice"),
        ({"name": "", "blocks": [["b", ["x"]]], "shape": [[1]]}, "needs a space name"),
        ({"name": "s", "blocks": [["b", ["x", "x"]]], "shape": [[2]]}, "lists a candidate twice"),
    ]:
        with pytest.raises(BenchFileError, match=r"^nb-asr-e3-1\.pickle: .*" + match):
            codec_for_header(bad, "nb-asr-e3-1.pickle")
    # and the reader refuses such a file by name
    header, rows = raw_load(write_training(tmp_path / "t.pickle", tdnn_rows([V], 1), 3, 1, codec=TDNN))
    with open(tmp_path / "u.pickle", "wb") as f:
        pickle.dump({**header, "search_space": {"name": "synth", "ops": CANDS}}, f)
        pickle.dump(rows, f)
    with pytest.raises(BenchFileError, match=r"u\.pickle: search_space .* is not NAS-Bench-ASR's"):
        BenchTable([tmp_path / "u.pickle"])


def test_nb_asr_header_is_byte_for_byte_the_released_one(tmp_path: Path):
    expected = {"dataset_type": "training", "version": 2,
                "columns": ["model_hash", "val_per", "test_per", "arch_vec"], "search_space": NB_SPACE,
                "epochs": 1, "seed": 1234}
    path = write_training(tmp_path / "t.pickle", [{"arch_vec": EX, "val_per": [0.5], "test_per": 0.4}], 1, 1234)
    assert path.read_bytes().startswith(pickle.dumps(expected, protocol=4))
    header, rows = raw_load(path)
    assert header == expected and rows == [[EX_HASH, [0.5], 0.4, ((1, 0), (1, 0, 0), (1, 0, 0, 0))]]
    explicit = write_training(tmp_path / "u.pickle", [{"arch_vec": EX, "val_per": [0.5], "test_per": 0.4}], 1, 1234,
                              codec=NB_ASR)
    assert explicit.read_bytes() == path.read_bytes()
    assert BenchTable([path]).codec is NB_ASR and BenchTable([path]).objective().codec is NB_ASR


# ---------------------------------------------------------------------------------------- a TDNN-space table

def test_tdnn_table_in_the_released_format(part_tdnn: BenchTable):
    folder = part_tdnn.files[0].parent
    header, rows = raw_load(folder / "nb-asr-e3-1.pickle")
    assert header == {"dataset_type": "training", "version": 2,
                      "columns": ["model_hash", "val_per", "test_per", "train_time", "arch_vec"],
                      "search_space": TDNN.search_space, "epochs": 3, "seed": 1}
    assert "blocks" in header["search_space"] and header["search_space"]["name"] == "synth"
    vecs = sample(150)
    assert [r[0] for r in rows] == [TDNN.hash(v) for v in vecs]
    assert rows[0][-1] == tuple(tuple(n) for n in vecs[0]) and all(type(n) is tuple for n in rows[0][-1])
    for name in ("nb-asr-bench-cpu.pickle", "nb-asr-info.pickle"):
        assert raw_load(folder / name)[0]["search_space"] == TDNN.search_space


def test_tdnn_table_queries(part_tdnn: BenchTable, tmp_path: Path):
    table = part_tdnn
    assert table.codec == TDNN and len(table) == 150 and table.seeds == (1, 2) and table.devices == ("cpu",)
    assert "space synth" in repr(table)
    v = table.arch_vecs()[3]
    q = table.query(v)
    assert q["model_hash"] == TDNN.hash(v) and q["arch_vec"] == v
    assert q["val_per"] == pytest.approx(tdnn_val(v) + 0.0015) and q["test_per"] == pytest.approx(tdnn_val(v) + 0.0115)
    assert table.query(TDNN.string(v)) == q == table.query(TDNN.hash(v).upper()) == table.query(tuple(map(tuple, v)))
    assert table.params(v) == 1000 + sum(n[0] for n in v) and table.latency(v) > 0 and table.flops(v) == 10 ** 6
    absent = next(x for x in TDNN.vectors() if x not in table)
    with pytest.raises(KeyError, match=r"architecture " + TDNN.string(absent).replace("[", r"\[").replace("]", r"\]")
                       + rf" \(model hash {TDNN.hash(absent)}\) is not in the table"):
        table.query(absent)
    with pytest.raises(ArchVecError, match=r"position 0 \(block block1\) is 4"):
        table.query([[4], [0], [0], [0], [0], [0]])
    with pytest.raises(ArchVecError):
        table.query(EX)                                    # an NB vector is not one of this space
    load_folder(table.files[0].parent, epochs=3, check_hashes=True)

    # check_hashes catches a row whose arch_vec is another model's
    header, rows = raw_load(table.files[0])
    rows[0] = [rows[1][0]] + rows[0][1:]
    rows.pop(1)
    with open(tmp_path / "x.pickle", "wb") as f:
        pickle.dump(header, f)
        pickle.dump(rows, f)
    assert len(BenchTable([tmp_path / "x.pickle"])) == 149
    with pytest.raises(BenchFileError, match=r"x\.pickle: model .* arch_vec \[\[\d\],.* has model hash"):
        BenchTable([tmp_path / "x.pickle"], check_hashes=True)
    # the writer checks given hashes with the codec too
    with pytest.raises(BenchFileError, match="does not match arch_vec"):
        write_training(tmp_path / "y.pickle", [{**tdnn_rows([V], 1)[0], "model_hash": EX_HASH}], 3, 1, codec=TDNN)
    with pytest.raises(BenchFileError, match=r"row 0: .*position 1 \(block block2\) is 7"):
        write_training(tmp_path / "y.pickle", [{"arch_vec": [[0], [7], [0], [0], [0], [0]], "val_per": [0.5] * 3,
                                                "test_per": 0.4}], 3, 1, codec=TDNN)


def test_tdnn_objective_vectors_are_the_tables_models(part_tdnn: BenchTable, full_tdnn: BenchTable):
    obj = part_tdnn.objective()
    assert obj.codec == TDNN
    vectors = obj.vectors()
    assert len(vectors) == len(part_tdnn) == 150
    assert sorted(vectors) == sorted(part_tdnn.arch_vecs()) and vectors == sorted(vectors)
    assert {TDNN.hash(v) for v in vectors} == set(part_tdnn.hashes())
    full = full_tdnn.objective()
    assert full.vectors() == list(TDNN.vectors())
    best = min(full_tdnn.hashes(), key=full_tdnn.test)
    assert full.optimum().model_hash == best and full.evaluate(V).val == pytest.approx(tdnn_val(V) + 0.001)


def test_tdnn_space_for_the_methods(full_tdnn: BenchTable):
    space = Space.of(full_tdnn.objective())
    assert space.codec == TDNN and space.sizes == [4] * 6
    assert space.n_vectors == space.n_models == 4096
    assert space.features.shape == (4096, 24) and (space.features.sum(axis=1) == 6).all()   # one-hot per block
    i = space.index(V)
    assert len(space.neighbours(i)) == 18
    assert all((space.flat[j] != space.flat[i]).sum() == 1 for j in space.neighbours(i))
    rng = np.random.default_rng(0)
    positions = set()
    for k in range(0, 4096, 11):
        j = mutate(space, k, rng)
        diff = np.flatnonzero(space.flat[k] != space.flat[j])
        assert len(diff) == 1 and space.model[j] != space.model[k]
        positions.add(int(diff[0]))
    assert positions == set(range(6))
    with pytest.raises(ArchVecError):
        space.index(EX)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_methods_run_on_a_tdnn_table(full_tdnn: BenchTable, part_tdnn: BenchTable, method: str):
    obj = full_tdnn.objective()
    space = Space.of(obj)
    trace = run_method(obj, method, budget_queries=25, seed=1, space=space)
    assert trace.stop == "queries" and [s.queries for s in trace.steps] == list(range(1, 26))
    assert len({s.model_hash for s in trace.steps}) == 25 and all(s.model_hash in full_tdnn for s in trace.steps)
    assert trace.steps[-1].time == pytest.approx(sum(obj.evaluate(space.vectors[s.index]).cost for s in trace.steps))

    part = part_tdnn.objective()
    opt = part.optimum()
    trace = run_method(part, method, budget_queries=10 ** 6, seed=2)
    assert trace.stop == "space" and len(trace.steps) == len(part_tdnn)
    last = trace.steps[-1]
    assert (last.best_hash, last.best_val, last.best_test) == (opt.model_hash, opt.val, opt.test)
    curve = regret_curve(method, [trace], opt, budget_queries=len(part_tdnn))
    assert curve.mean[-1] == 0 and curve.mean[0] > 0


def test_a_space_too_large_to_list(tmp_path: Path):
    big = BlockCodec("big", {f"b{i}": [f"c{j}" for j in range(6)] for i in range(8)})     # 6^8 = 1.7M vectors
    assert big.size > MAX_LISTED and big.vectors() is None
    vecs = [[[i % 6]] * 8 for i in range(5)]
    rows = [{"arch_vec": v, "val_per": [0.5 - 0.01 * k], "test_per": 0.6 - 0.01 * k} for k, v in enumerate(vecs)]
    table = BenchTable([write_training(tmp_path / "t.pickle", rows, 1, 1, codec=big)])
    obj = table.objective()
    assert obj.vectors() == table.arch_vecs() == vecs
    trace = run_method(obj, "random", budget_queries=100, seed=0)
    assert trace.stop == "space" and trace.steps[-1].best_hash == big.hash(vecs[-1]) == obj.optimum().model_hash
    with pytest.raises(ValueError, match="too many to list"):
        table.vector_hashes()


# ---------------------------------------------------------------------------------------- mixed files

def test_a_table_of_files_of_different_codecs_is_refused(tmp_path: Path):
    wsj = BlockCodec("wsj", TDNN_BLOCKS)
    a = write_training(tmp_path / "a.pickle", tdnn_rows([V], 1), 3, 1, codec=TDNN)
    b = write_training(tmp_path / "b.pickle", tdnn_rows([V], 2), 3, 2, codec=wsj)
    with pytest.raises(BenchFileError, match=r"b\.pickle: its header differs from .*a\.pickle's once seed is removed "
                                             r"\(search_space: .*'wsj'.* vs .*'synth'"):
        BenchTable([a, b])
    nb = write_training(tmp_path / "nb.pickle", [{"arch_vec": EX, "val_per": [0.5, 0.4, 0.3], "test_per": 0.4,
                                                  "train_time": 1.0}], 3, 2)
    with pytest.raises(BenchFileError, match=r"nb\.pickle: its header differs .*search_space"):
        BenchTable([a, nb])
    lat = write_benchmarking(tmp_path / "lat.pickle", [{"arch_vec": V, "latency": 0.1}], "cpu", codec=wsj)
    with pytest.raises(BenchFileError, match=r"lat\.pickle: search_space .*'wsj'.* differs from .*a\.pickle's .*"
                                             r"the files of one table are of one search space"):
        BenchTable([a], [lat])
    # a hash given for the right model still cannot smuggle in another space's file
    st = write_static(tmp_path / "st.pickle", [{"model_hash": TDNN.hash(V), "params": 1, "flops": 2}])
    with pytest.raises(BenchFileError, match=r"st\.pickle: search_space .* differs from .*a\.pickle's"):
        BenchTable([a], static_file=st)
    ok_lat = write_benchmarking(tmp_path / "ok.pickle", [{"arch_vec": V, "latency": 0.1}], "cpu", codec=TDNN)
    assert BenchTable([a], [ok_lat]).latency(V) == 0.1


def test_nb_asr_codec_copies_for_other_candidate_names():
    blocks = {b: [f"{b}-{i}" for i in range(6 if b.startswith("op") else 2)] for b in BLOCKS}
    codec = NbAsrCodec(blocks)
    assert codec.search_space == NB_ASR.search_space and codec.hash(EX) == EX_HASH
    assert codec.to_choices(EX)["op1"] == "op1-1" and codec.from_choices(codec.to_choices(EX)) == EX
    assert codec != NB_ASR and NbAsrCodec() == NB_ASR
    assert list(itertools.islice(codec.vectors(), 3)) == list(itertools.islice(NB_ASR.vectors(), 3))
