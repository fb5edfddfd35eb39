"""Django system checks for a production configuration (``manage.py check``, ``check --deploy``).

"Production" means PANEL_HTTPS on, or ``check --deploy``. (Settings refuse to load at all
without SECRET_KEY or PANEL_ENCRYPTION_KEYS under a wider rule, core.conf.is_production;
panel.E001 tells of them under ``check --deploy`` before a deployment.) A check that belongs to
production is registered twice: once as an ordinary check that speaks only with
PANEL_HTTPS on, and once deploy-tagged that speaks only with it off, so that
``check --deploy`` reports each problem once either way. All carry the tag "panel"
(``manage.py check --tag panel``).

    panel.E001  check --deploy without SECRET_KEY or PANEL_ENCRYPTION_KEYS in the environment
    panel.E002  DEBUG together with PANEL_HTTPS
    panel.W001  a per-process cache while several processes serve the panel
    panel.W002  PANEL_TRUSTED_PROXIES trusts every address
    panel.W003  SQLite together with PANEL_HTTPS
"""

import os
import re

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from core import conf

LOCAL_MEMORY_CACHE = "django.core.cache.backends.locmem.LocMemCache"


def _https():
    return bool(getattr(settings, "PANEL_HTTPS", False))


# panel.E001


@register(Tags.security, "panel", deploy=True)
def check_production_keys(app_configs=None, **kwargs):
    """Under ``check --deploy`` only: a production configuration does not even start without its keys."""
    return [
        Error(
            f"{name} is not set in the environment: production refuses to start without it.",
            hint=advice,
            id="panel.E001",
        )
        for name, advice in conf.missing_production_keys().items()
    ]


# panel.E002


@register(Tags.security, "panel")
def check_debug(app_configs=None, **kwargs):
    if settings.DEBUG and _https():
        return [
            Error(
                "PANEL_DEBUG is on together with PANEL_HTTPS: error pages show settings, code and "
                "queries to anyone on the internet.",
                hint="Unset PANEL_DEBUG (or set it to false) in production.",
                id="panel.E002",
            )
        ]
    return []


# panel.W001


def worker_processes(environ=None):
    """How many processes gunicorn is told to run (WEB_CONCURRENCY, GUNICORN_CMD_ARGS), or 1."""
    environ = os.environ if environ is None else environ
    counts = []
    if environ.get("WEB_CONCURRENCY", "").strip().isdigit():
        counts.append(int(environ["WEB_CONCURRENCY"]))
    match = re.search(r"(?:--workers[= ]|-w ?)(\d+)", environ.get("GUNICORN_CMD_ARGS", ""))
    if match:
        counts.append(int(match.group(1)))
    return max(counts, default=1)


def cache_issues():
    if settings.CACHES["default"]["BACKEND"] != LOCAL_MEMORY_CACHE:
        return []
    return [
        Warning(
            "The cache is local memory, one per process, while the panel looks like it runs in several "
            "processes: login throttles, account lockouts, password reset limits and the replay guards "
            "of one-time codes, passkey challenges and signed requests do not hold across processes.",
            hint="Set REDIS_URL (e.g. redis://redis.internal:6379/0) so that every process shares one cache.",
            id="panel.W001",
        )
    ]


@register(Tags.caches, "panel")
def check_cache(app_configs=None, **kwargs):
    return cache_issues() if _https() or worker_processes() > 1 else []


@register(Tags.caches, "panel", deploy=True)
def check_cache_deploy(app_configs=None, **kwargs):
    return [] if _https() or worker_processes() > 1 else cache_issues()


# panel.W002


@register(Tags.security, "panel")
def check_trusted_proxies(app_configs=None, **kwargs):
    broad = [network for network in settings.PANEL_TRUSTED_PROXIES if network.prefixlen == 0]
    if not broad:
        return []
    return [
        Warning(
            f"PANEL_TRUSTED_PROXIES trusts every address ({', '.join(map(str, broad))}): any client can "
            "choose the address the panel sees in X-Forwarded-For, and so escape per-IP throttles, "
            "token IP white lists and the audit log's record of where a request came from.",
            hint="List only your reverse proxies' addresses or networks, e.g. PANEL_TRUSTED_PROXIES=10.0.0.5.",
            id="panel.W002",
        )
    ]


# panel.W003


@register("panel")
def check_database(app_configs=None, **kwargs):
    if _https() and settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return [
            Warning(
                "The database is SQLite while PANEL_HTTPS is on: SQLite serves one host, and its writers "
                "wait for each other.",
                hint="Use PostgreSQL in production: set DATABASE_URL=postgres://user:password@host:5432/panel.",
                id="panel.W003",
            )
        ]
    return []
