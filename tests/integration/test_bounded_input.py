"""Bounded input, one rule each: nothing a client sends can produce a 500 or a row that can't be read back.

Finding 5 of the reliability review, replayed on both databases: a far-future expiry stored as year
10000 (readable by no driver), offsets beyond ±14:00, NUL bytes in a search or a token name, and an
audit filter on the last day a date can hold.
"""

import json

import pytest

from accounts.models import User
from tests.factories import UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import logged_in_client
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_script(admin_user):
    return Script.of(admin_user)


@pytest.fixture
def target(db):
    return UserFactory(username="tina")


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        ("9999-12-31T23:59:59-12:00", "before the year 9999"),
        ("2030-01-01T00:00:00+16:00", "within ±14:00"),
        ("2030-01-01T00:00:00-14:30", "within ±14:00"),
        ("2200-01-01T00:00:00Z", "at most 100 years away"),
    ],
)
def test_an_expiry_the_database_could_not_read_back_is_422_and_the_list_still_works(
    admin_script, admin_client, target, moment, message
):
    response = admin_script.call("patch", f"/api/users/{target.pk}", {"expires_at": moment})

    body = assert_error(response, 422, fields=["expires_at"])
    assert message in body["errors"]["expires_at"][0]
    assert User.objects.get(pk=target.pk).expires_at is None
    assert admin_client.get("/users/").status_code == 200
    assert admin_script.call("get", "/api/users").status_code == 200


def test_an_offset_of_fourteen_hours_is_a_real_zone_and_is_stored_in_utc(admin_script, target):
    response = admin_script.call("patch", f"/api/users/{target.pk}", {"expires_at": "2030-01-01T00:00:00+14:00"})

    assert response.status_code == 200
    assert User.objects.get(pk=target.pk).expires_at.isoformat() == "2029-12-31T10:00:00+00:00"


def test_a_token_expiring_in_year_ten_thousand_utc_is_422(admin_user):
    response = Browser.of(admin_user).call(
        "post", f"/api/users/{admin_user.pk}/tokens", {"name": "far", "expires_at": "9999-12-31T23:59:59-12:00"}
    )

    assert_error(response, 422, fields=["expires_at"])
    assert not AccessToken.objects.exists()


def test_a_nul_byte_in_a_search_is_400_on_the_page_and_in_the_api(admin_client, admin_script):
    page = admin_client.get("/users/", {"q": "a\x00b"})
    api = admin_script.call("get", "/api/users", search="a\x00b")

    assert page.status_code == 400
    assert "cannot be stored" in page.content.decode()
    assert "cannot be stored" in assert_error(api, 400)["detail"]


def test_a_nul_byte_in_a_token_name_is_422_naming_the_field(admin_user):
    response = Browser.of(admin_user).call(
        "post", f"/api/users/{admin_user.pk}/tokens", {"name": "a\x00b", "long_term": True}
    )

    assert_error(response, 422, fields=["name"])
    assert not AccessToken.objects.exists()


def test_a_lone_surrogate_in_json_is_422_naming_the_field(admin_script):
    raw = json.dumps({"username": "x", "email": "x@example.com", "password": "Sturdy-pass-42"}).replace(
        '"x"', '"\\ud800"', 1
    )

    response = admin_script.call("post", "/api/users", raw=raw)

    assert_error(response, 422, fields=["username"])


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_an_audit_filter_beyond_what_a_date_time_holds_is_a_form_error(admin_client, day):
    response = admin_client.get("/audit/", {"until": day})

    assert response.status_code == 400
    assert "Choose a date from 1970-01-01 to 9999-12-30." in response.content.decode()


def test_the_last_day_a_date_time_holds_filters_without_error(admin_client):
    assert admin_client.get("/audit/", {"since": "1970-01-01", "until": "9999-12-30"}).status_code == 200


def test_an_operator_listing_after_refused_input_still_works(admin_script, target, capsys):
    from django.core.management import call_command

    admin_script.call("patch", f"/api/users/{target.pk}", {"expires_at": "9999-12-31T23:59:59-12:00"})

    call_command("user", "list")

    assert "tina" in capsys.readouterr().out
    assert logged_in_client(target).get("/account/").status_code == 200


# Found by schemathesis: pydantic read a number, or a string of digits, as Unix time, where the schema
# promises an RFC 3339 date-time; it took a token's or a user's expiry from it.
@pytest.mark.parametrize("moment", [1900000000, "1900000000", 1.9e9, "2030-01-01"])
def test_an_expiry_that_is_not_a_written_date_and_time_is_422(admin_user, admin_script, target, moment):
    user = admin_script.call("patch", f"/api/users/{target.pk}", {"expires_at": moment})
    token = Browser.of(admin_user).call("post", f"/api/users/{admin_user.pk}/tokens", {"expires_at": moment})

    assert "with its offset" in assert_error(user, 422, fields=["expires_at"])["errors"]["expires_at"][0]
    assert_error(token, 422, fields=["expires_at"])
    assert User.objects.get(pk=target.pk).expires_at is None
