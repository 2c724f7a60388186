# Every target installs what it needs into .venv first; nothing else is assumed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install quickstart test lint format typecheck bench audit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the package and the dev tools

quickstart: $(STAMP)  ## stream an answer from the embedded emulator (no AWS account)
	$(PY) examples/quickstart.py

test: $(STAMP)  ## the whole test suite: unit, end-to-end (boto3 -> emulator), examples
	$(PY) -m pytest

lint: $(STAMP)  ## ruff lint + format check, mypy strict
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)  ## apply ruff's formatting and safe fixes
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck: $(STAMP)
	$(PY) -m mypy

bench: $(STAMP)  ## performance benchmarks against the emulator; prints ratios and targets
	$(PY) -m benchmarks

audit: $(STAMP)  ## known-vulnerability audit of the installed dependencies (needs PyPI)
	$(PY) -m pip_audit --progress-spinner off

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
