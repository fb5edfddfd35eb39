"""System checks for production (core/checks.py): each speaks when it should, and only then."""

import ipaddress
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.checks import ERROR, WARNING, run_checks

from core import checks, conf

# The database checks replace DATABASES for a test; no connection is made through it.
pytestmark = pytest.mark.filterwarnings("ignore:Overriding setting DATABASES:UserWarning")

ROOT = Path(__file__).resolve().parents[2]
LOCAL_MEMORY = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
REDIS = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:6379/15"}}
SQLITE = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "panel.sqlite3"}}
FERNET_KEY = "q9Uw0Y1ZrQ8k3m4b6nV2xT7cJ5hL0pA9sD8fG1jK2lM="
POSTGRESQL = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "panel"}}


def _ids(messages):
    return [message.id for message in messages]


@pytest.fixture(autouse=True)
def _development(monkeypatch, settings):
    """The embedded default: no SECRET_KEY in the environment, HTTPS off, one process."""
    for name in ("SECRET_KEY", "PANEL_ENCRYPTION_KEYS", "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS"):
        monkeypatch.delenv(name, raising=False)
    settings.PANEL_HTTPS = False
    settings.DEBUG = False
    settings.CACHES = LOCAL_MEMORY
    settings.PANEL_TRUSTED_PROXIES = []


def _database(settings, engine):
    settings.DATABASES = {**settings.DATABASES, "default": {**settings.DATABASES["default"], **engine["default"]}}


@pytest.fixture
def sqlite(settings):
    _database(settings, SQLITE)


@pytest.fixture
def production(monkeypatch, settings):
    """The README's production variables, as settings."""
    monkeypatch.setenv("SECRET_KEY", "a-production-secret-key-that-is-long-enough-0123456789")
    monkeypatch.setenv("PANEL_ENCRYPTION_KEYS", FERNET_KEY)
    settings.PANEL_HTTPS = True
    settings.CACHES = REDIS
    _database(settings, POSTGRESQL)
    return settings


def test_the_embedded_default_passes_every_ordinary_check():
    assert run_checks(tags=["panel"]) == []


def test_production_passes_every_check_including_the_deploy_ones(production):
    assert run_checks(tags=["panel"], include_deployment_checks=True) == []


def test_every_message_has_an_id_a_message_and_a_hint(settings, sqlite):
    settings.PANEL_HTTPS = True
    settings.DEBUG = True
    settings.PANEL_TRUSTED_PROXIES = [ipaddress.ip_network("0.0.0.0/0")]
    messages = run_checks(tags=["panel"], include_deployment_checks=True)
    assert sorted(_ids(messages)) == [
        "panel.E001",
        "panel.E001",
        "panel.E002",
        "panel.W001",
        "panel.W002",
        "panel.W003",
    ]
    for message in messages:
        assert message.msg and message.hint


# panel.E001: check --deploy without SECRET_KEY or PANEL_ENCRYPTION_KEYS (production does not even start)


def test_deploy_check_names_each_missing_production_key():
    errors = checks.check_production_keys()
    assert [(error.id, error.level) for error in errors] == [("panel.E001", ERROR)] * 2
    assert [error.msg.split(" ")[0] for error in errors] == ["SECRET_KEY", "PANEL_ENCRYPTION_KEYS"]
    assert "differs on every host" in errors[0].hint
    assert "Fernet.generate_key()" in errors[1].hint


def test_production_keys_in_the_environment_satisfy_the_deploy_check(production):
    assert checks.check_production_keys() == []


def test_an_empty_secret_key_counts_as_unset(production, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "")
    assert _ids(checks.check_production_keys()) == ["panel.E001"]


def test_the_ordinary_checks_never_ask_for_keys(settings):
    settings.PANEL_HTTPS = True
    assert "panel.E001" not in _ids(run_checks(tags=["panel"]))


# panel.E002: DEBUG with PANEL_HTTPS


def test_debug_with_https_is_an_error(settings):
    settings.DEBUG = True
    settings.PANEL_HTTPS = True
    [error] = checks.check_debug()
    assert (error.id, error.level) == ("panel.E002", ERROR)
    assert "PANEL_DEBUG" in error.hint


@pytest.mark.parametrize(("debug", "https"), [(True, False), (False, True), (False, False)])
def test_debug_alone_or_https_alone_is_fine(settings, debug, https):
    settings.DEBUG = debug
    settings.PANEL_HTTPS = https
    assert checks.check_debug() == []


# panel.W001: a per-process cache with several processes


def test_local_memory_cache_with_https_is_a_warning(settings):
    settings.PANEL_HTTPS = True
    [warning] = checks.check_cache()
    assert (warning.id, warning.level) == ("panel.W001", WARNING)
    assert "do not hold across processes" in warning.msg
    assert "REDIS_URL" in warning.hint


def test_local_memory_cache_under_check_deploy_is_a_warning():
    assert _ids(checks.check_cache_deploy()) == ["panel.W001"]


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("WEB_CONCURRENCY", "4"),
        ("GUNICORN_CMD_ARGS", "--bind 127.0.0.1:8000 --workers 4"),
        ("GUNICORN_CMD_ARGS", "--workers=2"),
        ("GUNICORN_CMD_ARGS", "-w 3"),
        ("GUNICORN_CMD_ARGS", "-w3"),
    ],
)
def test_local_memory_cache_with_several_gunicorn_workers_is_a_warning(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    assert _ids(checks.check_cache()) == ["panel.W001"]
    assert checks.check_cache_deploy() == []  # said once under check --deploy


@pytest.mark.parametrize(
    ("name", "raw"),
    [("WEB_CONCURRENCY", "1"), ("WEB_CONCURRENCY", "many"), ("GUNICORN_CMD_ARGS", "--workers 1 --threads 8")],
)
def test_local_memory_cache_with_one_process_is_fine(monkeypatch, name, raw):
    monkeypatch.setenv(name, raw)
    assert checks.check_cache() == []


def test_local_memory_cache_in_development_is_fine():
    assert checks.check_cache() == []


@pytest.mark.parametrize("https", [True, False])
def test_a_shared_cache_satisfies_both(monkeypatch, settings, https):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    settings.PANEL_HTTPS = https
    settings.CACHES = REDIS
    assert checks.check_cache() == checks.check_cache_deploy() == []


@pytest.mark.parametrize("https", [True, False])
def test_check_deploy_reports_a_local_memory_cache_once(monkeypatch, settings, https):
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    settings.PANEL_HTTPS = https
    assert _ids(run_checks(tags=["panel"], include_deployment_checks=True)).count("panel.W001") == 1


# panel.W002: a trusted proxy network that is everyone


@pytest.mark.parametrize("network", ["0.0.0.0/0", "::/0"])
def test_trusting_every_address_is_a_warning(settings, network):
    settings.PANEL_TRUSTED_PROXIES = [ipaddress.ip_network("10.0.0.5"), ipaddress.ip_network(network)]
    [warning] = checks.check_trusted_proxies()
    assert (warning.id, warning.level) == ("panel.W002", WARNING)
    assert network in warning.msg
    assert "PANEL_TRUSTED_PROXIES" in warning.hint


@pytest.mark.parametrize("networks", [[], ["10.0.0.5"], ["10.0.0.0/8", "2001:db8::/32"], ["0.0.0.0/1"]])
def test_trusting_named_proxies_is_fine(settings, networks):
    settings.PANEL_TRUSTED_PROXIES = [ipaddress.ip_network(network) for network in networks]
    assert checks.check_trusted_proxies() == []


# panel.W003: SQLite with PANEL_HTTPS


def test_sqlite_with_https_is_a_warning(settings, sqlite):
    settings.PANEL_HTTPS = True
    [warning] = checks.check_database()
    assert (warning.id, warning.level) == ("panel.W003", WARNING)
    assert "PostgreSQL" in warning.hint


def test_sqlite_in_development_is_fine(sqlite):
    assert checks.check_database() == []


def test_postgresql_with_https_is_fine(production):
    assert checks.check_database() == []


# manage.py check --deploy --fail-level WARNING, as .ci/run runs it with the README's production variables

PRODUCTION = {
    "SECRET_KEY": "ci-a-production-secret-key-that-is-long-and-random-enough-0123456789",
    "PANEL_ENCRYPTION_KEYS": FERNET_KEY,
    "ALLOWED_HOSTS": "panel.example.com",
    "PANEL_HTTPS": "true",
    "PANEL_HSTS_PRELOAD": "true",
    "PANEL_BEHIND_TLS_PROXY": "true",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "REDIS_URL": "redis://127.0.0.1:6379/15",
}


def _check_deploy(tmp_path, **environ):
    clean = {
        name: raw
        for name, raw in os.environ.items()
        if name not in conf.CATALOGUE and name not in {"WEB_CONCURRENCY", "GUNICORN_CMD_ARGS"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={**clean, "PANEL_VAR_DIR": str(tmp_path / "var"), **environ},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_with_the_readme_production_variables_is_clean(tmp_path):
    result = _check_deploy(tmp_path, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("missing", ["SECRET_KEY", "PANEL_ENCRYPTION_KEYS"])
def test_production_without_a_key_does_not_start_and_says_what_to_set(tmp_path, missing):
    environ = {name: raw for name, raw in PRODUCTION.items() if name != missing}
    result = _check_deploy(tmp_path, **environ)
    assert result.returncode != 0
    assert "ImproperlyConfigured: This is a production configuration" in result.stderr
    assert f"- {missing} is not set: " in result.stderr
    assert "Make one with: python3 -c" in result.stderr
    assert not (tmp_path / "var" / "secret_key").exists()


def test_check_deploy_of_a_development_configuration_names_the_missing_keys(tmp_path):
    result = _check_deploy(tmp_path)
    assert result.returncode != 0
    assert "(panel.E001) SECRET_KEY is not set in the environment" in result.stderr
    assert "(panel.E001) PANEL_ENCRYPTION_KEYS is not set in the environment" in result.stderr
