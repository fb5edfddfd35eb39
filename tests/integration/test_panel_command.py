"""The ``panel`` command (panel.cli), its version everywhere it is shown, and gunicorn's settings for ``panel serve``.

The installed console script itself, from a built wheel in a fresh virtual environment, is run by
deploy/smoke.py (CI); here ``python -m panel`` runs the same ``panel.cli.main`` from another directory.
"""

import importlib.metadata
import os
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

import panel
from core import conf
from panel import cli, gunicorn_conf

ROOT = Path(__file__).resolve().parents[2]
VERSION = importlib.metadata.version("panel")


def _panel(*args, cwd, **environ):
    """``python -m panel *args`` in ``cwd``, with this checkout's code and no Panel variable but ``environ``."""
    env = {name: raw for name, raw in os.environ.items() if name not in conf.CATALOGUE}
    env.update(PYTHONPATH=str(ROOT), **environ)
    return subprocess.run(
        [sys.executable, "-m", "panel", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_version_comes_from_the_package_metadata():
    assert panel.__version__ == VERSION


def test_panel_version_prints_the_panels_version(tmp_path):
    result = _panel("--version", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"panel {VERSION}\n"


def test_panel_runs_a_management_command_from_another_directory(tmp_path):
    result = _panel("migrate", "--no-input", cwd=tmp_path, PANEL_VAR_DIR=str(tmp_path / "data"))

    assert result.returncode == 0, result.stderr
    assert "Applying accounts.0001_initial... OK" in result.stdout
    assert (tmp_path / "data" / "panel.sqlite3").is_file()


def test_panel_serve_hands_its_options_to_gunicorn_after_the_production_settings(monkeypatch):
    started = []
    monkeypatch.setattr("gunicorn.app.wsgiapp.WSGIApplication.run", lambda application: started.append(application.cfg))

    cli.main(["panel", "serve", "--bind", "127.0.0.1:8123", "--workers", "3"])

    (config,) = started
    assert config.wsgi_app == "panel.wsgi"
    assert config.bind == ["127.0.0.1:8123"]
    assert config.workers == 3
    assert config.timeout == gunicorn_conf.timeout
    assert (config.max_requests, config.max_requests_jitter) == (10_000, 1_000)  # workers recycled, in depth


def test_panel_serve_listens_on_loopback_only_unless_told(monkeypatch):
    started = []
    monkeypatch.setattr("gunicorn.app.wsgiapp.WSGIApplication.run", lambda application: started.append(application.cfg))

    cli.main(["panel", "serve"])

    assert started[0].bind == ["127.0.0.1:8000"]


def test_gunicorn_runs_two_workers_per_cpu_plus_one(monkeypatch):
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 4)

    assert runpy.run_path(gunicorn_conf.__file__)["workers"] == 9


def test_web_concurrency_sets_the_worker_count(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "7")

    assert runpy.run_path(gunicorn_conf.__file__)["workers"] == 7


@pytest.mark.django_db
def test_the_health_check_answers_the_version():
    response = Client().get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "version": VERSION}


@pytest.mark.django_db
def test_every_page_shows_the_version_in_its_footer():
    response = Client().get("/login/")

    assert f'<footer class="page-footer">Panel {VERSION}</footer>' in response.content.decode()
