"""Panel's configuration: every environment variable it reads, with its default, meaning and rules.

``CATALOGUE`` (core/catalogue.py) is the one list of them. ``panel/settings.py`` reads each through
``value()``, which parses the variable, applies its default when unset and refuses
a bad value with ImproperlyConfigured naming the variable and what is allowed.
README.md's Configuration table is this catalogue (tests/unit/test_conf.py compares
them), so adding a setting means one entry there, one line in settings.py and the
row ``readme_table()`` prints.

A fresh checkout runs with nothing set: every default is safe for development.
The passkey variables are listed here but checked against each other in
``passkeys.relying_party.configured()`` (core imports no app).
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from core.catalogue import CATALOGUE
from core.env import DERIVED
from core.var_dir import create_owner_only, make_var_dir

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


# Production: where a missing key is a startup error, not a default.

# The names only this machine reaches; a panel answering to nothing else is a developer's.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})

# The keys production must be given, each with what it protects and how to make one.
PRODUCTION_KEYS = {
    "SECRET_KEY": (
        "it signs sessions, password reset links and device cookies; the key generated into var/ differs on "
        "every host and is lost with var/",
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'",
    ),
    "PANEL_ENCRYPTION_KEYS": (
        "it encrypts token secrets and TOTP keys at rest, apart from SECRET_KEY; secrets stored under the key "
        "derived from SECRET_KEY still open, run `manage.py reencrypt_secrets` once it is set",
        "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'",
    ),
}


def is_production(*, https, debug, allowed_hosts) -> bool:
    """PANEL_HTTPS on, or PANEL_DEBUG off while ALLOWED_HOSTS names a host beyond this machine.

    The quick start (``make run``, the tests) answers only to loopback names, so it stays development.
    """
    return https or (not debug and any(host not in LOOPBACK_HOSTS for host in allowed_hosts))


def missing_production_keys() -> dict[str, str]:
    """Each production key unset (or empty) in the environment, with what it is for and how to make one."""
    return {name: f"{why}. Make one with: {how}" for name, (why, how) in PRODUCTION_KEYS.items() if not value(name)}


def require_production_keys():
    """ImproperlyConfigured, naming each missing key and how to make it, so that nothing starts without them."""
    missing = missing_production_keys()
    if missing:
        raise ImproperlyConfigured(
            "This is a production configuration (PANEL_HTTPS is on, or PANEL_DEBUG is off and ALLOWED_HOSTS "
            "names a host other than localhost), and production does not start without its keys:\n"
            + "".join(f"- {name} is not set: {advice}\n" for name, advice in missing.items())
            + "Set the same values for every process and host."
        )


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
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # psycopg prepares a statement a connection has run five times, but only on a server-side-binding
        # cursor: the ORM's cursors bind on the client and never are, the token lookup's (tokens.lookup) is.
        config.setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)
    return config


def cache():
    """REDIS_URL, else a local-memory cache (one process only)."""
    url = value("REDIS_URL")
    if url:
        timeout = value("PANEL_CACHE_TIMEOUT")
        return {
            "BACKEND": "core.cache.RedisCache",  # Django's, reusing its redis-py client (core/cache.py)
            "LOCATION": url,
            "OPTIONS": {"socket_connect_timeout": timeout, "socket_timeout": timeout},
        }
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
