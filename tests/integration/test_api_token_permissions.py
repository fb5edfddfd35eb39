"""Fine-grained tokens: a token does what its owner may do now *and* its own set names, never more.

The property test draws owners, token sets and endpoints and calls the endpoints through real
Bearer requests; the expectation is written from the rule itself, not from the code. The other tests
cover creating and changing a token's set (API and pages), its validation and the token list.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from core.audit import Origin
from tests.factories import UserFactory
from tests.integration.api_script import Browser, Script, assert_error, grant_api_module
from tests.integration.conftest import events, grant, logged_in_client
from tokens.credentials import bearer_string
from tokens.models import AccessToken
from tokens.services import token_create

pytestmark = pytest.mark.django_db

COMMAND = Origin.command("pytest")
POOL = (
    "accounts.view_user",
    "accounts.change_user",
    "tokens.manage_others_tokens",
    "passkeys.manage_others_passkeys",
    "mfa.reset_two_factor",
    "organisation.view_company",
)
# Real requests on another user, and the one permission each needs (anything else it needs, the owner has).
ENDPOINTS = {
    "users_list": ("get", "/api/users", None, "accounts.view_user"),
    "user_get": ("get", "/api/users/{target}", None, "accounts.view_user"),
    "user_update": ("patch", "/api/users/{target}", {"expires_at": None}, "accounts.change_user"),
    "tokens_list": ("get", "/api/users/{target}/tokens", None, "tokens.manage_others_tokens"),
    "passkeys_list": ("get", "/api/users/{target}/passkeys", None, "passkeys.manage_others_passkeys"),
    "two_factor": ("get", "/api/users/{target}/two-factor", None, "mfa.reset_two_factor"),
}
PROBE = hypothesis_settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _fresh(user):
    """The user as stored, without cached permissions."""
    return type(user).objects.get(pk=user.pk)


@PROBE
@given(
    holds=st.sets(st.sampled_from(POOL)),
    lost=st.sets(st.sampled_from(POOL)),
    token_set=st.none() | st.sets(st.sampled_from(POOL)),
    superuser=st.booleans(),
)
def test_a_token_never_does_what_its_owner_or_its_set_does_not_allow(db, holds, lost, token_set, superuser):
    """``lost``: permissions the owner held when the token was made and has lost since."""
    with transaction.atomic():
        owner = UserFactory(username="owner", is_superuser=superuser)
        target = UserFactory(username="target")
        grant(owner, *holds, *lost, *(token_set or ()))
        script = Script.of(_fresh(owner), permissions=None if token_set is None else sorted(token_set))
        owner.user_permissions.remove(
            *owner.user_permissions.filter(
                codename__in=[p.split(".")[1] for p in (lost | (token_set or set())) - holds]
            )
        )
        for name, (method, path, body, needed) in ENDPOINTS.items():
            owner_may = superuser or needed in holds
            token_may = token_set is None or needed in token_set
            args = () if body is None else (body,)
            response = script.call(method, path.format(target=target.pk), *args)
            expected = 200 if owner_may and token_may else 403
            assert response.status_code == expected, (name, holds, lost, token_set, superuser, response.content)
        transaction.set_rollback(True)


# Creating and changing a token's set through the API


@pytest.fixture
def viewer(db):
    """A user who may see and change users, and holds the API module."""
    user = UserFactory(username="vera")
    grant(user, "accounts.view_user", "accounts.change_user", "organisation.view_company")
    grant_api_module(user)
    return _fresh(user)


def _create(browser, owner, **fields):
    return browser.call("post", f"/api/users/{owner.pk}/tokens", {"long_term": True, **fields})


def test_a_token_made_with_a_set_carries_it_sorted(viewer):
    response = _create(Browser.of(viewer), viewer, permissions=["organisation.view_company", "accounts.view_user"])

    assert response.status_code == 201, response.content
    assert response.json()["permissions"] == ["accounts.view_user", "organisation.view_company"]
    (event,) = events("token.create")
    assert event.details["permissions"] == ["accounts.view_user", "organisation.view_company"]


def test_a_token_made_without_a_set_carries_all_of_its_owners(viewer):
    response = _create(Browser.of(viewer), viewer)

    assert response.status_code == 201
    assert response.json()["permissions"] is None


def test_a_read_only_token_reads_and_changes_nothing(viewer):
    other = UserFactory(username="otto")
    script = Script.of(viewer, permissions=["accounts.view_user"])

    assert script.call("get", "/api/users").status_code == 200
    assert script.call("get", f"/api/users/{other.pk}").status_code == 200
    assert_error(script.call("patch", f"/api/users/{other.pk}", {"expires_at": None}), 403)
    assert_error(script.call("delete", f"/api/users/{other.pk}"), 403)


def test_an_empty_set_leaves_the_token_only_its_owners_own_things(viewer):
    script = Script.of(viewer, permissions=[])

    assert script.whoami().status_code == 200
    assert script.call("get", f"/api/users/{viewer.pk}/tokens").status_code == 200
    assert_error(script.call("get", "/api/users"), 403)


@pytest.mark.parametrize(
    ("permissions", "message"),
    [
        (["accounts.no_such_thing"], "Not a function permission"),
        (["nonsense"], "Not a function permission"),
        ([""], "Not a function permission"),
        (["accounts.use_api"], "Not a function permission"),
        (["accounts.delete_user"], "vera does not hold accounts.delete_user"),
        ([c * 10_000 for c in "xyz"], "Not a function permission"),
        ([f"p{i}" for i in range(5000)], "Not a function permission"),
        (["accounts.view_user", "accounts.view_user"], "Name each permission once."),
    ],
)
def test_a_set_with_names_the_owner_does_not_hold_is_422(viewer, permissions, message):
    response = _create(Browser.of(viewer), viewer, permissions=permissions)

    body = assert_error(response, 422, ["permissions"])
    assert message in body["errors"]["permissions"][0]
    assert len(body["errors"]["permissions"][0]) < 400
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    "permissions", ["accounts.view_user", [1], [None], {"a": 1}, True, ["accounts.view_user\x00"], [["x"]]]
)
def test_a_set_of_the_wrong_type_is_422(viewer, permissions):
    response = _create(Browser.of(viewer), viewer, permissions=permissions)

    body = assert_error(response, 422, list(response.json()["errors"]))
    assert all(field.startswith("permissions") for field in body["errors"])
    assert not AccessToken.objects.exists()


def test_a_token_cannot_change_any_tokens_permissions(viewer):
    """A read-only token must not widen itself or a sibling: changing permissions needs a browser session."""
    script = Script.of(viewer, permissions=["accounts.view_user"])
    sibling, _secret = token_create(origin=COMMAND, user=viewer, long_term=True, permissions=[])

    for token in (script.token, sibling):
        response = script.call("patch", f"/api/users/{viewer.pk}/tokens/{token.pk}", {"permissions": None})
        assert_error(response, 403)

    assert AccessToken.objects.get(pk=script.token.pk).permissions == ["accounts.view_user"]
    assert AccessToken.objects.get(pk=sibling.pk).permissions == []
    # Its name it may still change, as before.
    assert script.call("patch", f"/api/users/{viewer.pk}/tokens/{sibling.pk}", {"name": "ci"}).status_code == 200


def test_a_browser_session_changes_a_tokens_permissions_and_the_change_is_audited(viewer):
    token, secret = token_create(origin=COMMAND, user=viewer, long_term=True)
    browser = Browser.of(viewer)

    response = browser.call(
        "patch", f"/api/users/{viewer.pk}/tokens/{token.pk}", {"permissions": ["accounts.view_user"]}
    )

    assert response.status_code == 200, response.content
    assert response.json()["permissions"] == ["accounts.view_user"]
    (event,) = events("token.update")
    assert event.details["changes"] == {"permissions": {"from": None, "to": ["accounts.view_user"]}}
    script = Script(bearer_string(token.pk, secret))
    assert_error(script.call("patch", f"/api/users/{viewer.pk}", {"expires_at": None}), 403)


def test_changing_permissions_from_a_stale_browser_session_is_refused(viewer):
    token, _secret = token_create(origin=COMMAND, user=viewer, long_term=True)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        browser = Browser.of(viewer)
        clock.shift(settings.PANEL_REAUTH_SECONDS + 1)

        response = browser.call("patch", f"/api/users/{viewer.pk}/tokens/{token.pk}", {"permissions": []})

    assert "needs a recent login" in assert_error(response, 403)["detail"]
    assert AccessToken.objects.get(pk=token.pk).permissions is None


def test_a_limited_token_authenticates_in_one_query(viewer, django_assert_num_queries):
    script = Script.of(viewer, permissions=["accounts.view_user"])
    with time_machine.travel(datetime(2027, 3, 1, 12, 0, tzinfo=UTC), tick=False):
        assert script.whoami().status_code == 200  # the first use writes last_used_at

        with django_assert_num_queries(1):
            response = script.whoami()

    assert response.status_code == 200


# The token list: permissions and tokens unused for 90 days


def test_the_api_list_marks_tokens_unused_for_90_days(viewer):
    made = datetime(2030, 1, 1, tzinfo=UTC)
    with time_machine.travel(made, tick=False):
        old, _ = token_create(origin=COMMAND, user=viewer, long_term=True, name="old")
        used = Script.of(viewer, name="used")
    with time_machine.travel(made + timedelta(days=89), tick=False):
        assert used.whoami().status_code == 200
    with time_machine.travel(made + timedelta(days=91), tick=False):
        items = used.call("get", f"/api/users/{viewer.pk}/tokens").json()["items"]

    assert {item["name"]: item["unused"] for item in items} == {"old": True, "used": False}


def test_the_page_shows_each_tokens_permissions_and_marks_unused_ones(viewer):
    made = datetime(2030, 1, 1, tzinfo=UTC)
    with time_machine.travel(made, tick=False):
        all_of_them, _ = token_create(origin=COMMAND, user=viewer, long_term=True)
        limited, _ = token_create(origin=COMMAND, user=viewer, long_term=True, permissions=["accounts.view_user"])
    with time_machine.travel(made + timedelta(days=91), tick=False):
        page = logged_in_client(viewer).get(f"/users/{viewer.pk}/tokens/").content.decode()

    row = page[page.index(f'<tr id="token-{all_of_them.pk}">') :]
    assert "All of the owner's" in row[: row.index("</tr>")]
    assert "Unused for 90 days" in row[: row.index("</tr>")]
    row = page[page.index(f'<tr id="token-{limited.pk}">') :]
    assert "See users (the Users module)" in row[: row.index("</tr>")]


# The pages: the Create Token dialog and the Modify page


def _post_new(client, owner, **fields):
    data = {"name": "ci", "long_term": "on", **fields}
    return client.post(f"/users/{owner.pk}/tokens/new/", data)


def test_the_dialog_offers_only_the_owners_permissions_grouped(viewer):
    page = logged_in_client(viewer).get(f"/users/{viewer.pk}/tokens/new/", HTTP_HX_REQUEST="true").content.decode()

    assert 'value="read_only"' in page
    assert 'value="accounts.view_user"' in page
    assert 'value="organisation.view_company"' in page
    assert 'value="accounts.delete_user"' not in page
    assert 'value="accounts.use_api"' not in page


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, None),
        ({"access": "all", "permissions": ["accounts.view_user"]}, None),
        ({"access": "read_only"}, ["accounts.view_user", "organisation.view_company"]),
        ({"access": "chosen", "permissions": ["accounts.change_user"]}, ["accounts.change_user"]),
        ({"access": "chosen"}, []),
    ],
)
def test_the_dialog_makes_the_token_chosen_without_javascript(viewer, fields, expected):
    response = _post_new(logged_in_client(viewer), viewer, **fields)

    assert response.status_code == 302
    assert AccessToken.objects.get(user=viewer).permissions == expected


def test_the_dialog_refuses_a_permission_the_owner_does_not_hold(viewer):
    response = _post_new(logged_in_client(viewer), viewer, access="chosen", permissions=["accounts.delete_user"])

    assert response.status_code == 400
    assert not AccessToken.objects.exists()


def test_the_modify_page_changes_the_set_and_shows_it(viewer):
    token, _ = token_create(origin=COMMAND, user=viewer, long_term=True)
    client = logged_in_client(viewer)
    url = f"/users/{viewer.pk}/tokens/{token.pk}/edit/"
    form = {
        "name": "",
        "ip_allowlist": "",
        "long_term": "on",
        "access": "chosen",
        "permissions": ["accounts.view_user"],
    }

    assert client.post(url, form).status_code == 302

    assert AccessToken.objects.get(pk=token.pk).permissions == ["accounts.view_user"]
    page = client.get(url).content.decode()
    assert re.search(r'<input type="radio" name="access" value="chosen"[^>]* checked', page)
    assert re.search(r'<input type="checkbox" name="permissions" value="accounts.view_user"[^>]* checked', page)


def test_changing_permissions_on_a_stale_page_asks_for_the_password_first(viewer):
    token, _ = token_create(origin=COMMAND, user=viewer, long_term=True)
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        client = logged_in_client(viewer)
        clock.shift(settings.PANEL_REAUTH_SECONDS + 1)
        response = client.post(
            f"/users/{viewer.pk}/tokens/{token.pk}/edit/", {"long_term": "on", "access": "chosen", "permissions": []}
        )

    assert response.status_code == 200
    assert "_reauth_password" in response.content.decode()
    assert AccessToken.objects.get(pk=token.pk).permissions is None
