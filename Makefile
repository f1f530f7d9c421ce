# The README's commands. Each sets up what it needs in .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

## demo: run the example job end to end on SQLite (a season of daily scores, with lineage)
demo: $(VENV)/.installed
	rm -rf demo
	$(BIN)/batchyard init demo
	cd demo && ../$(BIN)/batchyard run daily-scores --param start=2024-04-01 --param end=2024-09-30
	cd demo && ../$(BIN)/batchyard jobs list
	cd demo && ../$(BIN)/python -c "import sqlite3; c = sqlite3.connect('warehouse.db'); \
	print('warehouse.db scores:', c.execute('select count(*), count(distinct day), count(distinct _job_id) from scores').fetchone(), '(rows, days, jobs)')"

## test: the whole test suite, on SQLite and on a PostgreSQL server it starts on 127.0.0.1
test: $(VENV)/.installed-dev
	scripts/ensure-postgres
	$(BIN)/python -m pytest

## lint: ruff and mypy (strict on src/)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

## bench: the benchmarks, each printing its figures and ratios against its peer
bench: $(VENV)/.installed-dev
	scripts/ensure-postgres
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/migrate.py
	$(BIN)/python bench/verify.py

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
