"""The corpus commands of nas.corpora, and the `python -m nas...` calls of the shell scripts.

Each corpus command lists the subcommands its recipe runs; every module a script under egs/,
steps/, utils/ or tools/ runs with `-m` exists, and a subcommand it names is one the module
has: a module moved or a subcommand renamed fails here, at once, instead of at a recipe's stage.
"""
from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from typing import Dict, Iterator, List, Optional, Set, Tuple

import pytest

from conftest import REPO, script_env

# what egs/<corpus>/local/*.sh (and run.sh) run: the recipes' contract with the commands
SUBCOMMANDS = {
    "wsj": {"check", "data", "lm", "lm-text", "cmudict-words", "normalize"},
    "swbd": {"check", "train", "dict", "eval2000", "fisher-text", "normalize"},
    "timit": {"check", "prepare", "fold-phones"},
    "librispeech": {"download", "check", "prepare", "lexicon"},
}
# a module name ends at a blank, a quote or the line's end (not `nas.bin.$kind`, a template)
CALL = re.compile(r"-m\s+(nas(?:\.\w+)+)(?=[\s\"'`;)]|$)(?:[ \t]+([^\s\"'`;)|]+))?")
WORD = re.compile(r"^[a-z][a-z0-9_-]*$")       # a subcommand, not an option, a variable or a path
CHOICES = re.compile(r"^ +\{([a-z0-9_,-]+)\}", re.MULTILINE)    # "positional arguments:" {a,b}
SCRIPT_DIRS = ("egs", "steps", "utils", "tools")


def run_help(module: str) -> subprocess.CompletedProcess:
    """`python -m module --help`, from outside the repository."""
    return subprocess.run([sys.executable, "-m", module, "--help"], cwd="/", env=script_env(),
                          capture_output=True, text=True)


def subcommands(help_text: str) -> Optional[Set[str]]:
    """The subcommands a --help text lists (argparse's `  {a,b,...}` line), or None."""
    m = CHOICES.search(help_text)
    return set(m.group(1).split(",")) if m else None


def script_calls() -> Iterator[Tuple[str, str, str]]:
    """(file:line, module, the token after it or '') of every `-m nas...` in the shell scripts."""
    for top in SCRIPT_DIRS:
        for path in sorted((REPO / top).rglob("*.sh")):
            parts = path.relative_to(REPO).parts
            if parts[0] == "egs" and len(parts) > 3 and parts[2] in ("data", "exp", "fbank"):
                continue                     # a recipe's outputs, if any, are not its scripts
            for n, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                for m in CALL.finditer(line):
                    yield f"{path.relative_to(REPO)}:{n}", m.group(1), m.group(2) or ""


def runnable(module: str) -> bool:
    """Whether `python -m module` finds code to run: a module, or a package with a __main__."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    if spec is None:
        return False
    return not spec.submodule_search_locations or importlib.util.find_spec(module + ".__main__") is not None


@pytest.mark.parametrize("corpus", sorted(SUBCOMMANDS))
def test_corpus_command_lists_its_subcommands(corpus):
    r = run_help(f"nas.corpora.{corpus}")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: python -m nas.corpora.{corpus} ")
    assert subcommands(r.stdout) == SUBCOMMANDS[corpus], r.stdout


def test_old_corpus_modules_are_gone():
    for old in ("nas.data.ldc", "nas.data.ldc_wsj", "nas.data.ldc_swbd", "nas.data.timit", "nas.bin.ldc_wsj",
                "nas.bin.ldc_swbd", "nas.bin.timit_prep", "nas.bin.fold_phones"):
        assert not runnable(old), f"{old} still exists beside nas.corpora"


def test_every_module_the_scripts_run_exists_with_its_subcommand():
    calls = list(script_calls())
    assert len(calls) > 40                  # the scan found the scripts' calls
    missing = [f"{where}: {module}" for where, module, _ in calls if not runnable(module)]
    assert not missing, "modules that `python -m` would not find:\n" + "\n".join(missing)
    words: Dict[str, List[Tuple[str, str]]] = {}
    for where, module, word in calls:
        if WORD.match(word):
            words.setdefault(module, []).append((where, word))
    wrong = []
    for module, uses in sorted(words.items()):
        r = run_help(module)
        assert r.returncode == 0, f"{module} --help: {r.stderr}"
        choices = subcommands(r.stdout)
        if choices is None:                 # no subcommands: the word is a positional argument
            continue
        wrong += [f"{where}: {module} {word} (it has {', '.join(sorted(choices))})"
                  for where, word in uses if word not in choices]
    assert not wrong, "subcommands the modules lack:\n" + "\n".join(wrong)


def test_timit_fold_phones_refuses_a_fold_to_itself():
    m = str(REPO / "egs" / "timit" / "conf" / "phones.61-48-39.map")
    r = subprocess.run([sys.executable, "-m", "nas.corpora.timit", "fold-phones", "--map", m, "--to", "48"],
                       cwd="/", env=script_env(), capture_output=True, text=True, input="u1 sil\n")
    assert r.returncode == 2 and "--from 48 --to 48 folds nothing" in r.stderr
