"""Passwords are stored as Argon2id with the cost the settings give, at least OWASP's (m=19 MiB, t=2, p=1).

The rest of the suite hashes with a small-cost Argon2id (tests/hashers.py); these tests put
the production PASSWORD_HASHERS back, so what they check is what the settings ship. A hash made
with other parameters (Django's own, m=100 MiB, p=8, which the panel used before) still verifies
and is rehashed with the settings' parameters at the next login.
"""

import re

import pytest

from accounts import services
from core.audit import Origin
from tests import hashers
from tests.integration.conftest import is_logged_in, post_login

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
    from django.contrib.auth.hashers import get_hasher

    from core.hashers import Argon2PasswordHasher

    assert hashers.FAST_ARGON2 not in production_hashers
    assert type(get_hasher()) is Argon2PasswordHasher


def test_the_default_cost_is_owasps_first_recommendation(argon2_parameters):
    assert (argon2_parameters["m"], argon2_parameters["t"], argon2_parameters["p"]) == ("19456", "2", "1")


def test_the_settings_set_the_cost_of_new_hashes(settings, production_hashers):
    from django.contrib.auth.hashers import make_password

    settings.PANEL_ARGON2_MEMORY_KIB, settings.PANEL_ARGON2_TIME_COST, settings.PANEL_ARGON2_PARALLELISM = 20480, 3, 2
    match = ARGON2_ENCODED.match(make_password(PASSWORD))
    assert (match["variant"], match["m"], match["t"], match["p"]) == ("argon2id", "20480", "3", "2")


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


def _djangos_own_argon2_hash(password):
    """A hash as Django's Argon2PasswordHasher makes it (m=100 MiB, t=2, p=8): what the panel stored before."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    encoded = Argon2PasswordHasher().encode(password, Argon2PasswordHasher().salt())
    assert ARGON2_ENCODED.match(encoded).group("m", "t", "p") == ("102400", "2", "8")
    return encoded


def test_a_hash_with_djangos_parameters_verifies_and_is_upgraded_at_login(client, production_hashers):
    from accounts.models import User

    user = User.objects.create(
        username="former", email="former@example.com", password=_djangos_own_argon2_hash(PASSWORD)
    )
    post_login(client, "former", PASSWORD)
    assert is_logged_in(client, user)
    user.refresh_from_db()
    assert ARGON2_ENCODED.match(user.password).group("m", "t", "p") == ("19456", "2", "1")
    assert user.check_password(PASSWORD)


def test_a_wrong_password_never_rehashes_an_old_hash(client, production_hashers):
    from accounts.models import User

    old = _djangos_own_argon2_hash(PASSWORD)
    user = User.objects.create(username="former", email="former@example.com", password=old)
    post_login(client, "former", PASSWORD + "x")
    assert not is_logged_in(client, user)
    user.refresh_from_db()
    assert user.password == old
