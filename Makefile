# Two commands do everything: `make run` and `make test` (each sets up .venv first if needed).
# The first of python3, python3.13, python3.12, python3.11 that is 3.11 or newer; PYTHON=... overrides.
PYTHON ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench screenshots package clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: no Python 3.11 or newer found (tried python3, python3.13, python3.12, python3.11); install one, or run make PYTHON=/path/to/python3"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# compat: a plain .pth to this folder (no import hook, and no setuptools notice about it)
	$(PY) -m pip install --quiet -e ".[test]" --config-settings editable_mode=compat
	touch $(STAMP)

run: setup
	$(VENV)/bin/vae-explorer

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -n auto --dist loadgroup --durations=15

bench: setup
	$(PY) bench/train_throughput.py
	$(PY) bench/loss_weighting.py --modes elbo calibrated sum mean
	$(PY) bench/live_map.py
	$(PY) bench/encode.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/projections.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/map_scale.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/embeddings.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/runs.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/lenses.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/gui.py --simulate-gpu 600
	QT_QPA_PLATFORM=offscreen $(PY) bench/gpu.py --dry

screenshots: setup
	QT_QPA_PLATFORM=offscreen $(PY) bench/screenshots.py

package: setup
	$(PY) -m pip install --quiet -e ".[package]"
	$(PY) packaging/build.py

clean:
	rm -rf build dist
