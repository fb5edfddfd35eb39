"""How a new authenticator's key is handed to the app: typed in (base32) or scanned (an otpauth:// URL)."""

from base64 import b32encode
from urllib.parse import quote

from django.conf import settings

from mfa.models import TOTP_DIGITS, TOTP_STEP


def base32_key(device):
    """The key as authenticator apps take it when typed in (RFC 4648 base32, no padding)."""
    return b32encode(device.key).decode().rstrip("=")


def otpauth_url(user, device):
    """The Key Uri Format that authenticator apps read from a QR code."""
    issuer = settings.PANEL_TOTP_ISSUER
    label = quote(f"{issuer}:{user.get_username()}")
    return (
        f"otpauth://totp/{label}?secret={base32_key(device)}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={TOTP_DIGITS}&period={TOTP_STEP}"
    )
