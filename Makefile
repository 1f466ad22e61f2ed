# Cairn: every set-up step a fresh machine needs, in two commands (`make run`, `make test`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NODE_DIR := tests/interop/node
# axe-core for the browser tests' accessibility checks.
AXE_DIR := tests/browser/axe
# Browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck check bench bench-serving clean messages

$(BIN)/cairn: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/cairn

$(NODE_DIR)/node_modules/.installed: $(NODE_DIR)/package.json $(NODE_DIR)/package-lock.json
	cd $(NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(AXE_DIR)/node_modules/.installed: $(AXE_DIR)/package.json $(AXE_DIR)/package-lock.json
	cd $(AXE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq --no-install-recommends chromium

# `make run` is for a local try-out: development settings (secrets generated into instance/),
# SQLite under instance/, a demo issuer on first run, gunicorn on http://127.0.0.1:5000.

run: export CAIRN_ENV ?= development
run: $(BIN)/cairn
	$(BIN)/cairn db upgrade
	$(BIN)/cairn demo --if-empty
	$(BIN)/cairn serve --host 127.0.0.1 --port 5000

lint: $(BIN)/cairn
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(BIN)/cairn
	$(BIN)/mypy

# Browser tests save their screenshots here (look at them after a run).
test: export CAIRN_SCREENSHOTS ?= $(CURDIR)/test-artifacts/screenshots
# pytest-xdist: one worker per core, each test file on one worker (its module fixtures start
# once); each worker has a PostgreSQL database of its own (tests/conftest.py).
test: $(BIN)/cairn $(NODE_DIR)/node_modules/.installed $(AXE_DIR)/node_modules/.installed $(CHROMIUM) lint typecheck
	$(BIN)/pytest -q -n auto --dist loadfile

bench: $(BIN)/cairn $(NODE_DIR)/node_modules/.installed
	$(BIN)/python bench/signing.py

bench-serving: $(BIN)/cairn
	$(BIN)/python bench/serving.py

# The catalogue template a translator starts from (app/translations/<locale>/LC_MESSAGES/
# messages.po, compiled with `pybabel compile -d app/translations`, is what Flask-Babel reads).
messages: $(BIN)/cairn
	$(BIN)/pybabel extract -F babel.cfg -k _ -k gettext -k ngettext -o app/translations/messages.pot .

clean:
	rm -rf $(VENV) $(NODE_DIR)/node_modules $(AXE_DIR)/node_modules test-artifacts .pytest_cache .mypy_cache .ruff_cache
