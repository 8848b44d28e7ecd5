# The two set-up commands: `make run` (client in training mode) and `make test` (the whole suite, headless).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench bench-scale multinode clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/cpclient --training

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy cpclient cpserver

test: $(STAMP) lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/server.py

# National scale: throughput of bare, authenticated and audited calls at 1-64 clients, 1 and 2 workers.
bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

# A PostgreSQL primary and streaming replica, two API servers: correctness, replica stop, lag (minutes).
multinode: $(STAMP)
	$(BIN)/python bench/multinode.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
