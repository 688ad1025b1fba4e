# Every target does its own set-up: a fresh clone needs only `make demo` or `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# leaderboard/demo.toml reads its data from DEMO_DIR, leaderboard/synth.toml from LEADERBOARD_DATA
DEMO_DIR := demo-output
# measured from a fresh clone on an idle 2-core machine (docs/performance.md)
DEMO_MINUTES := 9

LEADERBOARD := leaderboard/synth
LEADERBOARD_DATA := leaderboard-data/ci
# The regression gate (leaderboard/gate.toml): a cell more than GATE_TOLERANCE points below gate.json fails CI.
# Measured (docs/performance.md, "The regression gate"): the cells, means of three seeds, moved up to 4 points
# between thread counts 1 and 2, and each deliberate break (make gate-breaks) takes a trained cell 17 points down
# or more.
GATE := leaderboard/gate
GATE_DATA := leaderboard-data/gate
GATE_TOLERANCE := 10
# asdbench report's static sites of the CI grids (build outputs, git-ignored): open $(REPORTS)/<grid>/index.html
REPORTS := reports

.PHONY: setup test test-fast test-pythons demo demo-notice bench leaderboard leaderboard-check leaderboard-sota gate \
	gate-data gate-breaks clean

setup: $(STAMP)

# The tested versions: torch 2.13.0 and constraints.txt. PYTHONWARNINGS hides setuptools' "Editable installation"
# notice, which the build backend prints once per editable distribution even with --quiet.
$(STAMP): pyproject.toml plugins/asdbench-methods/pyproject.toml plugins/asdbench-pretrained/pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0 -c constraints.txt
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet -c constraints.txt \
		-e '.[test]' -e plugins/asdbench-methods -e plugins/asdbench-pretrained
	touch $(STAMP)

# ruff first: a lint finding fails in seconds, before the tests (rules in pyproject.toml, [tool.ruff]). Then every
# test, on two pytest-xdist workers of one thread each (tests/conftest.py), a module's tests on one worker
# (loadscope), so that a module fixture (a training, a Dask cluster) is made once.
test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/python -m pytest -q -n 2 --dist loadscope

# The tests not marked slow: none trains, starts a process or runs a shell block (tests/helpers/slow_work.py).
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

# demo-notice comes first, so that the estimate prints before the set-up starts.
demo: demo-notice $(STAMP)
	$(BIN)/asdbench synth $(DEMO_DIR)/data --preset demo --seed 0
	$(BIN)/asdbench baseline $(DEMO_DIR)/data --out $(DEMO_DIR)/baseline
	$(BIN)/asdbench run leaderboard/demo.toml --out $(DEMO_DIR)/runs --baseline $(DEMO_DIR)/baseline \
		--baseline leaderboard/demo-baseline.toml --plot $(DEMO_DIR)/demo.png

demo-notice:
	@echo "make demo: about $(DEMO_MINUTES) min on 2 idle CPU cores, of which 2-3 min set up .venv (once), then"
	@echo "  synthetic data, a training-free baseline, the DCASE organisers' autoencoder baseline and the paper's main"
	@echo "  system, side by side at the end."

# Rewrites the committed CI leaderboard (table, cells, heat map) from a fresh store.
leaderboard: $(STAMP)
	$(BIN)/asdbench synth $(LEADERBOARD_DATA) --preset ci --seed 0
	rm -rf runs/leaderboard
	$(BIN)/asdbench grid $(LEADERBOARD).toml --out runs/leaderboard
	$(BIN)/asdbench leaderboard $(LEADERBOARD).toml --out runs/leaderboard --write $(LEADERBOARD).md \
		--json $(LEADERBOARD).json --heatmap $(LEADERBOARD).png
	$(BIN)/asdbench grid $(LEADERBOARD)-pseudo.toml --out runs/leaderboard
	$(BIN)/asdbench leaderboard $(LEADERBOARD)-pseudo.toml --out runs/leaderboard --write $(LEADERBOARD)-pseudo.md \
		--json $(LEADERBOARD)-pseudo.json --heatmap $(LEADERBOARD)-pseudo.png
	$(BIN)/asdbench report $(LEADERBOARD).toml --out runs/leaderboard --site $(REPORTS)/synth
	$(BIN)/asdbench report $(LEADERBOARD)-pseudo.toml --out runs/leaderboard --site $(REPORTS)/synth-pseudo

# Rewrites leaderboard/sota-synth.md and .json: every system of leaderboard/sota.toml on synthetic data, with tiny
# models in the published layouts (their numbers mean nothing; the weights paths are relative to this folder).
leaderboard-sota: $(STAMP)
	$(BIN)/asdbench synth leaderboard-data/tiny --preset tiny --seed 0
	$(BIN)/python leaderboard/make_tiny_weights.py leaderboard-data/weights
	rm -rf runs/sota-synth
	$(BIN)/asdbench grid leaderboard/sota-synth.toml --out runs/sota-synth
	$(BIN)/asdbench leaderboard leaderboard/sota-synth.toml --out runs/sota-synth --write leaderboard/sota-synth.md \
		--json leaderboard/sota-synth.json

gate-data: $(STAMP)
	$(BIN)/asdbench synth $(GATE_DATA) --preset gate --seed 0

# Rewrites the committed gate cells (gate.md, gate.json) from a fresh store.
gate: gate-data
	rm -rf runs/gate
	$(BIN)/asdbench grid $(GATE).toml --out runs/gate
	$(BIN)/asdbench leaderboard $(GATE).toml --out runs/gate --write $(GATE).md --json $(GATE).json

# The regression gate of .ci/run: rerun the gate grid from scratch and compare with the committed cells.
leaderboard-check: gate-data
	rm -rf runs/gate-check
	$(BIN)/asdbench grid $(GATE).toml --out runs/gate-check
	$(BIN)/asdbench report $(GATE).toml --out runs/gate-check --site $(REPORTS)/gate
	$(BIN)/asdbench leaderboard $(GATE).toml --out runs/gate-check --check $(GATE).json --tolerance $(GATE_TOLERANCE)

# Shows that the gate catches four deliberate breaks (leaderboard/gate_breaks.py); not part of CI.
gate-breaks: gate-data
	$(BIN)/python leaderboard/gate_breaks.py --tolerance $(GATE_TOLERANCE)

# The distributions' ranges on Python 3.12 and 3.13: each in its own .venv-3.x, with the newest versions the
# ranges allow (torch from the package index: a large download), then the fast tests (those of `make test-fast`).
# Not part of `make test`.
PYTHONS ?= python3.12 python3.13

test-pythons:
	set -e; for python in $(PYTHONS); do \
		venv=.venv-$$($$python -c 'import sys; print("%d.%d" % sys.version_info[:2])'); \
		test -x $$venv/bin/python || $$python -m venv $$venv; \
		PYTHONWARNINGS="ignore:Editable installation" $$venv/bin/python -m pip install --quiet \
			-e '.[test]' -e plugins/asdbench-methods -e plugins/asdbench-pretrained; \
		$$venv/bin/python -m pytest -q -p no:cacheprovider -m "not slow"; \
	done

bench: $(STAMP)
	$(BIN)/python -m pytest benchmarks -q --benchmark-only --benchmark-columns=mean,stddev,rounds

clean:
	rm -rf $(VENV) $(DEMO_DIR) leaderboard-data runs $(REPORTS) test-artifacts
