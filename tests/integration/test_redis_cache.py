"""core.cache: Django's Redis cache, sharing one redis-py client per connection pool (needs REDIS_URL)."""

import pytest
from django.conf import settings
from django.core.cache import cache

pytestmark = pytest.mark.skipif(
    settings.CACHES["default"]["BACKEND"] != "core.cache.RedisCache", reason="needs the Redis cache (set REDIS_URL)"
)


def test_one_client_serves_every_call():
    client = cache._cache.get_client(write=True)

    assert cache._cache.get_client(write=True) is client
    assert cache._cache.get_client() is client  # one server: reads and writes share its pool


def test_the_cache_works_through_the_shared_client():
    keys = ["core-cache-test", "core-cache-counter-test"]
    cache.delete_many(keys)
    cache.set("core-cache-test", {"n": 1}, timeout=30)
    assert cache.add("core-cache-test", 2) is False
    assert cache.get("core-cache-test") == {"n": 1}
    assert cache.add("core-cache-counter-test", 1, timeout=30) is True
    assert cache.incr("core-cache-counter-test") == 2
    cache.delete_many(keys)
    assert cache.get_many(keys) == {}
