"""The Argon2 cost settings: OWASP's first recommendation by default, nothing below it, nothing absurd.

A bad value stops startup (ImproperlyConfigured) naming the variable, as every other bad setting does.
"""

import types

import pytest
from django.core.exceptions import ImproperlyConfigured

from core import conf, env
from tests.unit.test_conf import _settings

NAMES = ("PANEL_ARGON2_MEMORY_KIB", "PANEL_ARGON2_TIME_COST", "PANEL_ARGON2_PARALLELISM")


@pytest.fixture(autouse=True)
def _unset(monkeypatch):
    for name in (*NAMES, "PANEL_VAR_DIR"):
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_are_owasps_first_recommendation():
    assert [conf.value(name) for name in NAMES] == [19456, 2, 1]


@pytest.mark.parametrize(
    ("name", "raw", "value"),
    [
        ("PANEL_ARGON2_MEMORY_KIB", "19456", 19456),
        ("PANEL_ARGON2_MEMORY_KIB", "65536", 65536),
        ("PANEL_ARGON2_MEMORY_KIB", "4194304", 4194304),
        ("PANEL_ARGON2_TIME_COST", "2", 2),
        ("PANEL_ARGON2_TIME_COST", "64", 64),
        ("PANEL_ARGON2_PARALLELISM", "1", 1),
        ("PANEL_ARGON2_PARALLELISM", "64", 64),
    ],
)
def test_the_least_the_most_and_values_between_are_accepted(monkeypatch, name, raw, value):
    monkeypatch.setenv(name, raw)
    assert conf.value(name) == value


@pytest.mark.parametrize(
    ("name", "raw", "message"),
    [
        ("PANEL_ARGON2_MEMORY_KIB", "0", "must be a whole number of KiB, from 19456 to 4194304, not 0."),
        ("PANEL_ARGON2_MEMORY_KIB", "-1", "must be a whole number of KiB, from 19456 to 4194304, not -1."),
        ("PANEL_ARGON2_MEMORY_KIB", "19455", "must be a whole number of KiB, from 19456 to 4194304, not 19455."),
        ("PANEL_ARGON2_MEMORY_KIB", "4194305", "must be a whole number of KiB, from 19456 to 4194304, not 4194305."),
        ("PANEL_ARGON2_MEMORY_KIB", "10" * 20, "must be a whole number of KiB, from 19456 to 4194304, not 1010"),
        ("PANEL_ARGON2_MEMORY_KIB", "19 MiB", "must be a whole number, not '19 MiB'."),
        ("PANEL_ARGON2_MEMORY_KIB", "19456.0", "must be a whole number, not '19456.0'."),
        ("PANEL_ARGON2_MEMORY_KIB", "", "must be a whole number, not ''."),
        ("PANEL_ARGON2_TIME_COST", "0", "must be a whole number of passes, from 2 to 64, not 0."),
        ("PANEL_ARGON2_TIME_COST", "1", "must be a whole number of passes, from 2 to 64, not 1."),
        ("PANEL_ARGON2_TIME_COST", "-1", "must be a whole number of passes, from 2 to 64, not -1."),
        ("PANEL_ARGON2_TIME_COST", "65", "must be a whole number of passes, from 2 to 64, not 65."),
        ("PANEL_ARGON2_TIME_COST", "two", "must be a whole number, not 'two'."),
        ("PANEL_ARGON2_PARALLELISM", "0", "must be a whole number of lanes, from 1 to 64, not 0."),
        ("PANEL_ARGON2_PARALLELISM", "-1", "must be a whole number of lanes, from 1 to 64, not -1."),
        ("PANEL_ARGON2_PARALLELISM", "4294967297", "must be a whole number of lanes, from 1 to 64, not 4294967297."),
        ("PANEL_ARGON2_PARALLELISM", "8 threads", "must be a whole number, not '8 threads'."),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable_and_what_is_allowed(monkeypatch, name, raw, message):
    monkeypatch.setenv(name, raw)
    with pytest.raises(ImproperlyConfigured) as refusal:
        conf.value(name)
    assert str(refusal.value).startswith(f"{name} {message}")


@pytest.mark.parametrize("name", NAMES)
def test_a_nul_byte_is_refused_naming_the_variable(monkeypatch, name):
    # The real environment cannot hold a NUL (os.putenv refuses it); the reader sees whatever the process got.
    monkeypatch.setattr(env, "os", types.SimpleNamespace(environ={name: "19456\x00"}))
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be a whole number, not '19456\\\\x00'."):
        conf.value(name)


def test_the_settings_hold_the_cost_for_the_hasher(monkeypatch, tmp_path):
    namespace = _settings(
        monkeypatch, tmp_path, PANEL_ARGON2_MEMORY_KIB="65536", PANEL_ARGON2_TIME_COST="3", PANEL_ARGON2_PARALLELISM="2"
    )
    assert (
        namespace["PANEL_ARGON2_MEMORY_KIB"],
        namespace["PANEL_ARGON2_TIME_COST"],
        namespace["PANEL_ARGON2_PARALLELISM"],
    ) == (65536, 3, 2)
    assert namespace["PASSWORD_HASHERS"][0] == "core.hashers.Argon2PasswordHasher"


@pytest.mark.parametrize(("name", "raw"), [("PANEL_ARGON2_MEMORY_KIB", "1024"), ("PANEL_ARGON2_TIME_COST", "1")])
def test_startup_stops_below_owasps_floor(monkeypatch, tmp_path, name, raw):
    with pytest.raises(ImproperlyConfigured, match=f"^{name} must be a whole number"):
        _settings(monkeypatch, tmp_path, **{name: raw})
