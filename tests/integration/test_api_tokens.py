"""The token endpoints of the JSON API: list, create, modify, delete, and who may.

Each call is made as a script would, with a Bearer access token, except creating one: a token
cannot create credentials, so creation is called from a logged-in browser session (``Browser``).
Tokens made through the API are then used as Bearer tokens themselves, to show what they can do at once.
"""

import datetime
import json

import pytest
import time_machine
from django.utils import timezone

from core.audit import Origin
from core.models import AuditEvent
from core.validators import add_years
from tests.factories import UserFactory
from tests.integration.api_script import NO_BODY, Browser, Script, assert_error, grant_api_module
from tests.integration.conftest import audit_dump, events, grant
from tokens.credentials import bearer_string
from tokens.models import AccessToken
from tokens.services import token_create

pytestmark = pytest.mark.django_db

MANAGE_OTHERS = "tokens.manage_others_tokens"
TOKEN_FIELDS = {
    "id",
    "name",
    "ip_allowlist",
    "expires_at",
    "expired",
    "created_at",
    "last_used_at",
    "last_used_ip",
    "permissions",
    "unused",
}


def iso(moment):
    return moment.isoformat()


def token_rows():
    """Every token as stored, to show that a refused request changed nothing."""
    return list(
        AccessToken.objects.order_by("pk").values(
            "pk", "user_id", "name", "ip_allowlist", "expires_at", "encrypted_secret"
        )
    )


def token_events():
    return list(AuditEvent.objects.filter(action__in=["token.create", "token.update", "token.delete"]))


def state():
    return token_rows(), [event.pk for event in token_events()]


def assert_api_event(action, script, token_id):
    """The one successful ``action`` event since the fixtures: by the caller, through the API (naming its token)."""
    (event,) = [e for e in events(action) if e.details.get("via") == "api"]
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.actor_id == script.user.pk
    assert (event.target_type, event.target_id) == ("accesstoken", str(token_id))
    assert event.details.get("credential") == (script.token.pk if script.token is not None else None)
    return event


@pytest.fixture
def me(plain_user):
    """A user with no permissions at all, managing their own tokens."""
    return Script.of(plain_user)


@pytest.fixture
def me_browser(plain_user):
    """The same user in a browser, calling the API with the session: the only way to create a token there."""
    return Browser.of(plain_user)


@pytest.fixture
def admin(admin_user):
    return Script.of(admin_user)


@pytest.fixture
def bob(other_user):
    return other_user


@pytest.fixture
def bobs_token(bob):
    """One of bob's tokens: (token, secret)."""
    return token_create(origin=Origin.command("pytest"), user=bob, long_term=True, name="bob's cron")


@pytest.fixture
def frozen_now():
    """The clock stopped at the current moment, so that expiry bounds are exact."""
    now = timezone.now().replace(microsecond=0)
    with time_machine.travel(now, tick=False):
        yield now


# list


def test_list_own_tokens_shows_each_without_its_secret(me, plain_user):
    second = Script.of(plain_user, name="backup", ip_allowlist=["10.0.0.0/8"])

    response = me.call("get", f"/api/users/{plain_user.pk}/tokens")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["size"]) == (2, 1, 20)
    items = body["items"]
    assert [item["id"] for item in items] == [second.token.pk, me.token.pk]
    assert all(set(item) == TOKEN_FIELDS for item in items)
    assert items[0]["name"] == "backup"
    assert items[0]["ip_allowlist"] == ["10.0.0.0/8"]
    assert items[0]["expired"] is False
    assert items[0]["last_used_at"] is None
    content = response.content.decode()
    assert me.secret not in content
    assert second.secret not in content


def test_list_shows_the_calling_tokens_last_use(me, plain_user):
    items = me.call("get", f"/api/users/{plain_user.pk}/tokens").json()["items"]

    (item,) = items
    assert item["last_used_ip"] == "127.0.0.1"
    assert item["last_used_at"] is not None


def test_list_shows_an_expired_token_as_expired(me, plain_user, frozen_now):
    token, _ = token_create(
        origin=Origin.command("pytest"), user=plain_user, expires_at=frozen_now + datetime.timedelta(days=1)
    )

    with time_machine.travel(frozen_now + datetime.timedelta(days=2), tick=False):
        items = me.call("get", f"/api/users/{plain_user.pk}/tokens").json()["items"]

    assert {item["id"]: item["expired"] for item in items} == {me.token.pk: False, token.pk: True}


def test_list_shows_only_the_owners_tokens(me, plain_user, bobs_token):
    items = me.call("get", f"/api/users/{plain_user.pk}/tokens").json()["items"]

    assert [item["id"] for item in items] == [me.token.pk]


# create


def test_create_token_stores_it_and_audits_it(me_browser, plain_user):
    response = me_browser.call(
        "post",
        f"/api/users/{plain_user.pk}/tokens",
        {"name": "deploy", "ip_allowlist": ["192.0.2.0/24", "2001:db8::1"], "long_term": True},
    )

    assert response.status_code == 201
    body = response.json()
    token = AccessToken.objects.get(pk=body["id"])
    assert token.user_id == plain_user.pk
    assert (token.name, token.ip_allowlist) == ("deploy", ["192.0.2.0/24", "2001:db8::1"])
    assert set(body) == TOKEN_FIELDS | {"secret", "bearer"}
    assert body["bearer"] == bearer_string(token.pk, body["secret"])
    assert len(body["secret"]) >= 32
    assert body["secret"] not in token.encrypted_secret
    event = assert_api_event("token.create", me_browser, token.pk)
    assert event.target_id == str(body["id"])


def test_create_token_with_an_expiry_keeps_it(me, me_browser, plain_user, frozen_now):
    expires_at = frozen_now + datetime.timedelta(days=30)

    response = me_browser.call("post", f"/api/users/{plain_user.pk}/tokens", {"expires_at": iso(expires_at)})

    assert response.status_code == 201
    assert AccessToken.objects.get(pk=response.json()["id"]).expires_at == expires_at


def test_create_long_term_token_expires_in_ten_years(me, me_browser, plain_user, frozen_now):
    response = me_browser.call("post", f"/api/users/{plain_user.pk}/tokens", {"long_term": True})

    assert AccessToken.objects.get(pk=response.json()["id"]).expires_at == add_years(frozen_now, 10)


def test_created_token_works_at_once_as_bearer(me, me_browser, plain_user):
    body = me_browser.call("post", f"/api/users/{plain_user.pk}/tokens", {"long_term": True}).json()

    response = Script(body["bearer"]).whoami()

    assert response.status_code == 200
    assert response.json()["username"] == "plain"


def test_created_token_with_an_ip_allowlist_is_refused_from_elsewhere(me, me_browser, plain_user):
    body = me_browser.call(
        "post", f"/api/users/{plain_user.pk}/tokens", {"ip_allowlist": ["192.0.2.1"], "long_term": True}
    )

    response = Script(body.json()["bearer"]).whoami()

    assert assert_error(response, 403)["detail"] == "invalid request ip"


def test_create_token_without_an_expiry_is_refused(me, me_browser, plain_user):
    before = state()

    response = me_browser.call("post", f"/api/users/{plain_user.pk}/tokens", {"name": "forever"})

    body = assert_error(response, 422, ["expires_at"])
    assert body["errors"]["expires_at"] == ["Choose when the token expires."]
    assert state() == before


# the secret is shown once


def test_secret_is_in_no_later_answer(me, me_browser, plain_user):
    created = me_browser.call("post", f"/api/users/{plain_user.pk}/tokens", {"long_term": True}).json()
    path = f"/api/users/{plain_user.pk}/tokens"

    answers = [
        Script(created["bearer"]).whoami(),
        me.call("get", path),
        me.call("patch", f"{path}/{created['id']}", {"name": "renamed", "ip_allowlist": ["127.0.0.1"]}),
        me.call("get", path),
    ]

    for response in answers:
        assert response.status_code == 200
        assert created["secret"] not in response.content.decode()
        assert "secret" not in json.dumps(response.json())
        assert "bearer" not in json.dumps(response.json())


def test_secret_is_never_in_the_audit_log(me, me_browser, plain_user):
    path = f"/api/users/{plain_user.pk}/tokens"
    created = me_browser.call("post", path, {"long_term": True, "name": "audited"}).json()
    Script(created["bearer"]).whoami()
    Script(created["bearer"][:-1] + "x").whoami()  # a refusal, audited with the token id
    me.call("patch", f"{path}/{created['id']}", {"name": "renamed"})
    me.call("delete", f"{path}/{created['id']}")

    dump = audit_dump()

    assert {"token.create", "token.update", "token.delete", "token.refused"} <= {e.action for e in events()}
    assert created["secret"] not in dump
    assert created["secret"][:16] not in dump
    assert me.secret not in dump


# modify


def test_modify_token_changes_name_ip_allowlist_and_expiry_and_audits_it(me, plain_user, frozen_now):
    token = Script.of(plain_user).token
    expires_at = frozen_now + datetime.timedelta(days=7)

    response = me.call(
        "patch",
        f"/api/users/{plain_user.pk}/tokens/{token.pk}",
        {"name": "nightly", "ip_allowlist": ["10.1.0.0/16", "::1"], "expires_at": iso(expires_at)},
    )

    assert response.status_code == 200
    assert set(response.json()) == TOKEN_FIELDS
    token.refresh_from_db()
    assert (token.name, token.ip_allowlist, token.expires_at) == ("nightly", ["10.1.0.0/16", "::1"], expires_at)
    event = assert_api_event("token.update", me, token.pk)
    assert set(event.details["changes"]) == {"name", "ip_allowlist", "expires_at"}


def test_modify_token_keeps_its_secret(me, plain_user):
    other = Script.of(plain_user)

    me.call("patch", f"/api/users/{plain_user.pk}/tokens/{other.token.pk}", {"ip_allowlist": ["127.0.0.1"]})

    assert other.whoami().status_code == 200


def test_modify_token_with_only_a_name_leaves_the_rest_alone(me, plain_user):
    other = Script.of(plain_user, ip_allowlist=["10.0.0.0/8"])
    before = AccessToken.objects.values("ip_allowlist", "expires_at").get(pk=other.token.pk)

    me.call("patch", f"/api/users/{plain_user.pk}/tokens/{other.token.pk}", {"name": "renamed"})

    assert AccessToken.objects.values("ip_allowlist", "expires_at").get(pk=other.token.pk) == before


def test_modified_ip_allowlist_refuses_the_token_at_once(me, plain_user):
    other = Script.of(plain_user)
    assert other.whoami().status_code == 200

    me.call("patch", f"/api/users/{plain_user.pk}/tokens/{other.token.pk}", {"ip_allowlist": ["192.0.2.0/24"]})

    assert assert_error(other.whoami(), 403)["detail"] == "invalid request ip"


def test_modify_token_to_long_term_extends_it_to_ten_years(me, plain_user, frozen_now):
    token, _ = token_create(
        origin=Origin.command("pytest"), user=plain_user, expires_at=frozen_now + datetime.timedelta(days=1)
    )

    response = me.call("patch", f"/api/users/{plain_user.pk}/tokens/{token.pk}", {"long_term": True})

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.expires_at == add_years(frozen_now, 10)


# delete


def test_delete_token_removes_it_and_audits_it(me, plain_user):
    other = Script.of(plain_user)

    response = me.call("delete", f"/api/users/{plain_user.pk}/tokens/{other.token.pk}")

    assert response.status_code == 204
    assert response.content == b""
    assert not AccessToken.objects.filter(pk=other.token.pk).exists()
    assert_api_event("token.delete", me, other.token.pk)


def test_deleted_token_stops_working_at_once(me, me_browser, plain_user):
    created = me_browser.call("post", f"/api/users/{plain_user.pk}/tokens", {"long_term": True}).json()
    script = Script(created["bearer"])
    assert script.whoami().status_code == 200

    me.call("delete", f"/api/users/{plain_user.pk}/tokens/{created['id']}")

    assert assert_error(script.whoami(), 401)["detail"] == "invalid token"


def test_token_deleting_itself_is_refused_on_its_next_call(me, plain_user):
    response = me.call("delete", f"/api/users/{plain_user.pk}/tokens/{me.token.pk}")

    assert response.status_code == 204
    assert_error(me.whoami(), 401)


# bad values: 422 naming the field, the message naming the entry, nothing written


@pytest.mark.parametrize(
    ("entries", "messages"),
    [
        (["not-an-ip"], ["“not-an-ip” is not an IPv4 or IPv6 address or CIDR block."]),
        (["300.1.1.1"], ["“300.1.1.1” is not an IPv4 or IPv6 address or CIDR block."]),
        (["10.0.0.0/33"], ["“10.0.0.0/33” is not an IPv4 or IPv6 address or CIDR block."]),
        (["2001:db8::/129"], ["“2001:db8::/129” is not an IPv4 or IPv6 address or CIDR block."]),
        (["10.0.0.1/8"], ["“10.0.0.1/8” has host bits set; did you mean 10.0.0.0/8?"]),
        (["2001:db8::1/32"], ["“2001:db8::1/32” has host bits set; did you mean 2001:db8::/32?"]),
        (["192.0.2.1", "192.0.2.1"], ["“192.0.2.1” is listed twice."]),
        (["::1", "0:0::1"], ["“0:0::1” is listed twice."]),
        (["192.0.2.1/32", "192.0.2.1"], ["“192.0.2.1” is listed twice."]),
        (
            ["192.0.2.1", "bad one", "10.0.0.1/8"],
            [
                "“bad one” is not an IPv4 or IPv6 address or CIDR block.",
                "“10.0.0.1/8” has host bits set; did you mean 10.0.0.0/8?",
            ],
        ),
        ([f"10.0.{n // 256}.{n % 256}" for n in range(101)], ["At most 100 IP entries are allowed."]),
    ],
)
@pytest.mark.parametrize("operation", ["create", "modify"])
def test_bad_ip_entries_are_422_with_a_message_naming_each(me, me_browser, plain_user, operation, entries, messages):
    path = f"/api/users/{plain_user.pk}/tokens"
    before = state()

    if operation == "create":
        response = me_browser.call("post", path, {"ip_allowlist": entries, "long_term": True})
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", {"ip_allowlist": entries})

    body = assert_error(response, 422, ["ip_allowlist"])
    assert body["errors"]["ip_allowlist"] == messages
    assert state() == before


EXPIRY_REFUSALS = [
    pytest.param("now", datetime.timedelta(0), "The expiry must be in the future.", id="now"),
    pytest.param("now", -datetime.timedelta(seconds=1), "The expiry must be in the future.", id="a-second-ago"),
    pytest.param("now", -datetime.timedelta(days=400), "The expiry must be in the future.", id="last-year"),
    pytest.param(
        "ten years", datetime.timedelta(days=1), "The expiry can be at most 10 years away", id="ten-years-and-a-day"
    ),
    pytest.param(
        "ten years",
        datetime.timedelta(seconds=1),
        "The expiry can be at most 10 years away",
        id="ten-years-and-a-second",
    ),
]


@pytest.mark.parametrize(("start", "delta", "message"), EXPIRY_REFUSALS)
@pytest.mark.parametrize("operation", ["create", "modify"])
def test_expiry_out_of_bounds_is_422(me, me_browser, plain_user, frozen_now, operation, start, delta, message):
    expires_at = (frozen_now if start == "now" else add_years(frozen_now, 10)) + delta
    path = f"/api/users/{plain_user.pk}/tokens"
    before = state()

    if operation == "create":
        response = me_browser.call("post", path, {"expires_at": iso(expires_at)})
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", {"expires_at": iso(expires_at)})

    body = assert_error(response, 422, ["expires_at"])
    (text,) = body["errors"]["expires_at"]
    assert text.startswith(message)
    assert state() == before


@pytest.mark.parametrize("operation", ["create", "modify"])
def test_expiry_exactly_ten_years_away_is_accepted(me, me_browser, plain_user, frozen_now, operation):
    expires_at = add_years(frozen_now, 10)
    path = f"/api/users/{plain_user.pk}/tokens"

    if operation == "create":
        response = me_browser.call("post", path, {"expires_at": iso(expires_at)})
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", {"expires_at": iso(expires_at)})

    assert response.status_code in (200, 201)
    assert AccessToken.objects.get(pk=response.json()["id"]).expires_at == expires_at


@pytest.mark.parametrize("operation", ["create", "modify"])
def test_expiry_without_a_time_zone_is_422(me, me_browser, plain_user, operation):
    path = f"/api/users/{plain_user.pk}/tokens"
    naive = "2030-01-01T00:00:00"

    if operation == "create":
        response = me_browser.call("post", path, {"expires_at": naive})
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", {"expires_at": naive})

    body = assert_error(response, 422, ["expires_at"])
    assert body["errors"]["expires_at"] == ["The expiry must include a time zone."]


BAD_TYPES = [
    pytest.param({"ip_allowlist": "192.0.2.1"}, "ip_allowlist", id="allowlist-string"),
    pytest.param({"ip_allowlist": ["192.0.2.1", 2]}, "ip_allowlist.1", id="allowlist-int-entry"),
    pytest.param({"ip_allowlist": {"a": 1}}, "ip_allowlist", id="allowlist-object"),
    pytest.param({"expires_at": "tomorrow"}, "expires_at", id="expiry-word"),
    pytest.param({"expires_at": "99999-01-01T00:00:00Z"}, "expires_at", id="expiry-year-99999"),
    pytest.param({"expires_at": [2030]}, "expires_at", id="expiry-list"),
    pytest.param({"long_term": "maybe"}, "long_term", id="long-term-word"),
    pytest.param({"name": 5}, "name", id="name-int"),
    pytest.param({"name": "n" * 65}, "name", id="name-too-long"),
]


@pytest.mark.parametrize(("body", "field"), BAD_TYPES)
@pytest.mark.parametrize("operation", ["create", "modify"])
def test_bad_types_are_422_naming_the_field(me, me_browser, plain_user, operation, body, field):
    path = f"/api/users/{plain_user.pk}/tokens"
    before = state()

    if operation == "create":
        response = me_browser.call("post", path, {"long_term": True, **body})
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", body)

    assert_error(response, 422, [field])
    assert state() == before


@pytest.mark.parametrize("operation", ["create", "modify"])
@pytest.mark.parametrize("raw", ["{not json", "long_term=true"])
def test_body_that_is_not_json_is_400(me, me_browser, plain_user, operation, raw):
    path = f"/api/users/{plain_user.pk}/tokens"
    before = state()

    if operation == "create":
        response = me_browser.call("post", path, raw=raw)
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", raw=raw)

    assert_error(response, 400)
    assert state() == before


@pytest.mark.parametrize("operation", ["create", "modify"])
@pytest.mark.parametrize("raw", ["[]", '["192.0.2.1"]', "true", "null"])
def test_body_that_is_json_but_not_an_object_is_422(me, me_browser, plain_user, operation, raw):
    path = f"/api/users/{plain_user.pk}/tokens"
    before = state()

    if operation == "create":
        response = me_browser.call("post", path, raw=raw)
    else:
        response = me.call("patch", f"{path}/{me.token.pk}", raw=raw)

    assert response.status_code == 422, response.content
    assert set(response.json()) == {"detail", "errors"}
    assert state() == before


# whose tokens: your own always, another user's only with the permission

OTHERS_TOKENS = [
    ("get", "/api/users/{user}/tokens", NO_BODY),
    ("post", "/api/users/{user}/tokens", {"long_term": True}),
    ("patch", "/api/users/{user}/tokens/{token}", {"ip_allowlist": ["192.0.2.1"]}),
    ("delete", "/api/users/{user}/tokens/{token}", NO_BODY),
]


@pytest.mark.parametrize(("method", "path", "body"), OTHERS_TOKENS)
@pytest.mark.parametrize("user_exists", [True, False], ids=["user-exists", "no-such-user"])
def test_managing_another_users_tokens_without_the_permission_is_403(
    me, bob, bobs_token, method, path, body, user_exists
):
    user_id = bob.pk if user_exists else 999999
    before = state()

    response = me.call(method, path.format(user=user_id, token=bobs_token[0].pk), body)

    assert_error(response, 403)
    assert state() == before


@pytest.mark.parametrize(("method", "path", "body"), OTHERS_TOKENS)
def test_a_viewer_or_user_admin_without_the_token_permission_is_403(bob, bobs_token, method, path, body):
    helper = Script.of(
        grant(UserFactory(username="helper"), "accounts.view_user", "accounts.change_user", "accounts.delete_user")
    )
    before = state()

    response = helper.call(method, path.format(user=bob.pk, token=bobs_token[0].pk), body)

    assert_error(response, 403)
    assert state() == before


@pytest.mark.parametrize(("method", "body"), [("patch", {"ip_allowlist": ["192.0.2.1"]}), ("delete", NO_BODY)])
@pytest.mark.parametrize("caller", ["me", "admin"])
def test_another_users_token_under_your_own_user_id_is_404(request, bobs_token, caller, method, body):
    script = request.getfixturevalue(caller)
    before = state()

    response = script.call(method, f"/api/users/{script.user.pk}/tokens/{bobs_token[0].pk}", body)

    assert_error(response, 404)
    assert state() == before


@pytest.fixture
def token_admin():
    """Not a superuser: only the permission to manage other users' tokens."""
    return Script.of(grant(UserFactory(username="token-admin"), MANAGE_OTHERS))


def test_admin_with_the_permission_lists_another_users_tokens(token_admin, bob, bobs_token):
    response = token_admin.call("get", f"/api/users/{bob.pk}/tokens")

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["items"]] == [bobs_token[0].pk]
    assert bobs_token[1] not in response.content.decode()


def test_admin_with_the_manage_permission_cannot_create_a_token_for_another_user(token_admin, bob):
    """Creating one for someone else needs tokens.create_others_tokens (tests/integration/test_token_safeguards.py)."""
    before = state()

    response = Browser.of(token_admin.user).call("post", f"/api/users/{bob.pk}/tokens", {"long_term": True})

    assert_error(response, 403)
    assert state() == before


def test_admin_with_the_create_permission_creates_a_token_that_acts_as_its_owner(bob):
    grant_api_module(bob)  # bob's tokens may call the API at all
    creator = Browser.of(
        grant(UserFactory(username="token-creator"), "tokens.create_others_tokens", "accounts.use_api")
    )

    response = creator.call("post", f"/api/users/{bob.pk}/tokens", {"long_term": True, "name": "for bob"})

    assert response.status_code == 201
    token = AccessToken.objects.get(pk=response.json()["id"])
    assert token.user_id == bob.pk
    assert_api_event("token.create", creator, token.pk)
    assert Script(response.json()["bearer"]).whoami().json()["username"] == "bob"


def test_admin_with_the_permission_modifies_another_users_token(token_admin, bob, bobs_token):
    token, secret = bobs_token

    response = token_admin.call("patch", f"/api/users/{bob.pk}/tokens/{token.pk}", {"ip_allowlist": ["192.0.2.7"]})

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.ip_allowlist == ["192.0.2.7"]
    assert_api_event("token.update", token_admin, token.pk)
    assert secret not in response.content.decode()


def test_admin_with_the_permission_deletes_another_users_token(token_admin, bob, bobs_token):
    token, secret = bobs_token

    response = token_admin.call("delete", f"/api/users/{bob.pk}/tokens/{token.pk}")

    assert response.status_code == 204
    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert_api_event("token.delete", token_admin, token.pk)
    assert_error(Script(bearer_string(token.pk, secret)).whoami(), 401)


def test_superuser_manages_another_users_tokens(admin, bob, bobs_token):
    response = admin.call("delete", f"/api/users/{bob.pk}/tokens/{bobs_token[0].pk}")

    assert response.status_code == 204


@pytest.mark.parametrize(("method", "path", "body"), [call for call in OTHERS_TOKENS if call[0] != "post"])
@pytest.mark.parametrize("user_id", [999999, 2**63 - 1, 2**63, 10**30])
def test_admin_with_the_permission_gets_404_for_an_unknown_user(token_admin, bobs_token, method, path, body, user_id):
    before = state()

    response = token_admin.call(method, path.format(user=user_id, token=bobs_token[0].pk), body)

    assert_error(response, 404)
    assert state() == before


@pytest.mark.parametrize(("method", "body"), [("patch", {"name": "x"}), ("delete", NO_BODY)])
@pytest.mark.parametrize("token_id", [999999, 0, 2**63 - 1, 2**63, 10**30])
def test_unknown_token_id_is_404(me, plain_user, method, body, token_id):
    before = state()

    response = me.call(method, f"/api/users/{plain_user.pk}/tokens/{token_id}", body)

    assert_error(response, 404)
    assert state() == before


def test_token_of_a_deleted_user_stops_working(admin, bob, bobs_token):
    token, secret = bobs_token

    admin.call("delete", f"/api/users/{bob.pk}")

    assert not AccessToken.objects.filter(pk=token.pk).exists()
    assert_error(Script(bearer_string(token.pk, secret)).whoami(), 401)


def test_token_lists_are_paged_like_every_list(me, plain_user):
    for number in range(3):
        Script.of(plain_user, name=f"extra-{number}")

    first = me.call("get", f"/api/users/{plain_user.pk}/tokens", limit=2).json()
    past = me.call("get", f"/api/users/{plain_user.pk}/tokens", page=9, size=2).json()

    assert (len(first["items"]), first["total"]) == (2, 4)
    assert past == {"items": [], "total": 4, "page": 9, "size": 2}
