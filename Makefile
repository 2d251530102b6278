# Everyday tasks. Everything runs from the virtualenv in $(VENV); nothing is
# installed globally and nothing already installed is upgraded.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Set to 1 once a browser test exists (the agent console).
NEEDS_CHROMIUM ?= 1
# Test processes (pytest-xdist). Most tests wait on sockets and subprocesses, so two
# workers finish in about half the time even on two cores; `make test TEST_WORKERS=0`
# runs everything in one process.
TEST_WORKERS ?= 2

.PHONY: venv install install-test test-deps migrate run test lint clean bench bench-quick bench-deps

venv: $(BIN)/python

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: venv
	$(BIN)/pip install -e .

install-test: venv
	$(BIN)/pip install -e '.[test]'

migrate: install
	$(BIN)/tidings migrate

# make run PORT=8081 XMPP_PORT=5223 (defaults: 8080 and 5222; XMPP_PORT=0 turns XMPP off)
run: install migrate
	$(BIN)/tidings serve $(if $(PORT),--port $(PORT)) $(if $(XMPP_PORT),--xmpp-port $(XMPP_PORT))

test-deps:
	TIDINGS_NEEDS_CHROMIUM=$(NEEDS_CHROMIUM) scripts/install-test-deps.sh

test: install-test test-deps
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal --durations=25

# Benchmarks against Prosody and ejabberd (bench/README.md); apt-get needs root.
bench-deps: venv
	$(BIN)/pip install -e '.[bench]'
	@command -v prosody >/dev/null && command -v ejabberdctl >/dev/null && \
		dpkg -s lua-dbi-sqlite3 >/dev/null 2>&1 || \
		(apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
			prosody ejabberd lua-dbi-sqlite3)

bench: bench-deps
	$(BIN)/python -m bench.run

bench-quick: bench-deps
	$(BIN)/python -m bench.run --quick

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

# Build and tool caches only: the virtualenv and var/ (your data) stay.
clean:
	rm -rf build dist src/*.egg-info .pytest_cache .ruff_cache .mypy_cache .hypothesis
	find src tests -type d -name __pycache__ -prune -exec rm -rf {} +
