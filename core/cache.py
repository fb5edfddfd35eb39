"""The shared cache on Redis: Django's backend, with one redis-py client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around its pool at every cache call;
each registers its ~170 response callbacks, about 0.07 ms of CPU, as much as the round trip to a local
Redis. Every API request pays it at least once (the token throttle's check comes first), a signed one
twice (the replay guard). redis-py's clients are made to be shared: thread-safe, each command borrowing
a connection from the pool, so one client per pool behaves the same and skips that work.

It also does in one round trip what a signed API request asks first: is the client's address throttled,
and if not, is this signature new (``add_unless_reached``). Written by hand: Django's cache API has no
call that reads one key and adds another.
"""

from django.core.cache import caches
from django.core.cache.backends import redis as django_redis

# KEYS: the counter, the key to add. ARGV: the limit, the added value, its timeout in seconds.
# -1: the counter has reached the limit (nothing written); 1: the key was added; 0: it was there already.
_ADD_UNLESS_REACHED = """
if (tonumber(redis.call('GET', KEYS[1])) or 0) >= tonumber(ARGV[1]) then return -1 end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'EX', ARGV[3]) then return 1 end
return 0
"""


def add_unless_reached(counter_key, limit, key, timeout):
    """None if the counter at ``counter_key`` has reached ``limit``; else ``cache.add(key, 1, timeout)``
    (``timeout``: seconds, more than 0).

    One round trip on Redis (a script, so nothing is written for a throttled client); two calls on the
    local-memory cache, which only its own process uses."""
    shared = caches["default"]
    if isinstance(shared, RedisCache):
        return shared.add_unless_reached(counter_key, limit, key, timeout)
    if shared.get(counter_key, 0) >= limit:
        return None
    return shared.add(key, 1, timeout=timeout)


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # id(pool) -> redis.Redis; the pools live as long as this object
        self._scripts = {}  # id(client) -> its registered _ADD_UNLESS_REACHED

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def add_unless_reached(self, counter_key, limit, key, value, timeout):
        client = self.get_client(key, write=True)
        script = self._scripts.get(id(client))
        if script is None:
            script = self._scripts[id(client)] = client.register_script(_ADD_UNLESS_REACHED)
        answer = script(keys=[counter_key, key], args=[limit, self._serializer.dumps(value), timeout])
        return None if answer < 0 else bool(answer)


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient

    def add_unless_reached(self, counter_key, limit, key, timeout):
        counter_key, key = self.make_and_validate_key(counter_key), self.make_and_validate_key(key)
        return self._cache.add_unless_reached(counter_key, limit, key, 1, self.get_backend_timeout(timeout))
