"""Random passwords that meet Panel's own rules, for first-run admins and operators."""

import secrets
import string

from accounts.validators import PASSWORD_MAX_LENGTH

_SPECIAL = "!#%+-.:=?@_~"
_ALPHABET = string.ascii_letters + string.digits + _SPECIAL


def generate_password(length=PASSWORD_MAX_LENGTH):
    """A CSPRNG password using all three character kinds (letters, digits, special)."""
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        if (
            any(c in string.ascii_letters for c in candidate)
            and any(c in string.digits for c in candidate)
            and any(c in _SPECIAL for c in candidate)
        ):
            return candidate
