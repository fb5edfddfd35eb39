"""The token manager pages through django.test.Client: list, create, modify, delete, and who may.

Tokens are checked end to end: what the pages show, what they store, what the audit
log records, and whether the token then works against ``/api/user/info``.
"""

import datetime
import html
import json

import pytest
import time_machine
from django.core import serializers
from django.db import connection
from django.test import Client

from core.audit import Origin
from core.models import AuditEvent
from tests.factories import UserFactory
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import audit_dump, events, grant, logged_in_client
from tokens import services
from tokens.credentials import bearer_string
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
# A fixed "now" for the tests that control the clock, on a whole minute (the form's resolution).
T0 = datetime.datetime(2031, 3, 14, 9, 30, tzinfo=UTC)
IN_A_MONTH = "2031-04-14T09:30"


def _tokens_url(user):
    return f"/users/{user.pk}/tokens/"


def _make_token(user, **fields):
    """(token, secret) issued through the service, as an operator would."""
    fields.setdefault("expires_at", datetime.datetime.now(UTC) + datetime.timedelta(days=30))
    return services.token_create(origin=Origin.command("test"), user=user, **fields)


def _call_api(client, token_id, secret, **extra):
    """GET /api/user/info with the token's Bearer string; another Client, so no session cookie is sent."""
    return client.get("/api/user/info", HTTP_AUTHORIZATION=f"Bearer {bearer_string(token_id, secret)}", **extra)


def _row_of(response, token):
    """The rendered table row of ``token``."""
    text = response.content.decode()
    start = text.index(f'<tr id="token-{token.pk}">')
    return text[start : text.index("</tr>", start)]


def _shown_secret(response):
    return html.unescape(response.content.decode().split('<code id="created-secret">')[1].split("</code>")[0])


def _token_events():
    """How many token events the audit log holds (logging a test client in writes ``auth.login``)."""
    return AuditEvent.objects.filter(action__startswith="token.").count()


def _database_dump():
    """Every row of every table, as text: what a dump of the database would hold."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 (names from the schema)
            chunks.append(repr(cursor.fetchall()))
    return "\n".join(chunks)


@pytest.fixture
def owner(db):
    """carol, whose tokens may call the API (she holds the API module)."""
    carol = UserFactory(username="carol", email="carol@example.com")
    grant_api_module(carol)
    return carol


@pytest.fixture
def owner_client(owner):
    return logged_in_client(owner)


@pytest.fixture
def api_client():
    """A script: no session cookie, only the token."""
    return Client()


# the list


def test_list_shows_id_name_times_never_used_and_any_address(owner, owner_client):
    token, _ = _make_token(owner, name="backup-script", expires_at=datetime.datetime(2034, 5, 6, 7, 8, tzinfo=UTC))

    response = owner_client.get(_tokens_url(owner))

    assert response.status_code == 200
    row = _row_of(response, token)
    assert f"<code>{token.pk}</code>" in row
    assert "backup-script" in row
    assert token.created_at.strftime("%Y-%m-%d %H:%M") in row
    assert "2034-05-06 07:08" in row
    assert "Never" in row
    assert "Any address" in row
    assert "Expired" not in row


def test_list_shows_every_ip_entry(owner, owner_client):
    token, _ = _make_token(owner, ip_allowlist=["198.51.100.7", "10.0.0.0/8", "2001:db8::/32"])

    row = _row_of(owner_client.get(_tokens_url(owner)), token)

    for entry in ["198.51.100.7", "10.0.0.0/8", "2001:db8::/32"]:
        assert f'<code class="ip">{entry}</code>' in row
    assert "Any address" not in row


def test_list_shows_last_used_time_and_ip_once_used(owner, owner_client, api_client):
    token, secret = _make_token(owner)
    used_at = datetime.datetime.now(UTC).replace(second=5) + datetime.timedelta(days=2)
    with time_machine.travel(used_at, tick=False):
        assert _call_api(api_client, token.pk, secret, REMOTE_ADDR="198.51.100.23").status_code == 200

    row = _row_of(owner_client.get(_tokens_url(owner)), token)

    assert "Never" not in row
    assert f'<time datetime="{used_at:%Y-%m-%dT%H:%M:%S}' in row
    assert f"{used_at:%Y-%m-%d %H:%M}" in row
    assert "from 198.51.100.23" in row


def test_expired_token_is_marked_expired(owner, owner_client):
    with time_machine.travel(datetime.datetime(2024, 1, 1, tzinfo=UTC), tick=False):
        expired, _ = _make_token(owner, expires_at=datetime.datetime(2024, 2, 1, tzinfo=UTC))
    current, _ = _make_token(owner)

    response = owner_client.get(_tokens_url(owner))

    assert '<span class="badge failure">Expired</span>' in _row_of(response, expired)
    assert "Expired" not in _row_of(response, current)


def test_list_holds_only_the_owners_tokens(owner, owner_client, other_user):
    _make_token(owner, name="mine")
    _make_token(other_user, name="bobs-token")

    content = owner_client.get(_tokens_url(owner)).content.decode()

    assert "mine" in content
    assert "bobs-token" not in content


# creating


def test_created_secret_is_shown_once_after_a_redirect_and_not_cached(owner, owner_client):
    expires = (datetime.datetime.now(UTC) + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(f"{_tokens_url(owner)}new/", {"name": "deploy", "expires_at": expires})

    # Post/redirect/get: the answer to the POST is a redirect to the list; the secret is kept in the session.
    assert response.status_code == 302
    assert response["Location"] == _tokens_url(owner)
    shown = owner_client.get(response["Location"])
    token = AccessToken.objects.get(user=owner)
    content = shown.content.decode()
    secret = _shown_secret(shown)
    assert len(secret) >= 32
    assert secret not in response["Location"]
    assert f"Bearer {bearer_string(token.pk, secret)}" in content
    assert f'<code id="created-token-id">{token.pk}</code>' in content
    assert "no-store" in shown["Cache-Control"]
    assert _call_api(logged_in_client(owner), token.pk, secret).json()["username"] == "carol"

    reloaded = owner_client.get(_tokens_url(owner))
    assert reloaded.status_code == 200
    assert secret not in reloaded.content.decode()
    assert 'id="token-created"' not in reloaded.content.decode()
    assert AccessToken.objects.filter(user=owner).count() == 1


def test_the_kept_secret_is_encrypted_in_the_session_and_gone_once_shown(owner, owner_client):
    owner_client.post(f"{_tokens_url(owner)}new/", {"name": "deploy", "long_term": "on"})
    stored = json.dumps(dict(owner_client.session))

    secret = _shown_secret(owner_client.get(_tokens_url(owner)))

    assert secret not in stored
    assert not any(key.startswith("panel_shown_once:") for key, _ in owner_client.session.items())


def test_the_secret_kept_for_one_owner_is_not_shown_on_another_owners_list(admin_user, owner):
    admin_browser = logged_in_client(admin_user)
    admin_browser.post(f"{_tokens_url(owner)}new/", {"name": "for-carol", "long_term": "on"})

    assert 'id="created-secret"' not in admin_browser.get(_tokens_url(admin_user)).content.decode()
    assert 'id="created-secret"' in admin_browser.get(_tokens_url(owner)).content.decode()


def test_secret_is_absent_from_audit_log_and_database(owner, owner_client, api_client):
    expires = (datetime.datetime.now(UTC) + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(f"{_tokens_url(owner)}new/", {"name": "ci", "expires_at": expires}, follow=True)
    secret = _shown_secret(response)
    token = AccessToken.objects.get(user=owner)
    # Use it (and fail once with a wrong secret) so that every audit path has run.
    assert _call_api(api_client, token.pk, secret).status_code == 200
    assert _call_api(api_client, token.pk, secret[::-1]).status_code == 401

    assert [event.action for event in events(action__startswith="token.")] == ["token.create", "token.refused"]
    for text in (audit_dump(), _database_dump(), serializers.serialize("json", AccessToken.objects.all())):
        assert secret not in text
        assert bearer_string(token.pk, secret) not in text


TEN_YEARS_RULE = "The expiry can be at most 10 years away (until 2041-03-14 09:30 UTC)."
BAD_IP_RULE = "“300.1.2.3” is not an IPv4 or IPv6 address or CIDR block."
HOST_BITS_RULE = "“10.0.0.1/8” has host bits set; did you mean 10.0.0.0/8?"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        pytest.param({"ip_allowlist": "10.0.0.1\n300.1.2.3"}, "ip_allowlist", BAD_IP_RULE, id="bad-ip"),
        pytest.param(
            {"ip_allowlist": "10.0.0.1\n10.0.0.1/32"}, "ip_allowlist", "“10.0.0.1/32” is listed twice.", id="duplicate"
        ),
        pytest.param({"ip_allowlist": "10.0.0.1/8"}, "ip_allowlist", HOST_BITS_RULE, id="host-bits-v4"),
        pytest.param(
            {"ip_allowlist": "2001:db8::1/32"}, "ip_allowlist", "“2001:db8::1/32” has host bits set", id="host-bits-v6"
        ),
        pytest.param({"expires_at": "2031-03-14T09:29"}, "expires_at", "The expiry must be in the future.", id="past"),
        pytest.param({"expires_at": "2031-03-14T09:30"}, "expires_at", "The expiry must be in the future.", id="now"),
        pytest.param({"expires_at": "2041-03-15T09:30"}, "expires_at", TEN_YEARS_RULE, id="ten-years-and-a-day"),
        pytest.param({"expires_at": ""}, "expires_at", "Choose when the token expires.", id="no-expiry"),
        pytest.param({"expires_at": "next tuesday"}, "expires_at", "Enter a valid date/time.", id="garbage-datetime"),
        pytest.param(
            {"name": "n" * 65}, "name", "Ensure this value has at most 64 characters (it has 65).", id="long-name"
        ),
    ],
)
def test_bad_values_are_refused_naming_the_entry_and_nothing_is_written(owner, data, field, message):
    with time_machine.travel(T0, tick=False):
        client = logged_in_client(owner)
        before = _token_events()

        response = client.post(f"{_tokens_url(owner)}new/", {"name": "x", "expires_at": IN_A_MONTH, **data})

    assert response.status_code == 400
    content = html.unescape(response.content.decode())
    assert message in content
    assert f'<ul class="errors" id="id_{field}_error">' in content
    assert "<h1>Create Token</h1>" in content  # the page of its own, as without JavaScript
    assert not AccessToken.objects.exists()
    assert _token_events() == before


def test_every_bad_ip_entry_is_named_at_once(owner, owner_client):
    expires = (datetime.datetime.now(UTC) + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    response = owner_client.post(
        f"{_tokens_url(owner)}new/", {"ip_allowlist": "bogus, 192.0.2.1 192.0.2.1, ::1/64", "expires_at": expires}
    )

    assert response.status_code == 400
    content = html.unescape(response.content.decode())
    assert "“bogus” is not an IPv4 or IPv6 address or CIDR block." in content
    assert "“192.0.2.1” is listed twice." in content
    assert "“::1/64” has host bits set; did you mean ::/64?" in content


def test_expiry_exactly_ten_years_ahead_is_accepted(owner):
    with time_machine.travel(T0, tick=False):
        client = logged_in_client(owner)
        response = client.post(f"{_tokens_url(owner)}new/", {"expires_at": "2041-03-14T09:30"})

    assert response.status_code == 302
    assert AccessToken.objects.get(user=owner).expires_at == datetime.datetime(2041, 3, 14, 9, 30, tzinfo=UTC)


def test_long_term_picks_exactly_ten_years(owner):
    now = datetime.datetime(2031, 3, 14, 9, 30, 15, 123456, tzinfo=UTC)
    with time_machine.travel(now, tick=False):
        client = logged_in_client(owner)
        # The expiry field is ignored, even a bad value, when long-term is chosen.
        response = client.post(f"{_tokens_url(owner)}new/", {"long_term": "on", "expires_at": "2099-01-01T00:00"})

    assert response.status_code == 302
    token = AccessToken.objects.get(user=owner)
    assert token.expires_at == datetime.datetime(2041, 3, 14, 9, 30, 15, 123456, tzinfo=UTC)
    assert token.created_at == now
    assert events("token.create")[0].details["expires_at"] == "2041-03-14T09:30:15.123456+00:00"


def test_create_writes_one_audit_event_naming_owner_and_actor(owner, owner_client):
    expires = (datetime.datetime.now(UTC) + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    owner_client.post(
        f"{_tokens_url(owner)}new/", {"name": "ci", "ip_allowlist": "192.0.2.0/24", "expires_at": expires}
    )

    (event,) = events("token.create")
    token = AccessToken.objects.get(user=owner)
    assert (event.actor, event.target_id, event.outcome) == (owner, str(token.pk), AuditEvent.Outcome.SUCCESS)
    assert event.details["owner"] == "carol"
    assert event.details["ip_allowlist"] == ["192.0.2.0/24"]


# modifying


def test_modify_changes_ip_list_and_expiry_but_not_the_secret(owner, owner_client, api_client):
    token, secret = _make_token(owner, name="sync")
    encrypted = token.encrypted_secret
    url = f"{_tokens_url(owner)}{token.pk}/edit/"
    assert owner_client.get(url).status_code == 200

    response = owner_client.post(
        url, {"name": "sync", "ip_allowlist": "127.0.0.1\n2001:db8::/48", "expires_at": "2030-06-01T12:00"}
    )

    assert response.status_code == 302
    assert response["Location"] == _tokens_url(owner)
    token.refresh_from_db()
    assert token.ip_allowlist == ["127.0.0.1", "2001:db8::/48"]
    assert token.expires_at == datetime.datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    assert token.encrypted_secret == encrypted
    assert _call_api(api_client, token.pk, secret).status_code == 200
    (event,) = events("token.update")
    assert event.actor == owner
    assert set(event.details["changes"]) == {"ip_allowlist", "expires_at"}
    assert event.details["changes"]["ip_allowlist"] == {"from": [], "to": ["127.0.0.1", "2001:db8::/48"]}
    assert secret not in audit_dump()


def test_modified_ip_list_refuses_other_addresses(owner, owner_client, api_client):
    token, secret = _make_token(owner)
    assert _call_api(api_client, token.pk, secret).status_code == 200
    expires = token.expires_at.strftime("%Y-%m-%dT%H:%M")

    owner_client.post(f"{_tokens_url(owner)}{token.pk}/edit/", {"ip_allowlist": "203.0.113.9", "expires_at": expires})

    response = _call_api(api_client, token.pk, secret)
    assert response.status_code == 403
    assert response.json()["detail"] == "invalid request ip"


def test_modify_form_shows_the_current_values(owner, owner_client):
    token, _ = _make_token(owner, name="sync", ip_allowlist=["192.0.2.1", "10.0.0.0/8"])

    content = owner_client.get(f"{_tokens_url(owner)}{token.pk}/edit/").content.decode()

    assert 'value="sync"' in content
    assert "192.0.2.1\n10.0.0.0/8</textarea>" in content
    assert f'value="{token.expires_at:%Y-%m-%d %H:%M}"' in content


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ip_allowlist": "192.0.2.1, 192.0.2.1"}, "“192.0.2.1” is listed twice."),
        ({"expires_at": "2031-03-14T09:00"}, "The expiry must be in the future."),
        ({"expires_at": "2041-03-14T09:31"}, "The expiry can be at most 10 years away"),
        ({"expires_at": ""}, "Choose when the token expires."),
    ],
    ids=["duplicate", "past", "too-far", "no-expiry"],
)
def test_bad_modification_is_refused_and_changes_nothing(owner, data, message):
    with time_machine.travel(T0, tick=False):
        token, _ = _make_token(owner, ip_allowlist=["192.0.2.7"], expires_at=T0 + datetime.timedelta(days=3))
        before = _token_events()
        client = logged_in_client(owner)

        response = client.post(f"{_tokens_url(owner)}{token.pk}/edit/", {"expires_at": IN_A_MONTH, **data})

    assert response.status_code == 400
    assert message in html.unescape(response.content.decode())
    token.refresh_from_db()
    assert token.ip_allowlist == ["192.0.2.7"]
    assert token.expires_at == T0 + datetime.timedelta(days=3)
    assert _token_events() == before


# deleting


def test_delete_asks_for_confirmation_on_get_and_changes_nothing(owner, owner_client, api_client):
    token, secret = _make_token(owner, name="old-job")

    response = owner_client.get(f"{_tokens_url(owner)}{token.pk}/delete/")

    assert response.status_code == 200
    content = html.unescape(response.content.decode())
    assert f"Delete token {token.pk}?" in content
    assert "“old-job” of carol" in content
    assert 'method="post"' in content
    assert AccessToken.objects.filter(pk=token.pk).exists()
    assert not events("token.delete")
    assert _call_api(api_client, token.pk, secret).status_code == 200


def test_delete_removes_the_token_and_it_stops_working(owner, owner_client, api_client):
    token, secret = _make_token(owner, name="old-job")
    assert _call_api(api_client, token.pk, secret).status_code == 200

    response = owner_client.post(f"{_tokens_url(owner)}{token.pk}/delete/")

    assert response.status_code == 302
    assert response["Location"] == _tokens_url(owner)
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    (event,) = events("token.delete")
    assert (event.actor, event.target_id, event.details["name"]) == (owner, str(token.pk), "old-job")
    refused = _call_api(api_client, token.pk, secret)
    assert refused.status_code == 401
    assert refused.json()["detail"] == "invalid token"
    assert f"Token {token.pk} was deleted." in owner_client.get(_tokens_url(owner)).content.decode()


# who may


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("get", "new/"),
        ("post", "new/"),
        ("get", "{token}/edit/"),
        ("post", "{token}/edit/"),
        ("get", "{token}/delete/"),
        ("post", "{token}/delete/"),
    ],
)
@pytest.mark.parametrize("whose", ["other", "missing-user"])
def test_others_token_pages_are_forbidden_without_the_permission(owner, owner_client, other_user, method, path, whose):
    token, secret = _make_token(other_user, ip_allowlist=["192.0.2.1"])
    user_id = other_user.pk if whose == "other" else 999_999
    before = (AccessToken.objects.count(), _token_events())
    url = f"/users/{user_id}/tokens/{path.format(token=token.pk)}"

    response = getattr(owner_client, method)(url, {"ip_allowlist": "", "long_term": "on"})

    assert response.status_code == 403
    assert (AccessToken.objects.count(), _token_events()) == before
    token.refresh_from_db()
    assert token.ip_allowlist == ["192.0.2.1"]


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "edit/"), ("post", "edit/"), ("get", "delete/"), ("post", "delete/")],
)
def test_another_users_token_under_your_own_id_is_not_found(owner, owner_client, other_user, method, path):
    token, _ = _make_token(other_user, ip_allowlist=["192.0.2.1"])

    response = getattr(owner_client, method)(
        f"{_tokens_url(owner)}{token.pk}/{path}", {"ip_allowlist": "", "long_term": "on"}
    )

    assert response.status_code == 404
    token.refresh_from_db()
    assert token.ip_allowlist == ["192.0.2.1"]
    assert _token_events() == 1  # the fixture's token.create


def test_manager_with_the_permission_manages_another_users_tokens(owner, other_user, api_client):
    # Creating a token for someone else needs its own permission (managing theirs is not enough), and dave
    # holds the API module too: bob holds it, and nobody manages someone who holds more (the power rule).
    manager = grant(
        UserFactory(username="dave"), "tokens.manage_others_tokens", "tokens.create_others_tokens", "accounts.use_api"
    )
    grant_api_module(other_user)
    client = logged_in_client(manager)
    base = _tokens_url(other_user)
    existing, _ = _make_token(other_user, name="bobs-token")

    assert "bobs-token" in client.get(base).content.decode()

    expires = (datetime.datetime.now(UTC) + datetime.timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
    created = client.post(f"{base}new/", {"name": "for-bob", "expires_at": expires})
    assert created.status_code == 302
    token = AccessToken.objects.get(name="for-bob")
    assert token.user == other_user
    secret = _shown_secret(client.get(created["Location"]))
    assert _call_api(api_client, token.pk, secret).json()["username"] == "bob"

    modified = client.post(f"{base}{token.pk}/edit/", {"ip_allowlist": "203.0.113.9", "expires_at": expires})
    assert modified.status_code == 302
    token.refresh_from_db()
    assert token.ip_allowlist == ["203.0.113.9"]

    assert client.post(f"{base}{existing.pk}/delete/").status_code == 302
    assert not AccessToken.objects.filter(pk=existing.pk).exists()

    assert [(event.action, event.actor) for event in events(action__startswith="token.")] == [
        ("token.create", None),  # the fixture's token, made by an operator
        ("token.create", manager),
        ("token.update", manager),
        ("token.delete", manager),
    ]


def test_admin_manages_another_users_tokens(admin_client, other_user):
    token, _ = _make_token(other_user, name="bobs-token")

    assert admin_client.get(_tokens_url(other_user)).status_code == 200
    assert admin_client.post(f"{_tokens_url(other_user)}{token.pk}/delete/").status_code == 302
    assert not AccessToken.objects.exists()


def test_manager_gets_404_for_a_token_under_the_wrong_owner(owner, other_user):
    # Creating a token for someone else needs its own permission (managing theirs is not enough).
    manager = grant(UserFactory(username="dave"), "tokens.manage_others_tokens", "tokens.create_others_tokens")
    token, _ = _make_token(other_user)

    response = logged_in_client(manager).get(f"{_tokens_url(owner)}{token.pk}/edit/")

    assert response.status_code == 404


def test_anonymous_visitor_is_sent_to_log_in(owner, client):
    response = client.get(_tokens_url(owner))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("path", ["new/", "{token}/edit/", "{token}/delete/"])
def test_posts_need_the_csrf_token(owner, path):
    token, _ = _make_token(owner, ip_allowlist=["192.0.2.1"])
    before = (AccessToken.objects.count(), _token_events())
    client = logged_in_client(owner, enforce_csrf_checks=True)

    response = client.post(
        f"{_tokens_url(owner)}{path.format(token=token.pk)}", {"ip_allowlist": "", "long_term": "on"}
    )

    assert response.status_code == 403
    assert (AccessToken.objects.count(), _token_events()) == before
    token.refresh_from_db()
    assert token.ip_allowlist == ["192.0.2.1"]


def test_post_with_the_csrf_token_from_the_page_succeeds(owner):
    client = logged_in_client(owner, enforce_csrf_checks=True)
    client.get(_tokens_url(owner))

    response = client.post(
        f"{_tokens_url(owner)}new/", {"long_term": "on", "csrfmiddlewaretoken": client.cookies["csrftoken"].value}
    )

    assert response.status_code == 302
    assert AccessToken.objects.filter(user=owner).count() == 1


# links to the token manager


def test_user_list_links_every_rows_tokens_for_an_admin(admin_client, admin_user, owner, other_user):
    content = admin_client.get("/users/").content.decode()

    for user in (admin_user, owner, other_user):
        assert f'<a href="/users/{user.pk}/tokens/">Access Tokens</a>' in content


def test_user_list_links_only_your_own_tokens_without_the_permission(owner, other_user):
    viewer = grant(UserFactory(username="erin"), "accounts.view_user")

    content = logged_in_client(viewer).get("/users/").content.decode()

    assert f'<a href="/users/{viewer.pk}/tokens/">Access Tokens</a>' in content
    assert f"/users/{owner.pk}/tokens/" not in content
    assert f"/users/{other_user.pk}/tokens/" not in content


def test_account_page_links_my_access_tokens(owner, owner_client):
    content = owner_client.get("/account/").content.decode()

    assert f'href="/users/{owner.pk}/tokens/">My access tokens</a>' in content
