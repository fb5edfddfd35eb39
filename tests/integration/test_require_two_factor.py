"""PANEL_REQUIRE_TWO_FACTOR: a logged-in user without a second factor is sent to set one up before anything else.

They may still open the enrolment pages and log out; once a factor is on, every
page opens again. Scripts with an access token are not redirected. The setting
is off by default. Codes come from pyotp; the clock is held still.
"""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import time_machine
from django.test import Client

from accounts.models import User
from mfa import selectors
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.helpers import EMAILED_CODE
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import OTPAUTH, logged_in_client, messages_of, page_text, session_exists, session_key_of
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2031, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
REQUIRED_MESSAGE = "This panel requires two-factor authentication: set it up to continue."


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def required(settings):
    settings.PANEL_REQUIRE_TWO_FACTOR = True


@pytest.fixture
def dana(db):
    """An admin with no second factor."""
    return AdminFactory(username="dana", email="dana@example.com")


@pytest.fixture
def dana_client(dana):
    return logged_in_client(dana)


def _two_factor_url(user, action=""):
    return f"/users/{user.pk}/two-factor/{action}"


def _pages(user):
    """Every kind of page a logged-in admin opens, by GET."""
    return [
        "/",
        "/users/",
        "/users/new/",
        f"/users/{user.pk}/password/",
        f"/users/{user.pk}/tokens/",
        "/account/",
        "/audit/",
    ]


PAGE_LABELS = ["home", "user list", "create user", "set password", "tokens", "account", "audit log"]


def _start_app(client, user):
    response = client.post(_two_factor_url(user, "app/enable/"))
    assert response.status_code == 200, page_text(response)
    secret = parse_qs(urlsplit(OTPAUTH.search(page_text(response)).group(0)).query)["secret"][0]
    device_id = int(re.search(r'name="device" value="(\d+)"', response.content.decode()).group(1))
    return secret, device_id


def _enrol_app(client, user):
    secret, device_id = _start_app(client, user)
    response = client.post(
        _two_factor_url(user, "app/confirm/"), {"device": device_id, "code": pyotp.TOTP(secret).now()}, follow=True
    )
    assert response.status_code == 200, page_text(response)
    assert "Two-factor authentication is on" in page_text(response)  # the recovery codes, once
    return secret


# redirected


def test_login_of_a_user_without_a_factor_lands_on_their_two_factor_page(dana, required):
    client = Client()

    response = client.post("/login/", {"username": "dana", "password": DEFAULT_PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == _two_factor_url(dana)
    assert response.status_code == 200
    assert REQUIRED_MESSAGE in messages_of(response)


@pytest.mark.parametrize("index", range(len(PAGE_LABELS)), ids=PAGE_LABELS)
def test_every_page_redirects_a_user_without_a_factor_to_their_two_factor_page(dana, dana_client, required, index):
    response = dana_client.get(_pages(dana)[index])

    assert response.status_code == 302
    assert response["Location"] == _two_factor_url(dana)


def test_redirect_explains_itself_with_a_message(dana, dana_client, required):
    response = dana_client.get("/users/", follow=True)

    assert REQUIRED_MESSAGE in messages_of(response)
    assert REQUIRED_MESSAGE in page_text(response)


def test_user_without_permissions_is_sent_to_their_own_two_factor_page(plain_user, required):
    client = logged_in_client(plain_user)

    response = client.get("/account/")

    assert response["Location"] == _two_factor_url(plain_user)


def test_post_of_a_user_without_a_factor_is_redirected_and_changes_nothing(dana, dana_client, required):
    data = {"username": "mallory", "email": "mallory@example.com", "password": "Fresh-river-77"}

    response = dana_client.post("/users/new/", data)

    assert response.status_code == 302
    assert response["Location"] == _two_factor_url(dana)
    assert not User.objects.filter(username="mallory").exists()


# what stays open


def test_own_two_factor_page_opens(dana, dana_client, required):
    response = dana_client.get(_two_factor_url(dana))

    assert response.status_code == 200
    assert "Set up an authenticator app" in page_text(response)


def test_enrolment_of_an_app_opens(dana, dana_client, required):
    response = dana_client.post(_two_factor_url(dana, "app/enable/"))

    assert response.status_code == 200
    assert OTPAUTH.search(page_text(response))


def test_enrolment_of_an_app_can_be_confirmed(dana, dana_client, required):
    _enrol_app(dana_client, dana)

    assert selectors.has_second_factor(dana)


def test_enrolment_of_email_codes_opens_and_sends_a_code(dana, dana_client, required, mailoutbox):
    response = dana_client.post(_two_factor_url(dana, "email/enable/"))

    assert response.status_code == 200
    assert len(mailoutbox) == 1


def test_logout_works_for_a_user_without_a_factor(dana, dana_client, required):
    key = session_key_of(dana_client)

    response = dana_client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert not session_exists(key)


# once enrolled


def test_pages_open_once_an_app_is_enrolled(dana, dana_client, required):
    _enrol_app(dana_client, dana)

    response = dana_client.get("/users/")

    assert response.status_code == 200


def test_pages_open_once_email_codes_are_on(dana, dana_client, required, mailoutbox):
    response = dana_client.post(_two_factor_url(dana, "email/enable/"))
    device_id = int(re.search(r'name="device" value="(\d+)"', response.content.decode()).group(1))
    code = EMAILED_CODE.search(mailoutbox[0].body).group(1)
    dana_client.post(_two_factor_url(dana, "email/confirm/"), {"device": device_id, "code": code})

    response = dana_client.get("/users/")

    assert response.status_code == 200


def test_user_with_a_factor_reaches_pages_after_the_second_step(dana, dana_client, required, clock):
    secret = _enrol_app(dana_client, dana)
    client = Client()
    client.post("/login/", {"username": "dana", "password": DEFAULT_PASSWORD})
    clock.shift(30)
    client.post("/login/verify/", {"method": "totp", "code": pyotp.TOTP(secret).now()})

    response = client.get("/users/")

    assert response.status_code == 200


def test_unconfirmed_enrolment_does_not_count_as_a_factor(dana, dana_client, required):
    _start_app(dana_client, dana)

    response = dana_client.get("/users/")

    assert response["Location"] == _two_factor_url(dana)


# scripts, and the default


def test_api_request_with_a_token_of_a_user_without_a_factor_is_not_redirected(dana, required):
    script = Script.of(dana)

    response = script.whoami()

    assert response.status_code == 200
    assert response.json()["username"] == "dana"


def test_api_listing_with_a_token_is_not_redirected(dana, required):
    response = Script.of(dana).call("get", "/api/users")

    assert response.status_code == 200


def test_anonymous_visitor_is_sent_to_the_login_page_not_the_two_factor_page(required):
    response = Client().get("/users/")

    assert response["Location"].startswith("/login/")


def test_requirement_is_off_by_default(dana, dana_client, settings):
    assert settings.PANEL_REQUIRE_TWO_FACTOR is False

    response = dana_client.get("/users/")

    assert response.status_code == 200


def test_login_without_a_factor_goes_on_as_usual_when_off(dana):
    client = Client()

    response = client.post("/login/", {"username": "dana", "password": DEFAULT_PASSWORD}, follow=True)

    assert response.redirect_chain[-1][0] == "/users/"
    assert response.status_code == 200


# what the exemptions do not cover


def test_logged_in_browser_without_a_factor_cannot_use_the_api(dana, dana_client, required):
    response = dana_client.get("/api/user/info")

    body = assert_error(response, 403)
    assert body["detail"] == REQUIRED_MESSAGE


def test_user_without_a_factor_cannot_enrol_someone_else(dana, dana_client, required):
    other = UserFactory(username="olive")

    response = dana_client.post(_two_factor_url(other, "app/enable/"))

    assert response.status_code == 302
    assert response["Location"] == _two_factor_url(dana)


def test_logged_in_browser_without_a_factor_cannot_issue_itself_a_token(dana, required):
    browser = logged_in_client(dana, enforce_csrf_checks=True)
    browser.get(_two_factor_url(dana))  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value

    response = browser.post(
        f"/api/users/{dana.pk}/tokens", {"name": "x", "long_term": True}, "application/json", HTTP_X_CSRFTOKEN=csrf
    )

    assert_error(response, 403)
    assert not AccessToken.objects.filter(user=dana).exists()
