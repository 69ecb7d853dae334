"""The pipeline lives once, in steps/: no block of six or more lines stands in two egs/*/run.sh, and the
shared stage scripts answer --help from any directory."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from conftest import REPO, run_script

# tools/ is not a package: its checker is loaded from its file
_spec = importlib.util.spec_from_file_location("shared_blocks", REPO / "tools" / "shared_blocks.py")
shared_blocks = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(shared_blocks)


def test_no_recipe_repeats_a_block_of_six_lines():
    r = subprocess.run([sys.executable, str(REPO / "tools" / "shared_blocks.py")], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert "0 shared blocks of 6 or more lines among" in r.stdout


def test_checker_finds_a_shared_block(tmp_path):
    common = [f"line {i}" for i in range(7)]
    a = tmp_path / "a.sh"
    b = tmp_path / "b.sh"
    a.write_text("\n".join(["x", *common, "y"]) + "\n")
    b.write_text("\n".join(["z", "", *(f"    {t}" for t in common[:3]), "", *common[3:], "w"]) + "\n")
    assert shared_blocks.shared_blocks(a, b, 6) == [(2, 3, 7)]           # indentation and blank lines ignored
    assert shared_blocks.shared_blocks(a, b, 8) == []
    assert shared_blocks.main(["--min-lines", "6", str(a), str(b)]) == 1


@pytest.mark.parametrize("script", ["steps/nas_stages.sh", "steps/nas_decode.sh", "steps/make_graph.sh"])
def test_shared_steps_help(script):
    r = run_script(script, "--help")
    assert r.returncode == 0 and r.stdout.startswith(f"{REPO / script} --help\nUsage:"), r.stdout[:300]
    r = run_script(script)
    assert r.returncode == 1 and "Usage:" in r.stderr
