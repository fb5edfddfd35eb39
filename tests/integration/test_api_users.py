"""The user endpoints of the JSON API, called as a script would: with a Bearer access token.

Each success is checked where it lands (the database and the audit event); each refusal by
its status, the one error shape and an unchanged database; each validation message against
the one the HTML page shows for the same input.
"""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.api_script import NO_BODY, Browser, Script, assert_error
from tests.integration.conftest import (
    NEW_PASSWORD,
    events,
    grant,
    logged_in_client,
    session_exists,
    session_key_of,
)

pytestmark = pytest.mark.django_db

HUGE_IDS = [2**63 - 1, 2**63, 10**30]
VALID = {"username": "carol", "email": "carol@example.com", "password": NEW_PASSWORD}


def assert_api_event(action, script, target):
    """The one successful ``action`` event: by the script's owner, through the API, naming its token (if any)."""
    (event,) = events(action, outcome=AuditEvent.Outcome.SUCCESS)
    assert event.actor_id == script.user.pk
    assert event.target_type == "user"
    assert event.target_id == str(target.pk)
    assert event.details["via"] == "api"
    assert event.details.get("credential") == (script.token.pk if script.token is not None else None)
    return event


def user_rows():
    """Every user as stored, to show that a refused request changed nothing."""
    return list(User.objects.order_by("pk").values("pk", "username", "email", "password", "is_superuser"))


def state():
    """The users and the user events (token events are the fixtures' own)."""
    return user_rows(), list(AuditEvent.objects.filter(action__startswith="user.").values_list("pk", flat=True))


def page_errors(response):
    """A page's form errors as ``{field: [message, ...]}``, the shape the API answers."""
    return {field: list(messages) for field, messages in response.context["form"].errors.items()}


@pytest.fixture
def admin(admin_user):
    return Script.of(admin_user)


@pytest.fixture
def plain(plain_user):
    return Script.of(plain_user)


@pytest.fixture
def admin_browser(admin_user):
    """The admin's browser: passwords change through the API only with a session (a token is refused)."""
    return Browser.of(admin_user)


@pytest.fixture
def plain_browser(plain_user):
    return Browser.of(plain_user)


@pytest.fixture
def bob(other_user):
    return other_user


# success paths


def test_user_info_is_the_tokens_owner(plain, plain_user):
    response = plain.call("get", "/api/user/info")

    assert response.status_code == 200
    body = response.json()
    assert body.pop("date_joined").startswith(plain_user.date_joined.strftime("%Y-%m-%dT%H:%M:%S"))
    assert body == {
        "id": plain_user.pk,
        "username": "plain",
        "email": plain_user.email,
        "is_active": True,
        "is_superuser": False,
        "expires_at": None,
        "company_id": None,
        "parent_id": None,
        "language": "",
        "time_zone": "",
    }


def test_list_users_returns_total_items_page_and_size(admin, admin_user, bob):
    response = admin.call("get", "/api/users")

    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["page"], body["size"]) == (2, 1, 20)
    assert [item["username"] for item in body["items"]] == ["bob", "admin"]
    assert set(body["items"][0]) == {
        "id",
        "username",
        "email",
        "is_active",
        "is_superuser",
        "date_joined",
        "expires_at",
        "company_id",
        "parent_id",
        "language",
        "time_zone",
    }


def test_list_users_pages_newest_first(admin):
    for n in range(5):
        UserFactory(username=f"u{n}")

    body = admin.call("get", "/api/users", page=2, size=2).json()

    assert (body["total"], body["page"], body["size"]) == (6, 2, 2)
    assert [item["username"] for item in body["items"]] == ["u2", "u1"]


def test_list_users_past_the_last_page_is_empty_with_the_total(admin, bob):
    """A script looping "until the page is empty" stops (it used to get the last page again, forever)."""
    body = admin.call("get", "/api/users", page=50, size=1).json()

    assert body == {"items": [], "total": 2, "page": 50, "size": 1}


def test_a_script_paging_until_empty_sees_every_user_once(admin, bob):
    seen, page = [], 1
    while items := admin.call("get", "/api/users", page=page, limit=1).json()["items"]:
        seen += [item["username"] for item in items]
        page += 1

    assert sorted(seen) == ["admin", "bob"]


def test_limit_is_acepanels_name_for_size_and_size_wins(admin, bob):
    assert admin.call("get", "/api/users", limit=1).json()["size"] == 1
    assert admin.call("get", "/api/users", limit=1, size=2).json()["size"] == 2


@pytest.mark.parametrize("query", [{"size": 201}, {"limit": 0}, {"page": 0}, {"size": "x"}, {"limit": -5}])
def test_paging_out_of_bounds_is_422(admin, query):
    assert_error(admin.call("get", "/api/users", **query), 422, fields=list(query))


def _queries(call):
    with CaptureQueriesContext(connection) as captured:
        response = call()
    assert response.status_code == 200
    return len(captured)


def test_list_users_costs_as_many_queries_for_twenty_users_as_for_one(admin):
    for n in range(20):
        UserFactory(username=f"u{n}")
    admin.call("get", "/api/users")  # the total is now cached and the token's last use noted

    one = _queries(lambda: admin.call("get", "/api/users", size=1))
    twenty = _queries(lambda: admin.call("get", "/api/users", size=20))

    assert twenty == one


@pytest.mark.parametrize("term", ["ali", "ALI", "alice@ex", "  alice  "])
def test_list_users_search_matches_the_start_of_username_or_email_ignoring_case(admin, term):
    UserFactory(username="alice", email="alice@example.com")
    UserFactory(username="malia", email="malia@example.com")

    body = admin.call("get", "/api/users", search=term).json()

    assert body["total"] == 1
    assert [item["username"] for item in body["items"]] == ["alice"]


def test_get_user_returns_the_user(admin, bob):
    response = admin.call("get", f"/api/users/{bob.pk}")

    assert response.status_code == 200
    assert response.json()["username"] == "bob"
    assert response.json()["email"] == "bob@example.com"


def test_user_without_view_permission_can_get_their_own_record(plain, plain_user):
    response = plain.call("get", f"/api/users/{plain_user.pk}")

    assert response.status_code == 200
    assert response.json()["id"] == plain_user.pk


def test_create_user_saves_it_and_audits_it_as_the_tokens_call(admin):
    response = admin.call("post", "/api/users", VALID)

    assert response.status_code == 201
    carol = User.objects.get(username="carol")
    assert response.json()["id"] == carol.pk
    assert carol.email == "carol@example.com"
    assert carol.check_password(NEW_PASSWORD)
    assert not carol.is_superuser
    assert_api_event("user.create", admin, carol)


def test_create_user_answer_carries_no_password(admin):
    response = admin.call("post", "/api/users", VALID)

    assert "password" not in response.json()
    assert NEW_PASSWORD not in response.content.decode()


def test_create_user_ignores_fields_the_schema_does_not_have(admin):
    response = admin.call(
        "post",
        "/api/users",
        {**VALID, "is_superuser": True, "is_active": False},
    )

    assert response.status_code == 201
    carol = User.objects.get(username="carol")
    assert (carol.is_superuser, carol.is_active) == (False, True)


def test_update_user_changes_username_and_email_and_audits_it(admin, bob):
    response = admin.call("patch", f"/api/users/{bob.pk}", {"username": "robert", "email": "robert@example.com"})

    assert response.status_code == 200
    assert response.json()["username"] == "robert"
    bob.refresh_from_db()
    assert (bob.username, bob.email) == ("robert", "robert@example.com")
    event = assert_api_event("user.update", admin, bob)
    assert event.details["changes"] == {
        "username": {"from": "bob", "to": "robert"},
        "email": {"from": "bob@example.com", "to": "robert@example.com"},
    }


def test_update_user_with_only_an_email_leaves_the_username_alone(admin, bob):
    response = admin.call("patch", f"/api/users/{bob.pk}", {"email": "robert@example.com"})

    assert response.status_code == 200
    bob.refresh_from_db()
    assert (bob.username, bob.email) == ("bob", "robert@example.com")


def test_update_user_ignores_fields_the_schema_does_not_have(admin, bob):
    response = admin.call("patch", f"/api/users/{bob.pk}", {"is_superuser": True, "password": NEW_PASSWORD})

    assert response.status_code == 200
    bob.refresh_from_db()
    assert not bob.is_superuser
    assert bob.check_password(DEFAULT_PASSWORD)
    assert events("user.update") == []


def test_set_another_users_password_saves_it_and_audits_it(admin_browser, bob):
    response = admin_browser.call("put", f"/api/users/{bob.pk}/password", {"password": NEW_PASSWORD})

    assert response.status_code == 204
    assert response.content == b""
    bob.refresh_from_db()
    assert bob.check_password(NEW_PASSWORD)
    event = assert_api_event("user.password_change", admin_browser, bob)
    assert event.details["self"] is False


def test_set_another_users_password_ends_their_sessions(admin_browser, bob):
    browser = logged_in_client(bob)
    key = session_key_of(browser)

    admin_browser.call("put", f"/api/users/{bob.pk}/password", {"password": NEW_PASSWORD})

    assert not session_exists(key)


def test_set_another_users_password_does_not_ask_for_theirs(admin_browser, bob):
    response = admin_browser.call(
        "put", f"/api/users/{bob.pk}/password", {"password": NEW_PASSWORD, "current_password": "whatever"}
    )

    assert response.status_code == 204
    assert User.objects.get(pk=bob.pk).check_password(NEW_PASSWORD)


def test_change_own_password_with_the_current_password(plain_browser, plain_user):
    response = plain_browser.call(
        "put",
        f"/api/users/{plain_user.pk}/password",
        {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD},
    )

    assert response.status_code == 204
    assert User.objects.get(pk=plain_user.pk).check_password(NEW_PASSWORD)
    event = assert_api_event("user.password_change", plain_browser, plain_user)
    assert event.details["self"] is True


def test_change_own_password_without_the_current_password_is_refused(plain_browser, plain_user):
    before = state()

    response = plain_browser.call("put", f"/api/users/{plain_user.pk}/password", {"password": NEW_PASSWORD})

    body = assert_error(response, 422, ["current_password"])
    assert body["errors"]["current_password"] == ["Your current password is required."]
    assert state() == before


def test_change_own_password_with_a_wrong_current_password_is_refused_and_audited(plain_browser, plain_user):
    response = plain_browser.call(
        "put",
        f"/api/users/{plain_user.pk}/password",
        {"current_password": "Not-my-pass-1", "password": NEW_PASSWORD},
    )

    body = assert_error(response, 422, ["current_password"])
    assert body["errors"]["current_password"] == ["Your current password is not correct."]
    assert User.objects.get(pk=plain_user.pk).check_password(DEFAULT_PASSWORD)
    (event,) = events("user.password_change")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.details["via"] == "api"


def test_delete_user_removes_it_and_audits_it(admin, bob):
    response = admin.call("delete", f"/api/users/{bob.pk}")

    assert response.status_code == 204
    assert not User.objects.filter(pk=bob.pk).exists()
    assert_api_event("user.delete", admin, bob)


def test_delete_user_removes_its_tokens(admin, bob):
    bobs = Script.of(bob)

    admin.call("delete", f"/api/users/{bob.pk}")

    assert bobs.call("get", "/api/user/info").status_code == 401


def test_deleting_the_last_user_is_409_and_deletes_nothing(admin, admin_user):
    response = admin.call("delete", f"/api/users/{admin_user.pk}")

    body = assert_error(response, 409)
    assert body["detail"] == "The last user cannot be deleted: at least one user must remain."
    assert User.objects.filter(pk=admin_user.pk).exists()
    (event,) = events("user.delete")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert (event.details["via"], event.details["credential"]) == ("api", admin.token.pk)


# browsers and scripts


def test_script_with_a_token_needs_no_csrf_token(admin):
    admin.client = Client(enforce_csrf_checks=True)

    response = admin.call("post", "/api/users", VALID)

    assert response.status_code == 201


def test_logged_in_browser_reads_the_api_with_its_session(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)

    response = browser.get("/api/user/info")

    assert response.status_code == 200
    assert response.json()["username"] == "admin"


def test_logged_in_browser_without_the_csrf_token_cannot_change_anything(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)
    before = state()

    response = browser.post("/api/users", json.dumps(VALID), content_type="application/json")

    assert_error(response, 403)
    assert state() == before


def test_logged_in_browser_with_the_csrf_token_can_change_things(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)
    browser.get("/users/new/")  # sets the CSRF cookie, as any page does

    response = browser.post(
        "/api/users",
        json.dumps(VALID),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value,
    )

    assert response.status_code == 201
    (event,) = events("user.create")
    assert event.details["via"] == "api"
    assert "credential" not in event.details


def test_request_without_credentials_is_401(client):
    response = client.get("/api/users")

    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


# permissions: a token does what its owner may, never more

REFUSED_TO_A_PLAIN_USER = [
    ("get", "/api/users", NO_BODY),
    ("get", "/api/users/{other}", NO_BODY),
    ("post", "/api/users", VALID),
    ("patch", "/api/users/{other}", {"username": "robert"}),
    ("patch", "/api/users/{own}", {"username": "renamed"}),
    ("put", "/api/users/{other}/password", {"password": NEW_PASSWORD}),
    ("delete", "/api/users/{other}", NO_BODY),
    ("delete", "/api/users/{own}", NO_BODY),
    # An id that does not exist answers the same, so ids cannot be probed.
    ("get", "/api/users/999999", NO_BODY),
    ("patch", "/api/users/999999", {"username": "robert"}),
    ("put", "/api/users/999999/password", {"password": NEW_PASSWORD}),
    ("delete", "/api/users/999999", NO_BODY),
]


@pytest.mark.parametrize(("method", "path", "body"), REFUSED_TO_A_PLAIN_USER)
def test_token_of_a_user_without_permissions_is_forbidden(plain, plain_user, bob, method, path, body):
    before = state()

    response = plain.call(method, path.format(other=bob.pk, own=plain_user.pk), body)

    assert_error(response, 403)
    assert state() == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/users", VALID),
        ("patch", "/api/users/{other}", {"username": "robert"}),
        ("put", "/api/users/{other}/password", {"password": NEW_PASSWORD}),
        ("delete", "/api/users/{other}", NO_BODY),
    ],
)
def test_token_of_a_viewer_can_read_but_not_change(bob, method, path, body):
    viewer = Script.of(grant(UserFactory(username="viewer"), "accounts.view_user"))
    assert viewer.call("get", "/api/users").status_code == 200
    assert viewer.call("get", f"/api/users/{bob.pk}").status_code == 200
    before = state()

    response = viewer.call(method, path.format(other=bob.pk), body)

    assert_error(response, 403)
    assert state() == before


@pytest.mark.parametrize(
    ("perm", "method", "path", "body", "status"),
    [
        ("accounts.view_user", "get", "/api/users", NO_BODY, 200),
        (
            "accounts.add_user",
            "post",
            "/api/users",
            VALID,
            201,
        ),
        ("accounts.change_user", "patch", "/api/users/{other}", {"username": "robert"}, 200),
        # Never a password, whatever the owner may do: a token cannot change credentials.
        ("accounts.change_user", "put", "/api/users/{other}/password", {"password": NEW_PASSWORD}, 403),
        ("accounts.delete_user", "delete", "/api/users/{other}", NO_BODY, 204),
    ],
)
def test_token_acts_with_the_permission_its_owner_was_granted(bob, perm, method, path, body, status):
    script = Script.of(grant(UserFactory(username="helper"), perm))

    response = script.call(method, path.format(other=bob.pk), body)

    assert response.status_code == status


def test_permission_taken_from_the_owner_is_refused_to_the_token_at_once(bob):
    helper = grant(UserFactory(username="helper"), "accounts.view_user")
    script = Script.of(helper)
    assert script.call("get", "/api/users").status_code == 200

    helper.user_permissions.clear()

    assert_error(script.call("get", "/api/users"), 403)


# unknown ids


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/users/{id}", NO_BODY),
        ("patch", "/api/users/{id}", {"username": "robert"}),
        ("put", "/api/users/{id}/password", {"password": NEW_PASSWORD}),
        ("delete", "/api/users/{id}", NO_BODY),
    ],
)
@pytest.mark.parametrize("user_id", [999999, 0, *HUGE_IDS])
def test_unknown_user_id_is_404(request, method, path, body, user_id):
    caller = request.getfixturevalue("admin_browser" if path.endswith("/password") else "admin")
    before = state()

    response = caller.call(method, path.format(id=user_id), body)

    assert_error(response, 404)
    assert state() == before


# bad input: the documented status and shape, never a 500, nothing written

BAD_CREATE_BODIES = [
    pytest.param({}, {"username", "email", "password"}, id="empty-object"),
    pytest.param({"email": "carol@example.com", "password": NEW_PASSWORD}, {"username"}, id="missing-username"),
    pytest.param({"username": "carol", "password": NEW_PASSWORD}, {"email"}, id="missing-email"),
    pytest.param({"username": "carol", "email": "carol@example.com"}, {"password"}, id="missing-password"),
    pytest.param({**VALID, "username": 42}, {"username"}, id="username-int"),
    pytest.param({**VALID, "username": None}, {"username"}, id="username-null"),
    pytest.param({**VALID, "username": ["carol"]}, {"username"}, id="username-list"),
    pytest.param({**VALID, "email": {"a": 1}}, {"email"}, id="email-object"),
    pytest.param({**VALID, "password": 12345678}, {"password"}, id="password-int"),
    pytest.param({**VALID, "password": True}, {"password"}, id="password-bool"),
    pytest.param({**VALID, "username": "bad name!"}, {"username"}, id="username-space-and-bang"),
    pytest.param({**VALID, "username": "carol@home"}, {"username"}, id="username-at"),
    pytest.param({**VALID, "username": "câröl"}, {"username"}, id="username-non-ascii"),
    pytest.param({**VALID, "username": "car\x00ol"}, {"username"}, id="username-nul"),
    pytest.param({**VALID, "username": "c" * 33}, {"username"}, id="username-too-long"),
    pytest.param({**VALID, "username": "BOB"}, {"username"}, id="username-taken-in-other-case"),
    pytest.param({**VALID, "email": "nope"}, {"email"}, id="email-no-at"),
    pytest.param({**VALID, "email": "carol@"}, {"email"}, id="email-no-domain"),
    pytest.param({**VALID, "email": "carol@exa mple.com"}, {"email"}, id="email-space"),
    pytest.param({**VALID, "password": "Sh0rt!"}, {"password"}, id="password-too-short"),
    pytest.param({**VALID, "password": "Aa1!" * 6}, {"password"}, id="password-too-long"),
    pytest.param({**VALID, "password": "abcdefghij"}, {"password"}, id="password-letters-only"),
    pytest.param({**VALID, "password": "password1"}, {"password"}, id="password-common"),
    pytest.param({**VALID, "password": "x" * 100_000}, {"password"}, id="password-huge"),
    pytest.param({"username": "bad name", "email": "nope", "password": "short"}, {"username", "email", "password"}),
]


@pytest.mark.parametrize(("body", "fields"), BAD_CREATE_BODIES)
def test_create_user_with_bad_values_is_422_naming_each_field_and_creates_nothing(admin, bob, body, fields):
    before = state()

    response = admin.call("post", "/api/users", body)

    assert_error(response, 422, fields)
    assert state() == before


BAD_UPDATE_BODIES = [
    pytest.param({"username": 42}, {"username"}, id="username-int"),
    pytest.param({"email": ["bob@example.org"]}, {"email"}, id="email-list"),
    pytest.param({"username": ""}, {"username"}, id="username-blank"),
    pytest.param({"username": "bad name!"}, {"username"}, id="username-chars"),
    pytest.param({"username": "ADMIN"}, {"username"}, id="username-taken-in-other-case"),
    pytest.param({"email": ""}, {"email"}, id="email-blank"),
    pytest.param({"email": "nope"}, {"email"}, id="email-invalid"),
    # The username is fine, the email is not: neither is saved.
    pytest.param({"username": "robert", "email": "nope"}, {"email"}, id="half-good"),
]


@pytest.mark.parametrize(("body", "fields"), BAD_UPDATE_BODIES)
def test_update_user_with_bad_values_is_422_and_changes_nothing(admin, bob, body, fields):
    before = state()

    response = admin.call("patch", f"/api/users/{bob.pk}", body)

    assert_error(response, 422, fields)
    assert state() == before


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        pytest.param({}, {"password"}, id="missing"),
        pytest.param({"password": None}, {"password"}, id="null"),
        pytest.param({"password": 12345678}, {"password"}, id="int"),
        pytest.param({"password": ""}, {"password"}, id="blank"),
        pytest.param({"password": "abcdefghij"}, {"password"}, id="letters-only"),
        pytest.param({"password": "password1"}, {"password"}, id="common"),
        pytest.param({"password": "bob-example"}, {"password"}, id="like-the-username"),
        pytest.param({"password": NEW_PASSWORD, "current_password": 5}, {"current_password"}, id="current-int"),
    ],
)
def test_set_password_with_bad_values_is_422_and_changes_nothing(admin_browser, bob, body, fields):
    before = state()

    response = admin_browser.call("put", f"/api/users/{bob.pk}/password", body)

    assert_error(response, 422, fields)
    assert state() == before


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"page": 0}, "page"),
        ({"page": -1}, "page"),
        ({"page": "abc"}, "page"),
        ({"page": "1.5"}, "page"),
        ({"page": 10**30}, "page"),
        ({"size": 0}, "size"),
        ({"size": 1000}, "size"),
        ({"size": "ten"}, "size"),
        ({"search": "a" * 101}, "search"),
    ],
)
def test_list_users_with_bad_query_is_422_naming_the_parameter(admin, query, field):
    response = admin.call("get", "/api/users", **query)

    assert_error(response, 422, [field])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/users"),
        ("patch", "/api/users/{other}"),
        ("put", "/api/users/{other}/password"),
    ],
)
@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        ("{not json", "application/json"),
        ('{"username": "carol",', "application/json"),
        ("username=carol&email=carol%40example.com", "application/x-www-form-urlencoded"),
        (b"\xff\xfe\x00", "application/json"),
    ],
)
def test_body_that_is_not_json_is_400(admin, bob, method, path, raw, content_type):
    before = state()

    response = admin.call(method, path.format(other=bob.pk), raw=raw, content_type=content_type)

    assert_error(response, 400)
    assert state() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/users"),
        ("patch", "/api/users/{other}"),
        ("put", "/api/users/{other}/password"),
    ],
)
@pytest.mark.parametrize("raw", ['["carol", "carol@example.com"]', "[]", '"carol"', "42", "null"])
def test_body_that_is_json_but_not_an_object_is_422(admin, bob, method, path, raw):
    before = state()

    response = admin.call(method, path.format(other=bob.pk), raw=raw)

    assert response.status_code == 422, response.content
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert body["errors"]
    assert state() == before


# validation messages: the same words as the HTML pages


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"username": "bad name!", "email": "nope", "password": "short"}, id="all-three-bad"),
        pytest.param({**VALID, "username": "BOB"}, id="username-taken-in-other-case"),
        pytest.param({**VALID, "username": "c" * 33}, id="username-too-long"),
        pytest.param({**VALID, "password": "abcdefghij"}, id="password-letters-only"),
        pytest.param({**VALID, "password": "password1"}, id="password-common"),
        pytest.param({**VALID, "password": "Aa1!" * 6}, id="password-too-long"),
        pytest.param({**VALID, "username": ""}, id="username-blank"),
        pytest.param({**VALID, "email": ""}, id="email-blank"),
        pytest.param({**VALID, "password": ""}, id="password-blank"),
    ],
)
def test_create_user_messages_are_the_create_pages(admin, admin_client, bob, data):
    page = admin_client.post("/users/new/", data)
    assert page.status_code == 400

    response = admin.call("post", "/api/users", data)

    assert response.status_code == 422
    assert response.json()["errors"] == page_errors(page)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("username", ""),
        ("username", "bad name!"),
        ("username", "ADMIN"),
        ("username", "c" * 33),
        ("email", ""),
        ("email", "nope"),
    ],
)
def test_update_user_messages_are_the_inline_edits(admin, admin_client, bob, field, value):
    page = admin_client.post(f"/users/{bob.pk}/{field}/edit/", {"value": value})
    assert page.status_code == 400

    response = admin.call("patch", f"/api/users/{bob.pk}", {field: value})

    assert response.status_code == 422
    assert response.json()["errors"] == {field: page_errors(page)["value"]}


@pytest.mark.parametrize("password", ["", "short", "abcdefghij", "password1", "bob-example"])
def test_set_password_messages_are_the_password_pages(admin_browser, admin_client, bob, password):
    page = admin_client.post(f"/users/{bob.pk}/password/", {"password": password})
    assert page.status_code == 400

    response = admin_browser.call("put", f"/api/users/{bob.pk}/password", {"password": password})

    assert response.status_code == 422
    assert response.json()["errors"] == page_errors(page)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"current_password": "Not-my-pass-1", "password": NEW_PASSWORD}, id="wrong-current"),
        pytest.param({"current_password": "", "password": NEW_PASSWORD}, id="blank-current"),
        pytest.param({"current_password": DEFAULT_PASSWORD, "password": "abcdefghij"}, id="weak-new"),
    ],
)
def test_change_own_password_messages_are_the_password_pages(admin_browser, admin_client, admin_user, data):
    page = admin_client.post(f"/users/{admin_user.pk}/password/", data)
    assert page.status_code == 400

    response = admin_browser.call("put", f"/api/users/{admin_user.pk}/password", data)

    assert response.status_code == 422
    assert response.json()["errors"] == page_errors(page)
