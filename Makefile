# Two commands set everything up on a fresh machine:
#   make run   — virtualenv, install, migrate the SQLite database under instance/, seed demo data,
#                serve the web app with the scheduler beside it (Ctrl-C stops both)
#   make test  — virtualenv, install with test extras, run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test install install-dev translations lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The compiled catalogue is committed (installs never run make): recompile after editing the .po.
translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations --use-fuzzy -f >/dev/null

run: install translations
	$(FLASK) db upgrade
	$(FLASK) seed --demo
	$(FLASK) serve --host $(HOST) --port $(PORT)

test: install-dev
	$(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check app tests

bench: install-dev
	$(BIN)/python bench/booking_bench.py --floor --record

clean:
	rm -rf $(VENV) instance .pytest_cache
