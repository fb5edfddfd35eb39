"""Device cookies: a browser that logged in to an account before is not locked out with it.

OWASP's "slow down online guessing attacks with device cookies": after a login the browser gets a
signed cookie naming the account (its counter key, core.throttle.account_key) and a random nonce.
A password login that sends a valid cookie for the name typed is counted on that browser's own
counter (core.throttle.DEVICE_GUARD, keyed by the nonce) instead of the account's, so an attacker
elsewhere who locks the account cannot lock its owner out of their own browser; a guesser holding
the cookie only ever locks that one browser.

The cookie is set on the response of any request that logged someone in (a password, with its
second step if any, or a passkey): ``user_logged_in`` marks the request, ``DeviceCookieMiddleware``
writes the cookie. A new login issues a new nonce. One cookie per browser, for the last account.
"""

import secrets

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.dispatch import receiver

from core.throttle import account_key

COOKIE_NAME = "panel_device"
SALT = "core.device_cookies"
MAX_AGE = 365 * 24 * 60 * 60  # a year
_LOGGED_IN = "_panel_device_login"


def device_for(request, username) -> str | None:
    """The nonce of the browser's device cookie if it is valid and for the account ``username`` names, else None.

    A cookie that is missing, forged, tampered with, older than MAX_AGE or for another account gives None.
    """
    value = request.COOKIES.get(COOKIE_NAME)
    if not value or username is None:
        return None
    try:
        payload = signing.loads(value, salt=SALT, max_age=MAX_AGE)
    except signing.BadSignature:  # SignatureExpired included
        return None
    if not isinstance(payload, dict):
        return None
    account, nonce = payload.get("a"), payload.get("n")
    if not isinstance(nonce, str) or not nonce or account != account_key(username):
        return None
    return nonce


def issue(response, username):
    """Give the browser a new device cookie for the account ``username``."""
    value = signing.dumps({"a": account_key(username), "n": secrets.token_urlsafe(16)}, salt=SALT)
    response.set_cookie(
        COOKIE_NAME,
        value,
        max_age=MAX_AGE,
        secure=bool(settings.PANEL_HTTPS),
        httponly=True,
        samesite="Lax",
    )


@receiver(user_logged_in)
def _mark_login(sender, request, user, **kwargs):
    if request is not None:
        setattr(request, _LOGGED_IN, user.get_username())


class DeviceCookieMiddleware:
    """Writes a device cookie on the response of a request that logged a user in."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        username = getattr(request, _LOGGED_IN, None)
        if username is not None and response.status_code < 400:
            issue(response, username)
        return response
