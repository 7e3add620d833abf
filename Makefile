# `make demo` and `make test` work on a fresh clone: they create .venv and install on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench lab clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH bash scripts/demo.sh

test: $(STAMP)
	$(BIN)/ruff check forecast api tests bench scripts
	$(BIN)/ruff format --check forecast api tests bench scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/forecast.py
	$(BIN)/python bench/scenario.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/accuracy.py --demo
	$(BIN)/python bench/odd_histories.py
	$(BIN)/python bench/churn.py
	$(BIN)/python bench/watch.py --demo

# JupyterLab on the notebooks, with the notebooks extra installed; they build their own demo.
lab: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[notebooks]'
	$(BIN)/jupyter lab notebooks/

clean:
	rm -rf $(VENV) demo-out .pytest_cache
