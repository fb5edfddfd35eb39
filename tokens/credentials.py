"""The token secret and the Bearer string that carries it.

A Bearer string is ``pnl_<token id>_<secret>``: the fixed prefix lets secret
scanners (GitHub's, gitleaks) recognise a leaked panel token.
"""

import re
import secrets

BEARER_PREFIX = "pnl_"
SECRET_BYTES = 32  # 43 url-safe characters from the OS's CSPRNG
_BEARER = re.compile(r"pnl_(?P<token_id>[1-9][0-9]{0,18})_(?P<secret>[A-Za-z0-9_-]{32,128})")


def new_secret() -> str:
    """A fresh secret; never one starting with "-", which command lines would take for an option."""
    while (secret := secrets.token_urlsafe(SECRET_BYTES)).startswith("-"):
        pass
    return secret


def bearer_string(token_id: int, secret: str) -> str:
    return f"{BEARER_PREFIX}{token_id}_{secret}"


def parse_bearer(value: str):
    """``(token_id, secret)`` from a Bearer string, or None if it is not one."""
    match = _BEARER.fullmatch(value)
    if match is None:
        return None
    return int(match["token_id"]), match["secret"]
