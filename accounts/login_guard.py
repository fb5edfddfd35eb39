"""Brute-force protection for logging in, shared by every panel process through the cache.

Failed passwords and failed second-factor codes count per account (the name
typed, whether or not such a user exists, so the answers never tell) and per
client IP. After a few free failures each one makes the next attempt wait
longer; the tenth consecutive failure on an account locks it for a while. The
check runs before the password hash, so a locked-out guess costs nothing.
"""

from panel.audit import record
from panel.models import AuditEvent
from panel.throttle import FailureGuard

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
