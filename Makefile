# The two commands a newcomer needs: `make serve` and `make test`. Each bootstraps what it
# needs with only Python 3.11 and pip: uv (pinned) in .cache/bootstrap, then the locked
# environment in .venv.
PYTHON ?= python3
BOOT := .cache/bootstrap
UV := $(BOOT)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
# checkov (the chart's Kubernetes checks) lives in its own environment: its pins clash with
# the app's. tests/infra/test_chart.py runs it on the rendered manifests.
CHECKOV_VERSION := 3.3.30
CHECKOV := .cache/checkov/bin/checkov
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(shell $(PYTHON) -c 'import sys; print(sys.executable)')

.PHONY: serve test test-slow lint format bench clean

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.synced: pyproject.toml uv.lock | $(UV)
	$(UV) sync --frozen --extra local --extra media --extra ocr --extra dev
	touch $@

serve: $(VENV)/.synced
	$(VENV)/bin/rag-app serve

lint: $(VENV)/.synced
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

$(CHECKOV): | $(UV)
	$(UV) venv --quiet .cache/checkov
	$(UV) pip install --quiet --python .cache/checkov/bin/python checkov==$(CHECKOV_VERSION)

# The default suite skips the tests marked slow (about 10 minutes here); CI runs both.
test: lint $(CHECKOV)
	CHECKOV=$(CHECKOV) $(VENV)/bin/pytest -m "not slow"

test-slow: $(VENV)/.synced $(CHECKOV)
	CHECKOV=$(CHECKOV) $(VENV)/bin/pytest -m slow

format: $(VENV)/.synced
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

bench: $(VENV)/.synced
	$(VENV)/bin/python -m benchmarks.ingest_and_search

clean:
	rm -rf $(BOOT) .cache/checkov $(VENV) .mypy_cache .ruff_cache .pytest_cache
