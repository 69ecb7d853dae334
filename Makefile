# The two commands of the README:
#   make demo   run the default recipe (egs/synth) end to end (stages 0-8)
#   make test   run the test suite
# Both set up what they need first: Debian packages (tools/install_deb_deps.sh),
# a virtual environment in .venv with torch and this project installed editable.
# Set-up steps leave stamps in .venv, so a second run skips them.

PYTHON        ?= python3
TORCH_VERSION ?= 2.13.0
VENV          ?= .venv
PYTEST_ARGS   ?=
TEST_JOBS     ?= 3
DEMO_ARGS     ?=

PY    := $(VENV)/bin/python
PIP   := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.stamps

.PHONY: setup deb-deps test demo clean-venv help

help:
	@echo "make demo   - run the default recipe egs/synth end to end (installs what it needs)"
	@echo "make test   - run the test suite (installs what it needs)"
	@echo "variables: TORCH_VERSION=$(TORCH_VERSION) PYTHON=$(PYTHON) TEST_JOBS=$(TEST_JOBS) PYTEST_ARGS= DEMO_ARGS="

setup: deb-deps $(STAMP)/project

deb-deps:
	@tools/install_deb_deps.sh

$(STAMP)/venv:
	@echo "make: creating virtual environment $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip "setuptools>=64" wheel
	@mkdir -p $(STAMP) && touch $@

$(STAMP)/torch-$(TORCH_VERSION): $(STAMP)/venv
	@echo "make: installing torch==$(TORCH_VERSION)"
	$(PIP) install -q torch==$(TORCH_VERSION) numpy
	@rm -f $(STAMP)/torch-* && touch $@

# Editable install with the installed torch (no build isolation), so the
# CTC-CRF extension links against that torch; rebuilt when its sources change.
$(STAMP)/project: $(STAMP)/torch-$(TORCH_VERSION) setup.py $(wildcard src/ctc_crf/csrc/*)
	@echo "make: installing this project (pip install --no-build-isolation -e .[test])"
	$(PIP) install -q --no-build-isolation -e ".[test]"
	@touch $@

# pytest-xdist: TEST_JOBS workers (3 on the 2-core machine: the recipe tests' subprocesses leave gaps a
# third worker fills; 11:16 against 12:15 with 2), each test file on one worker (its module fixtures shared);
# the files in the order conftest.py sorts them: the recipe tests first. TEST_JOBS=0: one process.
test: setup
	$(PY) -m pytest -q -n $(TEST_JOBS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS) tests

demo: setup
	cd egs/synth && ./run.sh --stop-stage 8 $(DEMO_ARGS)
	@echo "make demo: stage 9 (LM rescoring: a bigram lattice pass, 4-gram n-best rescoring) is left out, as it takes longer than stages 0-8 on this corpus: cd egs/synth && ./run.sh --stage 9"
	@echo "make demo: transcribe your own recording (wav, flac, SPHERE; any rate) with this model: $(PY) -m nas.bin.transcribe egs/synth/exp/nas_st_seed0/retrain egs/synth/data/lang_phn YOUR_RECORDING.wav"

clean-venv:
	rm -rf $(VENV)
