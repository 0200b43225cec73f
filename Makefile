# The two set-up commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
LMTP_PORT ?= 8024

.PHONY: run test browser-deps tool-deps lint bench clean messages translations

# Translations: the catalogs (.po) are committed; the compiled .mo files are not (they are
# built from the .po at install and before every run/test, so a clean clone works and a
# merge never conflicts on binaries).
LOCALES := fr es
CATALOGS := forum/translations
PO_FILES := $(foreach l,$(LOCALES),$(CATALOGS)/$(l)/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/pybabel compile --use-fuzzy -d $(CATALOGS) --statistics >/dev/null 2>&1 || true
	touch $(STAMP)

## messages: extract every translatable string into messages.pot and merge it into each .po
## (new strings arrive untranslated: tests/test_translations.py then says which ones)
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 \
	  --sort-by-file -o $(CATALOGS)/messages.pot .
	@for l in $(LOCALES); do \
	  if [ -f $(CATALOGS)/$$l/LC_MESSAGES/messages.po ]; then \
	    $(BIN)/pybabel update -i $(CATALOGS)/messages.pot -d $(CATALOGS) -l $$l --no-fuzzy-matching --ignore-obsolete; \
	  else \
	    $(BIN)/pybabel init -i $(CATALOGS)/messages.pot -d $(CATALOGS) -l $$l; \
	  fi; \
	done

## translations: compile each .po into the .mo gettext reads (only when the .po changed)
translations: $(MO_FILES)

$(CATALOGS)/%/LC_MESSAGES/messages.mo: $(CATALOGS)/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d $(CATALOGS) -l $* -i $< -o $@

## run: migrate, load demo data, start web + scheduler + inbound LMTP + dev mailbox on SQLite
run: export FORUM_ENV = development
run: $(STAMP) translations
	$(FLASK) db upgrade
	$(FLASK) forum demo --if-empty
	BASE_URL=$${BASE_URL:-http://$(HOST):$(PORT)} $(FLASK) forum dev --host $(HOST) --port $(PORT) --lmtp-port $(LMTP_PORT)

## test: the import layers (lint-imports), then the whole suite (SQLite always; PostgreSQL too when TEST_DATABASE_URL is set), in
## TEST_WORKERS processes (pytest-xdist; each worker has its own databases and servers)
TEST_WORKERS ?= 2
test: $(STAMP) translations browser-deps tool-deps
	$(BIN)/lint-imports --no-logo  # the layer order of docs/ARCHITECTURE.md, nothing ignored
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The browser tests drive a real Chromium (CHROMIUM_PATH) and need fonts to lay pages out.
# Missing: installed with apt-get when we are root on Debian/Ubuntu, else one line saying
# what to install. Skipped when PYTEST_ARGS leaves tests/browser out.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH
BROWSER_PACKAGES := chromium fonts-dejavu-core
DEJAVU := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf

browser-deps:
	@case "$(PYTEST_ARGS)" in *--ignore=tests/browser*) exit 0;; esac; \
	missing=; [ -x "$(CHROMIUM_PATH)" ] || missing=chromium; \
	if command -v apt-get >/dev/null 2>&1 && [ ! -e "$(DEJAVU)" ]; then missing="$$missing fonts"; fi; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make test: installing $(BROWSER_PACKAGES) for the browser tests (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $(BROWSER_PACKAGES) >/dev/null \
	    || { echo "make test: apt-get could not install $(BROWSER_PACKAGES)" >&2; exit 1; }; \
	  [ -x "$(CHROMIUM_PATH)" ] || { echo "make test: no Chromium at $(CHROMIUM_PATH) after installing; set CHROMIUM_PATH" >&2; exit 1; }; \
	else \
	  echo "make test: the browser tests need Chromium at $(CHROMIUM_PATH) and the DejaVu fonts: install them (Debian/Ubuntu: sudo apt-get install $(BROWSER_PACKAGES)), or set CHROMIUM_PATH" >&2; \
	  exit 1; \
	fi

# Tools the suite runs besides the browser: Node.js + npm (ical.js) and libical with a C compiler
# (tests/c/ical_check.c, built on first use), the other calendar readers every test's calendars
# go through, and Postfix's postmap (the relay recipient map test).
# Installed the same way: apt-get when root, else one line saying what to install.
# iproute2 (`ip netns`, tests/test_multihost.py) is added only as root with apt-get: only root
# can make network namespaces, and without them that one test skips, saying why.
TOOL_PACKAGES := nodejs npm postfix gcc pkg-config libical-dev

tool-deps:
	@missing=; \
	{ command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; } || missing="nodejs npm"; \
	command -v postmap >/dev/null 2>&1 || [ -x /usr/sbin/postmap ] || missing="$$missing postfix"; \
	{ command -v cc >/dev/null 2>&1 && command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libical; } \
	  || missing="$$missing gcc pkg-config libical-dev"; \
	if ! command -v ip >/dev/null 2>&1 && [ ! -x /usr/sbin/ip ] && [ ! -x /sbin/ip ] \
	  && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then missing="$$missing iproute2"; fi; \
	[ -z "$$missing" ] && exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "make test: installing $$missing for the test suite (apt-get)"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null \
	    || { echo "make test: apt-get could not install $$missing" >&2; exit 1; }; \
	else \
	  echo "make test: the suite needs $$missing (Node.js and npm, and libical-dev with a C compiler, for the calendar check; Postfix's postmap): install them (Debian/Ubuntu: sudo apt-get install $(TOOL_PACKAGES))" >&2; \
	  exit 1; \
	fi

lint: $(STAMP)
	$(BIN)/lint-imports --no-logo
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
