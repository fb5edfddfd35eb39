"""Authenticating a script by its access token: signed requests (AcePanel's HMAC-SHA256) or Bearer.

The order of checks: parse the header → throttle (for a signed request, noting its signature in the same
cache round trip) → look up the token by ID (one query, owner and the token's permission set included) →
secret or signature in constant time → expiry → timestamp window → IP allow-list → replay → owner may log
in and use the API. The signature is
checked before the expiry (DESIGN.md lists them the other way round) so that only a holder of the
secret learns that a token exists and has expired. Nothing of a token is cached in the
process (only the lookup's compiled SQL, tokens.lookup), so a token deleted or changed in one process is
refused by all at once.

Every refusal counts toward the per-IP failure limit except a stale timestamp and an
address off the allow-list: those requests proved the secret (a script with a wrong clock
or a moved server), so they are refused and audited but cannot lock the address out. A
signature seen before inside the window is a replay: the shared cache remembers each
signature it is sent (unless the address is throttled) for twice the window, so a captured
request is refused in every process. It is noted before it is checked, in the throttle's
round trip: one cache call per request instead of two, and a wrong signature noted harms no one.

A token limited to chosen permissions narrows its owner's ``has_perm`` for the request
(accounts.models.User.permission_limit): it may do what its owner holds now *and* its set names,
wherever a permission is checked (endpoints, scope, selectors, services).
"""

import hmac
import logging
import time
from datetime import UTC, datetime

from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from ninja.security import APIKeyHeader, HttpBearer

from accounts.selectors import user_may_log_in
from core import crypto
from core.audit import Origin
from core.client_ip import get_client_ip
from core.localisation import activate_for
from core.throttle import FailureLimit
from tokens import credentials, lookup, services, signing
from tokens.validators import ip_allowed

# Per client IP: enough for a misconfigured script to show up in the audit log, not enough to guess anything.
FAILURES_PER_IP = FailureLimit(name="token-ip", limit=20, window=600)
# How long an accepted signature is remembered: longer than any timestamp stays inside the window.
REPLAY_MEMORY = 2 * signing.TIMESTAMP_TOLERANCE
_DUMMY_SECRET = credentials.new_secret()
logger = logging.getLogger(__name__)


class TokenRefused(Exception):
    """A token request that may not go on; ``message`` is what the client is told, ``reason`` what is audited.

    ``message`` is given in English (marked with gettext_noop) and told in the request's language, formatted
    with ``params``; the audited ``reason`` stays English (by default the English message, unformatted).
    """

    def __init__(self, status, message, *, reason=None, retry_after=None, params=None):
        told = gettext(message) % params if params else gettext(message)
        super().__init__(told)
        self.status, self.message, self.reason, self.retry_after = status, told, reason or message, retry_after


INVALID_TOKEN = gettext_noop("invalid token")
STALE_TIMESTAMP = "request timestamp is outside the allowed window"
STALE_TIMESTAMP_TOLD = gettext_noop(
    "request timestamp is outside the allowed window: the server's time is %(now)s (UTC %(server_time)s)"
)
REPLAYED = gettext_noop("replayed request: this signature was already used; sign each request anew")
UNREADABLE_SECRET = "secret unreadable: no configured key opens it (manage.py check_secrets)"


def unthrottled_ip(request):
    """The client's IP, unless it has failed too often lately; checked before any other work."""
    ip = get_client_ip(request)
    if FAILURES_PER_IP.blocked(ip):
        _refuse_throttled()
    return ip


def unthrottled_ip_noting_signature(request, token_id, signature):
    """``unthrottled_ip``, and whether ``signature`` is new for token ``token_id`` (remembered from now on),
    both in one cache round trip; returns ``(ip, replayed)``."""
    ip = get_client_ip(request)
    new = FAILURES_PER_IP.unless_blocked_add(ip, f"token-signature:{token_id}:{signature}", REPLAY_MEMORY)
    if new is None:
        _refuse_throttled()
    return ip, not new


def _refuse_throttled():
    raise TokenRefused(
        429, gettext_noop("too many failed attempts, try again later"), retry_after=FAILURES_PER_IP.window
    )


def refuse_malformed(request, ip, message):
    _refuse(request, ip, None, None, TokenRefused(401, message, reason="malformed credentials"))


def authenticate(request, *, ip, token_id, prove, timestamp=None, replayed=False):
    """The owner of token ``token_id`` if ``prove(secret)`` holds and every rule passes; else raises TokenRefused.

    ``timestamp`` is a signed request's X-Timestamp (unix seconds) and ``replayed`` whether its signature
    was seen before, checked (window, then replay) once the signature holds.
    """
    token = lookup.token_with_owner(token_id)  # its SQL compiled once per connection; the row read now
    # An unknown ID costs the same work as a wrong secret, and gets the same answer.
    secret = _readable_secret(token) if token is not None else _DUMMY_SECRET
    if secret is None:
        # The client cannot be told more than for a wrong secret: nothing it sent could be checked.
        prove(_DUMMY_SECRET)
        _refuse(request, ip, token_id, token, TokenRefused(401, INVALID_TOKEN, reason=UNREADABLE_SECRET))
    if not prove(secret) or token is None:
        _refuse(request, ip, token_id, None, TokenRefused(401, INVALID_TOKEN, reason="wrong secret or unknown token"))
    if token.is_expired:
        _refuse(request, ip, token_id, token, TokenRefused(401, gettext_noop("token expired")))
    if timestamp is not None:
        _check_window(request, ip, token, timestamp)
    if not ip_allowed(ip, token.ip_allowlist):
        # The secret was proved: a script on a moved server is refused, not counted.
        _refuse(request, ip, token_id, token, TokenRefused(403, gettext_noop("invalid request ip")), count=False)
    if replayed:
        _refuse(request, ip, token_id, token, TokenRefused(401, REPLAYED, reason="replayed request"))
    if not user_may_log_in(token.user):
        _refuse(request, ip, token_id, token, TokenRefused(401, gettext_noop("the token's owner may not log in")))
    if not (token.user.is_superuser or token.owner_has_api_module):
        _refuse(
            request,
            ip,
            token_id,
            token,
            TokenRefused(403, gettext_noop("the token's owner may not use the API module")),
        )
    services.token_mark_used(token=token, ip=ip, now=timezone.now())
    if token.permissions is not None:
        # Its set came with the token's row: the owner's current permissions ∩ the token's, in every has_perm.
        token.user.permission_limit = frozenset(token.permissions)
    request.access_token = token
    request.user = token.user
    activate_for(request, token.user)  # the owner's language (else Accept-Language's) and time zone
    return token.user


def _check_window(request, ip, token, timestamp):
    """Refuse a signed request outside the clock window, naming the server's time so that its clock can be
    compared; not counted toward the IP's failures, since the secret was proved."""
    now = int(time.time())
    if abs(now - timestamp) > signing.TIMESTAMP_TOLERANCE:
        server_time = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d %H:%M:%S")
        params = {"now": now, "server_time": server_time}
        refusal = TokenRefused(401, STALE_TIMESTAMP_TOLD, params=params, reason=STALE_TIMESTAMP)
        _refuse(request, ip, token.pk, token, refusal, count=False)


def _readable_secret(token):
    """The token's secret, or None when no configured key opens it; 503 when the keys are malformed."""
    try:
        return token.secret
    except crypto.SecretUnreadable as error:
        # A key was dropped before reencrypt_secrets ran: the operator must hear of it (the message says how).
        logger.error("%s", error)
        return None
    except ImproperlyConfigured:
        logger.exception("Access tokens cannot be checked: PANEL_ENCRYPTION_KEYS is malformed.")
        raise TokenRefused(
            503, gettext_noop("the panel cannot check access tokens right now"), retry_after=300
        ) from None


def _refuse(request, ip, token_id, token, refusal, *, count=True):
    """Audit ``refusal`` and raise it; ``count`` adds it to the IP's failures (not when the secret was proved)."""
    origin = Origin.from_request(request, via="api")
    services.token_refused(origin=origin, reason=refusal.reason, token=token, credential=token_id)
    if count and FAILURES_PER_IP.fail(ip) == FAILURES_PER_IP.limit:
        # The refusals that follow (429) are not audited one by one, so that a flood cannot fill the log.
        reason = f"{FAILURES_PER_IP.limit} failures: this address is refused for {FAILURES_PER_IP.window} s"
        services.token_refused(origin=origin, reason=reason, credential=token_id)
    raise refusal


class SignedRequestAuth(APIKeyHeader):
    """``Authorization: HMAC-SHA256 Credential=<id>, Signature=<hex>`` with ``X-Timestamp``."""

    param_name = "Authorization"
    openapi_description = signing.SCHEME_DESCRIPTION

    def __call__(self, request):
        value = request.headers.get("Authorization", "")
        if not value.startswith(signing.ALGORITHM + " "):
            return None
        return self.authenticate(request, value)

    def authenticate(self, request, key):
        parsed = signing.parse_authorization(key)
        timestamp = request.headers.get("X-Timestamp", "")
        if parsed is None or not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            refuse_malformed(
                request,
                unthrottled_ip(request),
                gettext_noop("malformed signed request: see the Authorization and X-Timestamp formats"),
            )
        token_id, given = parsed
        # Remembered for longer than any timestamp stays fresh: a captured request cannot come back in any process.
        ip, replayed = unthrottled_ip_noting_signature(request, token_id, given)
        canonical = signing.canonical_request(
            request.method, request.path, request.META.get("QUERY_STRING", ""), request.body
        )

        def prove(secret):
            return hmac.compare_digest(signing.signature(secret, timestamp, canonical), given)

        return authenticate(request, ip=ip, token_id=token_id, prove=prove, timestamp=int(timestamp), replayed=replayed)


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer pnl_<id>_<secret>``."""

    openapi_description = (
        "`Authorization: Bearer pnl_<token id>_<secret>`, the string shown once when the token is made "
        "(the `bearer` of the creation answer), e.g. `Authorization: Bearer pnl_16_Zm9vYmFy...`. "
        "The secret travels with every request: use HTTPS, or sign requests instead."
    )

    def authenticate(self, request, token):
        ip = unthrottled_ip(request)
        parsed = credentials.parse_bearer(token)
        if parsed is None:
            refuse_malformed(request, ip, INVALID_TOKEN)
        token_id, given = parsed
        return authenticate(
            request, ip=ip, token_id=token_id, prove=lambda secret: hmac.compare_digest(secret.encode(), given.encode())
        )
