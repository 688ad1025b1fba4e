# Every target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR := demo-output  # leaderboard/demo.toml reads its data from here

.PHONY: setup test demo bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml plugins/asdbench-methods/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test]' -e plugins/asdbench-methods
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/asdbench synth $(DEMO_DIR)/data --preset demo --seed 0
	$(BIN)/asdbench baseline $(DEMO_DIR)/data --out $(DEMO_DIR)/baseline
	$(BIN)/asdbench run leaderboard/demo.toml --out $(DEMO_DIR)/runs

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks -q --benchmark-only --benchmark-columns=mean,stddev,rounds

clean:
	rm -rf $(VENV) $(DEMO_DIR)
