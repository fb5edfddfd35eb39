"""Panel's configuration: every environment variable it reads, with its default, meaning and rules.

``CATALOGUE`` is the one list of them. ``panel/settings.py`` reads each through
``value()``, which parses the variable, applies its default when unset and refuses
a bad value with ImproperlyConfigured naming the variable and what is allowed.
README.md's Configuration table is this catalogue (tests/unit/test_conf.py compares
them), so adding a setting means one entry here, one line in settings.py and the
row ``readme_table()`` prints.

A fresh checkout runs with nothing set: every default is safe for development.
The passkey variables are listed here but checked against each other in
``passkeys.relying_party.configured()`` (core imports no app).
"""

import os
import secrets
from pathlib import Path

import dj_database_url

from core.env import (  # noqa: F401  (the readers are conf's API too)
    DERIVED,
    LOG_LEVELS,
    Variable,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_str,
    fernet_keys_problem,
    smtp_url_problem,
)
from core.var_dir import create_owner_only, make_var_dir

_HTTPS_ONLY = " (with `PANEL_HTTPS`)"

CATALOGUE = {
    variable.name: variable
    for variable in (
        Variable(
            "SECRET_KEY",
            env_str,
            "",
            "generated once into `var/secret_key`",
            "Django's secret key. Set it in production.",
            setting="SECRET_KEY",
        ),
        Variable(
            "DATABASE_URL",
            env_str,
            "",
            "SQLite at `var/panel.sqlite3`",
            "e.g. `postgres://panel:pw@db.internal:5432/panel`",
            setting="DATABASES",
        ),
        Variable(
            "REDIS_URL",
            env_str,
            "",
            "local-memory cache (one process)",
            "e.g. `redis://redis.internal:6379/0`; required when several processes or hosts serve the panel",
            setting="CACHES",
        ),
        Variable(
            "ALLOWED_HOSTS",
            env_list,
            ["localhost", "127.0.0.1", "[::1]"],
            "`localhost,127.0.0.1,[::1]`",
            "comma-separated host names the panel answers to",
            setting="ALLOWED_HOSTS",
        ),
        Variable(
            "CSRF_TRUSTED_ORIGINS",
            env_list,
            [],
            "none",
            "comma-separated origins, e.g. `https://panel.example.com`, when a proxy changes the origin",
            setting="CSRF_TRUSTED_ORIGINS",
        ),
        Variable("PANEL_DEBUG", env_bool, False, "`false`", "Django's `DEBUG`; never in production", setting="DEBUG"),
        Variable(
            "PANEL_HTTPS",
            env_bool,
            False,
            "`false`",
            "production: secure `__Host-` cookies, HTTPS redirect, HSTS",
            setting="PANEL_HTTPS",
        ),
        Variable(
            "PANEL_SSL_REDIRECT",
            env_bool,
            True,
            "`true`" + _HTTPS_ONLY,
            "redirect plain HTTP to HTTPS; turn off if the proxy already does",
            setting="SECURE_SSL_REDIRECT",
        ),
        Variable(
            "PANEL_HSTS_SECONDS",
            env_int,
            31536000,
            "`31536000`" + _HTTPS_ONLY,
            "HSTS max-age, seconds, 0 or more",
            setting="SECURE_HSTS_SECONDS",
            minimum=0,
            unit="of seconds",
        ),
        Variable(
            "PANEL_HSTS_PRELOAD",
            env_bool,
            False,
            "`false`",
            "add `preload` to HSTS (`check --deploy` asks for it)",
            setting="SECURE_HSTS_PRELOAD",
        ),
        Variable(
            "PANEL_BEHIND_TLS_PROXY",
            env_bool,
            False,
            "`false`",
            "trust `X-Forwarded-Proto: https` from the reverse proxy (`SECURE_PROXY_SSL_HEADER`)",
            setting="SECURE_PROXY_SSL_HEADER",
        ),
        Variable(
            "PANEL_TRUSTED_PROXIES",
            env_networks,
            [],
            "none",
            "comma-separated IPs or CIDRs of your reverse proxies; only from these is `X-Forwarded-For` believed",
            setting="PANEL_TRUSTED_PROXIES",
        ),
        Variable(
            "PANEL_ENCRYPTION_KEYS",
            env_list,
            [],
            "a key derived from `SECRET_KEY`",
            "comma-separated Fernet keys for secrets at rest (token secrets), newest first; "
            'see "Rotating the encryption key"',
            setting="PANEL_ENCRYPTION_KEYS",
            check=fernet_keys_problem,
        ),
        Variable(
            "PANEL_SESSION_AGE",
            env_int,
            12 * 3600,
            "`43200` (12 h)",
            "absolute session lifetime, seconds, 1 or more",
            setting="SESSION_COOKIE_AGE",
            minimum=1,
            unit="of seconds",
        ),
        Variable(
            "PANEL_SESSION_IDLE_TIMEOUT",
            env_int,
            3600,
            "`3600` (1 h)",
            "a session idle this long ends, seconds, 1 or more",
            setting="PANEL_SESSION_IDLE_TIMEOUT",
            minimum=1,
            unit="of seconds",
        ),
        Variable(
            "PANEL_REAUTH_SECONDS",
            env_int,
            900,
            "`900` (15 min)",
            "how recent a password (or passkey) check must be for sensitive actions (sudo mode), seconds, 1 or more",
            setting="PANEL_REAUTH_SECONDS",
            minimum=1,
            unit="of seconds",
        ),
        Variable(
            "EMAIL_URL",
            env_str,
            "",
            "console",
            "`smtp://user:pw@host:25`, `smtp+tls://…:587`, `smtp+ssl://…:465`",
            setting="EMAIL_BACKEND",
            check=smtp_url_problem,
        ),
        Variable(
            "DEFAULT_FROM_EMAIL",
            env_str,
            "panel@localhost",
            "`panel@localhost`",
            "sender of Panel's emails",
            setting="DEFAULT_FROM_EMAIL",
        ),
        Variable(
            "PANEL_NAME", env_str, "Panel", "`Panel`", "shown in the header and page titles", setting="PANEL_NAME"
        ),
        Variable(
            "PANEL_NOTIFY_NEW_LOGIN",
            env_bool,
            True,
            "`true`",
            "email users when their account is logged in to from a new browser; `false` turns it off for everyone",
            setting="PANEL_NOTIFY_NEW_LOGIN",
        ),
        Variable(
            "PANEL_TOTP_ISSUER",
            env_str,
            DERIVED,
            "`PANEL_NAME`",
            "the issuer authenticator apps show next to the username",
            setting="PANEL_TOTP_ISSUER",
        ),
        Variable(
            "PANEL_REQUIRE_TWO_FACTOR",
            env_bool,
            False,
            "`false`",
            "every user must set up a second factor at their next login (or log in with a passkey)",
            setting="PANEL_REQUIRE_TWO_FACTOR",
        ),
        Variable(
            "PANEL_PASSKEY_RP_ID",
            env_str,
            "",
            "the page's host, if `ALLOWED_HOSTS` names it exactly",
            "the passkeys' relying party ID, a domain name such as `panel.example.com`",
            setting="PANEL_PASSKEY_RP_ID",
        ),
        Variable(
            "PANEL_PASSKEY_ORIGINS",
            env_list,
            [],
            "`https://<PANEL_PASSKEY_RP_ID>`",
            "comma-separated origins allowed to use the passkeys, each on the RP ID or a subdomain; HTTPS, "
            "or `http://localhost`",
            setting="PANEL_PASSKEY_ORIGINS",
        ),
        Variable(
            "PANEL_ADMIN_USERNAME",
            env_str,
            "admin",
            "`admin`",
            "the first administrator's username (`manage.py ensure_admin`, only when there is no user)",
        ),
        Variable(
            "PANEL_ADMIN_EMAIL",
            env_str,
            DERIVED,
            "`<PANEL_ADMIN_USERNAME>@localhost`",
            "the first administrator's email",
        ),
        Variable(
            "PANEL_ADMIN_PASSWORD",
            env_str,
            "",
            "random, printed once",
            "the first administrator's password",
        ),
        Variable(
            "PANEL_VAR_DIR",
            env_str,
            DERIVED,
            "`var/`",
            "where the embedded default keeps its database and key",
            setting="VAR_DIR",
        ),
        Variable(
            "PANEL_DB_CONN_MAX_AGE",
            env_int,
            300,
            "`300`",
            "seconds a database connection is kept open between requests (checked before reuse); "
            "`0` closes it after each request",
            setting="DATABASES",
            minimum=0,
            unit="of seconds",
        ),
        Variable(
            "PANEL_MANIFEST_STATIC",
            env_bool,
            False,
            "`false`",
            "serve hashed, compressed static files (run `collectstatic` first)",
            setting="STORAGES",
        ),
        Variable(
            "PANEL_LOG_LEVEL",
            env_str,
            "INFO",
            "`INFO`",
            "log level: " + ", ".join(f"`{level}`" for level in LOG_LEVELS),
            setting="LOGGING",
            choices=LOG_LEVELS,
        ),
    )
}

_CATALOGUE_DEFAULT = object()


def value(name, default=_CATALOGUE_DEFAULT):
    """The variable ``name`` of the catalogue, read from the environment and checked.

    Unset, it is the catalogue's default, or ``default`` for a variable whose
    default is DERIVED from another setting.
    """
    variable = CATALOGUE[name]
    if default is _CATALOGUE_DEFAULT:
        if variable.default is DERIVED:
            raise TypeError(f"{name}'s default follows from another setting: pass it to value().")
        default = variable.default
    elif variable.default is not DERIVED:
        raise TypeError(f"{name} has its default in the catalogue: do not pass one.")
    return variable.validate(variable.read(name, default))


def readme_table():
    """README.md's Configuration table, one line a variable, as the catalogue gives it."""
    lines = ["| variable | default | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{v.name}` | {v.shown} | {v.meaning} |" for v in CATALOGUE.values()]
    return "\n".join(lines)


# Readers that build a Django setting out of a variable.


def secret_key(var_dir: Path):
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    key = value("SECRET_KEY")
    if key:
        return key
    path = var_dir / "secret_key"
    if not path.exists():
        make_var_dir(var_dir)
        # Exclusive create: two processes starting together keep one key. Created
        # owner-only from the start, so the key is never readable by others.
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w", encoding="ascii") as handle:
                handle.write(secrets.token_urlsafe(50))
    return path.read_text(encoding="ascii").strip()


def database(var_dir: Path):
    """DATABASE_URL, else SQLite in var/, its file created readable by its owner only (0600).

    SQLite gives the ``-wal`` and ``-shm`` files it adds the database file's permissions.
    A database file that already exists keeps its permissions.
    """
    url = value("DATABASE_URL")
    if not url:
        path = make_var_dir(var_dir) / "panel.sqlite3"
        create_owner_only(path)
        url = f"sqlite:///{path}"
    # Connections are kept between requests (checked before reuse): opening one costs more than
    # most requests' queries, on PostgreSQL several milliseconds.
    config = dj_database_url.parse(url, conn_max_age=value("PANEL_DB_CONN_MAX_AGE"), conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # WAL and a busy timeout let the dev server and a management command share the file.
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


def cache():
    """REDIS_URL, else a local-memory cache (one process only)."""
    url = value("REDIS_URL")
    if url:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def email():
    """EMAIL_URL (smtp://user:pass@host:port, smtp+tls://, smtp+ssl://), else the console."""
    url = value("EMAIL_URL")
    if not url:
        return "django.core.mail.backends.console.EmailBackend", {}
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    return "django.core.mail.backends.smtp.EmailBackend", {
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or 25,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
    }
