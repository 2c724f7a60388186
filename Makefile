# Every target installs what it needs into .venv first; nothing else is assumed.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: install quickstart examples gradio streamlit sse test test-browser lint format typecheck bench soak audit clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the package and the dev tools

quickstart: $(STAMP)  ## stream an answer from the embedded emulator (no AWS account)
	$(PY) examples/quickstart.py

examples: $(STAMP)  ## run the command-line examples against the embedded emulator
	$(PY) examples/chain_streaming.py
	$(PY) examples/rag_pipeline.py
	$(PY) examples/agent.py
	$(PY) examples/failover.py --no-plot

gradio: $(STAMP)  ## Gradio chat on http://127.0.0.1:7860 (embedded emulator)
	$(PY) examples/gradio_app.py

streamlit: $(STAMP)  ## Streamlit chat on http://127.0.0.1:8501 (embedded emulator)
	$(VENV)/bin/streamlit run examples/streamlit_app.py

sse: $(STAMP)  ## FastAPI SSE relay on http://127.0.0.1:8000 (embedded emulator)
	$(PY) examples/fastapi_sse.py

test-browser: $(STAMP)  ## only the headless-Chromium UI tests
	$(PY) -m pytest -m browser

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

soak: $(STAMP)  ## 1,000 sequential then 256 concurrent streams; fds, threads, memory back to baseline
	$(PY) -m benchmarks.soak

audit: $(STAMP)  ## known-vulnerability audit of the installed dependencies (needs PyPI)
	$(PY) -m pip_audit --progress-spinner off

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache
