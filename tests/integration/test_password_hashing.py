"""Passwords are stored as Argon2id with at least OWASP's minimum cost (m=19 MiB, t=2, p=1).

The rest of the suite hashes with a small-cost Argon2id (tests/hashers.py); these tests put
the production PASSWORD_HASHERS back, so what they check is what the settings ship.
"""

import re

import pytest

from accounts import services
from core.audit import Origin
from tests import hashers

pytestmark = pytest.mark.django_db

PASSWORD = "Zebra-Lamp-42"
ARGON2_ENCODED = re.compile(
    r"^argon2\$(?P<variant>argon2(?:id|i|d))\$v=(?P<version>\d+)\$m=(?P<m>\d+),t=(?P<t>\d+),p=(?P<p>\d+)\$[^$]+\$[^$]+$"
)


@pytest.fixture(autouse=True)
def production_hashers(settings):
    """The settings' own PASSWORD_HASHERS, not the test run's fast one."""
    settings.PASSWORD_HASHERS = list(hashers.PRODUCTION_PASSWORD_HASHERS)
    return settings.PASSWORD_HASHERS


@pytest.fixture
def stored_hash(production_hashers):
    user = services.user_create(
        origin=Origin.command("test"), username="hashed", email="hashed@example.com", password=PASSWORD
    )
    user.refresh_from_db()
    return user.password


@pytest.fixture
def argon2_parameters(stored_hash):
    match = ARGON2_ENCODED.match(stored_hash)
    assert match, f"not an Argon2 hash: {stored_hash.split('$')[0]}"
    return match.groupdict()


def test_the_production_hashers_are_checked_here(production_hashers):
    from django.contrib.auth.hashers import Argon2PasswordHasher, get_hasher

    assert hashers.FAST_ARGON2 not in production_hashers
    assert type(get_hasher()) is Argon2PasswordHasher


def test_new_user_password_is_stored_as_an_argon2_hash(stored_hash):
    assert stored_hash.startswith("argon2$")


def test_argon2_variant_is_argon2id(argon2_parameters):
    assert argon2_parameters["variant"] == "argon2id"


def test_argon2_version_is_1_3(argon2_parameters):
    assert argon2_parameters["version"] == "19"


def test_argon2_memory_cost_is_at_least_19_mib(argon2_parameters):
    assert int(argon2_parameters["m"]) >= 19456


def test_argon2_time_cost_is_at_least_2(argon2_parameters):
    assert int(argon2_parameters["t"]) >= 2


def test_argon2_parallelism_is_at_least_1(argon2_parameters):
    assert int(argon2_parameters["p"]) >= 1


def test_stored_hash_never_contains_the_password(stored_hash):
    assert PASSWORD not in stored_hash


def test_same_password_hashes_differently_for_two_users(stored_hash):
    other = services.user_create(
        origin=Origin.command("test"), username="hashed2", email="hashed2@example.com", password=PASSWORD
    )
    assert other.password != stored_hash


def test_stored_hash_verifies_the_password_and_refuses_others(stored_hash):
    from django.contrib.auth.hashers import check_password

    assert check_password(PASSWORD, stored_hash)
    assert not check_password(PASSWORD + "x", stored_hash)
