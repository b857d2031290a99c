# Two commands on a fresh machine with Python 3.11 and pip:
#   make study   install into .venv, run the whole study on data/raw/ (tables, notebooks, figures)
#   make test    the whole test suite in the same .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
RAW ?= data/raw
OUT ?= data/processed

.PHONY: install study test lab bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

study: install
	$(BIN)/hkpolicy study $(RAW) --out $(OUT)

test: install
	$(BIN)/python -m pytest

lab: install
	$(BIN)/jupyter lab notebooks/

bench: install
	$(BIN)/python benchmarks/bench_pipeline.py

clean:
	rm -rf $(VENV) data/processed/*.csv data/processed/*.parquet
