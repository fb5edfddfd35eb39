"""Counting failures per key in the shared cache, so every panel process sees the same count."""

from dataclasses import dataclass

from django.core.cache import cache


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
        cache_key = self._key(key)
        if cache.add(cache_key, 1, timeout=self.window):
            return 1
        try:
            return cache.incr(cache_key)
        except ValueError:  # expired between add() and incr()
            cache.add(cache_key, 1, timeout=self.window)
            return 1

    def reset(self, key):
        cache.delete(self._key(key))
