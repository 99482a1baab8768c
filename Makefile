# salesops: `make run` brings up the whole hub, `make test` runs every check.
# Only Python 3.11+ and make are needed; everything else installs into .venv from the lock files.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SCALE ?= small

.PHONY: install run test lint format lock bench bench-load clean services demo

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "salesops needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)

# Reinstalls only when a lock file changed, so `make install` is cheap to repeat.
$(STAMP): requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock -r requirements-dev.lock
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m salesops.hub run

test: install
	$(BIN)/python -m salesops.hub test $(PYTEST_ARGS)

# Empty the database and load the demo company dated from today (stop `make run` first; changes are lost).
demo: install
	$(BIN)/python -m salesops.hub demo

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy . && $(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# Print `export DATABASE_URL=… REDIS_URL=…` for the embedded servers (started if needed).
services: install
	@$(BIN)/python -m salesops.hub services

# Regenerate the pinned, hashed lock files after editing requirements*.in.
lock: | $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements.lock requirements.in
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe --no-emit-index-url --no-emit-find-links -o requirements-dev.lock requirements-dev.in

bench: install
	$(BIN)/python -m bench.run --scale $(SCALE)

# Issue 13: 50 signed-in users for 2 minutes against gunicorn with the production settings (bench/README.md).
bench-load: install
	$(BIN)/python -m bench.bench_load $(ARGS)

clean:
	$(BIN)/python -c 'from salesops.embedded import clean_var; clean_var()' || rm -rf var
	rm -rf staticfiles .pytest_cache .mypy_cache .ruff_cache
