# The two set-up commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
LMTP_PORT ?= 8024

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## run: migrate, load demo data, start web + scheduler + inbound LMTP + dev mailbox on SQLite
run: export FORUM_ENV = development
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) forum demo --if-empty
	BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)} $(FLASK) forum dev --host $(HOST) --port $(PORT) --lmtp-port $(LMTP_PORT)

## test: the whole suite (SQLite always; PostgreSQL too when TEST_DATABASE_URL is set)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check forum tests bench
	$(BIN)/mypy forum

bench: $(STAMP)
	$(BIN)/python bench/fanout.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/feeds.py
	$(BIN)/python bench/import_subscribers.py
	$(BIN)/python bench/pages.py
	$(BIN)/python bench/ce.py

clean:
	rm -rf $(VENV) instance .pytest_cache
