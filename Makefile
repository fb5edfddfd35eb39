# Panel: `make run` serves the panel, `make test` runs every test, `make bench` measures the user list, API
# authentication, logging in, deleting a user, pruning the audit log, the reset page's timing, and the production recipe
# (deploy/) under slow clients.
# `make screenshots` reruns the browser tests to refresh the README's pictures in docs/screenshots/.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= localhost
PORT ?= 8000

.PHONY: run test screenshots bench lint check-migrations check-deploy clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) manage.py migrate --no-input
	$(PY) manage.py ensure_admin
	$(PY) manage.py runserver $(HOST):$(PORT)

# Browser tests run in their own process: Playwright's event loop makes them allow
# Django's async-unsafe calls, which the other tests should keep refusing.
# Their screenshots go to the git-ignored test-results/screenshots/, so a test run leaves the tree clean.
test: $(STAMP)
	$(PY) -m pytest --ignore=tests/e2e $(PYTEST_ARGS)
	$(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# The browser tests again, saving their screenshots over the tracked ones in docs/screenshots/.
screenshots: $(STAMP)
	PANEL_SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest tests/e2e $(PYTEST_ARGS)

# Every benchmark runs even if one misses its target; the exit status reports any miss.
BENCHMARKS := user_list api_auth login user_delete audit_prune reset_timing slow_clients
bench: $(STAMP)
	status=0; for bench in $(BENCHMARKS); do $(PY) bench/$$bench.py || status=1; done; exit $$status

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

# Fails if a model change has no migration yet.
check-migrations: $(STAMP)
	$(PY) manage.py makemigrations --check --dry-run

check-deploy: $(STAMP)
	$(PY) manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) .pytest_cache
