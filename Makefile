# One entry point for people and CI. Every target installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint fmt bench install browser clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## make run: embedded default (SQLite, in-process Redis, simulators) on http://127.0.0.1:8000
run: $(STAMP)
	$(BIN)/wxbroker dev

## make test: the whole suite on the real PostgreSQL and Redis (+ the embedded suite)
test: $(STAMP) browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Browser tests use Debian's chromium (never a downloaded browser build) and CJK fonts so
# screenshots of the Chinese pages are readable.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'noto sans cjk'; } || { \
	  echo "installing Debian chromium and CJK fonts for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk) >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check app tests bench
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy app

fmt: $(STAMP)
	$(BIN)/ruff format app tests bench
	$(BIN)/ruff check --fix app tests bench

## make bench: load and latency benchmarks (installs wrk and the bench extras)
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk) >/dev/null; }
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
