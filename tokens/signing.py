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


# A documentation example (the schema's description), not a credential.
_EXAMPLE = {"token_id": 16, "secret": "s3cr3t", "timestamp": "1700000000"}  # noqa: S105


def _worked_example(token_id, secret, timestamp):
    """The signing of ``GET /api/users?size=20&page=1``, step by step, for the schema's description."""
    canonical = canonical_request("GET", "/api/users", "size=20&page=1", b"")
    string_to_sign = "\n".join((ALGORITHM, timestamp, hashlib.sha256(canonical.encode()).hexdigest()))
    return (
        f"Token {token_id} with the secret `{secret}` signs `GET /api/users?size=20&page=1` (no body) "
        f"at {timestamp}:\n\n```\ncanonical request:\n{canonical}\n\nstring to sign:\n{string_to_sign}\n\n"
        f"headers:\nX-Timestamp: {timestamp}\n"
        f"Authorization: {ALGORITHM} Credential={token_id}, Signature={signature(secret, timestamp, canonical)}\n```"
    )


SCHEME_DESCRIPTION = (
    "AcePanel-compatible signed request: the secret never travels. Send `X-Timestamp: <unix seconds>` (within "
    f"{TIMESTAMP_TOLERANCE} seconds of the panel's clock) and "
    f"`Authorization: {ALGORITHM} Credential=<token id>, Signature=<hex>`. The signature is the lowercase hex "
    f"HMAC-SHA256, keyed with the token's secret, of `{ALGORITHM}\\n<timestamp>\\n<hex SHA-256 of the canonical "
    "request>`; the canonical request is the method, the path from `/api` on (decoded), the query with its keys "
    "sorted (form-style escaping, no `?`) and the hex SHA-256 of the body bytes, joined by `\\n`. Each signature "
    "is accepted once: sign a repeated call anew.\n\n" + _worked_example(**_EXAMPLE)
)


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
