# Two commands matter: `make run` (set up and serve the site offline) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test check lint format setup install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

## setup: migrate, mark runs a previous server left running, then the demo account (simulator
## keys, starter library). Idempotent.
setup: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py mark_interrupted_runs --all
	$(BIN)/python manage.py setup_demo --origin http://$(HOST):$(PORT)

## run: everything a fresh machine needs, then serve under uvicorn (ASGI; runserver buffers streams)
## and run the batch worker beside it (Procfile's `worker`). Ctrl-C stops both: the worker is a
## background job of this one shell, which the trap stops whenever the server ends.
run: setup
	@$(BIN)/python manage.py batch_worker & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker 2>/dev/null' EXIT INT TERM; \
	$(BIN)/uvicorn playground.asgi:application --host $(HOST) --port $(PORT) \
		--timeout-graceful-shutdown 5

## test: the whole suite (unit, integration over loopback, browser). DATABASE_URL picks PostgreSQL.
test: install-dev
	$(BIN)/pytest

## check: lint, formatting and mypy --strict (with django-stubs) over playground/.
check: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles test-artifacts test-db-*.sqlite3
