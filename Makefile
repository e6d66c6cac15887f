# make run   - create .venv if missing, install, write sample data if missing, refresh into data/cies.duckdb
# make test  - the test suite (what CI runs)
# make ui    - the Dagster UI (dagster dev) on workspace.yaml, same instance as `make run`
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export CIES_DATA_DIR ?= $(CURDIR)/data

.PHONY: run test ui install sample clean data-dictionary

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

sample: $(STAMP)
	test -d "$(CIES_DATA_DIR)/sesnsp" || $(BIN)/cies-pipeline sample-data "$(CIES_DATA_DIR)"

run: sample
	$(BIN)/cies-pipeline refresh --summary "$(CIES_DATA_DIR)/ultimo_refresco.json"

test: $(STAMP)
	$(BIN)/python -m pytest -q --durations=15

ui: sample
	$(BIN)/cies-pipeline ui

data-dictionary: $(STAMP)
	$(BIN)/cies-pipeline data-dictionary docs/data_dictionary.md

clean:
	rm -rf $(VENV) build *.egg-info
