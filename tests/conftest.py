"""Shared fixtures. The database is real: SQLite by default, PostgreSQL when DATABASE_URL is set."""

import pytest
from django.db import connection

from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory

# The run fails if a log line holds a secret a test made (tests/secret_leaks.py).
pytest_plugins = ["tests.secret_leaks"]


def pytest_configure(config):
    """Hash with a small-cost Argon2id and send mail at once, for the whole run (browser tests' live server included).

    Only tests/integration/test_password_hashing.py puts the production hashers back.
    """
    from django.conf import settings

    from tests import hashers

    hashers.install(settings)
    # In the caller's thread, so that mail is in django.core.mail.outbox when the call returns (core.mail);
    # tests of the background sender turn it back on.
    settings.MAIL_IN_BACKGROUND = False


def pytest_report_header(config):
    from django.conf import settings

    return [
        f"database: {settings.DATABASES['default']['ENGINE']}",
        f"cache: {settings.CACHES['default']['BACKEND']}",
    ]


@pytest.fixture(autouse=True)
def _clear_cache():
    """Each test starts with an empty cache (throttles and guards live there)."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def admin_user(db):
    return AdminFactory(username="admin")


@pytest.fixture
def plain_user(db):
    """A user with no permissions at all."""
    return UserFactory(username="plain")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def on_postgresql():
    return connection.vendor == "postgresql"
