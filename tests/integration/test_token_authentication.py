"""Scripts calling the API with an access token, through the whole stack: signed requests and Bearer.

The signing helper below is written from DESIGN.md ("AcePanel-compatible request
signing"), not imported from tokens.signing, so these tests check the panel
against the published description rather than against itself.
"""

import hashlib
import hmac
import ipaddress
import json
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse

from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from tests.factories import UserFactory
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import NEW_PASSWORD, audit_dump, events, logged_in_client
from tokens import services
from tokens.authentication import FAILURES_PER_IP
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
NEW_USER = {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD}
INVALID_TOKEN = {"detail": "invalid token", "errors": None}


# A client written from DESIGN.md


def canonical_request(method, path, query, body):
    """Method, path from /api on, query with keys sorted (values in order, form-style escaping), body SHA-256."""
    pairs = sorted(parse_qsl(query, keep_blank_values=True), key=lambda pair: pair[0])
    return "\n".join((method, path, urlencode(pairs), hashlib.sha256(body).hexdigest()))


def signature(secret, timestamp, canonical):
    string_to_sign = "\n".join(("HMAC-SHA256", str(timestamp), hashlib.sha256(canonical.encode()).hexdigest()))
    return hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_the_helper_signs_the_published_vector():
    canonical = canonical_request("GET", "/api/user/info", "page=1&size=20", b"")

    assert (
        signature("docs-demo-token", 1700000000, canonical)
        == "0acf9b3e9bcb3340df2c789e4009fb2f710cc995022c1359af5322616875da16"
    )


@dataclass(frozen=True)
class Key:
    """What a script holds: the token ID and its secret."""

    id: int
    secret: str

    @property
    def bearer(self):
        return f"pnl_{self.id}_{self.secret}"


def _body_bytes(body):
    if body is None:
        return b""
    return body if isinstance(body, bytes) else json.dumps(body).encode()


def send_signed(client, key, method, path, *, query="", body=None, timestamp=None, signed=None, **extra):
    """Send a signed request. ``signed`` overrides what goes into the signature (to tamper with the request)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    data = _body_bytes(body)
    what = {"method": method, "path": path, "query": query, "body": data, "timestamp": timestamp}
    what.update({name: _body_bytes(value) if name == "body" else value for name, value in (signed or {}).items()})
    sig = signature(
        key.secret, what["timestamp"], canonical_request(what["method"], what["path"], what["query"], what["body"])
    )
    headers = {
        "X-Timestamp": str(timestamp),
        "Authorization": f"HMAC-SHA256 Credential={key.id}, Signature={sig}",
        **extra.pop("headers", {}),
    }
    url = f"{path}?{query}" if query else path
    return client.generic(method, url, data=data, content_type="application/json", headers=headers, **extra)


def send_bearer(client, key, method, path, *, query="", body=None, **extra):
    headers = {"Authorization": f"Bearer {key.bearer}", **extra.pop("headers", {})}
    url = f"{path}?{query}" if query else path
    return client.generic(
        method, url, data=_body_bytes(body), content_type="application/json", headers=headers, **extra
    )


SENDERS = {"signed": send_signed, "bearer": send_bearer}


@pytest.fixture(params=sorted(SENDERS))
def send(request):
    """Each test using it runs once per scheme."""
    return SENDERS[request.param]


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def make_key(db):
    """Issue a real token through tokens.services; by default long-term and usable from any address."""

    def make(user, **options):
        options.setdefault("long_term", "expires_at" not in options)
        grant_api_module(user)
        token, secret = services.token_create(origin=Origin(actor=user), user=user, **options)
        return Key(token.pk, secret)

    return make


@pytest.fixture
def admin_key(make_key, admin_user):
    return make_key(admin_user)


@pytest.fixture
def plain_key(make_key, plain_user):
    return make_key(plain_user)


def _token(key):
    return AccessToken.objects.get(pk=key.id)


def _unknown(key):
    return Key(key.id + 1000, key.secret)


def _wrong_secret(key):
    return Key(key.id, key.secret[:-1] + ("A" if key.secret[-1] != "A" else "B"))


# Both schemes work


def test_signed_get_with_a_query_is_answered(client, admin_key, plain_user):
    response = send_signed(client, admin_key, "GET", "/api/users", query="size=1&page=2&search=")

    assert response.status_code == 200
    assert response.json()["total"] == 2
    assert (response.json()["page"], response.json()["size"]) == (2, 1)


def test_signed_get_acts_as_the_token_owner(client, plain_key):
    response = send_signed(client, plain_key, "GET", "/api/user/info")

    assert response.status_code == 200
    assert response.json()["username"] == "plain"


def test_signed_query_with_escaped_values_is_accepted(client, admin_key):
    response = send_signed(client, admin_key, "GET", "/api/users", query="search=a%20b&page=1&search=%2F")

    assert response.status_code == 200


def test_signed_post_with_a_json_body_creates_a_user(client, admin_key):
    response = send_signed(client, admin_key, "POST", "/api/users", body=NEW_USER)

    assert response.status_code == 201, response.content
    assert response.json()["username"] == "carol"
    assert User.objects.filter(username="carol").exists()


def test_user_created_with_a_token_is_audited_with_the_token_id(client, admin_key, admin_user):
    send_signed(client, admin_key, "POST", "/api/users", body=NEW_USER)

    (event,) = events("user.create")
    assert event.actor == admin_user
    assert event.details["via"] == "api"
    assert event.details["credential"] == admin_key.id


def test_signed_delete_removes_a_user(client, admin_key, plain_user):
    response = send_signed(client, admin_key, "DELETE", f"/api/users/{plain_user.pk}")

    assert response.status_code == 204
    assert not User.objects.filter(pk=plain_user.pk).exists()


def test_bearer_get_acts_as_the_token_owner(client, plain_key):
    response = send_bearer(client, plain_key, "GET", "/api/user/info")

    assert response.status_code == 200
    assert response.json()["username"] == "plain"


def test_bearer_post_with_a_json_body_creates_a_user(client, admin_key):
    response = send_bearer(client, admin_key, "POST", "/api/users", body=NEW_USER)

    assert response.status_code == 201
    assert User.objects.filter(username="carol").exists()


def test_token_acts_with_no_more_than_its_owner_permissions(client, plain_key, send):
    response = send(client, plain_key, "GET", "/api/users")

    assert response.status_code == 403


def test_request_without_credentials_is_refused(client, db):
    response = client.get("/api/user/info")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_last_used_fields_are_filled_by_a_request(client, plain_key, send, frozen):
    send(client, plain_key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    token = _token(plain_key)
    assert (token.last_used_at, token.last_used_ip) == (NOW, "192.0.2.7")


# A signed request covers method, path, query, body and timestamp


def test_tampered_body_is_refused(client, admin_key):
    response = send_signed(
        client, admin_key, "POST", "/api/users", body={**NEW_USER, "username": "mallory"}, signed={"body": NEW_USER}
    )

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN
    assert not User.objects.filter(username__in=["carol", "mallory"]).exists()


def test_body_is_signed_as_its_exact_bytes(client, admin_key):
    sent = json.dumps(NEW_USER, indent=2).encode()

    response = send_signed(client, admin_key, "POST", "/api/users", body=sent, signed={"body": NEW_USER})

    assert response.status_code == 401


def test_tampered_path_is_refused(client, admin_key):
    response = send_signed(client, admin_key, "GET", "/api/users", signed={"path": "/api/user/info"})

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_tampered_query_is_refused(client, admin_key):
    response = send_signed(client, admin_key, "GET", "/api/users", query="page=2", signed={"query": "page=1"})

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_query_added_to_a_signed_request_is_refused(client, admin_key):
    response = send_signed(client, admin_key, "GET", "/api/users", query="search=admin", signed={"query": ""})

    assert response.status_code == 401


def test_tampered_method_is_refused(client, admin_key, plain_user):
    response = send_signed(client, admin_key, "DELETE", f"/api/users/{plain_user.pk}", signed={"method": "GET"})

    assert response.status_code == 401
    assert User.objects.filter(pk=plain_user.pk).exists()


def test_tampered_timestamp_is_refused(client, admin_key, frozen):
    now = int(time.time())

    response = send_signed(client, admin_key, "GET", "/api/user/info", timestamp=now + 1, signed={"timestamp": now})

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_signature_made_with_another_token_id_is_refused(client, admin_key, make_key, admin_user):
    other = make_key(admin_user)

    response = send_signed(client, Key(other.id, admin_key.secret), "GET", "/api/user/info")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "HMAC-SHA256 Credential=1",
        "HMAC-SHA256 Credential=x, Signature=" + "0" * 64,
        "HMAC-SHA256 Credential=1, Signature=" + "0" * 63,
    ],
)
def test_malformed_signed_request_is_refused(client, admin_key, authorization):
    response = client.get("/api/user/info", headers={"Authorization": authorization, "X-Timestamp": "1700000000"})

    assert response.status_code == 401


@pytest.mark.parametrize("timestamp", ["", "soon", "-5", "1.5e9", "1" * 13])
def test_signed_request_with_a_malformed_timestamp_is_refused(client, admin_key, timestamp):
    sig = "0" * 64
    headers = {"Authorization": f"HMAC-SHA256 Credential={admin_key.id}, Signature={sig}", "X-Timestamp": timestamp}

    response = client.get("/api/user/info", headers=headers)

    assert response.status_code == 401


# The timestamp window


def test_request_replayed_more_than_300_seconds_later_is_refused(client, admin_key, frozen):
    first = send_signed(client, admin_key, "GET", "/api/user/info", timestamp=int(NOW.timestamp()))
    assert first.status_code == 200
    frozen.shift(301)

    replay = send_signed(client, admin_key, "GET", "/api/user/info", timestamp=int(NOW.timestamp()))

    assert replay.status_code == 401
    assert replay.json()["detail"].startswith("request timestamp is outside the allowed window")


def test_timestamp_300_seconds_old_is_accepted(client, admin_key, frozen):
    response = send_signed(client, admin_key, "GET", "/api/user/info", timestamp=int(NOW.timestamp()) - 300)

    assert response.status_code == 200


def test_timestamp_301_seconds_in_the_future_is_refused(client, admin_key, frozen):
    response = send_signed(client, admin_key, "GET", "/api/user/info", timestamp=int(NOW.timestamp()) + 301)

    assert response.status_code == 401
    assert response.json()["detail"].startswith("request timestamp is outside the allowed window")


def test_timestamp_299_seconds_in_the_future_is_accepted(client, admin_key, frozen):
    response = send_signed(client, admin_key, "GET", "/api/user/info", timestamp=int(NOW.timestamp()) + 299)

    assert response.status_code == 200


# Unknown tokens, wrong secrets, expiry


def test_unknown_token_and_wrong_secret_get_byte_identical_answers(client, admin_key, send):
    unknown = send(client, _unknown(admin_key), "GET", "/api/user/info")
    wrong = send(client, _wrong_secret(admin_key), "GET", "/api/user/info")

    assert (unknown.status_code, wrong.status_code) == (401, 401)
    assert unknown.content == wrong.content
    assert unknown.json() == INVALID_TOKEN
    assert unknown["WWW-Authenticate"] == wrong["WWW-Authenticate"]


def test_expired_token_is_refused_as_expired(client, make_key, plain_user, send, frozen):
    key = make_key(plain_user, expires_at=NOW + timedelta(hours=1))
    frozen.shift(timedelta(hours=2))

    response = send(client, key, "GET", "/api/user/info")

    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


def test_token_is_refused_from_the_moment_it_expires(client, make_key, plain_user, frozen):
    key = make_key(plain_user, expires_at=NOW + timedelta(hours=1))
    frozen.shift(timedelta(hours=1))

    response = send_bearer(client, key, "GET", "/api/user/info")

    assert response.status_code == 401


def test_token_is_accepted_until_it_expires(client, make_key, plain_user, frozen):
    key = make_key(plain_user, expires_at=NOW + timedelta(hours=1))
    frozen.shift(timedelta(hours=1) - timedelta(seconds=1))

    response = send_bearer(client, key, "GET", "/api/user/info")

    assert response.status_code == 200


def test_expired_token_with_a_wrong_secret_is_refused_as_invalid(client, make_key, plain_user, frozen):
    key = make_key(plain_user, expires_at=NOW + timedelta(hours=1))
    frozen.shift(timedelta(hours=2))

    response = send_bearer(client, _wrong_secret(key), "GET", "/api/user/info")

    assert response.json() == INVALID_TOKEN


# The owner


def test_token_of_an_inactive_owner_is_refused(client, plain_key, plain_user, send):
    User.objects.filter(pk=plain_user.pk).update(is_active=False)

    response = send(client, plain_key, "GET", "/api/user/info")

    assert response.status_code == 401


# The IP allow-list


def test_address_not_on_the_allowlist_is_refused(client, make_key, plain_user, send):
    key = make_key(plain_user, ip_allowlist=["192.0.2.7"])

    response = send(client, key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.8")

    assert response.status_code == 403
    assert response.json() == {"detail": "invalid request ip", "errors": None}


def test_listed_ipv4_address_is_accepted(client, make_key, plain_user, send):
    key = make_key(plain_user, ip_allowlist=["192.0.2.7"])

    response = send(client, key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 200


def test_listed_ipv6_address_is_accepted(client, make_key, plain_user, send):
    key = make_key(plain_user, ip_allowlist=["2001:db8::5"])

    response = send(client, key, "GET", "/api/user/info", REMOTE_ADDR="2001:db8::5")

    assert response.status_code == 200


def test_unlisted_ipv6_address_is_refused(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=["2001:db8::5"])

    response = send_bearer(client, key, "GET", "/api/user/info", REMOTE_ADDR="2001:db8::6")

    assert response.status_code == 403


def test_address_inside_a_listed_ipv4_block_is_accepted(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=["198.51.100.0/24"])

    response = send_bearer(client, key, "GET", "/api/user/info", REMOTE_ADDR="198.51.100.200")

    assert response.status_code == 200


def test_address_outside_a_listed_ipv4_block_is_refused(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=["198.51.100.0/24"])

    response = send_bearer(client, key, "GET", "/api/user/info", REMOTE_ADDR="198.51.101.1")

    assert response.status_code == 403


def test_address_inside_a_listed_ipv6_block_is_accepted(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=["2001:db8::/64"])

    response = send_signed(client, key, "GET", "/api/user/info", REMOTE_ADDR="2001:db8::5")

    assert response.status_code == 200


def test_empty_allowlist_accepts_any_address(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=[])

    for address in ("192.0.2.7", "203.0.113.9", "2001:db8::5"):
        assert send_bearer(client, key, "GET", "/api/user/info", REMOTE_ADDR=address).status_code == 200


def test_forged_forwarded_for_from_an_untrusted_peer_is_ignored(client, make_key, plain_user, send):
    key = make_key(plain_user, ip_allowlist=["192.0.2.7"])

    response = send(
        client, key, "GET", "/api/user/info", REMOTE_ADDR="203.0.113.9", headers={"X-Forwarded-For": "192.0.2.7"}
    )

    assert response.status_code == 403


@override_settings(PANEL_TRUSTED_PROXIES=[ipaddress.ip_network("10.0.0.1/32")])
def test_forwarded_for_from_a_trusted_proxy_is_honoured(client, make_key, plain_user, send):
    key = make_key(plain_user, ip_allowlist=["192.0.2.7"])

    response = send(
        client, key, "GET", "/api/user/info", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "192.0.2.7"}
    )

    assert response.status_code == 200
    assert _token(key).last_used_ip == "192.0.2.7"


@override_settings(PANEL_TRUSTED_PROXIES=[ipaddress.ip_network("10.0.0.1/32")])
def test_forwarded_for_naming_an_unlisted_client_is_refused_behind_a_trusted_proxy(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=["192.0.2.7"])

    response = send_bearer(
        client, key, "GET", "/api/user/info", REMOTE_ADDR="10.0.0.1", headers={"X-Forwarded-For": "192.0.2.8"}
    )

    assert response.status_code == 403


def test_ipv4_mapped_peer_address_matches_an_ipv4_entry(client, make_key, plain_user):
    key = make_key(plain_user, ip_allowlist=["192.0.2.7"])

    response = send_bearer(client, key, "GET", "/api/user/info", REMOTE_ADDR="::ffff:192.0.2.7")

    assert response.status_code == 200


# Changes take effect at once


def test_deleted_token_is_refused_at_once(client, plain_key, admin_user, send):
    assert send(client, plain_key, "GET", "/api/user/info").status_code == 200

    services.token_delete(origin=Origin(actor=admin_user), token=_token(plain_key))

    response = send(client, plain_key, "GET", "/api/user/info")
    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_token_whose_allowlist_was_modified_is_refused_at_once(client, plain_key, admin_user, send):
    assert send(client, plain_key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7").status_code == 200

    services.token_update(origin=Origin(actor=admin_user), token=_token(plain_key), ip_allowlist=["192.0.2.99"])

    response = send(client, plain_key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 403


def test_token_whose_owner_was_deactivated_is_refused_at_once(client, plain_key, plain_user, send):
    assert send(client, plain_key, "GET", "/api/user/info").status_code == 200

    User.objects.filter(pk=plain_user.pk).update(is_active=False)

    assert send(client, plain_key, "GET", "/api/user/info").status_code == 401


def test_token_whose_secret_no_configured_key_opens_is_refused(plain_user, make_key, settings):
    settings.PANEL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    key = make_key(plain_user)
    settings.PANEL_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key dropped before reencrypting
    script = Client(raise_request_exception=False)

    response = send_bearer(script, key, "GET", "/api/user/info")

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


# Every refusal is audited, without the secret


def _refusals():
    """(name, key transform, request options, token setup) for each way a token request is refused."""
    return {
        "unknown-token": (_unknown, {}, {}),
        "wrong-secret": (_wrong_secret, {}, {}),
        "expired": (lambda key: key, {}, {"expires_at": NOW + timedelta(hours=1)}),
        "ip-not-allowed": (lambda key: key, {"REMOTE_ADDR": "192.0.2.8"}, {"ip_allowlist": ["192.0.2.7"]}),
    }


@pytest.mark.parametrize("refusal", sorted(_refusals()))
def test_every_refusal_writes_a_token_refused_event(client, make_key, plain_user, send, frozen, refusal):
    transform, request_options, token_options = _refusals()[refusal]
    key = make_key(plain_user, **token_options)
    frozen.shift(timedelta(hours=2))

    response = send(client, transform(key), "GET", "/api/user/info", **request_options)

    assert response.status_code in {401, 403}
    (event,) = events("token.refused")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["reason"]
    assert event.ip == request_options.get("REMOTE_ADDR", "127.0.0.1")


@pytest.mark.parametrize("refusal", sorted(_refusals()))
def test_no_refusal_event_holds_the_secret_or_the_signature(client, make_key, plain_user, send, frozen, refusal):
    transform, request_options, token_options = _refusals()[refusal]
    key = make_key(plain_user, **token_options)
    frozen.shift(timedelta(hours=2))

    response = send(client, transform(key), "GET", "/api/user/info", **request_options)

    sent_credential = re.split(r"[ =]", response.request["HTTP_AUTHORIZATION"])[-1]  # Bearer string or signature
    dump = audit_dump()
    assert events("token.refused")
    assert sent_credential not in dump
    assert key.secret not in dump
    assert transform(key).secret not in dump


def test_refusal_of_a_known_token_names_it_in_the_event(client, plain_key):
    send_bearer(client, _wrong_secret(plain_key), "GET", "/api/user/info")

    (event,) = events("token.refused")
    assert event.target_name == f"token {plain_key.id}"


def test_refusal_for_an_inactive_owner_is_audited(client, plain_key, plain_user):
    User.objects.filter(pk=plain_user.pk).update(is_active=False)

    send_bearer(client, plain_key, "GET", "/api/user/info")

    (event,) = events("token.refused")
    assert (event.target_type, event.target_id) == ("accesstoken", str(plain_key.id))


def test_refusal_for_a_stale_timestamp_is_audited(client, plain_key, frozen):
    send_signed(client, plain_key, "GET", "/api/user/info", timestamp=int(NOW.timestamp()) - 301)

    (event,) = events("token.refused")
    assert event.details["reason"] == "request timestamp is outside the allowed window"


def test_refusal_of_a_malformed_credential_is_audited(client, db):
    client.get("/api/user/info", headers={"Authorization": "Bearer not-a-panel-token"})

    (event,) = events("token.refused")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_refused_signed_request_leaves_no_secret_or_signature_in_the_audit_log(client, plain_key):
    response = send_signed(client, _wrong_secret(plain_key), "GET", "/api/user/info")
    sent_signature = response.request["HTTP_AUTHORIZATION"].rsplit("=", 1)[1]

    dump = audit_dump()

    assert events("token.refused")
    assert sent_signature not in dump
    assert plain_key.secret not in dump
    assert _wrong_secret(plain_key).secret not in dump


def test_refused_bearer_request_leaves_no_secret_in_the_audit_log(client, plain_key):
    send_bearer(client, _wrong_secret(plain_key), "GET", "/api/user/info")
    send_bearer(client, _unknown(plain_key), "GET", "/api/user/info")

    dump = audit_dump()

    assert len(events("token.refused")) == 2
    assert plain_key.secret not in dump
    assert _wrong_secret(plain_key).secret not in dump


# Throttling repeated failures


def _fail_until_blocked(client, key, address):
    for _ in range(FAILURES_PER_IP.limit):
        assert send_bearer(client, _wrong_secret(key), "GET", "/api/user/info", REMOTE_ADDR=address).status_code == 401


def test_repeated_failures_from_one_ip_are_throttled(client, plain_key):
    _fail_until_blocked(client, plain_key, "192.0.2.7")

    response = send_bearer(client, _wrong_secret(plain_key), "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert set(response.json()) == {"detail", "errors"}


def test_throttled_ip_is_refused_even_with_a_good_token(client, plain_key, send):
    _fail_until_blocked(client, plain_key, "192.0.2.7")

    response = send(client, plain_key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 429
    assert "Retry-After" in response


def test_throttling_one_ip_leaves_another_unaffected(client, plain_key, send):
    _fail_until_blocked(client, plain_key, "192.0.2.7")

    response = send(client, plain_key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.8")

    assert response.status_code == 200


def test_failures_below_the_limit_do_not_throttle(client, plain_key):
    for _ in range(FAILURES_PER_IP.limit - 1):
        send_bearer(client, _wrong_secret(plain_key), "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    response = send_bearer(client, plain_key, "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    assert response.status_code == 200


# Cost


def test_authentication_costs_one_query(client, make_key, send, frozen, django_assert_num_queries):
    key = make_key(UserFactory())
    send(client, key, "GET", "/api/user/info")  # the first use writes last_used_at
    frozen.shift(1)  # a signed request is new only when something in it is (here its timestamp)

    with django_assert_num_queries(1):
        response = send(client, key, "GET", "/api/user/info")

    assert response.status_code == 200


# CSRF: browsers must send the token, scripts with an access token need not


def test_session_post_without_the_csrf_token_is_refused(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)

    response = browser.post("/api/users", data=NEW_USER, content_type="application/json")

    assert response.status_code == 403
    assert not User.objects.filter(username="carol").exists()


def test_session_post_with_the_csrf_token_is_accepted(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)
    browser.get(reverse("account"))  # any page with a form sets the CSRF cookie
    csrf_token = browser.cookies[settings.CSRF_COOKIE_NAME].value

    response = browser.post(
        "/api/users", data=NEW_USER, content_type="application/json", headers={"X-CSRFToken": csrf_token}
    )

    assert response.status_code == 201, response.content
    assert User.objects.filter(username="carol").exists()


def test_session_get_needs_no_csrf_token(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)

    response = browser.get("/api/user/info")

    assert response.status_code == 200
    assert response.json()["username"] == "admin"


def test_token_request_needs_no_csrf_token(admin_key, send):
    script = Client(enforce_csrf_checks=True)

    response = send(script, admin_key, "POST", "/api/users", body=NEW_USER)

    assert response.status_code == 201


def test_reaching_the_failure_limit_is_audited_once(client, plain_key):
    _fail_until_blocked(client, plain_key, "192.0.2.7")
    for _ in range(3):
        send_bearer(client, _wrong_secret(plain_key), "GET", "/api/user/info", REMOTE_ADDR="192.0.2.7")

    throttled = [event for event in events("token.refused") if "refused for" in event.details["reason"]]

    assert len(throttled) == 1
    assert throttled[0].ip == "192.0.2.7"
    assert len(events("token.refused")) == FAILURES_PER_IP.limit + 1  # the 429s that follow are not logged
