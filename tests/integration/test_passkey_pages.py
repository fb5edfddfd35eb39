"""Passkeys through django.test.Client: the manager pages, both ceremonies' JSON endpoints, and who may.

A software authenticator (tests.soft_authenticator) answers the options the panel
issues, as a browser plus a platform authenticator would. Browsers allow passkeys
only in a secure context, so every browser here sends ``Host: localhost`` and the
authenticator reports the origin ``http://localhost``; the HTTPS tests use another
host behind a TLS-terminating proxy.
"""

import datetime
import json
import os
from unittest import mock
from urllib.parse import quote

import pytest
import time_machine
from django.test import Client

from accounts import services as account_services
from core import throttle
from core.models import AuditEvent
from passkeys import services
from passkeys import views as passkey_views
from passkeys.models import CREDENTIAL_ID_MAX_BYTES, Passkey, UserHandle
from passkeys.relying_party import NEEDS_HTTPS
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import SETUP, enable_totp
from tests.integration.conftest import (
    events,
    grant,
    logged_in_client,
    page_text,
    register_passkey,
    session_exists,
    session_key_of,
    session_user_id,
    user_session_keys,
)
from tests.soft_authenticator import SoftAuthenticator, b64url, from_b64url

pytestmark = pytest.mark.django_db

HOST = "localhost"
ORIGIN = "http://localhost"
MANAGE_OTHERS = "passkeys.manage_others_passkeys"

REGISTER_OPTIONS = "/passkeys/register/options/"
REGISTER_FINISH = "/passkeys/register/"
LOGIN_OPTIONS = "/login/passkey/options/"
LOGIN_FINISH = "/login/passkey/"
JSON_ENDPOINTS = [REGISTER_OPTIONS, REGISTER_FINISH, LOGIN_OPTIONS, LOGIN_FINISH]

REQUIRED_MESSAGE = "This panel requires two-factor authentication: set it up to continue."
PROXY_HOST = "panel.example.com"


# helpers


def _list_url(user):
    return f"/users/{user.pk}/passkeys/"


def _browser(user=None, **kwargs):
    """A browser on http://localhost, logged in as ``user`` when given."""
    kwargs.setdefault("HTTP_HOST", HOST)
    return logged_in_client(user, **kwargs) if user is not None else Client(**kwargs)


def _register(client, authenticator, name="Laptop", **answer):
    """The whole registration ceremony through the endpoints; returns the finishing response."""
    options = client.post(REGISTER_OPTIONS, {"name": name})
    assert options.status_code == 200, options.content
    credential = authenticator.register(options.json(), **answer)
    return client.post(REGISTER_FINISH, {"credential": credential}, content_type="application/json")


def _login_options(client):
    response = client.post(LOGIN_OPTIONS)
    assert response.status_code == 200, response.content
    return response.json()


def _login(client, authenticator, next_url=None, **answer):
    """The whole login ceremony through the endpoints; returns the finishing response."""
    credential = authenticator.login(_login_options(client), **answer)
    url = LOGIN_FINISH if next_url is None else f"{LOGIN_FINISH}?next={quote(next_url, safe='')}"
    return client.post(url, {"credential": credential}, content_type="application/json")


def _assert_json_error(response, status):
    """The passkey endpoints' error shape; returns the detail."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def _row_of(response, passkey):
    text = response.content.decode()
    start = text.index(f'<tr id="passkey-{passkey.pk}">')
    return text[start : text.index("</tr>", start)]


def _tampered_client_data(credential, **changes):
    """``credential`` with fields of its clientDataJSON changed (None removes a field)."""
    client_data = json.loads(from_b64url(credential["response"]["clientDataJSON"]))
    for key, value in changes.items():
        if value is None:
            client_data.pop(key, None)
        else:
            client_data[key] = value
    credential["response"]["clientDataJSON"] = b64url(json.dumps(client_data).encode())
    return credential


def _with_response(credential, **changes):
    """``credential`` with fields of its ``response`` changed (None removes a field)."""
    response = {**credential["response"], **changes}
    return {**credential, "response": {key: value for key, value in response.items() if value is not None}}


def _passkey_state():
    """Every passkey as stored, to show that a refused request changed nothing."""
    return list(Passkey.objects.order_by("pk").values("pk", "user_id", "name", "sign_count", "last_used_at"))


@pytest.fixture
def carol_browser(carol):
    return _browser(carol)


@pytest.fixture
def carols_passkey(carol):
    """(passkey, authenticator)."""
    return register_passkey(carol)


@pytest.fixture
def bobs_passkey(other_user):
    return register_passkey(other_user, name="Bob's phone")


@pytest.fixture
def manager(db):
    """Not a superuser: may see and delete other users' passkeys."""
    return grant(UserFactory(username="dave"), MANAGE_OTHERS)


@pytest.fixture
def proxy_host(settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, PROXY_HOST]
    return PROXY_HOST


@pytest.fixture
def clock():
    """Time stands still, so that the throttle's delays are exact."""
    with time_machine.travel(datetime.datetime(2031, 6, 1, 12, 0, tzinfo=datetime.UTC), tick=False) as traveller:
        yield traveller


@pytest.fixture
def required(settings):
    settings.PANEL_REQUIRE_TWO_FACTOR = True


# registering, then logging in: the whole journey


def test_registering_through_the_endpoints_stores_the_passkey_and_lists_it(carol, carol_browser):
    response = _register(carol_browser, SoftAuthenticator(), name="Work laptop")

    assert response.status_code == 201
    assert response.json() == {"redirect": _list_url(carol)}
    passkey = Passkey.objects.get(user=carol)
    assert passkey.name == "Work laptop"
    assert passkey.last_used_at is None
    assert passkey.transports == ["internal", "hybrid"]
    assert passkey.aaguid == "00000000-0000-0000-0000-000000000000"
    assert (passkey.backup_eligible, passkey.backed_up) == (False, False)
    page = carol_browser.get(_list_url(carol))
    assert page.status_code == 200
    text = page_text(page)
    assert '<th scope="col">Name</th>' in text
    assert '<th scope="col">Creation Time</th>' in text
    assert "Passkey “Work laptop” was registered. You can now log in with it." in text
    row = _row_of(page, passkey)
    assert "Work laptop" in row
    assert f"{passkey.created_at:%Y-%m-%d %H:%M}" in row
    assert '<td data-label="Last Used">Never</td>' in row
    assert "Device-bound" in row


def test_registration_is_audited_naming_the_owner(carol, carol_browser):
    _register(carol_browser, SoftAuthenticator(backup_eligible=True, backed_up=True), name="Phone")

    (event,) = events("passkey.register")
    passkey = Passkey.objects.get(user=carol)
    assert (event.actor, event.outcome) == (carol, AuditEvent.Outcome.SUCCESS)
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details == {"owner": "carol", "name": "Phone", "synced": True, "via": "web"}
    assert (passkey.backup_eligible, passkey.backed_up) == (True, True)


def test_registration_options_name_the_account_and_exclude_its_passkeys(carol, carol_browser, carols_passkey):
    passkey, _ = carols_passkey

    options = carol_browser.post(REGISTER_OPTIONS, {"name": "Second"})

    assert options.status_code == 200
    assert "no-store" in options["Cache-Control"]
    body = options.json()
    assert body["rp"]["id"] == "localhost"
    assert body["user"]["name"] == "carol"
    # The same random user handle as the first passkey, never the database ID.
    assert from_b64url(body["user"]["id"]) == bytes(UserHandle.objects.get(user=carol).handle)
    assert body["user"]["id"] != b64url(str(carol.pk).encode())
    assert [entry["id"] for entry in body["excludeCredentials"]] == [b64url(bytes(passkey.credential_id))]
    assert body["authenticatorSelection"]["residentKey"] == "required"
    assert body["authenticatorSelection"]["userVerification"] == "required"


def test_logging_in_with_the_passkey_after_logging_out(carol, carol_browser):
    authenticator = SoftAuthenticator()
    assert _register(carol_browser, authenticator).status_code == 201
    carol_browser.post("/logout/")
    assert session_user_id(carol_browser) is None
    before = session_key_of(carol_browser)

    response = _login(carol_browser, authenticator)

    assert response.status_code == 200
    assert response.json() == {"redirect": "/"}
    assert "no-store" in response["Cache-Control"]
    key = session_key_of(carol_browser)
    assert key and key != before and session_exists(key)
    assert session_user_id(carol_browser) == carol.pk
    assert key in user_session_keys(carol)
    assert carol_browser.get("/account/").status_code == 200


def test_login_issues_a_new_session_key_for_an_existing_anonymous_session(carol, carols_passkey):
    _, authenticator = carols_passkey
    browser = _browser()
    session = browser.session  # an anonymous session, as a visitor might already have
    session["seen"] = True
    session.save()
    before = session_key_of(browser)
    assert session_exists(before)

    assert _login(browser, authenticator).status_code == 200

    after = session_key_of(browser)
    assert after != before
    assert not session_exists(before)
    assert session_user_id(browser) == carol.pk


def test_login_options_start_no_session(carols_passkey):
    browser = _browser()

    options = browser.post(LOGIN_OPTIONS)

    assert options.status_code == 200
    assert "no-store" in options["Cache-Control"]
    body = options.json()
    assert body["rpId"] == "localhost"
    assert body["userVerification"] == "required"
    assert body["allowCredentials"] == []  # discoverable: the authenticator offers what it holds
    assert not session_key_of(browser)


def test_login_is_audited_as_a_passkey_login_and_a_session(carol, carols_passkey):
    passkey, authenticator = carols_passkey

    _login(_browser(), authenticator)

    (event,) = events("passkey.login")
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details["owner"] == "carol"
    assert events("auth.login", outcome=AuditEvent.Outcome.SUCCESS)


def test_login_fills_in_last_used_on_the_list(carol, carols_passkey):
    passkey, authenticator = carols_passkey
    used_at = datetime.datetime(2031, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    browser = _browser()

    with time_machine.travel(used_at, tick=False):
        assert _login(browser, authenticator).status_code == 200
        row = _row_of(browser.get(_list_url(carol)), passkey)

    passkey.refresh_from_db()
    assert passkey.last_used_at == used_at
    assert passkey.sign_count == 1
    assert "Never" not in row
    assert '<time datetime="2031-05-06T07:08:09+00:00">2031-05-06 07:08 UTC</time>' in row


def test_passkey_login_skips_the_totp_step_of_a_user_who_has_one(carol, carols_passkey):
    _, authenticator = carols_passkey
    enable_totp(carol)
    # A password login of the same user does stop at the second step.
    password_login = Client().post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD})
    assert password_login["Location"] == "/login/verify/"
    browser = _browser()

    response = _login(browser, authenticator)

    assert response.status_code == 200
    assert response.json() == {"redirect": "/"}
    assert session_user_id(browser) == carol.pk
    assert browser.get("/account/").status_code == 200


def test_passkey_login_abandons_a_half_done_password_login(carol, carols_passkey):
    _, authenticator = carols_passkey
    enable_totp(carol)
    browser = _browser()
    assert browser.post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD})["Location"] == "/login/verify/"
    pending = session_key_of(browser)

    assert _login(browser, authenticator).status_code == 200

    assert session_key_of(browser) != pending
    assert not session_exists(pending)
    assert session_user_id(browser) == carol.pk
    assert "panel_mfa_pending" not in browser.session


def test_each_login_needs_a_fresh_challenge(carol, carols_passkey):
    _, authenticator = carols_passkey
    options = _login_options(_browser())
    first = _browser()
    assert first.post(LOGIN_FINISH, {"credential": authenticator.login(options)}, "application/json").status_code == 200
    replay = _browser()

    response = replay.post(LOGIN_FINISH, {"credential": authenticator.login(options)}, "application/json")

    assert _assert_json_error(response, 400)["detail"] == services.EXPIRED
    assert session_user_id(replay) is None


def test_authenticator_without_a_counter_logs_in_again_and_again(carol):
    _, authenticator = register_passkey(carol, authenticator=SoftAuthenticator(counts_signatures=False))

    for _ in range(3):
        assert _login(_browser(), authenticator).status_code == 200


def test_counter_going_backwards_is_refused_as_a_suspected_clone(carol, carols_passkey):
    passkey, authenticator = carols_passkey
    assert _login(_browser(), authenticator).status_code == 200  # the counter is now 1
    browser = _browser()

    response = _login(browser, authenticator, sign_count=1)

    assert _assert_json_error(response, 400)["detail"] == services.CLONE_SUSPECTED
    assert session_user_id(browser) is None
    (event,) = events("passkey.clone_suspected")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert (event.details["stored_count"], event.details["received_count"]) == (1, 1)


# where the login goes next


@pytest.mark.parametrize("next_url", ["/users/", "/users/?page=2", "/account/", "http://localhost/audit/"])
def test_login_goes_to_a_safe_next(carols_passkey, next_url):
    response = _login(_browser(), carols_passkey[1], next_url=next_url)

    assert response.status_code == 200
    assert response.json() == {"redirect": next_url}


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example.com/",
        "//evil.example.com/users/",
        "http://evil.example.com",
        "javascript:alert(1)",
        "https://localhost.evil.example.com/",
        "\\\\evil.example.com",
        "",
    ],
)
def test_login_ignores_a_next_that_leaves_the_site(carols_passkey, next_url):
    browser = _browser()

    response = _login(browser, carols_passkey[1], next_url=next_url)

    assert response.status_code == 200
    assert response.json() == {"redirect": "/"}
    assert session_user_id(browser) is not None


def test_login_page_hands_its_next_to_the_passkey_login():
    content = Client().get("/login/?next=/users/%3Fpage%3D2").content.decode()

    assert 'data-finish-url="/login/passkey/?next=/users/%3Fpage%3D2"' in content


# PANEL_REQUIRE_TWO_FACTOR


def test_passkey_login_satisfies_the_two_factor_requirement(carol, carols_passkey, required):
    browser = _browser()

    assert _login(browser, carols_passkey[1], next_url="/account/").json() == {"redirect": "/account/"}

    assert browser.get("/account/").status_code == 200
    assert browser.get(_list_url(carol)).status_code == 200


def test_deleting_the_last_passkey_sends_a_passkey_user_to_enrolment(carol, carols_passkey, required):
    passkey, authenticator = carols_passkey
    browser = _browser()
    _login(browser, authenticator)

    deleted = browser.post(f"{_list_url(carol)}{passkey.pk}/delete/")

    assert deleted.status_code == 302
    assert not Passkey.objects.filter(user=carol).exists()
    response = browser.get(_list_url(carol))
    assert response.status_code == 302
    assert response["Location"] == f"/users/{carol.pk}/two-factor/"
    assert REQUIRED_MESSAGE in page_text(browser.get(response["Location"]))


def test_deleting_one_of_two_passkeys_keeps_a_passkey_user_in(carol, carols_passkey, required):
    passkey, authenticator = carols_passkey
    register_passkey(carol, name="Spare key")
    browser = _browser()
    _login(browser, authenticator)

    browser.post(f"{_list_url(carol)}{passkey.pk}/delete/")

    assert browser.get("/account/").status_code == 200


def test_password_login_of_a_user_with_only_a_passkey_goes_straight_in_when_not_required(carol, carols_passkey):
    browser = _browser()

    response = browser.post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] != "/login/verify/"
    assert session_user_id(browser) == carol.pk
    assert browser.get("/account/").status_code == 200


def test_password_login_of_a_user_with_only_a_passkey_is_sent_to_enrolment_when_required(
    carol, carols_passkey, required
):
    browser = _browser()

    response = browser.post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD}, follow=True)

    # A passkey is not a second factor of a password: only a passkey login counts as two factors.
    assert response.redirect_chain[-1][0] == f"/users/{carol.pk}/two-factor/"
    assert browser.get("/account/")["Location"] == f"/users/{carol.pk}/two-factor/"


# who may


def test_own_list_opens_with_the_register_button(carol, carol_browser, carols_passkey):
    text = page_text(carol_browser.get(_list_url(carol)))

    assert "Passkeys of carol" in text
    assert "Register Passkey</a>" in text
    assert 'data-passkey-register data-options-url="/passkeys/register/options/"' in text
    assert "Laptop" in text


def test_list_holds_only_the_owners_passkeys(carol, carol_browser, carols_passkey, bobs_passkey):
    text = page_text(carol_browser.get(_list_url(carol)))

    assert "Laptop" in text
    assert "Bob's phone" not in text


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ""), ("get", "new/"), ("post", "new/"), ("get", "{passkey}/delete/"), ("post", "{passkey}/delete/")],
)
@pytest.mark.parametrize("whose", ["other", "missing-user"])
def test_others_passkey_pages_are_forbidden_without_the_permission(
    carol_browser, other_user, bobs_passkey, method, path, whose
):
    passkey, _ = bobs_passkey
    user_id = other_user.pk if whose == "other" else 999_999
    before = (_passkey_state(), len(events()))

    response = getattr(carol_browser, method)(f"/users/{user_id}/passkeys/{path.format(passkey=passkey.pk)}")

    assert response.status_code == 403
    assert (_passkey_state(), len(events())) == before


def test_manager_sees_another_users_passkeys_without_a_register_button(manager, other_user, bobs_passkey):
    response = _browser(manager).get(_list_url(other_user))

    assert response.status_code == 200
    text = page_text(response)
    assert "Passkeys of bob" in text
    assert "Bob's phone" in text
    assert "Only bob can register a passkey for their account, from their own browser." in text
    assert "Register Passkey" not in text
    assert "data-passkey-register" not in text


def test_manager_deletes_another_users_passkey_and_it_is_audited(manager, other_user, bobs_passkey):
    passkey, authenticator = bobs_passkey
    browser = _browser(manager)
    url = f"{_list_url(other_user)}{passkey.pk}/delete/"

    confirm = browser.get(url)
    assert confirm.status_code == 200
    assert "Delete passkey “Bob's phone”?" in page_text(confirm)
    assert "bob removes it there" in page_text(confirm)
    assert Passkey.objects.filter(pk=passkey.pk).exists()

    response = browser.post(url)

    assert response.status_code == 302
    assert response["Location"] == _list_url(other_user)
    assert not Passkey.objects.filter(pk=passkey.pk).exists()
    (event,) = events("passkey.delete")
    assert (event.actor, event.outcome) == (manager, AuditEvent.Outcome.SUCCESS)
    assert (event.target_type, event.target_id) == ("passkey", str(passkey.pk))
    assert event.details == {"owner": "bob", "name": "Bob's phone", "synced": False, "via": "web"}
    # The deleted passkey no longer logs in.
    refused = _login(_browser(), authenticator)
    assert _assert_json_error(refused, 400)["detail"] == services.NOT_ACCEPTED


def test_owner_deletes_their_own_passkey(carol, carol_browser, carols_passkey):
    passkey, _ = carols_passkey

    response = carol_browser.post(f"{_list_url(carol)}{passkey.pk}/delete/", follow=True)

    assert "Passkey “Laptop” was deleted. It can no longer log in." in page_text(response)
    assert not Passkey.objects.exists()
    (event,) = events("passkey.delete")
    assert event.actor == carol


def test_superuser_sees_and_deletes_another_users_passkeys(admin_user, other_user, bobs_passkey):
    browser = _browser(admin_user)

    assert browser.get(_list_url(other_user)).status_code == 200
    assert browser.post(f"{_list_url(other_user)}{bobs_passkey[0].pk}/delete/").status_code == 302
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize("who", ["admin_user", "manager"])
def test_nobody_opens_the_register_page_for_someone_else(request, other_user, method, who):
    browser = _browser(request.getfixturevalue(who))

    response = getattr(browser, method)(f"{_list_url(other_user)}new/", {"name": "Sneaky"})

    assert response.status_code == 302
    assert response["Location"] == _list_url(other_user)


def test_register_endpoints_act_only_on_the_logged_in_user(admin_user, other_user):
    browser = _browser(admin_user)

    options = browser.post(REGISTER_OPTIONS, {"name": "Mine", "user": other_user.pk, "user_id": other_user.pk})
    credential = SoftAuthenticator().register(options.json())
    response = browser.post(
        f"{REGISTER_FINISH}?user_id={other_user.pk}",
        {"credential": credential, "user": other_user.pk, "user_id": other_user.pk},
        content_type="application/json",
    )

    assert options.json()["user"]["name"] == "admin"
    assert response.status_code == 201
    assert response.json() == {"redirect": _list_url(admin_user)}
    assert list(Passkey.objects.values_list("user_id", flat=True)) == [admin_user.pk]


def test_registration_started_by_another_account_cannot_be_finished(admin_user, other_user):
    bobs_options = _browser(other_user).post(REGISTER_OPTIONS, {"name": "Bob's laptop"}).json()
    credential = SoftAuthenticator().register(bobs_options)

    response = _browser(admin_user).post(REGISTER_FINISH, {"credential": credential}, content_type="application/json")

    assert _assert_json_error(response, 400)["detail"] == (
        "This passkey request was started for another account. Start again."
    )
    assert not Passkey.objects.exists()


def test_own_register_page_opens_the_dialog(carol, carol_browser):
    response = carol_browser.get(f"{_list_url(carol)}new/")

    assert response.status_code == 200
    assert 'id="register-passkey" class="modal" aria-labelledby="register-passkey-title" open data-open-on-load' in (
        response.content.decode()
    )


def test_plain_post_of_the_register_form_says_it_needs_javascript(carol):
    response = _browser(carol, raise_request_exception=False).post(f"{_list_url(carol)}new/", {"name": "No script"})

    assert response.status_code == 400
    assert "Registering a passkey needs JavaScript: turn it on for this site and try again." in page_text(response)
    assert 'value="No script"' in response.content.decode()
    assert not Passkey.objects.exists()


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_owners_passkey_under_your_own_id_is_not_found(carol_browser, carol, bobs_passkey, method):
    response = getattr(carol_browser, method)(f"{_list_url(carol)}{bobs_passkey[0].pk}/delete/")

    assert response.status_code == 404
    assert Passkey.objects.filter(pk=bobs_passkey[0].pk).exists()
    assert not events("passkey.delete")


@pytest.mark.parametrize("method", ["get", "post"])
def test_manager_gets_404_for_a_passkey_under_the_wrong_owner(manager, carol, bobs_passkey, method):
    response = getattr(_browser(manager), method)(f"{_list_url(carol)}{bobs_passkey[0].pk}/delete/")

    assert response.status_code == 404
    assert Passkey.objects.filter(pk=bobs_passkey[0].pk).exists()


@pytest.mark.parametrize("passkey_id", [0, 999_999, 2**63 - 1, 2**63, 10**30])
def test_unknown_passkey_id_is_not_found(carol, carol_browser, passkey_id):
    response = carol_browser.post(f"{_list_url(carol)}{passkey_id}/delete/")

    assert response.status_code == 404


@pytest.mark.parametrize("user_id", [999_999, 2**63, 10**30])
def test_unknown_user_is_not_found_for_a_manager(manager, user_id):
    assert _browser(manager).get(f"/users/{user_id}/passkeys/").status_code == 404


@pytest.mark.parametrize("path", ["", "new/", "1/delete/"])
def test_anonymous_visitor_is_sent_to_log_in(carol, path):
    response = _browser().get(f"{_list_url(carol)}{path}")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", [REGISTER_OPTIONS, REGISTER_FINISH])
def test_anonymous_visitor_cannot_register(url):
    response = _browser().post(url, {"name": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert not Passkey.objects.exists()


def test_deleting_a_user_deletes_their_passkeys(origin, other_user, bobs_passkey, carols_passkey):
    _, authenticator = bobs_passkey

    account_services.user_delete(origin=origin, user=other_user)

    assert list(Passkey.objects.values_list("user__username", flat=True)) == ["carol"]
    assert not UserHandle.objects.filter(user_id=other_user.pk).exists()
    assert _assert_json_error(_login(_browser(), authenticator), 400)["detail"] == services.NOT_ACCEPTED


# the login page and the user list


def test_login_page_offers_passkeys():
    content = Client().get("/login/").content.decode()

    assert "Sign in with a passkey</button>" in content
    assert 'data-options-url="/login/passkey/options/"' in content
    assert 'data-finish-url="/login/passkey/"' in content
    assert 'autocomplete="username webauthn"' in content
    assert "/static/js/passkeys.js" in content


def test_account_page_links_my_passkeys(carol, carol_browser):
    assert f'href="/users/{carol.pk}/passkeys/">My passkeys</a>' in carol_browser.get("/account/").content.decode()


def test_user_list_links_only_your_own_passkeys_without_the_permission(carol, other_user):
    viewer = grant(UserFactory(username="erin"), "accounts.view_user")

    content = _browser(viewer).get("/users/").content.decode()

    assert f'<a href="/users/{viewer.pk}/passkeys/">Passkeys</a>' in content
    assert f"/users/{carol.pk}/passkeys/" not in content
    assert f"/users/{other_user.pk}/passkeys/" not in content


def test_user_list_links_every_rows_passkeys_with_the_permission(carol, other_user):
    viewer = grant(UserFactory(username="erin"), "accounts.view_user", MANAGE_OTHERS)

    content = _browser(viewer).get("/users/").content.decode()

    for user in (viewer, carol, other_user):
        assert f'<a href="/users/{user.pk}/passkeys/">Passkeys</a>' in content


# passkeys need a secure context


def test_plain_http_on_another_host_explains_and_offers_no_register_button(carol, proxy_host):
    browser = _browser(carol, HTTP_HOST=proxy_host)

    response = browser.get(_list_url(carol))

    assert response.status_code == 200
    text = page_text(response)
    assert 'id="passkeys-unavailable"' in text
    assert "trusted HTTPS" in text
    assert str(NEEDS_HTTPS) in text
    assert "Register Passkey" not in text
    assert "data-passkey-register" not in text  # nothing for passkeys.js to set up


@pytest.mark.parametrize("url", JSON_ENDPOINTS)
def test_plain_http_on_another_host_refuses_every_ceremony(carol, proxy_host, url):
    browser = _browser(carol, HTTP_HOST=proxy_host)

    response = browser.post(url, {"name": "Laptop"})

    assert _assert_json_error(response, 403)["detail"] == NEEDS_HTTPS
    assert not Passkey.objects.exists()


def test_forwarded_proto_is_ignored_unless_the_proxy_is_trusted(carol, proxy_host):
    browser = _browser(carol, HTTP_HOST=proxy_host)

    response = browser.post(REGISTER_OPTIONS, {"name": "Laptop"}, HTTP_X_FORWARDED_PROTO="https")

    assert _assert_json_error(response, 403)["detail"] == NEEDS_HTTPS


@pytest.mark.parametrize("secure", [True, False], ids=["tls-to-django", "tls-ends-at-proxy"])
def test_https_behind_a_trusted_proxy_offers_passkeys(carol, proxy_host, settings, secure):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = _browser(carol, HTTP_HOST=proxy_host)

    options = browser.post(REGISTER_OPTIONS, {"name": "Laptop"}, secure=secure, HTTP_X_FORWARDED_PROTO="https")

    assert options.status_code == 200
    assert options.json()["rp"]["id"] == PROXY_HOST
    page = browser.get(_list_url(carol), secure=secure, HTTP_X_FORWARDED_PROTO="https")
    assert "Register Passkey</a>" in page_text(page)
    assert 'id="passkeys-unavailable"' not in page_text(page)


def test_whole_journey_over_https_behind_a_proxy(carol, proxy_host, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    https = {"secure": True, "HTTP_X_FORWARDED_PROTO": "https"}
    authenticator = SoftAuthenticator(origin=f"https://{PROXY_HOST}")
    browser = _browser(carol, HTTP_HOST=proxy_host)
    options = browser.post(REGISTER_OPTIONS, {"name": "Laptop"}, **https).json()
    credential = authenticator.register(options)
    assert browser.post(REGISTER_FINISH, {"credential": credential}, "application/json", **https).status_code == 201
    anonymous = _browser(HTTP_HOST=proxy_host)
    login_options = anonymous.post(LOGIN_OPTIONS, **https).json()

    response = anonymous.post(
        f"{LOGIN_FINISH}?next=https://{PROXY_HOST}/users/",
        {"credential": authenticator.login(login_options)},
        "application/json",
        **https,
    )

    assert response.json() == {"redirect": f"https://{PROXY_HOST}/users/"}
    assert session_user_id(anonymous) == carol.pk


def test_passkey_made_on_one_host_does_not_log_in_on_another(carol, carols_passkey, proxy_host, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = _browser(HTTP_HOST=proxy_host)
    options = browser.post(LOGIN_OPTIONS, HTTP_X_FORWARDED_PROTO="https").json()
    # The authenticator signs for the RP it holds the passkey for, and the browser reports the page's origin.
    credential = carols_passkey[1].login(options, origin=f"https://{PROXY_HOST}")

    response = browser.post(
        LOGIN_FINISH, {"credential": credential}, "application/json", HTTP_X_FORWARDED_PROTO="https"
    )

    assert _assert_json_error(response, 400)["detail"] == services.NOT_ACCEPTED
    assert session_user_id(browser) is None


def test_https_on_an_ip_address_is_refused(carol, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = _browser(carol, HTTP_HOST="127.0.0.1")

    response = browser.post(REGISTER_OPTIONS, {"name": "Laptop"}, HTTP_X_FORWARDED_PROTO="https")

    assert "domain name" in _assert_json_error(response, 403)["detail"]


def test_host_allowed_only_by_a_wildcard_needs_the_rp_id_setting(carol, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, ".example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    browser = _browser(carol, HTTP_HOST=PROXY_HOST)

    response = browser.post(REGISTER_OPTIONS, {"name": "Laptop"}, HTTP_X_FORWARDED_PROTO="https")

    assert "PANEL_PASSKEY_RP_ID" in _assert_json_error(response, 403)["detail"]


def test_configured_rp_id_is_used_from_its_origins_only(carol, proxy_host, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.PANEL_PASSKEY_RP_ID = "example.com"
    settings.PANEL_PASSKEY_ORIGINS = [f"https://{PROXY_HOST}"]
    https = {"HTTP_X_FORWARDED_PROTO": "https"}

    on_origin = _browser(carol, HTTP_HOST=proxy_host).post(REGISTER_OPTIONS, {"name": "Laptop"}, **https)
    elsewhere = _browser(carol).post(REGISTER_OPTIONS, {"name": "Laptop"})

    assert on_origin.json()["rp"]["id"] == "example.com"
    assert _assert_json_error(elsewhere, 403)["detail"] == (
        f"Passkeys are set up for https://{PROXY_HOST}; open the panel there to use them."
    )


# bad requests: the documented status and shape, never a 500, nothing stored


@pytest.mark.parametrize("url", JSON_ENDPOINTS)
def test_json_endpoints_accept_only_post(carol, url):
    response = _browser(carol).get(url)

    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize("url", [REGISTER_OPTIONS, REGISTER_FINISH])
def test_register_endpoints_need_the_csrf_token(carol, carols_passkey, url):
    browser = _browser(carol, enforce_csrf_checks=True)
    before = _passkey_state()

    response = browser.post(url, {"name": "Laptop"})

    assert response.status_code == 403
    assert _passkey_state() == before


@pytest.mark.parametrize("url", [LOGIN_OPTIONS, LOGIN_FINISH])
def test_login_endpoints_need_the_csrf_token(carols_passkey, url):
    browser = _browser(enforce_csrf_checks=True)
    browser.get("/login/")  # the CSRF cookie, but no token sent back

    response = browser.post(url, {})

    assert response.status_code == 403
    assert session_user_id(browser) is None


def test_ceremonies_with_the_csrf_token_from_the_page_succeed(carol):
    browser = _browser(carol, enforce_csrf_checks=True)
    browser.get(_list_url(carol))
    csrf = {"HTTP_X_CSRFTOKEN": browser.cookies["csrftoken"].value}
    authenticator = SoftAuthenticator()
    options = browser.post(REGISTER_OPTIONS, {"name": "Laptop"}, **csrf)
    assert options.status_code == 200
    credential = authenticator.register(options.json())
    assert browser.post(REGISTER_FINISH, {"credential": credential}, "application/json", **csrf).status_code == 201
    anonymous = _browser(enforce_csrf_checks=True)
    anonymous.get("/login/")
    csrf = {"HTTP_X_CSRFTOKEN": anonymous.cookies["csrftoken"].value}
    login_options = anonymous.post(LOGIN_OPTIONS, {}, "application/json", **csrf)
    assert login_options.status_code == 200

    response = anonymous.post(
        LOGIN_FINISH, {"credential": authenticator.login(login_options.json())}, "application/json", **csrf
    )

    assert response.status_code == 200
    assert session_user_id(anonymous) == carol.pk


NAME_TOO_LONG = "Ensure this value has at most 64 characters (it has 65)."
NAME_REQUIRED = "Give the passkey a name, such as the device it is on."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({}, NAME_REQUIRED, id="missing"),
        pytest.param({"name": ""}, NAME_REQUIRED, id="blank"),
        pytest.param({"name": "   "}, NAME_REQUIRED, id="spaces"),
        pytest.param({"name": "n" * 65}, NAME_TOO_LONG, id="too-long"),
        pytest.param({"name": "Work\nlaptop"}, "The name may not contain control characters.", id="newline"),
        pytest.param({"name": "Work\x00laptop"}, "Null characters are not allowed.", id="nul"),
        pytest.param({"name": "Laptop"}, "You already have a passkey named “Laptop”.", id="taken"),
        pytest.param({"name": "  LAPTOP "}, "You already have a passkey named “LAPTOP”.", id="taken-other-case"),
    ],
)
def test_bad_name_is_422_naming_the_field(carol, carol_browser, carols_passkey, data, message):
    before = (_passkey_state(), len(events()))

    response = carol_browser.post(REGISTER_OPTIONS, data)

    body = _assert_json_error(response, 422)
    assert body["detail"] == "Check the passkey's name."
    assert body["errors"] == {"name": [message]}
    assert (_passkey_state(), len(events())) == before


def test_name_of_64_characters_with_spaces_around_is_accepted_trimmed(carol, carol_browser):
    name = "n" * 64

    response = _register(carol_browser, SoftAuthenticator(), name=f"  {name}  ")

    assert response.status_code == 201
    assert Passkey.objects.get(user=carol).name == name


def test_same_name_as_another_users_passkey_is_accepted(carol, carol_browser, bobs_passkey):
    assert _register(carol_browser, SoftAuthenticator(), name="Bob's phone").status_code == 201


def test_name_taken_while_the_ceremony_ran_is_422_and_stores_nothing(carol, carol_browser):
    first, second = SoftAuthenticator(), SoftAuthenticator()
    first_options = carol_browser.post(REGISTER_OPTIONS, {"name": "Laptop"}).json()
    second_options = carol_browser.post(REGISTER_OPTIONS, {"name": "laptop"}).json()
    finish = {"content_type": "application/json"}
    assert (
        carol_browser.post(REGISTER_FINISH, {"credential": first.register(first_options)}, **finish).status_code == 201
    )

    response = carol_browser.post(REGISTER_FINISH, {"credential": second.register(second_options)}, **finish)

    body = _assert_json_error(response, 422)
    assert body["errors"] == {"name": ["You already have a passkey named “laptop”."]}
    assert Passkey.objects.filter(user=carol).count() == 1


BAD_BODIES = {
    "not-json": "credential",
    "not-utf8": b"\xff\xfe{}",
    "empty": "",
    "array": "[]",
    "array-of-object": '[{"credential": {}}]',
    "string": '"credential"',
    "null": "null",
    "number": "5",
    "empty-object": "{}",
    "credential-string": '{"credential": "x"}',
    "credential-array": '{"credential": []}',
    "credential-null": '{"credential": null}',
    "credential-empty": '{"credential": {}}',
    "credential-only-id": '{"credential": {"id": "AAAA"}}',
    "credential-bad-response": '{"credential": {"id": "AAAA", "rawId": "AAAA", "type": "public-key", "response": 5}}',
    "credential-bad-base64": (
        '{"credential": {"id": "%%%", "rawId": "%%%", "type": "public-key",'
        ' "response": {"clientDataJSON": "%%%", "attestationObject": "%%%", "authenticatorData": "%%%",'
        ' "signature": "%%%"}}}'
    ),
}


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_unreadable_registration_is_400_and_stores_nothing(carol, carols_passkey, body):
    browser = _browser(carol, raise_request_exception=False)
    browser.post(REGISTER_OPTIONS, {"name": "Second"})
    before = _passkey_state()

    response = browser.post(REGISTER_FINISH, body, content_type="application/json")

    _assert_json_error(response, 400)
    assert _passkey_state() == before


@pytest.mark.parametrize("body", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_unreadable_login_is_400_and_logs_nobody_in(carols_passkey, body):
    browser = _browser(raise_request_exception=False)
    _login_options(browser)
    before = _passkey_state()

    response = browser.post(LOGIN_FINISH, body, content_type="application/json")

    _assert_json_error(response, 400)
    assert session_user_id(browser) is None
    assert _passkey_state() == before


@pytest.mark.parametrize("url", [REGISTER_FINISH, LOGIN_FINISH])
def test_form_encoded_answer_is_400(carol, carols_passkey, url):
    response = _browser(carol).post(url, {"credential": "x"})

    _assert_json_error(response, 400)


@pytest.mark.parametrize("url", [REGISTER_FINISH, LOGIN_FINISH])
def test_deeply_nested_json_is_400_not_a_server_error(carol, url):
    browser = _browser(carol, raise_request_exception=False)

    response = browser.post(url, "[" * 100_000, content_type="application/json")

    _assert_json_error(response, 400)


def _random_of_size(size, _urandom=os.urandom):
    """os.urandom for the soft authenticator: its credential IDs get ``size`` bytes."""
    return lambda _n: _urandom(size)


def _fresh_registration(browser, authenticator, **answer):
    options = browser.post(REGISTER_OPTIONS, {"name": "Second"}).json()
    return authenticator.register(options, **answer)


REGISTRATION_TAMPERING = {
    "origin": lambda browser, auth: _tampered_client_data(
        _fresh_registration(browser, auth), origin="http://evil.example.com"
    ),
    "origin-with-port": lambda browser, auth: _tampered_client_data(
        _fresh_registration(browser, auth), origin="http://localhost:8000"
    ),
    "type": lambda browser, auth: _tampered_client_data(_fresh_registration(browser, auth), type="webauthn.get"),
    "unknown-challenge": lambda browser, auth: _tampered_client_data(
        _fresh_registration(browser, auth), challenge=b64url(b"\x00" * 64)
    ),
    "no-challenge": lambda browser, auth: _tampered_client_data(_fresh_registration(browser, auth), challenge=None),
    "challenge-not-text": lambda browser, auth: _tampered_client_data(_fresh_registration(browser, auth), challenge=5),
    "no-origin": lambda browser, auth: _tampered_client_data(_fresh_registration(browser, auth), origin=None),
    "client-data-not-json": lambda browser, auth: _with_response(
        _fresh_registration(browser, auth), clientDataJSON=b64url(b"not json")
    ),
    "client-data-array": lambda browser, auth: _with_response(
        _fresh_registration(browser, auth), clientDataJSON=b64url(b"[]")
    ),
    "no-client-data": lambda browser, auth: _with_response(_fresh_registration(browser, auth), clientDataJSON=None),
    "attestation-garbage": lambda browser, auth: _with_response(
        _fresh_registration(browser, auth), attestationObject=b64url(b"garbage")
    ),
    "no-attestation": lambda browser, auth: _with_response(_fresh_registration(browser, auth), attestationObject=None),
    "no-user-verification": lambda browser, auth: _fresh_registration(browser, auth, user_verified=False),
    "other-rp-id": lambda browser, auth: _fresh_registration(browser, auth, rp_id="evil.example.com"),
    "rp-id-of-subdomain": lambda browser, auth: _fresh_registration(browser, auth, rp_id="sub.localhost"),
}


@pytest.mark.parametrize("tamper", REGISTRATION_TAMPERING.values(), ids=REGISTRATION_TAMPERING.keys())
def test_tampered_registration_is_400_and_stores_nothing(carol, carols_passkey, tamper):
    browser = _browser(carol, raise_request_exception=False)
    credential = tamper(browser, SoftAuthenticator())
    before = _passkey_state()

    response = browser.post(REGISTER_FINISH, {"credential": credential}, content_type="application/json")

    _assert_json_error(response, 400)
    assert _passkey_state() == before
    assert not events("passkey.register", outcome=AuditEvent.Outcome.SUCCESS, actor=carol)


def test_registration_that_does_not_verify_is_audited_as_a_failure(carol, carol_browser):
    credential = _tampered_client_data(
        _fresh_registration(carol_browser, SoftAuthenticator()), origin="http://evil.example.com"
    )

    response = carol_browser.post(REGISTER_FINISH, {"credential": credential}, content_type="application/json")

    assert _assert_json_error(response, 400)["detail"] == (
        "The passkey could not be registered: the browser's answer did not verify."
    )
    (event,) = events("passkey.register")
    assert (event.actor, event.outcome) == (carol, AuditEvent.Outcome.FAILURE)
    assert event.details["reason"]


def test_registration_answer_cannot_be_used_twice(carol, carol_browser):
    credential = _fresh_registration(carol_browser, SoftAuthenticator())
    finish = {"content_type": "application/json"}
    assert carol_browser.post(REGISTER_FINISH, {"credential": credential}, **finish).status_code == 201

    response = carol_browser.post(REGISTER_FINISH, {"credential": credential}, **finish)

    assert _assert_json_error(response, 400)["detail"] == services.EXPIRED
    assert Passkey.objects.count() == 1


def test_credential_id_of_the_largest_allowed_size_is_accepted(carol, carol_browser):
    size = CREDENTIAL_ID_MAX_BYTES
    with mock.patch("tests.soft_authenticator.os.urandom", _random_of_size(size)):
        credential = _fresh_registration(carol_browser, SoftAuthenticator())

    response = carol_browser.post(REGISTER_FINISH, {"credential": credential}, content_type="application/json")

    assert response.status_code == 201
    assert len(bytes(Passkey.objects.get().credential_id)) == size


@pytest.mark.parametrize("size", [CREDENTIAL_ID_MAX_BYTES + 1, 3000])
def test_credential_id_longer_than_1023_bytes_is_refused(carol, size):
    browser = _browser(carol, raise_request_exception=False)
    with mock.patch("tests.soft_authenticator.os.urandom", _random_of_size(size)):
        credential = _fresh_registration(browser, SoftAuthenticator())

    response = browser.post(REGISTER_FINISH, {"credential": credential}, content_type="application/json")

    _assert_json_error(response, 400)
    assert not Passkey.objects.exists()


def _resigned_client_data(credential):
    """The clientDataJSON re-encoded with a space more: the signature covers its hash, so it no longer matches."""
    client_data = from_b64url(credential["response"]["clientDataJSON"])
    credential["response"]["clientDataJSON"] = b64url(client_data.replace(b", ", b",  ", 1))
    return credential


def _flipped(credential, field):
    raw = bytearray(from_b64url(credential["response"][field]))
    raw[-1] ^= 0x01
    credential["response"][field] = b64url(bytes(raw))
    return credential


LOGIN_TAMPERING = {
    "origin": lambda options, auth: auth.login(options, origin="http://evil.example.com"),
    "client-data-edited": lambda options, auth: _resigned_client_data(auth.login(options)),
    "client-data-origin-edited": lambda options, auth: _tampered_client_data(
        auth.login(options), origin="http://evil.example.com"
    ),
    "client-data-type-edited": lambda options, auth: _tampered_client_data(auth.login(options), type="webauthn.create"),
    "unknown-challenge": lambda options, auth: _tampered_client_data(auth.login(options), challenge=b64url(b"x" * 64)),
    "signature": lambda options, auth: _flipped(auth.login(options), "signature"),
    "authenticator-data": lambda options, auth: _flipped(auth.login(options), "authenticatorData"),
    "other-rp-id": lambda options, auth: auth.login(options, rp_id="evil.example.com"),
    "no-user-verification": lambda options, auth: auth.login(options, user_verified=False),
    "other-user-handle": lambda options, auth: auth.login(options, user_handle=b"\x00" * 64),
    "no-user-handle": lambda options, auth: _with_response(auth.login(options), userHandle=None),
    "unknown-credential": lambda options, auth: {**auth.login(options), "id": b64url(b"x"), "rawId": b64url(b"x")},
    "no-signature": lambda options, auth: _with_response(auth.login(options), signature=None),
}


@pytest.mark.parametrize("tamper", LOGIN_TAMPERING.values(), ids=LOGIN_TAMPERING.keys())
def test_tampered_login_is_400_and_logs_nobody_in(carol, carols_passkey, tamper):
    browser = _browser(raise_request_exception=False)
    credential = tamper(_login_options(browser), carols_passkey[1])
    before = _passkey_state()

    response = browser.post(LOGIN_FINISH, {"credential": credential}, content_type="application/json")

    _assert_json_error(response, 400)
    assert session_user_id(browser) is None
    assert _passkey_state() == before
    assert not events("passkey.login", outcome=AuditEvent.Outcome.SUCCESS)


def test_login_with_another_users_passkey_under_your_handle_is_refused(carol, carols_passkey, bobs_passkey):
    carols_handle = bytes(UserHandle.objects.get(user=carol).handle)
    browser = _browser()

    response = _login(browser, bobs_passkey[1], user_handle=carols_handle)

    assert _assert_json_error(response, 400)["detail"] == services.NOT_ACCEPTED
    assert session_user_id(browser) is None
    (event,) = events("passkey.login")
    assert event.details["reason"] == "user handle does not match"


def test_passkey_of_an_inactive_user_is_refused(carol, carols_passkey):
    carol.is_active = False
    carol.save(update_fields=["is_active"])
    browser = _browser()

    response = _login(browser, carols_passkey[1])

    assert _assert_json_error(response, 400)["detail"] == "This account is disabled."
    assert session_user_id(browser) is None
    assert Passkey.objects.get().last_used_at is None
    (event,) = events("passkey.login")
    assert (event.outcome, event.details["reason"]) == (AuditEvent.Outcome.FAILURE, "account may not log in")


# brute force


def test_failed_logins_throttle_the_address_with_retry_after(carols_passkey, clock):
    browser = _browser()
    for _ in range(throttle.IP_GUARD.free_failures):
        _assert_json_error(browser.post(LOGIN_FINISH, {"credential": {}}, "application/json"), 400)
        assert throttle.wait_seconds(username=None, ip="127.0.0.1") == 0  # free failures cost no wait
    # One failure past the free ones: the next attempt from this address must wait.
    _assert_json_error(browser.post(LOGIN_FINISH, {"credential": {}}, "application/json"), 400)

    response = _login(browser, carols_passkey[1])

    body = _assert_json_error(response, 429)
    assert body["detail"] == throttle.locked_out_message(1)
    assert response["Retry-After"] == "1"
    assert session_user_id(browser) is None
    (refusal,) = events("passkey.login", outcome=AuditEvent.Outcome.FAILURE)
    assert refusal.details["reason"] == "throttled"
    assert Passkey.objects.get().last_used_at is None
    # Another address is not held up.
    assert _login(_browser(REMOTE_ADDR="198.51.100.7"), carols_passkey[1]).status_code == 200


def test_login_starts_are_bounded_per_address(carols_passkey):
    """Each start stores a challenge in the cache; one address cannot store without limit."""
    browser = _browser()
    for _ in range(passkey_views.LOGIN_STARTS_PER_IP.limit):
        _login_options(browser)

    response = browser.post(LOGIN_OPTIONS)

    _assert_json_error(response, 429)
    assert response["Retry-After"] == str(passkey_views.LOGIN_STARTS_PER_IP.window)
    assert _browser(REMOTE_ADDR="198.51.100.7").post(LOGIN_OPTIONS).status_code == 200


def test_locked_address_waits_the_lock_time(carols_passkey, clock):
    for _ in range(throttle.IP_GUARD.lock_after):
        throttle.record_failure(origin=SETUP, username=None, ip="127.0.0.1")
    browser = _browser()

    response = _login(browser, carols_passkey[1])

    _assert_json_error(response, 429)
    assert response["Retry-After"] == str(throttle.IP_GUARD.lock_seconds)
    assert session_user_id(browser) is None


def test_failed_passkey_logins_count_against_no_account(carol, carols_passkey):
    browser = _browser()
    for _ in range(throttle.ACCOUNT_GUARD.free_failures + 1):
        _assert_json_error(_login(browser, carols_passkey[1], user_verified=False), 400)

    assert throttle.wait_seconds(username="carol", ip="192.0.2.99") == 0
    password_login = Client().post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD})
    assert password_login.status_code == 302
