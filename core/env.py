"""Reading one environment variable: typed readers, and the rules a catalogue entry (core.conf) applies."""

import base64
import binascii
import functools
import ipaddress
import logging
import os
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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


# The catalogue.

DERIVED = object()
"""The default of a variable that follows from another setting: its reader passes it to ``value()``."""

# Logging's level names, most severe first (WARN and FATAL are logging's own aliases).
LOG_LEVELS = tuple(sorted(logging.getLevelNamesMapping(), key=lambda level: -logging.getLevelNamesMapping()[level]))

LOG_FORMATS = ("text", "json")


def fernet_keys_problem(keys):
    for key in keys:
        try:
            decoded = base64.urlsafe_b64decode(key.encode())
        except (binascii.Error, ValueError):
            decoded = b""
        if len(decoded) != 32:
            return "must hold Fernet keys (32 url-safe base64-encoded bytes each, comma-separated)"
    return None


def time_zone_problem(name):
    """What is wrong with an IANA time zone name (``Asia/Taipei``, ``UTC``), or None."""
    if name not in available_time_zones():
        return f"must be an IANA time zone name such as UTC or Asia/Taipei, not {name!r}"
    return None


@functools.cache
def available_time_zones() -> frozenset[str]:
    """Every IANA time zone name this system knows, spelled exactly (``zoneinfo.available_timezones()``)."""
    return frozenset(zoneinfo.available_timezones())


def smtp_url_problem(url):
    if url and not url.startswith(("smtp://", "smtp+tls://", "smtp+ssl://")):
        return "must start with smtp://, smtp+tls:// or smtp+ssl://"
    return None


@dataclass(frozen=True)
class Variable:
    """One environment variable: how it is read, its default, what it means and what it allows."""

    name: str
    read: Callable[[str, Any], Any]  # env_str, env_bool, env_int, env_list or env_networks
    default: Any  # the value when unset, or DERIVED
    shown: str  # the default as README's table shows it
    meaning: str  # README's meaning column
    setting: str = ""  # the Django setting it ends up in; "" when read elsewhere (see meaning)
    minimum: int | None = None  # for whole numbers: the least allowed
    maximum: int | None = None  # for whole numbers: the most allowed (with a minimum)
    unit: str = ""  # for whole numbers: what they count, for the refusal
    choices: tuple[str, ...] = ()  # the allowed values, matched ignoring case
    check: Callable[[Any], str | None] | None = None  # what is wrong with a value, or None

    def validate(self, value):
        """``value`` as the setting holds it; ImproperlyConfigured naming the variable when not allowed."""
        too_big = self.maximum is not None and value > self.maximum
        if (self.minimum is not None and value < self.minimum) or too_big:
            unit = f" {self.unit}" if self.unit else ""
            allowed = (
                f"from {self.minimum} to {self.maximum}" if self.maximum is not None else f"{self.minimum} or more"
            )
            raise ImproperlyConfigured(f"{self.name} must be a whole number{unit}, {allowed}, not {value!r}.")
        if self.choices:
            canonical = {choice.lower(): choice for choice in self.choices}
            key = str(value).strip().lower()
            if key not in canonical:
                raise ImproperlyConfigured(f"{self.name} must be one of {', '.join(self.choices)}, not {value!r}.")
            value = canonical[key]
        problem = self.check(value) if self.check else None
        if problem:
            raise ImproperlyConfigured(f"{self.name} {problem}.")
        return value
