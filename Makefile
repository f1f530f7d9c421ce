# The README's commands. Each sets up what it needs in .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test test-fast lint bench clean frontend

# The dashboard: built from frontend/ (npm ci from the lock file) into the package, which serves it.
WEB       := src/batchyard/web/static/index.html
WEB_SRC   := $(shell find frontend/src frontend/public -type f 2>/dev/null) frontend/index.html \
             frontend/package.json frontend/vite.config.ts frontend/tsconfig.json
NODE_DEPS := frontend/node_modules/.package-lock.json

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

$(NODE_DEPS): frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEB): $(WEB_SRC) $(NODE_DEPS)
	cd frontend && npm run --silent build -- --logLevel warn

## frontend: build the dashboard (when its sources changed) into src/batchyard/web/static
frontend: $(WEB)

## demo: run the example jobs end to end on SQLite: a season of daily scores, with lineage, then
## the same season collected from a local JSON feed (rate limited, paginated), and its missing dates
demo: $(VENV)/.installed $(WEB)
	rm -rf demo
	$(BIN)/batchyard init demo
	cd demo && ../$(BIN)/batchyard run daily-scores --param start=2024-04-01 --param end=2024-09-30
	cd demo && ../$(BIN)/batchyard jobs list
	cd demo && ../$(BIN)/python -c "import sqlite3; c = sqlite3.connect('warehouse.db'); \
	print('warehouse.db scores:', c.execute('select count(*), count(distinct day), count(distinct _job_id) from scores').fetchone(), '(rows, days, jobs)')"
	cd demo && { ../$(BIN)/batchyard demo-feed --url-file feed.url > /dev/null & feed=$$!; \
	  trap 'kill $$feed 2>/dev/null' EXIT; \
	  for i in $$(seq 100); do [ -s feed.url ] && break; sleep 0.1; done; \
	  export SCORES_FEED=$$(cat feed.url); echo "scores feed at $$SCORES_FEED"; \
	  ../$(BIN)/batchyard run season && ../$(BIN)/batchyard collect season --missing; }

## test: the whole test suite, on SQLite and on a PostgreSQL server it starts on 127.0.0.1, and
## the dashboard in Chromium (tests/web; screenshots in test-artifacts/screenshots)
test: $(VENV)/.installed-dev $(WEB)
	scripts/ensure-postgres
	BATCHYARD_REQUIRE_BROWSER=1 $(BIN)/python -m pytest

## test-fast: the edit-test loop, under a minute on two cores: SQLite only, no slow or browser
## tests, on two processes (make test runs every test; docs/architecture.md says what is slow)
# Byte-code caches are kept even where the environment turns them off (PYTHONDONTWRITEBYTECODE):
# the next run then reuses pytest's rewritten test modules, about 5 s of each process's start.
test-fast: $(VENV)/.installed-dev
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -m "not postgres and not slow and not browser" \
	  -n 2 -q -p no:cacheprovider

## lint: ruff, mypy (strict on src/) and the import layers (import-linter)
lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[bench]'
	touch $@ $(VENV)/.installed-dev $(VENV)/.installed

## bench: the benchmarks, each printing its figures and ratios against its peer
## (the peers: pandas and Great Expectations from the bench extra; pgloader and sqlite3 from Debian)
bench: $(VENV)/.installed-bench
	scripts/ensure-postgres
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/generate.py
	$(BIN)/python bench/migrate.py
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/data.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/monitor.py
	$(BIN)/python bench/anomaly.py
	$(BIN)/python bench/startup.py

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache frontend/node_modules src/batchyard/web/static
