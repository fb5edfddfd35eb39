"""The shared cache on Redis: Django's backend, with one redis-py client per connection pool.

Django's ``RedisCacheClient.get_client`` builds a new ``redis.Redis`` around its pool at every cache call;
each registers its ~170 response callbacks, about 0.07 ms of CPU, as much as the round trip to a local
Redis. Every API request pays it at least once (the token throttle's check comes first), a signed one
twice (the replay guard). redis-py's clients are made to be shared: thread-safe, each command borrowing
a connection from the pool, so one client per pool behaves the same and skips that work.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}  # id(pool) -> redis.Redis; the pools live as long as this object

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
