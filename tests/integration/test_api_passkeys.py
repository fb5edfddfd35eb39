"""The passkey endpoints of the JSON API: list and delete, and who may.

Registering needs a browser and its authenticator, so the API has no endpoint for
it: the passkeys here are registered through the service with a software
authenticator, as the pages would, and each call is made as a script would, with
a Bearer access token.
"""

import datetime
import json

import pytest

from core.models import AuditEvent
from passkeys import services
from passkeys.models import Passkey
from passkeys.relying_party import RelyingParty
from tests.factories import UserFactory
from tests.helpers import SETUP
from tests.integration.api_script import NO_BODY, Script, assert_error
from tests.integration.conftest import events, grant, logged_in_client, register_passkey
from tests.soft_authenticator import SoftAuthenticator

pytestmark = pytest.mark.django_db

MANAGE_OTHERS = "passkeys.manage_others_passkeys"
PASSKEY_FIELDS = {"id", "name", "created_at", "last_used_at", "synced", "backed_up", "aaguid", "transports"}
RP = RelyingParty("localhost", "Panel", ("http://localhost",))
HUGE_IDS = [2**63 - 1, 2**63, 10**30]


def log_in_with(authenticator):
    """A passkey login through the service: returns the user it logged in."""
    options = json.loads(services.login_options(rp=RP))
    return services.passkey_authenticate(origin=SETUP, rp=RP, credential=authenticator.login(options))


def api_time(moment):
    """``moment`` as the API sends it: ISO 8601 in UTC, to the millisecond."""
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def parsed(value):
    return datetime.datetime.fromisoformat(value) if value is not None else None


def state():
    """Every passkey and passkey event as stored, to show that a refused request changed nothing."""
    passkeys = list(Passkey.objects.order_by("pk").values("pk", "user_id", "name", "last_used_at"))
    return passkeys, [event.pk for event in events(action__startswith="passkey.")]


def assert_api_delete_event(script, passkey, owner):
    """The one ``passkey.delete`` event: by the script's owner, through the API, naming its token."""
    (event,) = events("passkey.delete")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.actor_id == script.user.pk
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details["via"] == "api"
    assert event.details["credential"] == script.token.pk
    assert (event.details["owner"], event.details["name"]) == (owner.username, passkey.name)
    return event


@pytest.fixture
def me(carol):
    """A user with no permissions at all, managing their own passkeys."""
    return Script.of(carol)


@pytest.fixture
def admin(admin_user):
    return Script.of(admin_user)


@pytest.fixture
def manager():
    """Not a superuser: only the permission to see and delete other users' passkeys."""
    return Script.of(grant(UserFactory(username="dave"), MANAGE_OTHERS))


@pytest.fixture
def carols_passkey(carol):
    return register_passkey(carol)[0]


@pytest.fixture
def bobs_passkey(other_user):
    return register_passkey(other_user, name="Bob's phone")[0]


def _url(user_id, passkey_id=None):
    path = f"/api/users/{user_id}/passkeys"
    return path if passkey_id is None else f"{path}/{passkey_id}"


# list


def test_list_own_passkeys_shows_each_newest_first(me, carol, carols_passkey):
    synced, _ = register_passkey(
        carol,
        name="Phone",
        authenticator=SoftAuthenticator(backup_eligible=True, backed_up=True, aaguid=bytes(range(16))),
    )

    response = me.call("get", _url(carol.pk))

    assert response.status_code == 200
    items = response.json()["items"]
    assert [item["id"] for item in items] == [synced.pk, carols_passkey.pk]
    assert all(set(item) == PASSKEY_FIELDS for item in items)
    assert parsed(items[1].pop("created_at")) == api_time(carols_passkey.created_at)
    assert items[1] == {
        "id": carols_passkey.pk,
        "name": "Laptop",
        "last_used_at": None,
        "synced": False,
        "backed_up": False,
        "aaguid": "00000000-0000-0000-0000-000000000000",
        "transports": ["internal", "hybrid"],
    }
    assert (items[0]["name"], items[0]["synced"], items[0]["backed_up"]) == ("Phone", True, True)
    assert items[0]["aaguid"] == "00010203-0405-0607-0809-0a0b0c0d0e0f"


def test_list_shows_when_a_passkey_last_logged_in(me, carol, carols_passkey):
    _, authenticator = register_passkey(carol, name="Used")
    assert log_in_with(authenticator) == carol

    items = me.call("get", _url(carol.pk)).json()["items"]

    used = Passkey.objects.get(name="Used")
    assert {item["name"]: parsed(item["last_used_at"]) for item in items} == {
        "Used": api_time(used.last_used_at),
        "Laptop": None,
    }


def test_list_of_a_user_without_passkeys_is_empty(me, carol):
    response = me.call("get", _url(carol.pk))

    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "page": 1, "size": 20}


def test_list_shows_only_the_owners_passkeys(me, carol, carols_passkey, bobs_passkey):
    items = me.call("get", _url(carol.pk)).json()["items"]

    assert [item["id"] for item in items] == [carols_passkey.pk]


def test_list_holds_no_key_material(me, carol, carols_passkey):
    content = me.call("get", _url(carol.pk)).content.decode()

    assert "public_key" not in content
    assert "credential_id" not in content
    assert "sign_count" not in content


# delete


def test_delete_own_passkey_removes_it_and_audits_it(me, carol, carols_passkey):
    response = me.call("delete", _url(carol.pk, carols_passkey.pk))

    assert response.status_code == 204
    assert response.content == b""
    assert not Passkey.objects.filter(pk=carols_passkey.pk).exists()
    assert_api_delete_event(me, carols_passkey, carol)


def test_deleted_passkey_no_longer_logs_in(me, carol):
    passkey, authenticator = register_passkey(carol)

    me.call("delete", _url(carol.pk, passkey.pk))

    with pytest.raises(services.PasskeyRefused, match="was not accepted"):
        log_in_with(authenticator)


def test_delete_leaves_the_users_other_passkeys(me, carol, carols_passkey):
    spare, _ = register_passkey(carol, name="Spare")

    me.call("delete", _url(carol.pk, carols_passkey.pk))

    assert list(Passkey.objects.values_list("pk", flat=True)) == [spare.pk]


# whose passkeys: your own always, another user's only with the permission

OPERATIONS = [("get", None), ("delete", "{passkey}")]


@pytest.mark.parametrize(("method", "passkey_path"), OPERATIONS)
@pytest.mark.parametrize("user_exists", [True, False], ids=["user-exists", "no-such-user"])
def test_another_users_passkeys_are_forbidden_without_the_permission(
    me, other_user, bobs_passkey, method, passkey_path, user_exists
):
    user_id = other_user.pk if user_exists else 999_999
    passkey_id = passkey_path and bobs_passkey.pk
    before = state()

    response = me.call(method, _url(user_id, passkey_id))

    assert_error(response, 403)
    assert state() == before


@pytest.mark.parametrize(("method", "passkey_path"), OPERATIONS)
def test_a_user_admin_without_the_passkey_permission_is_forbidden(other_user, bobs_passkey, method, passkey_path):
    helper = Script.of(
        grant(
            UserFactory(username="helper"),
            "accounts.view_user",
            "accounts.change_user",
            "accounts.delete_user",
            "tokens.manage_others_tokens",
        )
    )
    before = state()

    response = helper.call(method, _url(other_user.pk, passkey_path and bobs_passkey.pk))

    assert_error(response, 403)
    assert state() == before


def test_manager_lists_another_users_passkeys(manager, other_user, bobs_passkey):
    response = manager.call("get", _url(other_user.pk))

    assert response.status_code == 200
    assert [(item["id"], item["name"]) for item in response.json()["items"]] == [(bobs_passkey.pk, "Bob's phone")]


def test_manager_deletes_another_users_passkey_and_it_is_audited(manager, other_user, bobs_passkey):
    response = manager.call("delete", _url(other_user.pk, bobs_passkey.pk))

    assert response.status_code == 204
    assert not Passkey.objects.exists()
    assert_api_delete_event(manager, bobs_passkey, other_user)


def test_superuser_lists_and_deletes_another_users_passkeys(admin, other_user, bobs_passkey):
    assert admin.call("get", _url(other_user.pk)).status_code == 200
    assert admin.call("delete", _url(other_user.pk, bobs_passkey.pk)).status_code == 204
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("caller", ["me", "manager", "admin"])
def test_another_owners_passkey_under_your_own_user_id_is_404(request, bobs_passkey, caller):
    script = request.getfixturevalue(caller)
    before = state()

    response = script.call("delete", _url(script.user.pk, bobs_passkey.pk))

    assert_error(response, 404)
    assert state() == before


def test_manager_gets_404_for_a_passkey_under_the_wrong_owner(manager, carol, bobs_passkey):
    before = state()

    response = manager.call("delete", _url(carol.pk, bobs_passkey.pk))

    assert_error(response, 404)
    assert state() == before


@pytest.mark.parametrize("passkey_id", [999_999, 0, *HUGE_IDS])
def test_unknown_passkey_id_is_404(me, carol, carols_passkey, passkey_id):
    before = state()

    response = me.call("delete", _url(carol.pk, passkey_id))

    assert_error(response, 404)
    assert state() == before


@pytest.mark.parametrize(("method", "passkey_path"), OPERATIONS)
@pytest.mark.parametrize("user_id", [999_999, 0, *HUGE_IDS])
def test_manager_gets_404_for_an_unknown_user(manager, bobs_passkey, method, passkey_path, user_id):
    before = state()

    response = manager.call(method, _url(user_id, passkey_path and bobs_passkey.pk))

    assert_error(response, 404)
    assert state() == before


@pytest.mark.parametrize("user_id", HUGE_IDS)
def test_unknown_huge_user_id_is_403_without_the_permission(me, user_id):
    assert_error(me.call("get", _url(user_id)), 403)


# ids that are not ids

NOT_INTEGERS = {
    "letters": "abc",
    "decimal": "1.5",
    "exponent": "1e3",
    "hex": "0x1",
    "nul byte": "%00",
    "fullwidth digit": "%EF%BC%91",
}


@pytest.mark.parametrize("user_id", NOT_INTEGERS.values(), ids=NOT_INTEGERS.keys())
@pytest.mark.parametrize("method", ["get", "delete"])
def test_user_id_that_is_not_an_integer_is_422(me, carols_passkey, user_id, method):
    before = state()

    response = me.call(method, _url(user_id, carols_passkey.pk if method == "delete" else None))

    assert_error(response, 422, fields=["user_id"])
    assert state() == before


@pytest.mark.parametrize("passkey_id", NOT_INTEGERS.values(), ids=NOT_INTEGERS.keys())
def test_passkey_id_that_is_not_an_integer_is_422(me, carol, carols_passkey, passkey_id):
    before = state()

    response = me.call("delete", _url(carol.pk, passkey_id))

    assert_error(response, 422, fields=["passkey_id"])
    assert state() == before


# what the API does not do


@pytest.mark.parametrize("body", [NO_BODY, {}, {"name": "Laptop"}], ids=["no-body", "empty", "name"])
def test_registering_through_the_api_is_405(me, carol, body):
    response = me.call("post", _url(carol.pk), body)

    assert response.status_code == 405
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("method", ["put", "patch", "post"])
def test_changing_a_passkey_through_the_api_is_405(me, carol, carols_passkey, method):
    response = me.call(method, _url(carol.pk, carols_passkey.pk), {"name": "Renamed"})

    assert response.status_code == 405
    carols_passkey.refresh_from_db()
    assert carols_passkey.name == "Laptop"


def test_list_without_a_token_is_401(carol, carols_passkey):
    response = Script("pnl_1_not-the-secret").call("get", _url(carol.pk))

    assert response.status_code == 401


def test_logged_in_browser_must_send_the_csrf_token_to_delete(carol, carols_passkey):
    browser = logged_in_client(carol, enforce_csrf_checks=True)
    browser.get("/account/")  # sets the CSRF cookie
    url = _url(carol.pk, carols_passkey.pk)

    refused = browser.delete(url)
    assert_error(refused, 403)
    assert Passkey.objects.exists()

    response = browser.delete(url, HTTP_X_CSRFTOKEN=browser.cookies["csrftoken"].value)

    assert response.status_code == 204
    assert not Passkey.objects.exists()
    (event,) = events("passkey.delete")
    assert (event.actor, event.details["via"]) == (carol, "api")
