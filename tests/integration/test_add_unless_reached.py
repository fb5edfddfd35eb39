"""core.cache.add_unless_reached: the throttle's check and the replay guard's note in one cache call.

Runs on the configured cache: the local-memory one by default, Redis (its script) when REDIS_URL is set.
"""

import time

import pytest
from django.core.cache import cache, caches

from core.cache import RedisCache, add_unless_reached

COUNTER, KEY = "add-unless-reached-counter-test", "add-unless-reached-key-test"


@pytest.fixture(autouse=True)
def clean_keys():
    cache.delete_many([COUNTER, KEY])
    yield
    cache.delete_many([COUNTER, KEY])


def test_a_new_key_is_added_once():
    assert add_unless_reached(COUNTER, 3, KEY, 30) is True
    assert add_unless_reached(COUNTER, 3, KEY, 30) is False
    assert cache.get(KEY) == 1  # readable by the cache API as any value it wrote


def test_below_the_limit_the_key_is_added():
    cache.add(COUNTER, 2, timeout=30)

    assert add_unless_reached(COUNTER, 3, KEY, 30) is True


def test_at_the_limit_nothing_is_written():
    cache.add(COUNTER, 3, timeout=30)

    assert add_unless_reached(COUNTER, 3, KEY, 30) is None
    assert cache.get(KEY) is None


def test_the_key_expires_after_its_timeout():
    add_unless_reached(COUNTER, 3, KEY, 30)

    stored = cache.make_and_validate_key(KEY)
    if isinstance(caches["default"], RedisCache):
        seconds_left = cache._cache.get_client().ttl(stored)
    else:
        seconds_left = cache._expire_info[stored] - time.time()
    assert 0 < seconds_left <= 30
