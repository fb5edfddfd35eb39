"""A real Argon2id hasher with small parameters, for the test run only.

Production uses core.hashers.Argon2PasswordHasher (m=19 MiB, t=2, p=1 by default): on a small
CI machine each hash costs tens of milliseconds, and the suite hashes
thousands of passwords. Tests install this one in its place (tests/conftest.py);
it is still Argon2id with the same "argon2" algorithm name and encoding, so every
code path (hashing, verifying, rehash on login) runs as in production, only faster.

tests/integration/test_password_hashing.py puts the production hashers back
(``PRODUCTION_PASSWORD_HASHERS``) to check their parameters; bench/ never loads this.
"""

from django.contrib.auth.hashers import Argon2PasswordHasher

PRODUCTION_ARGON2 = "core.hashers.Argon2PasswordHasher"
FAST_ARGON2 = "tests.hashers.FastArgon2PasswordHasher"

# The settings' PASSWORD_HASHERS as they were before the test run replaced them (set by install()).
PRODUCTION_PASSWORD_HASHERS = None


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id, version 1.3, with the smallest sensible cost: one pass over 256 KiB, one lane."""

    algorithm = "argon2"
    time_cost = 1
    memory_cost = 256
    parallelism = 1


def install(settings):
    """Put the fast hasher where the settings name the production Argon2 hasher; remember the production list."""
    global PRODUCTION_PASSWORD_HASHERS
    from django.contrib.auth.hashers import get_hashers, get_hashers_by_algorithm

    if PRODUCTION_PASSWORD_HASHERS is None:
        PRODUCTION_PASSWORD_HASHERS = list(settings.PASSWORD_HASHERS)
    assert PRODUCTION_ARGON2 in PRODUCTION_PASSWORD_HASHERS, "the settings no longer use core.hashers' Argon2 hasher"
    settings.PASSWORD_HASHERS = [
        FAST_ARGON2 if hasher == PRODUCTION_ARGON2 else hasher for hasher in PRODUCTION_PASSWORD_HASHERS
    ]
    # Nothing should have hashed yet, but a cached hasher list would keep the production one.
    get_hashers.cache_clear()
    get_hashers_by_algorithm.cache_clear()
