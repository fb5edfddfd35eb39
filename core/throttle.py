"""Counting failures per key in the shared cache, so every panel process sees the same count.

Two policies share one counter: ``FailureLimit`` refuses a key once it reaches
a count within a fixed window; ``FailureGuard`` makes each failure past a few
free ones wait longer, and locks the key after too many in a row.
"""

import contextlib
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from core.audit import record
from core.models import AuditEvent


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


# The login guard: brute-force protection for every check of a password or a code.
#
# Failed passwords and failed second-factor codes count per account (the name
# typed, whether or not such a user exists, so the answers never tell) and per
# client IP. After a few free failures each one makes the next attempt wait
# longer; the tenth consecutive failure on an account locks it for a while. The
# check runs before the password hash, so a locked-out guess costs nothing.

# At most 10 consecutive failures per account (NIST SP 800-63B allows up to 100), then 15 minutes' rest.
ACCOUNT_GUARD = FailureGuard(name="account", free_failures=3, lock_after=10, lock_seconds=900)
# An address gets more room (an office behind one NAT), but the same growing delays.
IP_GUARD = FailureGuard(name="ip", free_failures=10, lock_after=100, lock_seconds=900)


def account_key(username) -> str:
    return str(username or "").strip().lower()[:150]


def wait_seconds(*, username, ip) -> int:
    """How long the next attempt must wait; ``username`` None (a passkey names no account) checks the IP only."""
    account_wait = ACCOUNT_GUARD.wait_seconds(account_key(username)) if username is not None else 0
    return max(account_wait, IP_GUARD.wait_seconds(ip or "unknown"))


def record_failure(*, origin, username, ip):
    """Count a failed password, code or passkey; the failure that locks an account is audited as a lockout."""
    IP_GUARD.fail(ip or "unknown")
    if username is None:
        return
    if ACCOUNT_GUARD.fail(account_key(username)) == ACCOUNT_GUARD.lock_after:
        record(
            origin=origin,
            action="auth.lockout",
            target_name=str(username or "")[:64],
            outcome=AuditEvent.Outcome.FAILURE,
            details={"seconds": ACCOUNT_GUARD.lock_seconds},
        )


class Throttled(ValidationError):
    """An attempt the guard refused before checking anything; ``wait`` is the seconds left."""

    def __init__(self, wait):
        self.wait = wait
        super().__init__({NON_FIELD_ERRORS: ValidationError(locked_out_message(wait), code="throttled")})


@contextlib.contextmanager
def guarded_attempt(*, origin, action, username, target=None, details=None, failures=(ValidationError,), spared=()):
    """Run one check of a password or a code under the login guard: every such check goes through here.

    Refused up front (Throttled, audited as ``action``) while the account named ``username`` or the
    client IP must wait, so a throttled guess costs no hash and learns nothing. An exception of
    ``failures`` leaving the block counts one failure for both, then goes on up, unless it is one of
    ``spared`` (the server could not check: no guess was made). ``username`` None (a passkey names no
    account) guards the IP alone.
    """
    wait = wait_seconds(username=username, ip=origin.ip)
    if wait:
        refuse_throttled(origin=origin, action=action, username=username, target=target, details=details)
        raise Throttled(wait)
    try:
        yield
    except failures as failure:
        if not isinstance(failure, spared):
            record_failure(origin=origin, username=username, ip=origin.ip)
        raise


def refuse_throttled(*, origin, action, username, target=None, details=None):
    """Audit an attempt the guard refused before checking it."""
    record(
        origin=origin,
        action=action,
        target=target,
        target_name="" if target is not None else str(username or "")[:64],
        outcome=AuditEvent.Outcome.FAILURE,
        details={**(details or {}), "reason": "throttled"},
    )


def refuse_account(*, origin, user, reason):
    """Audit a login refused for the account's state (expired), after its credentials passed."""
    record(
        origin=origin, action="auth.login", target=user, outcome=AuditEvent.Outcome.FAILURE, details={"reason": reason}
    )


def record_success(*, username):
    ACCOUNT_GUARD.reset(account_key(username))


def locked_out_message(seconds) -> str:
    minutes, rest = divmod(seconds, 60)
    wait = f"{minutes} min {rest} s" if minutes else f"{seconds} s"
    return f"Too many failed attempts. Try again in {wait}, or reset your password by email."
