"""Zero-cost proxies (nas.proxies) on variable-length CTC batches, their survey and their report."""
from __future__ import annotations

import csv
import itertools
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from nas.bench.proxy_report import expected_best_of_random, proxy_report, read_csv, report_lines
from nas.features.pipeline import FeaturePipeline
from nas.models.space import parse_space
from nas.models.supernet import SuperNet
from nas.proxies import scores as S
from nas.proxies.survey import proxy_batch, read_rows, survey
from nas.train.data import Batch
from train_fixtures import TINY_SPACE, make_data, make_lang

ARCH = {"b1": "tdnn-C1D2", "b2": "tdnn-C2D1"}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    d = tmp_path_factory.mktemp("proxies")
    return make_data(d / "data", n_spk=2, per_spk=6), make_lang(d / "lang")


@pytest.fixture(scope="module")
def space():
    return parse_space(TINY_SPACE)


@pytest.fixture(scope="module")
def batch(corpus, space):
    data, lang = corpus
    b, num_tokens = proxy_batch(data, lang, space, FeaturePipeline(), 6, data_seed=0)
    assert len(set(b.lengths.tolist())) > 1, "the test needs a batch of different lengths"
    return b, num_tokens


def _net(space, batch, seed=0, arch=ARCH):
    b, num_tokens = batch
    torch.manual_seed(seed)
    net = SuperNet(space, b.feats.shape[-1], num_tokens, arch=arch)
    return net.eval()


def _padded(b: Batch, extra: int) -> Batch:
    """The same utterances with `extra` more zero frames of padding each."""
    feats = torch.cat([b.feats, torch.zeros(b.feats.shape[0], extra, b.feats.shape[2])], dim=1)
    return Batch(b.keys, feats, b.lengths, b.targets, b.target_lengths, b.path_weights)


def test_the_hessian_gradient_product_matches_autograd(space, batch):
    """GraSP's H g by a forward difference against autograd's exact product, on a loss with a
    second derivative (torch's CTC has none)."""
    b, _ = batch
    net, b64 = S._as_double(_net(space, batch), b)

    def loss_fn(n, x):
        return n.logits(x.feats, x.lengths)[0].pow(2).mean()

    params = S._params(net)
    g = torch.autograd.grad(loss_fn(net, b64), params, create_graph=True)
    exact = torch.autograd.grad(sum((gi * gi.detach()).sum() for gi in g), params)
    approx = dict((id(p), hg) for p, hg in S.hessian_gradient(net, b64, loss_fn))
    num = math.sqrt(sum(float((approx[id(p)] - e).pow(2).sum()) for p, e in zip(params, exact)))
    den = math.sqrt(sum(float(e.pow(2).sum()) for e in exact))
    assert num / den < 1e-4
    after = dict((id(p), float(p.detach().sum())) for p in params)
    fresh = S._as_double(_net(space, batch), b)[0]
    restored = [float(p.detach().sum()) for p in S._params(fresh)]
    assert [after[id(p)] for p in params] == pytest.approx(restored, rel=1e-12)


@pytest.mark.parametrize("name", ["grad_norm", "snip", "grasp", "fisher", "jacob_cov", "naswot", "synflow"])
def test_padding_does_not_change_a_proxy(space, batch, name):
    """More padding on the same utterances leaves every proxy as it was: the losses use the output
    lengths, the activations' padding gets no gradient, the comparisons see the cropped batch."""
    b, _ = batch
    fn = S.PROXIES[name]
    a = fn(_net(space, batch), b)
    c = fn(_net(space, batch), _padded(b, 11))
    assert math.isfinite(a) and a == pytest.approx(c, rel=1e-4, abs=1e-9)


def test_loss_proxies_depend_on_the_labels(space, batch):
    """A proxy that ignored the targets (or the lengths) would give the same score for other labels."""
    b, _ = batch
    other = Batch(b.keys, b.feats, b.lengths, torch.roll(b.targets, 1, dims=0), torch.roll(b.target_lengths, 1, 0),
                  b.path_weights)
    for name in ("grad_norm", "snip", "grasp", "fisher"):
        assert S.PROXIES[name](_net(space, batch), b) != pytest.approx(S.PROXIES[name](_net(space, batch), other),
                                                                      rel=1e-6), name


def test_the_comparison_proxies_see_a_repeated_utterance(space, batch):
    """NASWOT's kernel and the Jacobians' correlation are singular when two utterances are the same."""
    b, _ = batch
    rows = [0, 1, 2, 0]
    dup = Batch([b.keys[i] for i in rows], b.feats[rows], b.lengths[rows], b.targets[rows], b.target_lengths[rows],
                b.path_weights[rows])
    four = Batch(b.keys[:4], b.feats[:4], b.lengths[:4], b.targets[:4], b.target_lengths[:4], b.path_weights[:4])
    net = _net(space, batch)
    assert S.naswot(net, dup) < S.naswot(net, four) - 10
    assert S.jacob_cov(net, dup) < -5e4 < S.jacob_cov(net, four)


def test_synflow_is_positive_for_every_seed(space, batch):
    """With absolute weights and no normalization the flow is positive; kept LayerNorms subtract
    the mean and make it negative for some initializations."""
    for seed in range(4):
        assert S.synflow(_net(space, batch, seed), batch[0]) > 0


def test_every_proxy_is_a_function_of_the_seed(space, batch):
    b, _ = batch
    for name, fn in S.PROXIES.items():
        one, two = fn(_net(space, batch, 3), b), fn(_net(space, batch, 3), b)
        assert one == two, name


def test_expected_best_of_random_is_the_mean_over_all_draws():
    vals = [0.31, 0.29, 0.35, 0.40, 0.33, 0.30]
    for k in (1, 2, 3, 6):
        brute = np.mean([min(c) for c in itertools.combinations(vals, k)])
        assert expected_best_of_random(vals, k) == pytest.approx(brute)


def test_the_survey_resumes_and_reports(corpus, space, batch, tmp_path):
    b, num_tokens = batch
    out = tmp_path / "proxies.csv"
    names = ("grad_norm", "naswot", "params")
    rows = survey(space, b, num_tokens, [0, 1], out, names)
    assert len(rows) == 9 * 2
    header = out.read_text().splitlines()[0].split(",")
    assert header[:8] == ["id", "arch", "choices", "hash", "seed", "grad_norm", "naswot", "params"]
    full = read_rows(out)
    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-2]) + "\n")              # an interrupted survey
    logs = []
    survey(space, b, num_tokens, [0, 1], out, names, log=logs.append)
    assert "2 to score" in logs[0]
    again = read_rows(out)
    assert [{k: r[k] for k in ("hash", "seed", *names)} for r in again] == \
        [{k: r[k] for k in ("hash", "seed", *names)} for r in full]

    # a table whose WER falls with the parameter count: params ranks it perfectly, sign and all
    table = tmp_path / "table.csv"
    by_hash = {r["hash"]: float(r["params"]) for r in full}
    with open(table, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "hash", "seed", "test_wer"])
        for i, (h, p) in enumerate(sorted(by_hash.items())):
            for seed in (0, 1):
                w.writerow([f"t{i}", h, seed, 1.0 - p / 1e6 + 0.001 * seed])
    rep = proxy_report(read_csv(out), read_csv(table), resamples=200)
    params = rep["proxies"]["params"]
    assert params["kendall"]["value"] == pytest.approx(1.0) and params["archs"] == 9
    assert params["top_k"]["1"]["regret"] == 0.0
    assert params["seed_agreement_kendall"] == pytest.approx(1.0)
    assert any(line.startswith("| params | 9 | +1.00") for line in "\n".join(report_lines(rep)).splitlines())


def test_the_command_writes_the_csv_and_its_report(corpus, tmp_path, capsys):
    from nas.bin.bench import main
    data, lang = corpus
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps(TINY_SPACE))
    out = tmp_path / "p.csv"
    cmd = ["proxies", "--space", str(space_file), "--data", str(data), "--lang", str(lang), "--csv", str(out),
           "--seeds", "0", "--proxies", "params,snip", "--batch-size", "4"]
    assert main(cmd) == 0
    assert json.loads(capsys.readouterr().out)["rows"] == 9 and len(out.read_text().splitlines()) == 10
    with pytest.raises(SystemExit, match=r"unknown proxies \['zen'\]"):
        main(cmd[:-4] + ["--proxies", "params,zen"])


def test_the_report_keeps_only_architectures_with_every_seed(tmp_path):
    proxies = [{"id": "", "arch": "", "choices": "", "hash": h, "seed": "0", "params": str(p), "seconds": "0.1"}
               for h, p in (("a", 1), ("b", 2), ("c", 3), ("d", 4))]
    table = [{"hash": h, "seed": str(s), "test_wer": str(w)}
             for h, w, seeds in (("a", 0.4, 3), ("b", 0.3, 3), ("c", 0.2, 3), ("d", 0.9, 1)) for s in range(seeds)]
    rep = proxy_report(proxies, table, resamples=100)
    assert rep["table_archs"] == 3 and rep["proxies"]["params"]["archs"] == 3
    assert rep["proxies"]["params"]["kendall"]["value"] == pytest.approx(1.0)    # d (one seed) would break it


def test_vectors_of_one_model_are_scored_once(space, batch, tmp_path, monkeypatch):
    """A codec may list several vectors of one network (NAS-Bench-ASR's does): one row per model hash."""
    import nas.proxies.survey as survey_mod
    real = survey_mod.codec_of_space(space)

    class Twice:
        def __getattr__(self, name):
            return getattr(real, name)

        def vectors(self):
            return (v for v in list(real.vectors()) for _ in range(2))

    monkeypatch.setattr(survey_mod, "codec_of_space", lambda s: Twice())
    b, num_tokens = batch
    rows = survey(space, b, num_tokens, [0], tmp_path / "p.csv", ("params",))
    assert len(rows) == 9 and len({r["hash"] for r in rows}) == 9


def test_shards_merge_into_one_surveys_csv(corpus, space, batch, tmp_path):
    """A survey split into shards (one job each) and merged is the one survey's CSV, row for row."""
    from nas.proxies.survey import merge
    b, num_tokens = batch
    names = ("snip", "params")
    values = ("hash", "seed", *names)
    whole = survey(space, b, num_tokens, [0, 1], tmp_path / "whole.csv", names)
    parts = [tmp_path / f"shard_{k}.csv" for k in (1, 2, 3)]
    for k, part in enumerate(parts, 1):
        rows = survey(space, b, num_tokens, [0, 1], part, names, shard=(k, 3))
        assert len(rows) == 3 * 2                                # every third of the 9 architectures
    out = tmp_path / "merged.csv"
    merged = merge(space, out, parts[:2], names)                 # the third shard still missing
    assert len(merged) == 12
    merged = merge(space, out, parts, names)
    assert [{k: r[k] for k in values} for r in read_rows(out)] == \
        [{k: f"{r[k]:.6g}" if isinstance(r[k], float) else str(r[k]) for k in values} for r in whole]
    logs = []                                                    # a rerun against the merged CSV scores nothing
    survey(space, b, num_tokens, [0, 1], tmp_path / "again.csv", names, log=logs.append, shard=(2, 3), skip=[out])
    assert "0 to score" in logs[0] and not (tmp_path / "again.csv").exists()
    foreign = tmp_path / "foreign.csv"
    foreign.write_text(parts[0].read_text().replace(merged[0]["hash"], "f" * 32))
    with pytest.raises(ValueError, match=rf"{foreign}: architecture .* \(hash f{{32}}\) is not in space"):
        merge(space, out, [foreign], names)
    with pytest.raises(ValueError, match="shard 4/3"):
        survey(space, b, num_tokens, [0], out, names, shard=(4, 3))


def test_run_proxies_splits_and_merges(corpus, tmp_path):
    """egs/synth/local/run_proxies.sh: 2 shard jobs through the launcher at once, merged into the
    one survey's CSV (a rerun's skipping of merged rows: test_shards_merge_into_one_surveys_csv)."""
    from conftest import script_env
    import subprocess
    data, lang = corpus
    space_file = tmp_path / "space.json"
    space_file.write_text(json.dumps(TINY_SPACE))
    out = tmp_path / "proxies.csv"
    cmd = [str(Path(__file__).resolve().parent.parent / "egs/synth/local/run_proxies.sh"), "--space", str(space_file),
           "--csv", str(out), "--plan", "", "--data", str(data), "--lang", str(lang), "--seeds", "0",
           "--batch-size", "4", "--proxies", "params,synflow", "--dir", str(tmp_path / "exp")]
    p = subprocess.run([*cmd, "--shards", "2"], env=script_env(), capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 of 2 jobs finished" in p.stderr and "9 rows in" in p.stdout
    assert all(f"(shard {k}/2)" in (tmp_path / "exp" / f"shard_{k}.log").read_text() for k in (1, 2))
    one = tmp_path / "one.csv"
    from nas.bin.bench import main
    assert main(["proxies", "--space", str(space_file), "--csv", str(one), "--data", str(data), "--lang", str(lang),
                 "--seeds", "0", "--batch-size", "4", "--proxies", "params,synflow"]) == 0
    cols = ("hash", "seed", "params", "synflow")
    assert [{k: r[k] for k in cols} for r in read_rows(out)] == [{k: r[k] for k in cols} for r in read_rows(one)]
