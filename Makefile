# Two commands on a fresh machine with Python 3.11: `make reproduce` and `make test`.
# Each creates the virtual environment .venv on first use (editable install with the dev and cluster extras).
PY := $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: reproduce test lint bench clean-venv

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,cluster]"
	touch $@

reproduce: $(VENV)/.installed
	$(BIN)/python -m experiments.reproduce $(ARGS)

# Two pytest-xdist workers (the suite is mostly Numba compilation, one core each); a test
# file runs whole on one worker, so its tests share their compiled specializations.
test: $(VENV)/.installed
	$(BIN)/python -m ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile $(ARGS)

lint: $(VENV)/.installed
	$(BIN)/python -m ruff check .

bench: $(VENV)/.installed
	$(BIN)/python -m experiments.bench $(ARGS)

clean-venv:
	rm -rf $(VENV)
