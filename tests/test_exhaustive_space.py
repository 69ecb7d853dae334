"""The exhaustive space of egs/synth (conf/exhaustive/): 64 distinct networks, its named baselines
in it, every one-shot method able to search it, and the builder's plan, resume and CSV export over
all of it with stand-in finished runs (the trainings themselves: tests/test_recipe_synth_bench.py)."""
import csv
import io
import json
from pathlib import Path

import pytest
import torch

from nas.bench.codec import codec_of_space
from nas.bench.ground_truth import collect, pending_jobs, read_plan
from nas.bin.bench import main as bench_main
from nas.models.arch import read_arch
from nas.models.space import load_space, parse_space
from nas.models.supernet import SuperNet
from nas.strategies import STRATEGIES, get_strategy
from nas.strategies.update import single_path
from nas.train.data import Batch
from nas.train.step import apply_update
from tests.test_bench_ground_truth import fake_run

SYNTH = Path(__file__).resolve().parent.parent / "egs" / "synth"
CONF = SYNTH / "conf" / "exhaustive"


@pytest.fixture
def in_recipe(monkeypatch):
    monkeypatch.chdir(SYNTH)            # arch.json files name their space relative to the recipe


def test_space_has_64_distinct_networks_and_its_baselines(in_recipe):
    space = load_space(str(CONF / "space.json"), verbose=False)
    assert [len(c) for c in space.blocks.values()] == [4, 4, 4]
    codec = codec_of_space(space)
    hashes = {codec.hash([[a], [b], [c]]) for a in range(4) for b in range(4) for c in range(4)}
    assert len(hashes) == 64
    # no two searching blocks are adjacent: identity in one block and an op in the next is another
    # network than the other way round (a fixed layer between them)
    names = [n.name for n in space.nodes]
    blocks = [i for i, n in enumerate(space.nodes) if any(e.block for e in n.edges)]
    assert all(b - a > 1 for a, b in zip(blocks, blocks[1:])), names
    baselines = {p.stem.split(".")[0]: read_arch(str(p)) for p in CONF.glob("*.arch.json")}
    assert set(baselines) == {"tdnn_d", "shallow", "pointwise", "dilated"}
    assert set(baselines["tdnn_d"].choices.values()) == {"tdnn-C1D1"}
    assert len({codec.hash(codec.from_choices(a.choices)) for a in baselines.values()}) == 4


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_one_shot_method_searches_it(name):
    cfg = json.loads((CONF / "space.json").read_text())
    cfg["hidden"] = 8
    space = parse_space(cfg, "exhaustive at hidden 8")
    torch.manual_seed(0)
    net = SuperNet(space, 6, 5)
    s = get_strategy(name, net, None, seed=0)

    def ctc(log_probs, targets, lengths, target_lengths, path_weights=None):
        return torch.nn.functional.ctc_loss(log_probs.transpose(0, 1), targets, lengths, target_lengths)

    g = torch.Generator().manual_seed(1)
    b = Batch(["a", "b"], torch.randn(2, 30, 6, generator=g), torch.tensor([30, 24]),
              torch.randint(1, 5, (2, 3), generator=g), torch.tensor([3, 2]), torch.zeros(2))
    opts = {"weights": torch.optim.Adam(net.parameters(), lr=1e-2)}
    apply_update(single_path(net, [0, 0, 0]), b, net, ctc, opts)
    if s.trains:
        opts["arch"] = s.arch_optimizer(lr=0.1)
        for u in s.updates():
            loss, applied = apply_update(u, b, net, ctc, opts)
            assert applied and torch.isfinite(torch.tensor(loss))
    space.check_arch(s.derive(lambda arch: float(len(" ".join(arch.values())))))


def test_builder_plans_all_of_it_resumes_and_exports(tmp_path, in_recipe, capsys):
    extra = ",".join(str(p) for p in sorted(CONF.glob("*.arch.json")))
    bench_main(["plan", "--out", str(tmp_path), "--cells", "0", "--tdnn", "64", "--noise", "64", "--seeds", "0 1 2",
                "--tdnn-space", str(CONF / "space.json"), "--tdnn-extra", extra, "--job-order", "arch"])
    capsys.readouterr()
    plan = read_plan(tmp_path)
    entries = plan["entries"]
    assert len(entries) == 64 and len({e["hash"] for e in entries}) == 64
    assert sorted(e["origin"] for e in entries if e["origin"] != "sampled") == ["TDNN-D", "dilated", "pointwise", "shallow"]
    jobs = [j.split() for j in (tmp_path / "jobs.txt").read_text().splitlines()]
    by_id = {e["id"]: e for e in entries}
    assert len(jobs) == 192 and [j[1] for j in jobs[:6]] == ["0", "1", "2", "0", "1", "2"]
    assert {by_id[j[0]]["origin"] for j in jobs[:12]} == {"TDNN-D", "dilated", "pointwise", "shallow"}
    # an interrupted build: the first 10 architectures with all their seeds, the 11th with one
    for i, seed, _ in jobs[:31]:
        fake_run(tmp_path / "runs" / f"{i}_seed{seed}", 2, 0.2 + 0.001 * int(i[-3:]) + 0.01 * int(seed))
    assert pending_jobs(tmp_path)[0] == (jobs[31][0], 1, "tdnn") and len(pending_jobs(tmp_path)) == 161
    collect(tmp_path, log=lambda m: None)
    out = tmp_path / "exhaustive.csv"
    bench_main(["export", str(tmp_path), "--table", "tdnn", "--csv", str(out)])
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 31 and len({r["id"] for r in rows}) == 11     # 10 x 3 seeds and the 11th's first
    assert all(r["arch"].startswith("[[") and r["test_words"] == "9" for r in rows)
