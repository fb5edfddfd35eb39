"""Counting failures per key in the shared cache, so every panel process sees the same count.

Two policies share one counter: ``FailureLimit`` refuses a key once it reaches
a count within a fixed window; ``FailureGuard`` makes each failure past a few
free ones wait longer, and locks the key after too many in a row.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache


def _count(cache_key, timeout) -> int:
    """Add one to the counter at ``cache_key`` (created with ``timeout``); returns the new count."""
    if cache.add(cache_key, 1, timeout=timeout):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=timeout)
        return 1


@dataclass(frozen=True)
class FailureLimit:
    """At most ``limit`` failures per key within ``window`` seconds; the window starts at the first failure."""

    name: str
    limit: int
    window: int

    def _key(self, key):
        return f"throttle:{self.name}:{key}"

    def blocked(self, key) -> bool:
        return cache.get(self._key(key), 0) >= self.limit

    def fail(self, key) -> int:
        """Count one failure; returns the count so far."""
        return _count(self._key(key), self.window)

    def reset(self, key):
        cache.delete(self._key(key))


@dataclass(frozen=True)
class FailureGuard:
    """Growing delays after ``free_failures``; ``lock_after`` failures in a row lock the key for ``lock_seconds``."""

    name: str
    free_failures: int
    lock_after: int
    lock_seconds: int
    max_delay: int = 60

    def _keys(self, key):
        return f"guard:{self.name}:{key}:failures", f"guard:{self.name}:{key}:until"

    def wait_seconds(self, key) -> int:
        """How long ``key`` must wait before its next attempt (0: it may go on)."""
        _, until_key = self._keys(key)
        until = cache.get(until_key)
        return max(0, int(until - time.time() + 0.999)) if until else 0

    def fail(self, key) -> int:
        """Count one failure; returns how many in a row."""
        failures_key, until_key = self._keys(key)
        failures = _count(failures_key, self.lock_seconds)
        if failures >= self.lock_after:
            delay = self.lock_seconds
        elif failures > self.free_failures:
            delay = min(2 ** (failures - self.free_failures - 1), self.max_delay)
        else:
            delay = 0
        if delay:
            cache.set(until_key, time.time() + delay, timeout=delay)
        return failures

    def reset(self, key):
        cache.delete_many(self._keys(key))
