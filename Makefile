# Two commands on a fresh machine: `make run` and `make test`. Everything else is below them.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

export HF_HUB_OFFLINE := 1
export LITELLM_LOCAL_MODEL_COST_MAP := True
export OMP_NUM_THREADS := 1
export ANONYMIZED_TELEMETRY := False
export TOKENIZERS_PARALLELISM := false

.PHONY: run test record lint bench check install fuzz

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# torch is pinned in the same command: the pin takes the local CPU build, not a CUDA one.
$(VENV)/.base: pyproject.toml | $(VENV)/bin/python
	$(PIP) install torch==2.13.0 -e .
	touch $@

$(VENV)/.test: $(VENV)/.base
	$(PIP) install torch==2.13.0 -e '.[test]'
	touch $@

# Builds llama-cpp-python from source (about 13 minutes on 2 cores; pip caches the wheel).
$(VENV)/.local: $(VENV)/.base
	CMAKE_ARGS="$(CMAKE_ARGS)" $(PIP) install torch==2.13.0 -e '.[local]'
	touch $@

install: $(VENV)/.base

# The embedded default asks the cards' own questions and grades semantically: nothing to build or
# download. A local model phrases turns only with INTERVIEWER_LOCAL_ASKS=true (see evals/turns).
run: $(VENV)/.base
	$(VENV)/bin/interviewer model prepare --embedder-only
	$(VENV)/bin/interviewer index
	$(VENV)/bin/interviewer serve

test: $(VENV)/.test
	$(VENV)/bin/ruff check service evals tests interviewer
	$(VENV)/bin/interviewer traps check
	$(PY) -m pytest -q

record: $(VENV)/.local $(VENV)/.test
	$(VENV)/bin/interviewer model prepare
	INTERVIEWER_RECORD=1 $(PY) -m pytest -q -m llm

lint: $(VENV)/.test
	$(VENV)/bin/ruff check service evals tests interviewer
	$(VENV)/bin/ruff format --check service evals tests interviewer
	$(VENV)/bin/mypy service evals interviewer

bench: $(VENV)/.base
	$(VENV)/bin/interviewer model prepare --embedder-only
	$(PY) evals/bench

# schemathesis against a live `interviewer serve` (and the stub model server): every route, every check.
fuzz: $(VENV)/.test
	$(PY) evals/fuzz --max-examples 100
