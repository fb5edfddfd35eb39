#!/usr/bin/env python3
"""A minimal Panel API client that signs its requests (AcePanel-compatible HMAC-SHA256).

Written from the description in DESIGN.md ("AcePanel-compatible request
signing"), with the Python standard library only. Use it as a module::

    from panel_client import PanelClient

    client = PanelClient("http://localhost:8000", token_id=16, secret="...")
    status, users = client.request("GET", "/api/users", query={"search": "ann", "page": 1})
    status, user = client.request("POST", "/api/users", json={"username": "ann", "email": "ann@example.com",
                                                               "password": "Sturdy-pass-42"})

or from the command line (the secret may also come from PANEL_TOKEN_SECRET, which keeps it out of ``ps``)::

    python panel_client.py --url http://localhost:8000 --token-id 16 --secret ... GET /api/users page=1 size=20
    python panel_client.py --url ... --token-id 16 --secret ... PATCH /api/users/7 --json '{"email": "a@b.test"}'

It prints the JSON response and exits with status 1 on an HTTP error (the
error body goes to standard error), 2 on a usage or connection error.
"""

import argparse
import hashlib
import hmac
import json as jsonlib
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ALGORITHM = "HMAC-SHA256"


def _sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _pairs(query):
    """``query`` (a mapping whose values may be lists, a list of pairs, or a query string) as (key, value) strings."""
    if query is None:
        return []
    if isinstance(query, str):
        return urllib.parse.parse_qsl(query.lstrip("?"), keep_blank_values=True)
    items = query.items() if hasattr(query, "items") else query
    pairs = []
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        pairs.extend((str(key), str(item)) for item in values)
    return pairs


def canonical_query(query) -> str:
    """Keys sorted, each key's values in their original order, form-style escaping (space as ``+``), no ``?``."""
    pairs = _pairs(query)
    # sorted() is stable: the values of one key keep their order.
    ordered = sorted(pairs, key=lambda pair: pair[0])
    return "&".join(f"{urllib.parse.quote_plus(key)}={urllib.parse.quote_plus(value)}" for key, value in ordered)


def signature(*, secret: str, timestamp: int | str, method: str, path: str, query: str, body: bytes) -> str:
    """The lowercase hex signature of one request; ``path`` starts at ``/api``, ``query`` is already canonical."""
    canonical_request = "\n".join([method.upper(), path, query, _sha256_hex(body)])
    string_to_sign = "\n".join([ALGORITHM, str(timestamp), _sha256_hex(canonical_request.encode())])
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


class HTTPError(Exception):
    """The panel answered with an error status; ``body`` is the decoded JSON error (or the raw text)."""

    def __init__(self, status, body):
        super().__init__(f"HTTP {status}: {body}")
        self.status, self.body = status, body


class PanelClient:
    def __init__(self, url: str, *, token_id: int | str, secret: str, timeout: float = 30):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in {"http", "https"}:
            raise ValueError(f"the panel URL starts with http:// or https://, not {url!r}")
        # A panel served under a prefix (https://host/panel/) still signs the path from /api on.
        self.base = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self.token_id, self.secret, self.timeout = str(token_id), secret, timeout

    def signed_headers(self, method, path, query, body, timestamp=None):
        timestamp = int(time.time()) if timestamp is None else timestamp
        sig = signature(secret=self.secret, timestamp=timestamp, method=method, path=path, query=query, body=body)
        return {
            "X-Timestamp": str(timestamp),
            "Authorization": f"{ALGORITHM} Credential={self.token_id}, Signature={sig}",
        }

    def request(self, method, path, *, query=None, json=None):
        """Send one signed request; returns ``(status, decoded JSON or None)``, raises HTTPError on 4xx/5xx."""
        method = method.upper()
        path, _, inline_query = path.partition("?")
        if not path.startswith("/api"):
            raise ValueError("the path starts with /api, e.g. /api/users")
        query_string = canonical_query(_pairs(inline_query) + _pairs(query))
        body = b"" if json is None else jsonlib.dumps(json).encode()
        headers = {"Accept": "application/json", **self.signed_headers(method, path, query_string, body)}
        if json is not None:
            headers["Content-Type"] = "application/json"
        # We send exactly the canonical query string, so the panel canonicalises it to the same text.
        url = self.base + urllib.parse.quote(path) + (f"?{query_string}" if query_string else "")
        # The scheme is http or https, checked in __init__.
        req = urllib.request.Request(url, data=body if json is not None else None, method=method, headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:  # noqa: S310
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as error:
            raise HTTPError(error.code, _decode(error.read())) from None


def _decode(raw: bytes):
    if not raw:
        return None
    try:
        return jsonlib.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


def _self_test():
    """The published check from DESIGN.md."""
    client = PanelClient("http://localhost", token_id=16, secret="docs-demo-token")
    headers = client.signed_headers("GET", "/api/user/info", canonical_query("page=1&size=20"), b"", 1700000000)
    expected = "0acf9b3e9bcb3340df2c789e4009fb2f710cc995022c1359af5322616875da16"
    ok = headers["Authorization"] == f"{ALGORITHM} Credential=16, Signature={expected}"
    print("signing vector: OK" if ok else f"signing vector: MISMATCH ({headers['Authorization']})")
    return 0 if ok else 1


_VALUE_OPTIONS = ("--url", "--token-id", "--secret", "--json")


def _attach_values(argv):
    """``--secret VALUE`` as ``--secret=VALUE``: a secret may begin with "-", which argparse takes for an option."""
    argv, attached = list(argv), []
    while argv:
        arg = argv.pop(0)
        attached.append(f"{arg}={argv.pop(0)}" if arg in _VALUE_OPTIONS and argv else arg)
    return attached


def main(argv=None):
    argv = _attach_values(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(description="Call the Panel API with a signed request and print the JSON answer.")
    parser.add_argument("--url", default=os.environ.get("PANEL_URL", "http://localhost:8000"), help="panel base URL")
    parser.add_argument("--token-id", default=os.environ.get("PANEL_TOKEN_ID"), help="access token ID")
    parser.add_argument("--secret", default=os.environ.get("PANEL_TOKEN_SECRET"), help="token secret")
    parser.add_argument("--json", dest="body", help='JSON request body, e.g. \'{"email": "a@b.test"}\'')
    parser.add_argument("--self-test", action="store_true", help="check the published signing vector and exit")
    parser.add_argument("method", nargs="?", help="GET, POST, PATCH, PUT or DELETE")
    parser.add_argument("path", nargs="?", help="path from /api on, e.g. /api/users")
    parser.add_argument("params", nargs="*", metavar="key=value", help="query parameters (repeat a key for a list)")
    args = parser.parse_args(argv)
    if args.self_test:
        return _self_test()
    if not (args.method and args.path and args.token_id and args.secret):
        parser.error("METHOD, PATH, --token-id and --secret (or PANEL_TOKEN_SECRET) are required")
    query = []
    for param in args.params:
        key, sep, value = param.partition("=")
        if not sep:
            parser.error(f"query parameters are key=value, not {param!r}")
        query.append((key, value))
    try:
        body = None if args.body is None else jsonlib.loads(args.body)
    except ValueError as error:
        parser.error(f"--json is not valid JSON: {error}")
    try:
        client = PanelClient(args.url, token_id=args.token_id, secret=args.secret)
        _status, data = client.request(args.method, args.path, query=query, json=body)
    except HTTPError as error:
        print(f"HTTP {error.status}", file=sys.stderr)
        print(jsonlib.dumps(error.body, indent=2), file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if data is not None:
        print(jsonlib.dumps(data, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
