"""Token safeguards: tokens stay with their owner, a token never creates credentials, and signed
requests are judged fairly (a wrong clock or address is not an attack) but never twice."""

import json
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.core import mail

from accounts.models import User
from core.api import TOKEN_CANNOT_CHANGE_CREDENTIALS
from core.models import AuditEvent
from panel.api import api
from tests.factories import DEFAULT_PASSWORD, CompanyFactory, UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import NEW_PASSWORD, events, grant, logged_in_client
from tokens import signing
from tokens.authentication import FAILURES_PER_IP
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

# 1700000123 in UTC: the moment the clock tests stop at.
NOW = datetime(2023, 11, 14, 22, 15, 23, tzinfo=UTC)
SCOPED_ADMIN = ("accounts.view_user", "accounts.change_user", "tokens.manage_others_tokens")


@pytest.fixture
def company(db):
    return CompanyFactory(name="East")


@pytest.fixture
def colleague(company):
    return UserFactory(username="colin", email="colin@example.com", company=company)


@pytest.fixture
def manager(company):
    """A company admin who may see, change and delete colleagues' tokens, but not create them."""
    return grant(UserFactory(username="mona", company=company), *SCOPED_ADMIN)


@pytest.fixture
def creator(company):
    """A company admin who may also create tokens for colleagues."""
    return grant(UserFactory(username="cora", company=company), *SCOPED_ADMIN, "tokens.create_others_tokens")


def create_on_page(user, owner, name="for-colin"):
    # Followed: the secret is shown on the list the POST redirects to.
    return logged_in_client(user).post(f"/users/{owner.pk}/tokens/new/", {"name": name, "long_term": "on"}, follow=True)


def create_through_api(user, owner, name="for-colin"):
    return Browser.of(user).call("post", f"/api/users/{owner.pk}/tokens", {"name": name, "long_term": True})


CREATE = {"page": create_on_page, "api": create_through_api}


def token_emails():
    """The emails about access tokens (the test browsers' logins are emailed too, as new browsers)."""
    return [message for message in mail.outbox if "access token" in message.subject]


# 1. Tokens stay with their owner


@pytest.mark.parametrize("where", sorted(CREATE))
def test_managing_colleagues_tokens_does_not_let_an_admin_create_one_for_them(manager, colleague, where):
    response = CREATE[where](manager, colleague)

    assert response.status_code == 403
    assert not AccessToken.objects.exists()
    assert mail.outbox == []


def test_the_token_page_offers_no_create_button_without_the_create_permission(manager, colleague):
    page = logged_in_client(manager).get(f"/users/{colleague.pk}/tokens/")

    assert page.status_code == 200
    assert f"/users/{colleague.pk}/tokens/new/" not in page.content.decode()


def test_the_create_dialog_is_forbidden_without_the_create_permission(manager, colleague):
    assert logged_in_client(manager).get(f"/users/{colleague.pk}/tokens/new/").status_code == 403


@pytest.mark.parametrize("where", sorted(CREATE))
def test_an_admin_with_the_create_permission_creates_a_token_for_a_colleague(creator, colleague, where):
    response = CREATE[where](creator, colleague)

    assert response.status_code in (200, 201)
    token = AccessToken.objects.get()
    assert token.user == colleague
    (event,) = events("token.create")
    assert (event.actor, event.target_id) == (creator, str(token.pk))
    assert event.details["for_owner"] == "colin"


@pytest.mark.parametrize("where", sorted(CREATE))
def test_the_owner_is_emailed_who_created_a_token_for_them_without_the_secret(
    creator, colleague, where, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # core.notify sends once the change commits
        response = CREATE[where](creator, colleague)

    token = AccessToken.objects.get()
    (message,) = token_emails()
    assert message.to == ["colin@example.com"]
    assert "cora" in message.body
    assert "for-colin" in message.body
    assert token.created_at.strftime("%Y-%m-%d %H:%M") in message.body
    assert token.expires_at.strftime("%Y-%m-%d %H:%M") in message.body
    assert token.secret not in message.body + message.subject
    assert token.secret in response.content.decode()  # the creator saw it, once


def test_creating_your_own_token_emails_you_without_naming_a_creator(colleague, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = create_through_api(colleague, colleague)

    assert response.status_code == 201
    (message,) = token_emails()  # every token change is notified (core.notify), your own too
    assert message.to == ["colin@example.com"]
    assert "By:" not in message.body
    assert "for_owner" not in events("token.create")[0].details


@pytest.mark.parametrize("where", sorted(CREATE))
def test_the_create_permission_does_not_reach_past_the_company_scope(creator, where):
    outsider = UserFactory(username="walt", company=CompanyFactory(name="West"))

    response = CREATE[where](creator, outsider)

    assert response.status_code == 404
    assert not AccessToken.objects.exists()
    assert mail.outbox == []


# 2. A token never creates or changes credentials


def _credential_routes(admin_user, plain_user, other_user):
    """(method, path, body) of every API route that creates or changes a credential, for a browser to call
    as ``plain_user`` (own) or ``admin_user`` (another's), and the status it answers there."""
    return {
        "create-own-token": (plain_user, "post", f"/api/users/{plain_user.pk}/tokens", {"long_term": True}, 201),
        "change-own-password": (
            plain_user,
            "put",
            f"/api/users/{plain_user.pk}/password",
            {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD},
            204,
        ),
        "set-another-password": (
            admin_user,
            "put",
            f"/api/users/{other_user.pk}/password",
            {"password": NEW_PASSWORD},
            204,
        ),
        "create-another-token": (admin_user, "post", f"/api/users/{other_user.pk}/tokens", {"long_term": True}, 201),
    }


ROUTES = ["create-own-token", "change-own-password", "set-another-password", "create-another-token"]
# What "creates or changes a credential" means among the API's routes: a path naming one, changed.
_CREDENTIAL_PATH = re.compile(r"/(password|tokens|passkeys|two-factor)\b[^/]*$")


def test_the_route_list_covers_every_credential_creating_route_of_the_api():
    covered = {("post", "/api/users/{user_id}/tokens"), ("put", "/api/users/{user_id}/password")}
    schema = api.get_openapi_schema()
    found = {
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in {"post", "put"} and _CREDENTIAL_PATH.search(path)
    }

    assert found == covered  # a new one (registering a passkey, a second factor...) must be guarded and listed


def _credential_state():
    return list(User.objects.order_by("pk").values_list("pk", "password")), list(
        AccessToken.objects.order_by("pk").values_list("pk", flat=True)
    )


@pytest.mark.parametrize("scheme", ["bearer", "signed"])
@pytest.mark.parametrize("route", ROUTES)
def test_a_token_cannot_create_or_change_credentials(admin_user, plain_user, other_user, route, scheme):
    user, method, path, body, _status = _credential_routes(admin_user, plain_user, other_user)[route]
    script = Script.of(user)
    before = _credential_state()

    response = script.call(method, path, body) if scheme == "bearer" else signed_call(script, method, path, body)

    assert assert_error(response, 403)["detail"] == TOKEN_CANNOT_CHANGE_CREDENTIALS
    assert _credential_state() == before
    (event,) = events("token.refused")
    assert (event.actor, event.target_id) == (user, str(script.token.pk))
    assert event.details["reason"] == "an access token cannot create or change credentials"


@pytest.mark.parametrize("route", ROUTES)
def test_the_same_routes_work_from_a_browser_session_with_its_csrf_token(admin_user, plain_user, other_user, route):
    user, method, path, body, status = _credential_routes(admin_user, plain_user, other_user)[route]

    response = Browser.of(user).call(method, path, body)

    assert response.status_code == status, response.content


# 3. Scripts' clocks and addresses, and replays


def signed_call(script, method, path, body=None, *, timestamp=None, secret=None, **extra):
    """``script``'s request signed as DESIGN.md says (tokens.signing is checked against the published vector)."""
    data = json.dumps(body).encode() if body is not None else b""
    timestamp = str(int(datetime.now(UTC).timestamp()) if timestamp is None else timestamp)
    canonical = signing.canonical_request(method.upper(), path, "", data)
    signature = signing.signature(secret or script.secret, timestamp, canonical)
    headers = {
        "X-Timestamp": timestamp,
        "Authorization": f"HMAC-SHA256 Credential={script.token.pk}, Signature={signature}",
    }
    return script.client.generic(method.upper(), path, data, content_type="application/json", headers=headers, **extra)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def script(plain_user):
    return Script.of(plain_user)


def test_a_stale_timestamp_names_the_servers_time(script, frozen):
    response = signed_call(script, "get", "/api/user/info", timestamp=1700000123 - 301)

    body = assert_error(response, 401)
    assert body["detail"] == (
        "request timestamp is outside the allowed window: the server's time is 1700000123 (UTC 2023-11-14 22:15:23)"
    )


def test_a_right_signature_with_a_stale_clock_never_locks_the_address(script, frozen):
    for _ in range(FAILURES_PER_IP.limit + 1):
        assert signed_call(script, "get", "/api/user/info", timestamp=1700000123 - 600).status_code == 401

    assert signed_call(script, "get", "/api/user/info").status_code == 200
    assert len(events("token.refused")) == FAILURES_PER_IP.limit + 1  # each refused and audited all the same


def test_a_wrong_signature_still_locks_the_address(script, frozen):
    for _ in range(FAILURES_PER_IP.limit):
        assert signed_call(script, "get", "/api/user/info", secret="not-the-secret").status_code == 401

    response = signed_call(script, "get", "/api/user/info")

    assert_error(response, 429)
    assert int(response["Retry-After"]) > 0


def test_a_right_signature_from_an_unlisted_address_does_not_count(plain_user, frozen):
    script = Script.of(plain_user, ip_allowlist=["192.0.2.7"])
    for second in range(FAILURES_PER_IP.limit + 1):
        frozen.shift(1)  # each one a new request, not a replay
        response = signed_call(script, "get", "/api/user/info", REMOTE_ADDR="192.0.2.8")
        assert assert_error(response, 403)["detail"] == "invalid request ip", second

    assert not FAILURES_PER_IP.blocked("192.0.2.8")
    assert (
        signed_call(script, "get", "/api/user/info", secret="not-the-secret", REMOTE_ADDR="192.0.2.8").status_code
        == 401
    )


def test_a_replayed_signed_request_is_refused_and_audited(script, frozen):
    first = signed_call(script, "get", "/api/user/info")
    assert first.status_code == 200

    frozen.shift(30)  # still inside the window
    replay = script.client.get(
        "/api/user/info",
        headers={
            "X-Timestamp": first.request["HTTP_X_TIMESTAMP"],
            "Authorization": first.request["HTTP_AUTHORIZATION"],
        },
    )

    assert "replayed request" in assert_error(replay, 401)["detail"]
    (event,) = events("token.refused")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["reason"] == "replayed request"
    assert event.target_id == str(script.token.pk)


def test_a_replay_from_another_process_is_refused_too(script, frozen):
    """The memory of signatures is the shared cache: a second client (another process) is refused as well."""
    first = signed_call(script, "get", "/api/user/info")
    other = Script(script.bearer).client

    replay = other.get(
        "/api/user/info",
        headers={
            "X-Timestamp": first.request["HTTP_X_TIMESTAMP"],
            "Authorization": first.request["HTTP_AUTHORIZATION"],
        },
    )

    assert replay.status_code == 401


def test_a_throttled_address_leaves_no_signature_behind(script, frozen):
    """The throttle's check and the signature's note are one cache call: a refused flood writes nothing."""
    for _ in range(FAILURES_PER_IP.limit):
        FAILURES_PER_IP.fail("127.0.0.1")
    refused = signed_call(script, "get", "/api/user/info")
    FAILURES_PER_IP.reset("127.0.0.1")

    again = script.client.get(
        "/api/user/info",
        headers={
            "X-Timestamp": refused.request["HTTP_X_TIMESTAMP"],
            "Authorization": refused.request["HTTP_AUTHORIZATION"],
        },
    )

    assert refused.status_code == 429
    assert again.status_code == 200  # its signature was not noted while the address was refused


def test_the_same_request_signed_a_second_later_is_accepted(script, frozen):
    assert signed_call(script, "get", "/api/user/info").status_code == 200
    frozen.shift(1)

    assert signed_call(script, "get", "/api/user/info").status_code == 200


def test_bearer_requests_may_repeat(script, frozen):
    assert [script.whoami().status_code for _ in range(3)] == [200, 200, 200]
    assert events("token.refused") == []
