# `make demo` and `make test` set everything up on a fresh machine (a venv in .venv) and run.
PYTHON ?= python3
VENV ?= .venv
NUSAX ?= ../shared/data/nusax
BIN := $(VENV)/bin

.PHONY: install test test-fast test-extended lint demo data-example clean

$(BIN)/instructalign: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/instructalign

install: $(BIN)/instructalign

test: install
	$(BIN)/pytest -m "not extended"

test-extended: install
	$(BIN)/pytest -m extended

test-fast: install
	$(BIN)/pytest -m "not slow and not extended"

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

data-example: install
	$(BIN)/instructalign data build --bitext $(NUSAX) --split train --pivots ind,eng \
	  --targets jav,sun,min,bjn,ban,ace,bug --objectives mt,tlm,xss --seed 7 --output out/align --overwrite

demo: install
	$(BIN)/instructalign demo --data $(NUSAX) --output out/demo

clean:
	rm -rf out runs .pytest_cache
