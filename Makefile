# Panel: `make run` serves the panel, `make test` runs every test, `make bench` measures the user list (alone and against Django admin), API
# authentication, logging in (and the memory of logins at once), deleting a user, pruning the audit log, the reset page's
# timing, a gunicorn worker's memory over 10,000 requests, and the production recipe (deploy/) under slow clients.
# `make screenshots` reruns the browser tests to refresh the README's pictures in docs/screenshots/.
# `make lock` refreshes the lock files; `make smoke` builds the wheel and runs it behind nginx (deploy/smoke.py).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= localhost
PORT ?= 8000

LOCK_VENV := .venv-lock
PIP_TOOLS := pip-tools==7.6.2

.PHONY: run test screenshots bench lint check-migrations check-deploy smoke lock clean

# Exactly the locked versions, each checked against its hash; then Panel itself, editable.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements-dev.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# The newest versions pyproject.toml allows, with their hashes: requirements.lock for production (what
# the wheel needs), requirements-dev.lock for `make` and CI (the same pins, plus the test and bench extras).
# pip-tools runs from its own venv, so that it never lands in the one the tests run in.
LOCK_FLAGS := --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links
lock:
	test -x $(LOCK_VENV)/bin/python || $(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet $(PIP_TOOLS)
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) -o requirements.lock pyproject.toml
	CUSTOM_COMPILE_COMMAND="make lock" $(LOCK_VENV)/bin/pip-compile $(LOCK_FLAGS) --extra test --extra bench \
		-c requirements.lock -o requirements-dev.lock pyproject.toml

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
BENCHMARKS := user_list user_list_vs_admin api_auth login user_delete audit_prune audit_log reset_timing worker_memory slow_clients
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

# The wheel, installed in a fresh venv outside the checkout, served by `panel serve` behind deploy/nginx.conf.
smoke: $(STAMP)
	$(PY) deploy/smoke.py

clean:
	rm -rf $(VENV) $(LOCK_VENV) .pytest_cache build
