"""A fair comparison of search methods (issue 28, part 0): each search holds out its warm-up's
utterances, records how decided every block is and whether it converged, SNAS anneals over the
steps it runs and is not stopped before, alpha's gradient is clipped as each reference does."""
import json

import pytest
import torch

from nas.models.arch import Arch, read_arch
from nas.models.decision import decisions, margin, relative_entropy, undecided
from nas.models.space import parse_space
from nas.strategies import get_strategy
from nas.train.checkpoint import load_checkpoint
from nas.train.search import SearchConfig, SearchPlan
from test_train_stages import run_stage
from train_fixtures import TINY_SPACE


@pytest.fixture(scope="module")
def searched(corpus, tmp_path_factory):
    """A warm-up of seed 0 and an ST search of seed 1 from it (as score_search.sh runs them)."""
    d = tmp_path_factory.mktemp("fair")
    run_stage("warmup", corpus, d / "warmup", max_epochs=1)
    run_stage("search", corpus, d / "search", init=d / "warmup", seed=1, max_epochs=1)
    return d


def test_search_holds_out_its_warmups_utterances(searched):
    """Seed 1 alone would hold out another speaker (spk3, not seed 0's spk2): the search's
    alpha would be fitted on utterances the warm-up trained on."""
    warm = (searched / "warmup" / "heldout.list").read_text().split()
    assert warm and all(u.startswith("spk2-") for u in warm)
    assert (searched / "search" / "heldout.list").read_text().split() == warm


def test_search_refuses_another_heldout_set(corpus, searched, tmp_path):
    with pytest.raises(SystemExit, match="must hold out what its warm-up held out.*drop --valid-data"):
        run_stage("search", corpus, tmp_path / "s", init=searched / "warmup", valid_data=corpus["dev"], max_epochs=1)
    held = searched / "warmup" / "heldout.list"
    saved = held.read_text()
    try:
        held.write_text(saved + "nosuch-utt\n")
        with pytest.raises(SystemExit, match=r"1 of its 9 utterances \(e.g. nosuch-utt\) are not in"):
            run_stage("search", corpus, tmp_path / "s2", init=searched / "warmup", max_epochs=1)
    finally:
        held.write_text(saved)


def test_decisions_measure_entropy_and_margin():
    assert relative_entropy([0.25] * 4) == pytest.approx(1.0)
    assert relative_entropy([1.0, 0.0, 0.0]) == 0.0
    assert relative_entropy([0.5, 0.5, 0.0, 0.0]) == pytest.approx(0.5)
    assert margin([0.1, 0.6, 0.3]) == pytest.approx(0.3)
    dec = decisions({"b1": {"x": 0.5, "y": 0.5}, "b2": {"x": 0.99, "y": 0.01}})
    assert dec["b1"] == {"rel_entropy": 1.0, "margin": 0.0} and undecided(dec) == ["b1"]


def test_arch_json_and_derive_record_and_warn(searched, capsys):
    """arch.json has every block's relative entropy and margin and the search's convergence
    record; derive warns on undecided blocks and on the unconverged search (one epoch)."""
    from nas.bin.derive import main as derive
    s = searched / "search"
    conv = json.loads((s / "convergence.json").read_text())
    assert conv["converged"] is False and conv["stopped_by"] == "max_epochs" and conv["epochs"] == 1
    assert conv["heldout"] == "the warm-up's" and set(conv["decisions"]) == {"b1", "b2"}
    assert derive([str(s), str(searched / "derive")]) == 0
    err = capsys.readouterr().err
    raw = json.loads((searched / "derive" / "arch.json").read_text())
    for b, p in raw["probs"].items():
        assert raw["decisions"][b]["rel_entropy"] == pytest.approx(relative_entropy(list(p.values())), abs=1e-4)
        assert raw["decisions"][b]["rel_entropy"] > 0.5             # one epoch leaves it near uniform
        assert f"block {b} is undecided" in err
    assert raw["source"]["convergence"]["converged"] is False and "ended unconverged (max_epochs" in err
    assert read_arch(searched / "derive" / "arch.json").choices == raw["choices"]


def test_arch_json_of_a_decided_search_has_no_warning(tmp_path, capsys):
    from nas.bin.derive import warn_undecided
    probs = {"b1": {c: (0.98 if i == 0 else 0.01) for i, c in enumerate(TINY_SPACE["candidates"])},
             "b2": {c: (0.98 if i == 1 else 0.01) for i, c in enumerate(TINY_SPACE["candidates"])}}
    a = Arch(parse_space(TINY_SPACE), {"b1": "tdnn-C1D1", "b2": "tdnn-C1D2"}, probs=probs,
             source={"convergence": {"converged": True, "threshold": 0.5}})
    assert warn_undecided(a, decisions(probs)) == []
    assert a.to_dict()["decisions"]["b1"]["margin"] == pytest.approx(0.97)


def _plan(tmp_path, **over) -> SearchPlan:
    space = tmp_path / "space.json"
    space.write_text(json.dumps(TINY_SPACE))
    snas = over.pop("snas", {})
    cfg = SearchConfig(data="d", lang="l", space=str(space), **over)
    for k, v in snas.items():
        setattr(cfg.strategy.snas, k, v)
    plan = SearchPlan(cfg)
    plan.build(8, 5)
    return plan


def test_snas_reaches_its_final_temperature_in_the_steps_it_runs(corpus, tmp_path):
    """Two epochs (the recipe's budget): the last step runs at tau_min (0.03), not at 0.515."""
    run_stage("search", corpus, tmp_path / "s", method="snas", max_epochs=2)
    state = load_checkpoint(tmp_path / "s" / "final.pt")
    assert state["plan"]["strategy"]["tau"] == pytest.approx(0.03)
    taus = []
    s = get_strategy("snas", _plan(tmp_path).net, max_epochs=2)
    for step in range(10):
        s.set_progress(step, 5)
        taus.append(s.tau)
    assert taus[0] == pytest.approx(1.0 - 0.97 / 10) and taus[-1] == pytest.approx(0.03)
    assert all(a > b for a, b in zip(taus, taus[1:]))


def test_no_plateau_stop_before_snas_has_annealed(tmp_path):
    """A plateau whose decayed lr falls below stop_lr stops ST; SNAS runs on to its anneal's end."""
    for method, stops in (("st", True), ("snas", False)):
        plan = _plan(tmp_path, method=method, max_epochs=10, plateau_epochs=1, stop_lr=0.5)
        assert plan.end_epoch(0, 1.0, 1.0).stop is False
        assert plan.end_epoch(1, 2.0, 1.0).stop is stops, method
    with pytest.raises(SystemExit, match="--snas-anneal-epochs 12 exceeds --max-epochs 10"):
        _plan(tmp_path, method="snas", max_epochs=10, snas={"anneal_epochs": 12})


def test_until_converged_stops_when_every_block_is_decided(tmp_path):
    plan = _plan(tmp_path, until_converged=True, max_epochs=50, plateau_epochs=1, stop_lr=0.5)
    assert plan.end_epoch(0, 1.0, 1.0).stop is False
    assert plan.end_epoch(1, 2.0, 1.0).stop is False          # the plateau's stop: not converged yet
    with torch.no_grad():
        for a in plan.strategy.alpha:
            a.copy_(torch.tensor([8.0, 0.0, 0.0]))
    end = plan.end_epoch(2, 3.0, 1.0)
    assert end.stop and "converged" in end.note
    conv = plan.convergence()
    assert conv["converged"] is True and conv["stopped_by"] == "converged" and conv["epochs"] == 3


@pytest.mark.parametrize("method,clip", [("darts", 10.0), ("snas", 10.0), ("st", 0.0), ("proxyless", 0.0)])
def test_alpha_gradient_clipped_as_the_reference(tmp_path, method, clip):
    plan = _plan(tmp_path, method=method)
    opt = plan.optimizers()["arch"]
    for a in plan.strategy.alpha:
        a.grad = torch.full_like(a, 100.0)
    opt.step()
    norm = float(torch.sqrt(sum((a.grad ** 2).sum() for a in plan.strategy.alpha)))
    assert norm == pytest.approx(clip if clip else 100.0 * 6 ** 0.5, rel=1e-5)
    opt = _plan(tmp_path, method=method, arch_grad_clip=1.0).optimizers()["arch"]
    assert opt.clip == 1.0


@pytest.mark.parametrize("method,ref", [("st", 1e-3), ("darts", 3e-4)])
def test_arch_lr_scale_multiplies_each_methods_own_lr(tmp_path, method, ref):
    """conf/exhaustive/search.yaml scales every method's reference lr alike (docs/nas.md)."""
    assert _plan(tmp_path, method=method, arch_lr_scale=10.0).optimizers()["arch"].defaults["lr"] \
        == pytest.approx(10 * ref)
    assert _plan(tmp_path, method=method, arch_lr=0.02, arch_lr_scale=0.5).optimizers()["arch"].defaults["lr"] \
        == pytest.approx(0.01)
    assert _plan(tmp_path, method=method).optimizers()["arch"].defaults["lr"] == pytest.approx(ref)
