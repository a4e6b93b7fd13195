# Two commands do everything: `make run` and `make test` (each sets up .venv first if needed).
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup run test bench screenshots package clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

run: setup
	$(VENV)/bin/vae-explorer

test: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q

bench: setup
	$(PY) bench/train_throughput.py
	$(PY) bench/loss_weighting.py
	QT_QPA_PLATFORM=offscreen $(PY) bench/gui.py

screenshots: setup
	QT_QPA_PLATFORM=offscreen $(PY) bench/screenshots.py

package: setup
	$(PY) -m pip install --quiet -e ".[package]"
	$(PY) packaging/build.py

clean:
	rm -rf build dist
