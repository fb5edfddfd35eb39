"""Reading Panel's configuration from the environment.

Each helper returns a safe default when its variable is unset, so that a
fresh checkout runs with nothing configured.
"""

import ipaddress
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name, default):
    return os.environ.get(name, default)


def env_bool(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_list(name, default):
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name, default):
    """A comma-separated list of IP addresses or CIDR blocks."""
    try:
        return [ipaddress.ip_network(item, strict=False) for item in env_list(name, default)]
    except ValueError as error:
        raise ImproperlyConfigured(f"{name}: {error}") from None


def secret_key(var_dir: Path):
    """SECRET_KEY from the environment, else one generated once and kept in var/."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
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
    """DATABASE_URL, else SQLite in var/."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        var_dir.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{var_dir / 'panel.sqlite3'}"
    # Connections are kept between requests (checked before reuse): opening one costs more than
    # most requests' queries, on PostgreSQL several milliseconds.
    config = dj_database_url.parse(url, conn_max_age=env_int("PANEL_DB_CONN_MAX_AGE", 300), conn_health_checks=True)
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
    url = os.environ.get("REDIS_URL")
    if url:
        return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}


def email():
    """EMAIL_URL (smtp://user:pass@host:port, smtp+tls://, smtp+ssl://), else the console."""
    url = os.environ.get("EMAIL_URL")
    if not url:
        return "django.core.mail.backends.console.EmailBackend", {}
    from urllib.parse import unquote, urlsplit

    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtp+tls", "smtp+ssl"}:
        raise ImproperlyConfigured("EMAIL_URL must start with smtp://, smtp+tls:// or smtp+ssl://.")
    return "django.core.mail.backends.smtp.EmailBackend", {
        "EMAIL_HOST": parts.hostname or "localhost",
        "EMAIL_PORT": parts.port or 25,
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": parts.scheme == "smtp+tls",
        "EMAIL_USE_SSL": parts.scheme == "smtp+ssl",
    }
