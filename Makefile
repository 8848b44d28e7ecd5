# The two set-up commands: `make run` (client in training mode) and `make test` (the whole suite, headless).
# Each target installs only what it needs, into one .venv, through the extras in pyproject.toml:
#   run          the client and the embedded training server (`.[server]`): no test or lint tools
#   test, lint   everything above plus the dev tools (`.[dev]`)
#   bundle       the packager (`.[bundle]`): the live client's one-folder bundle in dist/cpclient
#   training-kit the trainers' bundle (client + embedded training server) in dist/cpclient-training
#   deb          Debian packages of both bundles in dist/
#   msi-check    builds a test MSI from the WiX source with wixl (validates packaging/windows)
#   packaging-test  all of the above, smoke-tested (CI runs it; needs the packages below)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DIST := dist

.PHONY: run test lint bench bench-startup bench-scale multinode clean bundle training-kit deb msi-check \
	packaging-test system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[server]'
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

$(VENV)/.installed-bundle: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bundle]'
	touch $@

run: $(VENV)/.installed-run
	$(BIN)/cpclient --training

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy cpclient cpserver

test: $(VENV)/.installed-dev lint
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

bench: $(VENV)/.installed-dev
	$(BIN)/python bench/server.py

# National scale: throughput of bare, authenticated and audited calls at 1-64 clients, 1 and 2 workers.
bench-scale: $(VENV)/.installed-dev
	$(BIN)/python bench/scale.py

# A PostgreSQL primary and streaming replica, two API servers: correctness, replica stop, lag (minutes).
multinode: $(VENV)/.installed-dev
	$(BIN)/python bench/multinode.py

bench-startup: $(VENV)/.installed-run
	$(BIN)/python bench/startup.py

# --- packages (packaging/README.md) ---------------------------------------------------------------

bundle: $(VENV)/.installed-bundle
	$(BIN)/python packaging/build.py bundle --dist $(DIST)

training-kit: $(VENV)/.installed-bundle
	$(BIN)/python packaging/build.py training-kit --dist $(DIST)

deb: $(VENV)/.installed-bundle
	$(BIN)/python packaging/build.py deb --dist $(DIST)

msi-check: $(VENV)/.installed-bundle
	$(BIN)/python packaging/build.py msi-check --dist $(DIST)

# Debian packages the packaging tests need (Xvfb, wixl, ...) and the Qt runtime libraries: root only.
system-packages:
	packaging/linux/install-system-packages

packaging-test: $(VENV)/.installed-dev $(VENV)/.installed-bundle
	$(BIN)/python packaging/build.py all --dist $(DIST)
	CPCLIENT_DIST=$(abspath $(DIST)) QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -m packaging \
		-p no:cacheprovider tests/packaging

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build $(DIST)
