"""A user's login-session policy: long-term validity, an expiration time, exclusive login (seed 002)."""

import datetime

import pytest
import time_machine
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client

from core.audit import Origin
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.conftest import events, field_errors, grant, logged_in_client
from usersessions import services as session_services
from usersessions.policy import SIGNED_IN_ELSEWHERE

pytestmark = pytest.mark.django_db

OPERATOR = Origin.command("pytest")
START = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _logged_in(user):
    """A browser that logged in through the login form, so the policy's clocks start as in real use."""
    browser = Client()
    response = browser.post("/login/", {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content
    return browser


def _still_in(browser):
    return browser.get("/account/").status_code == 200


def _policy_url(user):
    return f"/users/{user.pk}/session-policy/"


# the service


def test_setting_a_policy_saves_it_and_audits_the_changes():
    user = UserFactory()

    session_services.session_policy_set(
        origin=OPERATOR, user=user, long_term_sessions=False, session_lifetime=1800, exclusive_login=True
    )

    user.refresh_from_db()
    assert (user.long_term_sessions, user.session_lifetime, user.exclusive_login) == (False, 1800, True)
    (event,) = events("user.session_policy")
    assert event.details["changes"] == {
        "session_lifetime": {"from": None, "to": 1800},
        "exclusive_login": {"from": False, "to": True},
    }


def test_an_unchanged_policy_writes_no_event():
    user = UserFactory()

    session_services.session_policy_set(
        origin=OPERATOR, user=user, long_term_sessions=False, session_lifetime=None, exclusive_login=False
    )

    assert not events("user.session_policy")


@pytest.mark.parametrize(
    ("long_term", "lifetime"),
    [(True, 1800), (False, 60), (False, 4 * 60), (False, 91 * 86400)],
    ids=["both", "one minute", "four minutes", "ninety-one days"],
)
def test_a_bad_policy_is_refused_and_nothing_is_written(long_term, lifetime):
    user = UserFactory()

    with pytest.raises(ValidationError) as refused:
        session_services.session_policy_set(
            origin=OPERATOR, user=user, long_term_sessions=long_term, session_lifetime=lifetime, exclusive_login=False
        )

    assert set(refused.value.message_dict) == {"session_lifetime"}
    user.refresh_from_db()
    assert (user.long_term_sessions, user.session_lifetime) == (False, None)
    assert not events("user.session_policy")


# the page


def test_the_page_saves_the_policy(admin_client):
    user = UserFactory()

    response = admin_client.post(_policy_url(user), {"session_lifetime_minutes": "30", "exclusive_login": "on"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.session_lifetime, user.exclusive_login) == (1800, True)


BOTH = "Choose long-term validity or an expiration time, not both: long-term sessions never time out."
NOT_A_NUMBER = "Enter the expiration time as a whole number of minutes, like 30."
TOO_SHORT = "The expiration time must be at least 5 minutes."
TOO_LONG = "The expiration time can be at most 90 days (129600 minutes)."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"long_term_sessions": "on", "session_lifetime_minutes": "30"}, BOTH, id="both"),
        pytest.param({"long_term_sessions": "on", "session_lifetime_minutes": "4"}, BOTH, id="both-too-short"),
        pytest.param({"session_lifetime_minutes": "4"}, TOO_SHORT, id="too-short"),
        pytest.param({"session_lifetime_minutes": "0"}, TOO_SHORT, id="zero"),
        pytest.param({"session_lifetime_minutes": "-30"}, TOO_SHORT, id="negative"),
        pytest.param({"session_lifetime_minutes": str(91 * 24 * 60)}, TOO_LONG, id="91-days"),
        pytest.param({"session_lifetime_minutes": "9" * 40}, TOO_LONG, id="huge"),
        pytest.param({"session_lifetime_minutes": "9" * 5000}, NOT_A_NUMBER, id="too-many-digits"),
        pytest.param({"session_lifetime_minutes": "half an hour"}, NOT_A_NUMBER, id="words"),
        pytest.param({"session_lifetime_minutes": "1e400"}, NOT_A_NUMBER, id="exponent"),
        pytest.param({"session_lifetime_minutes": "30.5"}, NOT_A_NUMBER, id="fraction"),
    ],
)
def test_the_page_refuses_bad_values_next_to_the_field_before_saving(admin_client, data, message):
    user = UserFactory()

    response = admin_client.post(_policy_url(user), data)

    assert response.status_code == 400
    assert field_errors(response, "session_lifetime_minutes") == [message]
    user.refresh_from_db()
    assert (user.long_term_sessions, user.session_lifetime) == (False, None)
    assert not events("user.session_policy")


def test_the_form_refuses_long_term_with_minutes_without_calling_the_service(monkeypatch):
    from panel.forms import SessionPolicyForm

    form = SessionPolicyForm({"long_term_sessions": "on", "session_lifetime_minutes": "30"})

    assert not form.is_valid()
    assert form.errors == {"session_lifetime_minutes": [BOTH]}


def test_a_nul_byte_is_refused_at_the_door_and_saves_nothing(admin_client):
    user = UserFactory()

    response = admin_client.post(_policy_url(user), {"session_lifetime_minutes": "30\x00"})

    assert response.status_code == 400
    user.refresh_from_db()
    assert user.session_lifetime is None


def test_the_page_needs_change_user():
    user = UserFactory()
    browser = logged_in_client(grant(UserFactory(), "accounts.view_user"))

    assert browser.get(_policy_url(user)).status_code == 403
    assert browser.post(_policy_url(user), {"exclusive_login": "on"}).status_code == 403


# what the policy does to sessions


def test_an_expiration_time_ends_an_active_session_after_it(clock):
    user = UserFactory(session_lifetime=30 * 60)
    browser = _logged_in(user)

    for _ in range(5):  # active every 5 minutes: the idle timeout never strikes
        clock.shift(datetime.timedelta(minutes=5))
        assert _still_in(browser)
    clock.shift(datetime.timedelta(minutes=6))  # 31 minutes after the login

    response = browser.get("/account/", follow=True)
    assert "Your session timed out" in response.content.decode()


def test_a_long_term_session_outlives_the_idle_and_absolute_timeouts(clock):
    user = UserFactory(long_term_sessions=True)
    browser = _logged_in(user)

    clock.shift(datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE + settings.PANEL_SESSION_IDLE_TIMEOUT + 60))

    assert _still_in(browser)
    assert browser.cookies[settings.SESSION_COOKIE_NAME]["max-age"] >= 300 * 86400


def test_without_a_policy_the_panel_defaults_apply(clock):
    browser = _logged_in(UserFactory())

    clock.shift(datetime.timedelta(seconds=settings.PANEL_SESSION_IDLE_TIMEOUT + 60))

    assert not _still_in(browser)


def test_exclusive_login_ends_the_other_sessions_and_tells_them_why():
    user = UserFactory(exclusive_login=True)
    first = _logged_in(user)

    second = _logged_in(user)

    response = first.get("/account/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login/")
    assert SIGNED_IN_ELSEWHERE in response.content.decode()
    assert _still_in(second)
    assert events("auth.login")[-1].details["other_sessions_ended"] == 1


def test_without_exclusive_login_both_sessions_stay():
    user = UserFactory()
    first = _logged_in(user)

    second = _logged_in(user)

    assert _still_in(first) and _still_in(second)
