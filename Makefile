# mmwsss: install, demo, test.  `make install` is idempotent; `make demo` and `make test` install first.
#
# Variables you may override:
#   PYTHON         interpreter that creates the virtual environment (default python3)
#   VENV           where the virtual environment lives (default .venv)
#   TORCH_SPEC     the torch/torchvision pair to install (a matching pair; see docs/installation.md)
#   MMWSSS_WHEELS  folders of prebuilt wheels (mmcv, pydensecrf2); default: ../shared/wheels when it exists
#   PYTEST_ARGS    extra pytest arguments for `make test`
#   PYTEST_WORKERS pytest-xdist workers of `make test` and `make test-fast` (default 2; 1 for one process)

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
MMWSSS_WHEELS ?= $(wildcard $(abspath $(CURDIR)/../shared/wheels))
FIND_LINKS := $(foreach d,$(MMWSSS_WHEELS) $(CURDIR)/.cache/wheels,--find-links $(d))
STAMP := $(VENV)/.mmwsss-installed
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2
# --dist loadfile: the tests of one file run in one worker (fixed DDP ports, module fixtures); see tests/conftest.py
XDIST := $(if $(filter-out 0 1,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile)

.PHONY: install demo test test-fast clean-venv mim

install: $(STAMP)

$(STAMP): setup.py requirements/runtime.txt requirements/tests.txt tools/misc/install_mmcv.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip 'setuptools>=77,<81' wheel
	$(PY) -c "import torch, torchvision" 2>/dev/null || $(PIP) install $(TORCH_SPEC)
	PYTHON=$(PY) MMWSSS_WHEELS="$(MMWSSS_WHEELS)" tools/misc/install_mmcv.sh 2.1.0
	$(PIP) install $(FIND_LINKS) -r requirements/runtime.txt -r requirements/tests.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	$(PY) -m mmwsss.utils.check_env
	touch $(STAMP)

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest tests $(XDIST) $(PYTEST_ARGS)

# the fast tier: everything but the subprocess trainings, DDP, SIGKILL and golden-value runs (pytest -m integration)
test-fast: install
	$(PY) -m pytest tests -m "not integration" $(XDIST) $(PYTEST_ARGS)

# OpenMMLab's mim (mim train/test/search) in .venv. Without --no-deps, openmim 0.3.9 pulls openxlab, which
# downgrades setuptools to 60.2 (breaking `pip install -e .`), rich, requests and filelock; mim's commands run
# without it (only `mim download` of datasets needs it).
mim: install
	$(PIP) install --no-deps openmim==0.3.9
	$(PIP) install colorama tabulate pandas requests

clean-venv:
	rm -rf $(VENV)
