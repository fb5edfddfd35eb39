"""WebAuthn challenges: random, short-lived, single-use, and kept server-side in the shared cache.

The browser returns the challenge inside the signed clientDataJSON, so the
server finds it there and needs no session for anonymous logins (no session
row per visit to the login page). ``take`` deletes the entry and trusts only
its own successful delete, so two requests racing with one challenge cannot
both pass: the cache's delete is atomic in every backend Django ships.
"""

import hashlib
import secrets

from django.conf import settings
from django.core.cache import cache

REGISTRATION = "registration"
LOGIN = "login"


def _key(ceremony, challenge: bytes) -> str:
    return f"passkeys:challenge:{ceremony}:{hashlib.sha256(challenge).hexdigest()}"


def issue(*, ceremony, bound_to: dict) -> bytes:
    """A new challenge for ``ceremony``, remembering ``bound_to`` (who and what it was issued for)."""
    # 64 random bytes, as py_webauthn's generate_challenge() makes them, without importing py_webauthn
    # (about 7 MB per process) for a page that only offers a passkey.
    challenge = secrets.token_bytes(64)
    cache.set(_key(ceremony, challenge), bound_to, timeout=settings.PANEL_PASSKEY_CEREMONY_SECONDS)
    return challenge


def take(*, ceremony, challenge: bytes):
    """What ``challenge`` was issued for, consuming it; None if it is unknown, expired or already used."""
    key = _key(ceremony, challenge)
    bound_to = cache.get(key)
    if bound_to is None or not cache.delete(key):
        return None
    return bound_to
