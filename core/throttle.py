"""Counting failures per key in the shared cache, so every panel process sees the same count.

Two policies share one counter: ``FailureLimit`` refuses a key once it reaches
a count within a fixed window; ``FailureGuard`` makes each failure past a few
free ones wait longer, and locks the key after too many in a row. Every key a
guard makes wait is also written to a small lock index in the cache, so that
admins and the operator can list the locks and lift them (``current_locks``,
``lift_lock``), with Redis and the local-memory cache alike.
"""

import contextlib
import ipaddress
import time
import zlib
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext as _

from core.audit import record
from core.cache import add_unless_reached
from core.client_ip import throttle_key
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

    def unless_blocked_add(self, key, add_key, timeout):
        """None if ``key`` is blocked; else whether ``add_key`` was new to the cache (added now for
        ``timeout`` seconds). One cache round trip, and nothing written for a blocked key."""
        return add_unless_reached(self._key(key), self.limit, add_key, timeout)

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
            until = time.time() + delay
            cache.set(until_key, until, timeout=delay)
            _index_add(self.name, key, until)
        return failures

    def failures(self, key) -> int:
        failures_key, _ = self._keys(key)
        return cache.get(failures_key, 0)

    def reset(self, key):
        cache.delete_many(self._keys(key))

    def waiting_keys(self) -> list[str]:
        """The keys of this guard that must wait now (read from the lock index, checked against the guard)."""
        return sorted(key for name, key in _index_entries() if name == self.name and self.wait_seconds(key))


# The lock index: which keys got a wait, so they can be listed (the cache API cannot list keys).
# Spread over a few buckets, each a small dict read and written whole: two processes writing the
# same bucket at once may drop an entry from the list (the lock itself stays, and can still be
# lifted by name), so the buckets keep such collisions rare. Entries leave when their wait ends.
_INDEX_BUCKETS = 16
_INDEX_BUCKET_MAX = 500


def _bucket(name, key):
    return f"guard:index:{zlib.crc32(f'{name}:{key}'.encode()) % _INDEX_BUCKETS}"


def _index_add(name, key, until):
    bucket = _bucket(name, key)
    now = time.time()
    entries = {entry: end for entry, end in (cache.get(bucket) or {}).items() if end > now}
    entries[(name, key)] = until
    if len(entries) > _INDEX_BUCKET_MAX:  # a spray of names: keep the waits that last longest
        entries = dict(sorted(entries.items(), key=lambda item: item[1])[-_INDEX_BUCKET_MAX:])
    cache.set(bucket, entries, timeout=int(max(entries.values()) - now) + 1)


def _index_entries():
    now = time.time()
    buckets = cache.get_many([f"guard:index:{number}" for number in range(_INDEX_BUCKETS)])
    return {entry for entries in buckets.values() for entry, end in entries.items() if end > now}


# The login guard: brute-force protection for every check of a password or a code.
#
# Failed passwords and failed second-factor codes count per account (the name
# typed, whether or not such a user exists, so the answers never tell) and per
# client IP. After a few free failures each one makes the next attempt wait
# longer; the tenth consecutive failure on an account locks it for a while. The
# check runs before the password hash, so a locked-out guess costs nothing.

#
# Device cookies (OWASP's "slow down online guessing attacks with device cookies"): a browser that
# logged in to an account before holds a signed cookie for it (core.device_cookies). A password
# login from such a browser is counted on that browser's own counter instead of the account's, so
# an attacker elsewhere who locks the account does not lock its owner out of their own browser.
# Every address counts as ever: one IPv4 address, or one IPv6 /64 (core.client_ip.throttle_key).

# At most 10 consecutive failures per account (NIST SP 800-63B allows up to 100), then 15 minutes' rest.
ACCOUNT_GUARD = FailureGuard(name="account", free_failures=3, lock_after=10, lock_seconds=900)
# A browser with the account's device cookie: the same numbers, but only that browser waits.
DEVICE_GUARD = FailureGuard(name="device", free_failures=3, lock_after=10, lock_seconds=900)
# An address gets more room (an office behind one NAT), but the same growing delays.
IP_GUARD = FailureGuard(name="ip", free_failures=10, lock_after=100, lock_seconds=900)

# Usernames are ASCII (accounts.validators), so no name with another character is anyone's: all such
# names share this one counter (no valid username starts with "!"), and each fails as an unknown name.
NON_ASCII_ACCOUNT = "!non-ascii"


def account_key(username) -> str:
    """The account counter's key: the name typed, stripped and folded to lower case as ASCII only.

    Folding only ASCII keeps one key per account name: ``ſ`` or ``ı`` (which some databases fold to
    ``s`` and ``i``) and full-width letters never reach an account, and count under NON_ASCII_ACCOUNT.
    """
    name = str(username or "").strip()
    return name.lower()[:150] if name.isascii() else NON_ASCII_ACCOUNT


def _device_key(username, device):
    return f"{account_key(username)}#{device}"


def _account_wait(username, device):
    if username is None:
        return 0
    if device:
        return DEVICE_GUARD.wait_seconds(_device_key(username, device))
    return ACCOUNT_GUARD.wait_seconds(account_key(username))


def wait_seconds(*, username, ip, device=None) -> int:
    """How long the next attempt must wait; ``username`` None (a passkey names no account) checks the IP only.

    ``device`` is the nonce of the account's device cookie the browser sent (core.device_cookies): the
    attempt then waits for that browser's counter instead of the account's.
    """
    return max(_account_wait(username, device), IP_GUARD.wait_seconds(throttle_key(ip)))


def record_failure(*, origin, username, ip, device=None):
    """Count a failed password, code or passkey; the failure that locks an account (or a device) is audited."""
    IP_GUARD.fail(throttle_key(ip))
    if username is None:
        return
    guard, key = (DEVICE_GUARD, _device_key(username, device)) if device else (ACCOUNT_GUARD, account_key(username))
    if guard.fail(key) == guard.lock_after:
        record(
            origin=origin,
            action="auth.lockout",
            target_name=str(username or "")[:64],
            outcome=AuditEvent.Outcome.FAILURE,
            details={"seconds": guard.lock_seconds, **({"device": True} if device else {})},
        )


class Throttled(ValidationError):
    """An attempt the guard refused before checking anything; ``wait`` is the seconds left."""

    def __init__(self, wait):
        self.wait = wait
        super().__init__({NON_FIELD_ERRORS: ValidationError(locked_out_message(wait), code="throttled")})


@contextlib.contextmanager
def guarded_attempt(
    *, origin, action, username, device=None, target=None, details=None, failures=(ValidationError,), spared=()
):
    """Run one check of a password or a code under the login guard: every such check goes through here.

    Refused up front (Throttled, audited as ``action``) while the account named ``username`` or the
    client IP must wait, so a throttled guess costs no hash and learns nothing. An exception of
    ``failures`` leaving the block counts one failure for both, then goes on up, unless it is one of
    ``spared`` (the server could not check: no guess was made). ``username`` None (a passkey names no
    account) guards the IP alone. ``device`` (only the password login passes it) is the nonce of a
    valid device cookie for ``username``: that browser's own counter then stands in for the account's.
    """
    wait = wait_seconds(username=username, ip=origin.ip, device=device)
    if wait:
        refuse_throttled(origin=origin, action=action, username=username, target=target, details=details)
        raise Throttled(wait)
    try:
        yield
    except failures as failure:
        if not isinstance(failure, spared):
            record_failure(origin=origin, username=username, ip=origin.ip, device=device)
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
    if minutes:
        message = _(
            "Too many failed attempts. Try again in %(minutes)d min %(seconds)d s, or reset your password by email."
        )
        return message % {"minutes": minutes, "seconds": rest}
    return _("Too many failed attempts. Try again in %(seconds)d s, or reset your password by email.") % {
        "seconds": seconds
    }


# Lifting locks: admins with core.unlock_accounts (the Locks page) and the operator (manage.py locks).


@dataclass(frozen=True)
class Lock:
    """A key under a wait now: an account (the name typed, folded) or a client address (an IPv6 /64)."""

    kind: str  # "account" or "ip"
    name: str
    seconds: int  # the wait left
    failures: int
    browsers: int = 0  # an account's browsers (device cookies) under a wait of their own


def current_locks() -> list[Lock]:
    """Every account and address that must wait now, longest wait first."""
    accounts = {}
    for device_key in DEVICE_GUARD.waiting_keys():
        accounts.setdefault(device_key.rpartition("#")[0], []).append(device_key)
    for key in ACCOUNT_GUARD.waiting_keys():
        accounts.setdefault(key, [])
    locks = [
        Lock(
            kind="account",
            name=key,
            seconds=max([ACCOUNT_GUARD.wait_seconds(key), *map(DEVICE_GUARD.wait_seconds, devices)]),
            failures=ACCOUNT_GUARD.failures(key),
            browsers=len(devices),
        )
        for key, devices in accounts.items()
    ]
    locks += [
        Lock(kind="ip", name=key, seconds=IP_GUARD.wait_seconds(key), failures=IP_GUARD.failures(key))
        for key in IP_GUARD.waiting_keys()
    ]
    return sorted(locks, key=lambda lock: (-lock.seconds, lock.kind, lock.name))


def lift_lock(*, origin, kind, name) -> int:
    """Clear the failures and the wait of an account (with its browsers') or of an address; audited.

    Returns the seconds the wait still had (0: there was none, the count is cleared all the same). A name
    no lock can have (no address, for an address) is refused (ValidationError) before the cache is asked.
    """
    if kind == "account":
        key = account_key(name)
        _refuse_unlockable(key, _("No account is locked under a name with spaces or control characters."))
        guards = [(ACCOUNT_GUARD, key)]
        guards += [(DEVICE_GUARD, device) for device in DEVICE_GUARD.waiting_keys() if device.rpartition("#")[0] == key]
    elif kind == "ip":
        try:  # an address, or an IPv6 /64 as the list names it
            key = throttle_key(ipaddress.ip_interface(name.strip()).ip)
        except ValueError:
            raise ValidationError({"name": _("Name an IP address, as the list of locks gives it.")}) from None
        guards = [(IP_GUARD, key)]
    else:
        raise ValueError(f"Unknown kind of lock {kind!r}.")
    seconds = max(guard.wait_seconds(guard_key) for guard, guard_key in guards)
    for guard, guard_key in guards:
        guard.reset(guard_key)
    record(origin=origin, action="auth.unlock", target_name=key, details={"kind": kind, "seconds": seconds})
    return seconds


def _refuse_unlockable(key, message):
    """Refuse an account key that is empty or that a cache key cannot hold (memcached refuses spaces and controls)."""
    if not key or any(character.isspace() or not character.isprintable() for character in key):
        raise ValidationError({"name": message})
