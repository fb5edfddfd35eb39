"""GET /api/users/{user_id}/two-factor: whether a user has two-factor on, and with what.

Anyone may read their own; another user's needs mfa.reset_two_factor, and
without it the answer is 403 whether or not the user exists. Called as a
script would, with a Bearer token from tokens.services.token_create.
"""

import datetime

import pytest
import time_machine
from django.test import Client

from core.audit import Origin
from mfa import services
from tests.factories import AdminFactory, UserFactory
from tests.helpers import turn_on_app
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import grant, logged_in_client, turn_on_email

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2031, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
RESET = "mfa.reset_two_factor"
ALL_OFF = {"enabled": False, "totp": False, "email": False, "recovery_codes_left": 0}
UNKNOWN_ID = 999_999


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def carol_script(carol):
    return Script.of(carol)


@pytest.fixture
def helpdesk_script(db):
    """May read (and reset) anyone's two-factor, nothing else."""
    return Script.of(grant(UserFactory(username="helpdesk"), RESET))


@pytest.fixture
def viewer_script(db):
    """May list users, but not see their two-factor."""
    return Script.of(grant(UserFactory(username="viewer"), "accounts.view_user"))


def _url(user_id):
    return f"/api/users/{user_id}/two-factor"


def _status(script, user_id):
    return script.call("get", _url(user_id))


# own


def test_own_status_with_nothing_on(carol, carol_script):
    response = _status(carol_script, carol.pk)

    assert response.status_code == 200
    assert response.json() == ALL_OFF


def test_own_status_with_an_app_and_recovery_codes(carol, carol_script):
    turn_on_app(carol)

    response = _status(carol_script, carol.pk)

    assert response.json() == {"enabled": True, "totp": True, "email": False, "recovery_codes_left": 10}


def test_own_status_with_email_codes(carol, carol_script, mailoutbox):
    turn_on_email(carol)

    response = _status(carol_script, carol.pk)

    assert response.json() == {"enabled": True, "totp": False, "email": True, "recovery_codes_left": 0}


def test_own_status_counts_used_recovery_codes(carol, carol_script):
    _, codes = turn_on_app(carol)
    services.verify_login_code(origin=Origin.command("t"), user=carol, method="recovery", code=codes[0])

    response = _status(carol_script, carol.pk)

    assert response.json()["recovery_codes_left"] == 9


def test_status_never_carries_the_key_or_the_codes(carol, carol_script):
    totp, codes = turn_on_app(carol)
    secret = totp.secret

    response = _status(carol_script, carol.pk)

    assert set(response.json()) == set(ALL_OFF)
    body = response.content.decode()
    assert secret not in body
    assert not any(code in body for code in codes)


def test_own_status_from_a_logged_in_browser(carol):
    response = logged_in_client(carol).get(_url(carol.pk))

    assert response.status_code == 200
    assert response.json() == ALL_OFF


# another user's


def test_other_users_status_without_the_permission_is_forbidden(carol, viewer_script):
    response = _status(viewer_script, carol.pk)

    assert_error(response, 403)


def test_unknown_user_without_the_permission_is_forbidden_too(carol, viewer_script):
    response = _status(viewer_script, UNKNOWN_ID)

    assert_error(response, 403)


def test_without_the_permission_unknown_and_existing_users_read_the_same(carol, viewer_script):
    existing = _status(viewer_script, carol.pk)

    unknown = _status(viewer_script, UNKNOWN_ID)

    assert (unknown.status_code, unknown.json()) == (existing.status_code, existing.json())


def test_other_users_status_with_the_permission(carol, helpdesk_script):
    turn_on_app(carol)

    response = _status(helpdesk_script, carol.pk)

    assert response.status_code == 200
    assert response.json() == {"enabled": True, "totp": True, "email": False, "recovery_codes_left": 10}


def test_superuser_sees_other_users_status(carol):
    response = _status(Script.of(AdminFactory(username="root")), carol.pk)

    assert response.status_code == 200
    assert response.json() == ALL_OFF


def test_unknown_user_with_the_permission_is_not_found(helpdesk_script):
    response = _status(helpdesk_script, UNKNOWN_ID)

    assert_error(response, 404)


def test_status_needs_a_token(carol):
    response = Client().get(_url(carol.pk))

    assert_error(response, 401)


def test_status_refuses_a_wrong_token(carol):
    response = _status(Script("pnl_1_not-the-secret"), carol.pk)

    assert response.status_code == 401


def test_status_accepts_only_get(carol, carol_script):
    response = carol_script.call("post", _url(carol.pk), {})

    assert response.status_code == 405


# ids that are not ids

NOT_INTEGERS = {
    "letters": "abc",
    "decimal": "1.5",
    "exponent": "1e3",
    "hex": "0x1",
    "nul byte": "%00",
    "fullwidth digit": "%EF%BC%91",
    "arabic-indic digit": "%D9%A3",
    "very long letters": "x" * 5_000,
}
NO_SUCH_INTEGER = {
    "zero": "0",
    "negative": "-1",
    "beyond bigint": "9223372036854775808",
    "beyond any integer": "9" * 40,
}


@pytest.mark.parametrize("user_id", NOT_INTEGERS.values(), ids=NOT_INTEGERS.keys())
@pytest.mark.parametrize("who", ["carol", "helpdesk"])
def test_id_that_is_not_an_integer_is_a_validation_error(carol, carol_script, helpdesk_script, user_id, who):
    script = carol_script if who == "carol" else helpdesk_script

    response = _status(script, user_id)

    assert_error(response, 422, fields=["user_id"])


@pytest.mark.parametrize("user_id", NO_SUCH_INTEGER.values(), ids=NO_SUCH_INTEGER.keys())
def test_id_of_nobody_is_not_found_with_the_permission(helpdesk_script, user_id):
    response = _status(helpdesk_script, user_id)

    assert_error(response, 404)


@pytest.mark.parametrize("user_id", NO_SUCH_INTEGER.values(), ids=NO_SUCH_INTEGER.keys())
def test_id_of_nobody_is_forbidden_without_the_permission(carol_script, user_id):
    response = _status(carol_script, user_id)

    assert_error(response, 403)


def test_empty_id_is_not_found(carol_script):
    response = carol_script.call("get", "/api/users//two-factor")

    assert response.status_code == 404


# turning email codes off


def test_own_email_codes_are_turned_off_keeping_the_app(carol, carol_script):
    turn_on_app(carol)
    turn_on_email(carol)

    response = carol_script.call("delete", f"{_url(carol.pk)}/email")

    assert response.status_code == 204
    assert _status(carol_script, carol.pk).json()["email"] is False
    assert _status(carol_script, carol.pk).json()["totp"] is True


def test_email_codes_as_the_last_factor_are_refused_over_the_api(carol, carol_script):
    turn_on_email(carol)

    response = carol_script.call("delete", f"{_url(carol.pk)}/email")

    assert_error(response, 422, ["__all__"])
    assert services.EMAIL_IS_LAST_FACTOR in response.json()["errors"]["__all__"]
    assert _status(carol_script, carol.pk).json()["email"] is True


def test_another_users_email_codes_need_the_permission(carol, viewer_script, helpdesk_script):
    turn_on_app(carol)
    turn_on_email(carol)

    assert_error(viewer_script.call("delete", f"{_url(carol.pk)}/email"), 403)
    assert helpdesk_script.call("delete", f"{_url(carol.pk)}/email").status_code == 204
