"""Encryption at rest for secrets the panel must read again (token secrets, TOTP keys).

Keys come from ``PANEL_ENCRYPTION_KEYS`` (Fernet keys, comma-separated, newest
first): the first encrypts, all of them decrypt, so a key is rotated by putting
a new one in front and re-encrypting (``manage.py reencrypt_secrets``) before the
old one is dropped. A key derived from SECRET_KEY comes last: with no keys
configured it encrypts (a database dump alone never holds a usable secret), and
once keys are configured it still opens what it encrypted until
``reencrypt_secrets`` has moved everything to the configured key.
"""

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["InvalidToken", "decrypt", "encrypt", "reencrypt"]


def _derived_key(secret_key):
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"panel encryption at rest")
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


@functools.cache
def _fernet():
    keys = [*settings.PANEL_ENCRYPTION_KEYS, _derived_key(settings.SECRET_KEY)]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "PANEL_ENCRYPTION_KEYS must hold Fernet keys (32 url-safe base64-encoded bytes each)."
        ) from None


@receiver(setting_changed)
def _forget_keys(*, setting, **kwargs):
    if setting in {"PANEL_ENCRYPTION_KEYS", "SECRET_KEY"}:
        _fernet.cache_clear()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    """The plaintext; raises InvalidToken if no configured key opens it."""
    return _fernet().decrypt(ciphertext.encode()).decode()


def reencrypt(ciphertext: str) -> str:
    """The same plaintext encrypted under the newest key."""
    return _fernet().rotate(ciphertext.encode()).decode()
