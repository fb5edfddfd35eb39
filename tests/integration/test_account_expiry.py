"""Account expiry: after ``User.expires_at`` nobody logs in as that user, by password, passkey or token.

The clock stands still at T0 (time_machine) and moves past the expiry by ``clock.move_to``;
nothing sleeps. Every success is checked where it lands (the row, the audit event), every
refusal by its message and by what it left unchanged.
"""

import datetime
import re

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.test import Client

from accounts import services
from accounts.models import User
from accounts.validators import validate_account_expiry
from core.models import AuditEvent
from passkeys.models import Passkey
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import enable_totp
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import (
    NEW_PASSWORD,
    events,
    field_errors,
    grant,
    logged_in_client,
    messages_of,
    page_text,
    post_login,
    register_passkey,
    session_exists,
    session_key_of,
    session_user_id,
    user_session_keys,
)

pytestmark = pytest.mark.django_db

UTC = datetime.UTC
T0 = datetime.datetime(2031, 4, 1, 12, 0, 5, tzinfo=UTC)  # 5 s into a TOTP step
EXPIRY = T0 + datetime.timedelta(minutes=10)
AFTER = EXPIRY + datetime.timedelta(minutes=1)
EXPIRED_MESSAGE = "This account expired on 2031-04-01 12:10 UTC. Ask an administrator to extend it."
LOGIN_FAILED = "Incorrect username or password."
WRONG_PASSWORD = "Wrong-pass-99"
PAST_MESSAGE = "Choose a moment in the future, or leave it empty for never."
NAIVE_MESSAGE = "The expiry must include a time zone."

# Passkeys need a secure context: the browsers send Host: localhost (see test_passkey_pages).
HOST = "localhost"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def expiring(carol):
    """carol, whose account expires at EXPIRY."""
    User.objects.filter(pk=carol.pk).update(expires_at=EXPIRY)
    return User.objects.get(pk=carol.pk)


@pytest.fixture
def viewer(db):
    """May see the user list, not change users."""
    return grant(UserFactory(username="viewer"), "accounts.view_user")


def _stored_expiry(user):
    return User.objects.values_list("expires_at", flat=True).get(pk=user.pk)


def _expires_cell(response, user):
    """The Expires cell of ``user``'s row on the user list."""
    text = response.content.decode()
    start = text.index(f'<tr id="user-{user.pk}">')
    row = text[start : text.index("</tr>", start)]
    return re.search(r'<td data-label="Expires">(.*?)</td>', row, re.DOTALL).group(1)


def _saved_message(response):
    """The one message after saving an expiry: it names the user and the new expiry."""
    (message,) = messages_of(response)
    assert "carol" in message
    return message


# the validator


def test_validator_accepts_none_for_never():
    validate_account_expiry(None)


def test_validator_accepts_a_future_moment():
    validate_account_expiry(T0 + datetime.timedelta(seconds=1))


@pytest.mark.parametrize("moment", [T0 - datetime.timedelta(seconds=1), T0 - datetime.timedelta(days=365)])
def test_validator_refuses_a_past_moment(moment):
    with pytest.raises(ValidationError) as refused:
        validate_account_expiry(moment)

    assert refused.value.code == "past"
    assert refused.value.messages == [PAST_MESSAGE]


def test_validator_refuses_now_itself():
    with pytest.raises(ValidationError) as refused:
        validate_account_expiry(T0)

    assert refused.value.code == "past"


def test_validator_measures_against_the_now_it_is_given():
    later = T0 + datetime.timedelta(hours=1)

    validate_account_expiry(later, now=T0)
    with pytest.raises(ValidationError):
        validate_account_expiry(later, now=later)


def test_validator_refuses_a_naive_moment_even_in_the_future():
    with pytest.raises(ValidationError) as refused:
        validate_account_expiry(datetime.datetime(2040, 1, 1, 12, 0))

    assert refused.value.code == "naive"
    assert refused.value.messages == [NAIVE_MESSAGE]


def test_user_is_expired_from_the_moment_itself(expiring, clock):
    assert not expiring.is_expired
    clock.move_to(EXPIRY - datetime.timedelta(microseconds=1))
    assert not expiring.is_expired
    clock.move_to(EXPIRY)
    assert expiring.is_expired


# the service


def test_set_expiry_stores_the_moment(origin, carol):
    services.user_set_expiry(origin=origin, user=carol, expires_at=EXPIRY)

    assert _stored_expiry(carol) == EXPIRY


def test_set_expiry_to_none_clears_it(origin, expiring):
    services.user_set_expiry(origin=origin, user=expiring, expires_at=None)

    assert _stored_expiry(expiring) is None


def test_set_expiry_is_audited_with_from_and_to(origin, admin_user, carol):
    services.user_set_expiry(origin=origin, user=carol, expires_at=EXPIRY)
    services.user_set_expiry(origin=origin, user=carol, expires_at=None)

    first, second = events("user.expiry")
    assert (first.actor, first.outcome) == (admin_user, AuditEvent.Outcome.SUCCESS)
    assert (first.target_type, first.target_id, first.target_name) == ("user", str(carol.pk), "carol")
    assert first.details["changes"] == {"expires_at": {"from": None, "to": "2031-04-01T12:10:05+00:00"}}
    assert first.details["via"] == "web"
    assert second.details["changes"] == {"expires_at": {"from": "2031-04-01T12:10:05+00:00", "to": None}}


def test_set_expiry_to_the_same_moment_writes_no_event(origin, expiring):
    services.user_set_expiry(origin=origin, user=expiring, expires_at=EXPIRY)
    # The same instant in another zone is the same moment.
    services.user_set_expiry(
        origin=origin, user=expiring, expires_at=EXPIRY.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
    )

    assert events("user.expiry") == []
    assert _stored_expiry(expiring) == EXPIRY


def test_clearing_an_expiry_that_is_not_set_writes_no_event(origin, carol):
    services.user_set_expiry(origin=origin, user=carol, expires_at=None)

    assert events("user.expiry") == []


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (T0 - datetime.timedelta(minutes=1), PAST_MESSAGE),
        (T0, PAST_MESSAGE),
        (datetime.datetime(2040, 1, 1), NAIVE_MESSAGE),
    ],
)
def test_set_expiry_refuses_a_bad_moment_keyed_expires_at_and_writes_nothing(origin, expiring, moment, message):
    with pytest.raises(ValidationError) as refused:
        services.user_set_expiry(origin=origin, user=expiring, expires_at=moment)

    assert refused.value.message_dict == {"expires_at": [message]}
    assert _stored_expiry(expiring) == EXPIRY
    assert expiring.expires_at == EXPIRY
    assert events("user.expiry") == []


def test_user_create_with_an_expiry_stores_and_audits_it(origin):
    user = services.user_create(
        origin=origin, username="dora", email="dora@example.com", password=NEW_PASSWORD, expires_at=EXPIRY
    )

    assert _stored_expiry(user) == EXPIRY
    (event,) = events("user.create")
    assert (event.details["superuser"], event.details["expires_at"]) == (False, "2031-04-01T12:10:05+00:00")


def test_user_create_without_an_expiry_never_expires(origin):
    user = services.user_create(origin=origin, username="dora", email="dora@example.com", password=NEW_PASSWORD)

    assert _stored_expiry(user) is None
    assert events("user.create")[0].details["expires_at"] is None


def test_user_create_refuses_a_past_expiry_together_with_the_other_fields_errors(origin):
    before = User.objects.count()

    with pytest.raises(ValidationError) as refused:
        services.user_create(
            origin=origin,
            username="bad name!",
            email="",
            password=NEW_PASSWORD,
            expires_at=T0 - datetime.timedelta(days=1),
        )

    errors = refused.value.message_dict
    assert set(errors) == {"username", "email", "expires_at"}
    assert errors["expires_at"] == [PAST_MESSAGE]
    assert User.objects.count() == before
    assert events("user.create") == []


# logging in with the password


def test_password_login_works_before_the_moment(client, expiring, clock):
    clock.move_to(EXPIRY - datetime.timedelta(seconds=1))

    response = post_login(client, "carol", next="/account/")

    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert session_user_id(client) == expiring.pk


@pytest.mark.parametrize("moment", [EXPIRY, AFTER, EXPIRY + datetime.timedelta(days=400)])
def test_password_login_after_the_moment_says_the_account_expired(client, expiring, clock, moment):
    clock.move_to(moment)

    response = post_login(client, "carol", next="/account/")

    assert response.status_code == 200
    assert page_text(response).count(EXPIRED_MESSAGE) == 1
    assert LOGIN_FAILED not in page_text(response)
    assert response.context["form"].errors == {"__all__": [EXPIRED_MESSAGE]}
    assert session_user_id(client) is None
    assert user_session_keys(expiring) == set()


def test_wrong_password_after_the_moment_says_only_incorrect(client, expiring, clock):
    clock.move_to(AFTER)

    response = post_login(client, "carol", WRONG_PASSWORD)

    assert LOGIN_FAILED in page_text(response)
    assert "expired" not in page_text(response)
    assert session_user_id(client) is None
    # The usual failure: named by what was typed, no reason that would tell the account exists.
    (event,) = events("auth.login")
    assert (event.outcome, event.target_id, event.target_name) == (AuditEvent.Outcome.FAILURE, "", "carol")
    assert "reason" not in event.details


def test_refused_login_is_audited_as_account_expired(client, expiring, clock):
    clock.move_to(AFTER)

    post_login(client, "carol")

    (event,) = events("auth.login")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert (event.target_type, event.target_id, event.target_name) == ("user", str(expiring.pk), "carol")
    assert event.details == {"reason": "account expired", "via": "web"}
    assert event.actor is None
    assert events("auth.login", outcome=AuditEvent.Outcome.SUCCESS) == []


def test_extending_the_expiry_lets_the_user_log_in_again(client, origin, expiring, clock):
    clock.move_to(AFTER)
    assert post_login(client, "carol").status_code == 200

    services.user_set_expiry(origin=origin, user=expiring, expires_at=AFTER + datetime.timedelta(days=30))

    assert post_login(client, "carol").status_code == 302
    assert session_user_id(client) == expiring.pk


# an open session


def test_open_session_ends_at_its_next_request_with_the_reason_on_the_login_page(expiring, clock):
    browser = logged_in_client(expiring)
    key = session_key_of(browser)
    assert browser.get("/account/").status_code == 200
    clock.move_to(AFTER)

    response = browser.get("/account/", follow=True)

    assert response.redirect_chain == [("/login/?next=/account/", 302)]
    assert EXPIRED_MESSAGE in messages_of(response)
    assert EXPIRED_MESSAGE in page_text(response)
    assert not session_exists(key)
    assert session_user_id(browser) is None


def test_open_session_ending_removes_its_recorded_session_and_audits_a_logout(expiring, clock):
    browser = logged_in_client(expiring)
    key = session_key_of(browser)
    assert user_session_keys(expiring) == {key}
    clock.move_to(AFTER)

    browser.get("/account/")

    # logout() sends user_logged_out, whose receiver ends the recorded session.
    assert user_session_keys(expiring) == set()
    (event,) = events("auth.logout")
    assert (event.actor, event.target_id) == (expiring, str(expiring.pk))


def test_open_session_goes_on_before_the_moment(expiring, clock):
    browser = logged_in_client(expiring)
    clock.move_to(EXPIRY - datetime.timedelta(seconds=1))

    assert browser.get("/account/").status_code == 200
    assert session_user_id(browser) == expiring.pk


def test_open_session_cannot_act_after_the_moment(expiring, clock):
    browser = logged_in_client(expiring)
    clock.move_to(AFTER)

    response = browser.post(
        f"/users/{expiring.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    assert (response.status_code, response["Location"]) == (302, f"/login/?next=/users/{expiring.pk}/password/")
    assert User.objects.get(pk=expiring.pk).check_password(DEFAULT_PASSWORD)
    assert events("user.password_change") == []


def test_the_message_is_shown_once(expiring, clock):
    browser = logged_in_client(expiring)
    clock.move_to(AFTER)
    browser.get("/account/", follow=True)

    again = browser.get("/login/")

    assert EXPIRED_MESSAGE not in page_text(again)


def test_other_users_sessions_go_on(expiring, other_user, clock):
    carols = logged_in_client(expiring)
    bobs = logged_in_client(other_user)
    clock.move_to(AFTER)

    carols.get("/account/")

    assert bobs.get("/account/").status_code == 200
    assert len(user_session_keys(other_user)) == 1


# the second step of a password login


def test_second_step_completes_before_the_moment(client, expiring, clock):
    totp = enable_totp(expiring)
    clock.move_to(EXPIRY - datetime.timedelta(seconds=61))
    assert post_login(client, "carol")["Location"] == "/login/verify/"

    response = client.post("/login/verify/", {"action": "verify", "method": "totp", "code": totp.now()})

    assert response.status_code == 302
    assert session_user_id(client) == expiring.pk


def test_second_step_refuses_a_user_who_expired_half_way(client, expiring, clock):
    totp = enable_totp(expiring)
    clock.move_to(EXPIRY - datetime.timedelta(seconds=61))
    assert post_login(client, "carol")["Location"] == "/login/verify/"
    clock.move_to(EXPIRY + datetime.timedelta(seconds=1))  # well inside the 300 s of the second step

    response = client.post("/login/verify/", {"action": "verify", "method": "totp", "code": totp.now()}, follow=True)

    # pending_user() no longer names the user: the step answers as if it had timed out.
    assert response.redirect_chain[-1][0] == "/login/"
    assert "Your login timed out. Enter your password again." in messages_of(response)
    assert session_user_id(client) is None
    assert user_session_keys(expiring) == set()
    assert events("auth.login", outcome=AuditEvent.Outcome.SUCCESS) == []
    assert events("mfa.verify") == []


def test_second_step_page_is_not_shown_to_a_user_who_expired_half_way(client, expiring, clock):
    enable_totp(expiring)
    clock.move_to(EXPIRY - datetime.timedelta(seconds=61))
    post_login(client, "carol")
    clock.move_to(AFTER)

    response = client.get("/login/verify/")

    assert (response.status_code, response["Location"]) == (302, "/login/")


# passkeys


def _passkey_login(browser, authenticator):
    options = browser.post("/login/passkey/options/")
    assert options.status_code == 200, options.content
    credential = authenticator.login(options.json())
    return browser.post("/login/passkey/", {"credential": credential}, content_type="application/json")


def test_passkey_login_works_before_the_moment(expiring, clock):
    _, authenticator = register_passkey(expiring)
    clock.move_to(EXPIRY - datetime.timedelta(seconds=1))
    browser = Client(HTTP_HOST=HOST)

    response = _passkey_login(browser, authenticator)

    assert response.status_code == 200, response.content
    assert session_user_id(browser) == expiring.pk


def test_passkey_login_after_the_moment_is_refused_with_the_reason(expiring, clock):
    passkey, authenticator = register_passkey(expiring)
    clock.move_to(AFTER)
    browser = Client(HTTP_HOST=HOST)

    response = _passkey_login(browser, authenticator)

    assert response.status_code == 400
    assert response.json() == {"detail": EXPIRED_MESSAGE, "errors": None}
    assert session_user_id(browser) is None
    assert user_session_keys(expiring) == set()
    passkey.refresh_from_db()
    assert passkey.last_used_at is None
    (event,) = events("passkey.login")
    assert (event.outcome, event.details["reason"]) == (AuditEvent.Outcome.FAILURE, "account may not log in")
    assert events("auth.login") == []
    assert Passkey.objects.filter(user=expiring).count() == 1


# access tokens


def test_token_works_before_the_moment_and_is_refused_after(expiring, clock):
    script = Script.of(expiring)
    clock.move_to(EXPIRY - datetime.timedelta(seconds=1))
    assert script.whoami().status_code == 200

    clock.move_to(EXPIRY)
    response = script.whoami()

    body = assert_error(response, 401)
    assert body["detail"] == "the token's owner may not log in"
    assert response["WWW-Authenticate"] == 'Bearer realm="panel"'
    (event,) = events("token.refused")
    assert (event.target_type, event.target_id) == ("accesstoken", str(script.token.pk))
    assert event.details["reason"] == "the token's owner may not log in"


def test_browser_session_calling_the_api_is_logged_out_after_the_moment(expiring, clock):
    browser = logged_in_client(expiring)
    assert browser.get("/api/user/info").status_code == 200
    clock.move_to(AFTER)

    response = browser.get("/api/user/info")

    assert_error(response, 401)
    assert session_user_id(browser) is None
    assert user_session_keys(expiring) == set()


def test_token_works_again_once_the_expiry_is_cleared(origin, expiring, clock):
    script = Script.of(expiring)
    clock.move_to(AFTER)
    assert script.whoami().status_code == 401

    services.user_set_expiry(origin=origin, user=expiring, expires_at=None)

    assert script.whoami().status_code == 200


# the expiry page


def _expiry_url(user):
    return f"/users/{user.pk}/expiry/"


def test_expiry_page_shows_the_form(admin_client, carol):
    response = admin_client.get(_expiry_url(carol))

    assert response.status_code == 200
    text = page_text(response)
    assert "<h1>Account expiry of carol</h1>" in text
    assert "Now: never expires." in text
    assert re.search(r'<input type="text" name="expires_at"[^>]*placeholder="YYYY-MM-DD HH:MM"', text)
    assert 'value="' not in re.search(r'<input type="text" name="expires_at"[^>]*>', text).group(0)


def test_expiry_page_shows_the_current_value(admin_client, origin, carol):
    services.user_set_expiry(origin=origin, user=carol, expires_at=datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC))

    text = page_text(admin_client.get(_expiry_url(carol)))

    assert 'value="2031-05-01 10:30"' in text
    assert 'Now: expires <time datetime="2031-05-01T10:30:00+00:00">2031-05-01 10:30 UTC</time>.' in text


def test_expiry_page_of_an_expired_user_says_expired_on(admin_client, expiring, clock):
    clock.move_to(AFTER)

    text = page_text(admin_client.get(_expiry_url(expiring)))

    assert ">2031-04-01 12:10 UTC</time>." in text
    assert "Now: expired on <time" in text


def test_posting_a_datetime_local_value_saves_it(admin_client, admin_user, carol):
    response = admin_client.post(_expiry_url(carol), {"expires_at": "2031-05-01T10:30"}, follow=True)

    assert response.redirect_chain == [("/users/", 302)]
    assert _stored_expiry(carol) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    assert _saved_message(response).endswith(": 2031-05-01 10:30 UTC.")
    (event,) = events("user.expiry")
    assert event.actor == admin_user
    assert event.details["changes"] == {"expires_at": {"from": None, "to": "2031-05-01T10:30:00+00:00"}}


def test_posting_blank_clears_it(admin_client, expiring):
    response = admin_client.post(_expiry_url(expiring), {"expires_at": ""}, follow=True)

    assert response.redirect_chain == [("/users/", 302)]
    assert _stored_expiry(expiring) is None
    assert _saved_message(response).endswith(": never.")


def test_posting_a_past_moment_is_refused_with_the_message(admin_client, expiring):
    response = admin_client.post(_expiry_url(expiring), {"expires_at": "2031-03-01T10:00"})

    assert response.status_code == 400
    assert field_errors(response, "expires_at") == [PAST_MESSAGE]
    assert PAST_MESSAGE in page_text(response)
    assert 'value="2031-03-01T10:00"' in page_text(response)  # what was typed stays in the field
    assert _stored_expiry(expiring) == EXPIRY
    assert events("user.expiry") == []


def test_posting_something_that_is_not_a_moment_is_refused(admin_client, expiring):
    response = admin_client.post(_expiry_url(expiring), {"expires_at": "next tuesday"})

    assert response.status_code == 400
    assert field_errors(response, "expires_at") == ["Enter a valid date/time."]
    assert _stored_expiry(expiring) == EXPIRY


def _shown_value(response):
    """The value the page's expiry input holds."""
    return re.search(r'<input type="text" name="expires_at" value="([^"]*)"', response.content.decode()).group(1)


# The expiry input shows whole minutes, so an expiry with seconds (set through the API)
# comes back from an untouched form as a different, earlier moment unless the form keeps the stored one.


def test_saving_the_page_unchanged_keeps_an_expiry_that_has_seconds(admin_client, expiring):
    assert EXPIRY.second == 5
    shown = _shown_value(admin_client.get(_expiry_url(expiring)))
    assert shown == "2031-04-01 12:10"

    response = admin_client.post(_expiry_url(expiring), {"expires_at": shown})

    assert response.status_code == 302
    assert _stored_expiry(expiring) == EXPIRY
    assert events("user.expiry") == []


def test_saving_the_page_unchanged_in_the_last_minute_is_not_refused(admin_client, expiring, clock):
    clock.move_to(EXPIRY - datetime.timedelta(seconds=3))
    shown = _shown_value(admin_client.get(_expiry_url(expiring)))

    response = admin_client.post(_expiry_url(expiring), {"expires_at": shown})

    assert response.status_code == 302, field_errors(response, "expires_at")
    assert _stored_expiry(expiring) == EXPIRY


@pytest.mark.parametrize("method", ["get", "post"])
def test_expiry_page_needs_the_change_permission(viewer, carol, method):
    browser = logged_in_client(viewer)

    response = getattr(browser, method)(_expiry_url(carol), {"expires_at": "2031-05-01T10:30"})

    assert response.status_code == 403
    assert _stored_expiry(carol) is None
    assert events("user.expiry") == []


def test_expiry_page_of_an_unknown_user_is_404(admin_client):
    assert admin_client.get("/users/999999/expiry/").status_code == 404
    assert admin_client.post("/users/999999/expiry/", {"expires_at": "2031-05-01T10:30"}).status_code == 404


def test_expiry_page_of_an_unknown_user_is_403_without_the_permission(viewer):
    assert logged_in_client(viewer).get("/users/999999/expiry/").status_code == 403


def test_expiry_page_sends_an_anonymous_visitor_to_log_in(client, carol):
    response = client.get(_expiry_url(carol))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# the user list


def test_user_list_shows_never_the_date_and_the_expired_badge(admin_client, origin, clock):
    never = UserFactory(username="never")
    later = UserFactory(username="later")
    gone = UserFactory(username="gone")
    services.user_set_expiry(origin=origin, user=later, expires_at=datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC))
    services.user_set_expiry(origin=origin, user=gone, expires_at=EXPIRY)
    clock.move_to(AFTER)

    response = admin_client.get("/users/")

    assert '<th scope="col">Expires</th>' in response.content.decode()
    never_cell, later_cell, gone_cell = (_expires_cell(response, user) for user in (never, later, gone))
    assert '<span class="muted">Never</span>' in never_cell
    assert "<time" not in never_cell
    assert '<time class="stacked" datetime="2031-05-01T10:30:00+00:00">2031-05-01 10:30 UTC</time>' in later_cell
    assert "Expired" not in later_cell
    assert '<time class="stacked" datetime="2031-04-01T12:10:05+00:00">2031-04-01 12:10 UTC</time>' in gone_cell
    assert '<span class="badge failure">Expired</span>' in gone_cell
    assert "Never" not in gone_cell


def test_user_list_offers_the_change_link_with_the_change_permission(admin_client, carol):
    cell = _expires_cell(admin_client.get("/users/"), carol)

    assert f'href="/users/{carol.pk}/expiry/"' in cell
    assert 'aria-label="Change the expiry of carol"' in cell


def test_user_list_has_no_change_link_without_the_change_permission(viewer, carol):
    response = logged_in_client(viewer).get("/users/")

    assert response.status_code == 200
    assert "Never" in _expires_cell(response, carol)
    assert "/expiry/" not in response.content.decode()


# the create-user page


def test_create_user_page_accepts_an_expiry(admin_client):
    response = admin_client.post(
        "/users/new/",
        {"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD, "expires_at": "2031-05-01T10:30"},
    )

    assert response.status_code == 302
    user = User.objects.get(username="dora")
    assert user.expires_at == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    assert events("user.create")[0].details["expires_at"] == "2031-05-01T10:30:00+00:00"


def test_create_user_page_offers_the_expiry_field(admin_client):
    text = page_text(admin_client.get("/users/new/"))

    assert "Account expires at (UTC)" in text
    assert re.search(r'<input type="text" name="expires_at"[^>]*placeholder="YYYY-MM-DD HH:MM"', text)


def test_create_user_page_without_an_expiry_never_expires(admin_client):
    admin_client.post(
        "/users/new/", {"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD, "expires_at": ""}
    )

    assert User.objects.get(username="dora").expires_at is None


def test_create_user_page_refuses_a_past_expiry_next_to_the_field(admin_client):
    response = admin_client.post(
        "/users/new/",
        {"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD, "expires_at": "2031-03-01T10:00"},
    )

    assert response.status_code == 400
    assert field_errors(response, "expires_at") == [PAST_MESSAGE]
    assert not User.objects.filter(username="dora").exists()


# the API


@pytest.fixture
def admin_script(admin_user):
    return Script.of(admin_user)


def _api_moment(value):
    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_api_shows_expires_at(admin_script, expiring, carol):
    body = admin_script.call("get", f"/api/users/{carol.pk}").json()

    assert _api_moment(body["expires_at"]) == EXPIRY


def test_api_shows_null_for_never(admin_script, carol):
    assert admin_script.call("get", f"/api/users/{carol.pk}").json()["expires_at"] is None


def test_api_list_shows_expires_at(admin_script, expiring):
    items = admin_script.call("get", "/api/users").json()["items"]

    assert {item["username"]: item["expires_at"] is not None for item in items} == {"carol": True, "admin": False}


def test_api_creates_a_user_with_an_expiry(admin_script):
    response = admin_script.call(
        "post",
        "/api/users",
        {"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD, "expires_at": "2031-05-01T10:30Z"},
    )

    assert response.status_code == 201, response.content
    assert _api_moment(response.json()["expires_at"]) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    assert _stored_expiry(User.objects.get(username="dora")) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)


def test_api_create_refuses_a_past_expiry_with_the_other_errors(admin_script):
    response = admin_script.call(
        "post",
        "/api/users",
        {
            "username": "bad name!",
            "email": "dora@example.com",
            "password": NEW_PASSWORD,
            "expires_at": "2031-03-01T10:30Z",
        },
    )

    body = assert_error(response, 422, {"username", "expires_at"})
    assert body["errors"]["expires_at"] == [PAST_MESSAGE]
    assert not User.objects.filter(email="dora@example.com").exists()


def test_api_create_refuses_a_naive_expiry(admin_script):
    response = admin_script.call(
        "post",
        "/api/users",
        {"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD, "expires_at": "2031-06-01T10:30"},
    )

    body = assert_error(response, 422, {"expires_at"})
    assert body["errors"]["expires_at"] == [NAIVE_MESSAGE]
    assert not User.objects.filter(username="dora").exists()


def test_api_patch_sets_the_expiry(admin_script, carol):
    response = admin_script.call("patch", f"/api/users/{carol.pk}", {"expires_at": "2031-05-01T12:30:00+02:00"})

    assert response.status_code == 200, response.content
    assert _api_moment(response.json()["expires_at"]) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    assert _stored_expiry(carol) == datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC)
    (event,) = events("user.expiry")
    assert (event.actor_id, event.details["via"], event.details["credential"]) == (
        admin_script.user.pk,
        "api",
        admin_script.token.pk,
    )


def test_api_patch_null_clears_the_expiry(admin_script, expiring):
    response = admin_script.call("patch", f"/api/users/{expiring.pk}", {"expires_at": None})

    assert response.status_code == 200, response.content
    assert response.json()["expires_at"] is None
    assert _stored_expiry(expiring) is None


def test_api_patch_without_expires_at_leaves_it(admin_script, expiring):
    response = admin_script.call("patch", f"/api/users/{expiring.pk}", {"email": "carol@example.org"})

    assert response.status_code == 200, response.content
    assert _stored_expiry(expiring) == EXPIRY
    assert User.objects.get(pk=expiring.pk).email == "carol@example.org"
    assert events("user.expiry") == []


def test_api_patch_changes_username_and_expiry_together(admin_script, expiring):
    response = admin_script.call(
        "patch", f"/api/users/{expiring.pk}", {"username": "caroline", "expires_at": "2031-05-01T10:30:00Z"}
    )

    assert response.status_code == 200, response.content
    stored = User.objects.get(pk=expiring.pk)
    assert (stored.username, stored.expires_at) == ("caroline", datetime.datetime(2031, 5, 1, 10, 30, tzinfo=UTC))
    assert len(events("user.expiry")) == 1 and len(events("user.update")) == 1


@pytest.mark.parametrize(
    ("value", "message"),
    [("2031-03-01T10:30:00Z", PAST_MESSAGE), ("2031-06-01T10:30:00", NAIVE_MESSAGE)],
)
def test_api_patch_refuses_a_past_or_naive_expiry(admin_script, expiring, value, message):
    response = admin_script.call("patch", f"/api/users/{expiring.pk}", {"expires_at": value})

    body = assert_error(response, 422, {"expires_at"})
    assert body["errors"]["expires_at"] == [message]
    assert _stored_expiry(expiring) == EXPIRY
    assert events("user.expiry") == []


def test_api_patch_is_all_or_nothing_a_bad_username_keeps_the_expiry(admin_script, expiring):
    response = admin_script.call(
        "patch", f"/api/users/{expiring.pk}", {"username": "bad name!", "expires_at": "2031-05-01T10:30:00Z"}
    )

    assert_error(response, 422, {"username"})
    stored = User.objects.get(pk=expiring.pk)
    assert (stored.username, stored.expires_at) == ("carol", EXPIRY)
    assert events("user.expiry") == [] and events("user.update") == []


def test_api_patch_is_all_or_nothing_a_bad_expiry_keeps_the_username(admin_script, expiring):
    response = admin_script.call(
        "patch", f"/api/users/{expiring.pk}", {"username": "caroline", "expires_at": "2031-03-01T10:30:00Z"}
    )

    assert_error(response, 422, {"expires_at"})
    assert User.objects.get(pk=expiring.pk).username == "carol"
    assert events("user.update") == []


@pytest.mark.parametrize("value", ["not a date", "2031-13-01T10:30:00Z", 12.5e20, ["2031-05-01"], {"at": 1}])
def test_api_patch_refuses_a_value_that_is_not_a_datetime(admin_script, expiring, value):
    response = admin_script.call("patch", f"/api/users/{expiring.pk}", {"expires_at": value})

    assert_error(response, 422, {"expires_at"})
    assert _stored_expiry(expiring) == EXPIRY


def test_api_patch_of_the_expiry_needs_the_change_permission(carol, other_user):
    script = Script.of(grant(UserFactory(username="viewer"), "accounts.view_user"))

    response = script.call("patch", f"/api/users/{carol.pk}", {"expires_at": "2031-05-01T10:30:00Z"})

    assert_error(response, 403)
    assert _stored_expiry(carol) is None
    assert events("user.expiry") == []


def test_api_patch_of_your_own_expiry_needs_the_change_permission_too(carol):
    script = Script.of(carol)

    response = script.call("patch", f"/api/users/{carol.pk}", {"expires_at": None})

    assert_error(response, 403)
