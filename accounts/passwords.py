"""Random passwords that meet Panel's own rules, for first-run admins and operators."""

import secrets
import string

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from accounts.validators import PASSWORD_MAX_LENGTH

_SPECIAL = "!#%+-.:=?@_~"
_ALPHABET = string.ascii_letters + string.digits + _SPECIAL


def generate_password(length=PASSWORD_MAX_LENGTH, *, user=None):
    """A CSPRNG password using all three character kinds that every configured rule accepts for ``user``.

    A random string can, rarely, look too similar to the user's name or email; it is drawn again.
    """
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            any(c in string.ascii_letters for c in candidate)
            and any(c in string.digits for c in candidate)
            and any(c in _SPECIAL for c in candidate)
            and _acceptable(candidate, user)
        ):
            return candidate


def _acceptable(password, user):
    try:
        password_validation.validate_password(password, user)
    except ValidationError:
        return False
    return True
