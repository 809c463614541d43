# DTEM — the two set-up commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test install lint typecheck contracts unit bench schema screenshots clean help

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*##/\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install dtem with its dev tools

demo: $(STAMP)  ## run the main job on embedded defaults (SQLite + DuckDB)
	$(BIN)/dtem demo

lint: $(STAMP)  ## ruff check + format check
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)  ## mypy --strict
	$(BIN)/mypy

contracts: $(STAMP)  ## import-linter: dependencies point inward
	$(BIN)/lint-imports

unit: $(STAMP)  ## unit tests only (fast)
	$(BIN)/pytest tests/unit

test: lint typecheck contracts  ## lint, type check, import contracts and the whole test suite
	$(BIN)/pytest tests -n 2 --dist loadgroup

screenshots: $(STAMP)  ## the README's pictures, in headless Chromium (after make demo)
	$(BIN)/python docs/screenshots.py report out/demo/report.html
	$(BIN)/python docs/screenshots.py dashboard --db sqlite:///data/dtem.db

schema: $(STAMP)  ## regenerate the initial migration from the table definitions
	$(BIN)/python -m dtem.adapters.ledger.regenerate_migration

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
