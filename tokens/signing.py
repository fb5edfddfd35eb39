"""AcePanel-compatible HMAC-SHA256 request signing (DESIGN.md, "AcePanel-compatible request signing").

No library implements this scheme, so it is written here; it is small and
checked against the published vector in tests/unit/test_token_signing.py.
"""

import hashlib
import hmac
import re
from urllib.parse import parse_qsl, urlencode

ALGORITHM = "HMAC-SHA256"
TIMESTAMP_TOLERANCE = 300  # seconds either side of the panel's clock
_API_SEGMENT = re.compile(r"/api(?=/|$)")


def canonical_query(query_string: str) -> str:
    """Keys sorted, each key's values in their original order, form-style escaping."""
    pairs = parse_qsl(query_string, keep_blank_values=True)
    return urlencode(sorted(pairs, key=lambda pair: pair[0]))


def api_path(path: str) -> str:
    """The path from ``/api`` on, whatever prefix the panel is mounted under."""
    match = _API_SEGMENT.search(path)
    return path[match.start() :] if match else path


def canonical_request(method: str, path: str, query_string: str, body: bytes) -> str:
    return "\n".join((method.upper(), api_path(path), canonical_query(query_string), hashlib.sha256(body).hexdigest()))


def signature(secret: str, timestamp: str, canonical: str) -> str:
    string_to_sign = "\n".join((ALGORITHM, timestamp, hashlib.sha256(canonical.encode()).hexdigest()))
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def parse_authorization(value: str):
    """``(credential, signature)`` from ``HMAC-SHA256 Credential=<id>, Signature=<hex>``, or None."""
    scheme, _, params = value.partition(" ")
    if scheme != ALGORITHM:
        return None
    fields = {}
    for part in params.split(","):
        name, sep, field_value = part.strip().partition("=")
        if not sep or name in fields:
            return None
        fields[name] = field_value
    if set(fields) != {"Credential", "Signature"}:
        return None
    credential, given = fields["Credential"], fields["Signature"]
    if not (credential.isascii() and credential.isdigit() and 0 < len(credential) <= 19):
        return None
    if len(given) != 64 or any(char not in "0123456789abcdef" for char in given):
        return None
    return int(credential), given
