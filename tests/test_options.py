"""nas.options: one field per option gives the flag, the config-file key, the help and the checks."""
import argparse
import dataclasses
import json
from dataclasses import dataclass
from typing import Optional

import pytest

from nas.options import add_config_args, build_config, flags, option, restate, section
from nas.train.cli import PLANS


@dataclass
class Inner:
    update: str = option("joint", "how", choices=("joint", "alternate"))
    tau: float = option(1.0, "temperature")


@dataclass
class Base:
    data: str = option("", "data dir", required=True)
    batch_size: int = option(128, "utterances per batch")
    fast: bool = option(False, "go fast")
    lr: Optional[float] = option(None, "lr (default: the method's)", type=float)


@dataclass
class Conf(Base):
    batch_size: int = restate(Base, "batch_size", 64)
    snas: Inner = section(Inner, prefix="snas")
    plain: Inner = section(Inner)


def parse(cls, argv):
    p = argparse.ArgumentParser()
    add_config_args(p, cls)
    return p, build_config(cls, p.parse_args(argv))


def test_flags_sections_and_restate():
    names = [fl.name for fl in flags(Conf)]
    assert names == ["data", "batch_size", "fast", "lr", "snas_update", "snas_tau", "update", "tau"]
    p, cfg = parse(Conf, ["--data", "d", "--snas-update", "alternate", "--tau", "0.5", "--fast", "yes"])
    assert cfg.batch_size == 64 and cfg.snas.update == "alternate" and cfg.plain.tau == 0.5 and cfg.fast
    assert cfg.lr is None and cfg.snas.tau == 1.0
    text = p.format_help()
    assert "utterances per batch (default: 64)" in text            # the restated default, the same help
    assert "how (default: joint; one of joint, alternate)" in text
    assert "data dir (default: ; required)" in text


def test_file_then_flags(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("data: x\nbatch-size: 8\nlr: 0.01\nsnas:\n  tau: 0.2\nsnas_update: alternate\nfast: 'true'\n")
    _, cfg = parse(Conf, ["--config", str(f), "--batch-size", "16"])
    assert (cfg.data, cfg.batch_size, cfg.lr, cfg.snas.tau, cfg.snas.update, cfg.fast) == ("x", 16, 0.01, 0.2,
                                                                                            "alternate", True)
    # a config.json written from a config reads back as the same config
    j = tmp_path / "config.json"
    j.write_text(json.dumps(dataclasses.asdict(cfg)))
    _, again = parse(Conf, ["--config", str(j)])
    assert again == cfg


@pytest.mark.parametrize("text, message", [
    ("data: x\nbatch_sise: 8\n", r"c.yaml: unknown option 'batch_sise'"),
    ("data: x\nbatch_size: eight\n", r"c.yaml: option batch_size: expected int, got 'eight'"),
    ("data: x\nbatch_size: 8.5\n", r"c.yaml: option batch_size: expected int"),
    ("data: x\nsnas_update: sometimes\n", r"c.yaml: option snas_update: 'sometimes' is not one of joint, alternate"),
    ("batch_size: 8\n", r"option --data is required"),
    ("data: x\nfast: maybe\n", r"c.yaml: option fast: expected"),
])
def test_file_errors_name_the_file_and_option(tmp_path, text, message):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(SystemExit, match=message):
        parse(Conf, ["--config", str(f)])


def test_flag_outside_choices_fails():
    with pytest.raises(SystemExit, match=r"--update: option update: 'x' is not one of"):
        parse(Conf, ["--data", "d", "--update", "x"])


def test_duplicate_option_names_are_refused():
    @dataclass
    class Clash:
        snas_tau: float = option(1.0, "x")
        snas: Inner = section(Inner, prefix="snas")
    with pytest.raises(TypeError, match="option 'snas_tau' is defined twice"):
        flags(Clash)


def test_each_stage_has_only_its_own_options():
    names = {k: {fl.name for fl in flags(p.Config)} for k, p in PLANS.items()}
    assert {"patience", "anchor_epochs", "anchor", "space", "delta_order"} <= names["warmup"]
    assert not names["warmup"] & {"method", "arch_lr", "init", "stop_lr", "arch", "snas_update"}
    assert {"method", "arch_lr", "init", "stop_lr", "snas_update", "st_recompute", "random_num_samples",
            "delta_order"} <= names["search"]
    assert not names["search"] & {"patience", "anchor", "arch"}
    assert {"arch", "stop_lr", "lamb", "space", "space_params"} <= names["retrain"]   # space: to restack a cell
    assert not names["retrain"] & {"method", "patience", "delta_order", "init"}
    for p in PLANS.values():          # every option has a help text
        assert all(fl.help for fl in flags(p.Config))
    defaults = {k: p.Config(data="d", lang="l", **({"arch": "a"} if k == "retrain" else {}))
                for k, p in PLANS.items()}
    assert defaults["search"].batch_size == 64 and defaults["warmup"].batch_size == 128
    assert defaults["retrain"].loss == "ctc-crf" and defaults["retrain"].stop_lr == 1e-5
