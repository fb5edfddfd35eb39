"""Logging in and out, sessions and their timeouts, CSRF, security headers and the health check."""

import datetime

import pytest
import time_machine
from django.test import Client

from accounts.models import User
from core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.conftest import events, logged_in_client, post_login, session_exists, session_key_of, strip_csrf
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

LOGIN_FAILED = "Incorrect username or password."
T0 = datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC)


def _anonymous_session_key(client):
    """Give an anonymous browser a stored session, as a visitor would have before logging in."""
    session = client.session
    session["visited"] = True
    session.save()
    return session_key_of(client)


# logging in


def test_login_with_the_right_password_redirects_to_the_first_module_the_user_may_open(client, admin_user):
    response = post_login(client, "admin")

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/users/"
    assert client.get("/users/").status_code == 200


def test_login_issues_a_new_session_key(client, admin_user):
    before = _anonymous_session_key(client)

    post_login(client, "admin")

    after = session_key_of(client)
    assert after and after != before
    assert session_exists(after)
    assert not session_exists(before)


def test_login_records_the_session_for_its_user(client, admin_user):
    post_login(client, "admin", DEFAULT_PASSWORD)

    recorded = UserSession.objects.get(session_key=session_key_of(client))
    assert recorded.user == admin_user
    assert recorded.ip == "127.0.0.1"


def test_login_ignores_the_case_of_the_username(client, admin_user):
    response = post_login(client, "ADMIN")

    assert response.status_code == 302
    assert client.get("/account/").context["account"] == admin_user


def test_login_with_a_wrong_password_is_refused_with_the_generic_message(client, admin_user):
    response = post_login(client, "admin", "Wrong-pass-99")

    assert response.status_code == 200
    assert LOGIN_FAILED in response.content.decode()
    assert client.get("/users/").status_code == 302


def test_login_failure_reads_the_same_for_an_unknown_username_and_a_wrong_password(admin_user):
    # Same length names so that only the echoed value differs, and it is blanked out below.
    unknown = post_login(Client(), "ghost", "Wrong-pass-99")
    wrong_password = post_login(Client(), "admin", "Wrong-pass-99")

    assert unknown.status_code == wrong_password.status_code == 200
    assert LOGIN_FAILED in unknown.content.decode()

    def normalised(response, typed):
        return strip_csrf(response.content).replace(f'value="{typed}"'.encode(), b'value=""')

    assert normalised(unknown, "ghost") == normalised(wrong_password, "admin")


def test_login_of_an_inactive_user_is_refused_with_the_generic_message(client):
    UserFactory(username="dormant", is_active=False)

    response = post_login(client, "dormant")

    assert response.status_code == 200
    assert LOGIN_FAILED in response.content.decode()


def test_login_success_and_failure_are_audited(client, admin_user):
    post_login(client, "ghost", "Wrong-pass-99")
    post_login(client, "admin", "Wrong-pass-99")
    post_login(client, "admin")

    failure_ghost, failure_admin, success = events("auth.login")
    assert (failure_ghost.outcome, failure_ghost.target_name) == (AuditEvent.Outcome.FAILURE, "ghost")
    assert (failure_admin.outcome, failure_admin.target_name) == (AuditEvent.Outcome.FAILURE, "admin")
    # A failed login never tells, even in the log, whether the name belongs to a user.
    assert (failure_ghost.target_type, failure_ghost.target_id) == (failure_admin.target_type, failure_admin.target_id)
    assert success.outcome == AuditEvent.Outcome.SUCCESS
    assert success.target_id == str(admin_user.pk)


def test_failed_login_never_writes_the_typed_password_to_the_audit_log(client, admin_user):
    post_login(client, "admin", "Typed-secret-31")

    assert events("auth.login")
    assert "Typed-secret-31" not in str(list(AuditEvent.objects.values()))


def test_logged_in_user_visiting_login_is_sent_on(admin_client):
    response = admin_client.get("/login/")

    assert response.status_code == 302


# logging out


def test_logout_by_get_is_refused_and_keeps_the_session(admin_client):
    key = session_key_of(admin_client)

    response = admin_client.get("/logout/")

    assert response.status_code == 405
    assert session_exists(key)
    assert admin_client.get("/users/").status_code == 200


def test_logout_ends_the_session_on_the_server(admin_client, admin_user):
    key = session_key_of(admin_client)

    response = admin_client.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert not session_exists(key)
    assert not UserSession.objects.filter(session_key=key).exists()


def test_logout_is_audited(admin_client, admin_user):
    admin_client.post("/logout/")

    (event,) = events("auth.logout")
    assert event.target_id == str(admin_user.pk)


def test_a_replayed_session_cookie_is_useless_after_logout(admin_client):
    key = session_key_of(admin_client)
    admin_client.post("/logout/")

    replay = Client()
    replay.cookies["sessionid"] = key
    response = replay.get("/users/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


# every page needs a login


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/account/",
        "/users/",
        "/users/new/",
        "/users/{pk}/password/",
        "/users/{pk}/delete/",
        "/users/{pk}/username/",
        "/users/{pk}/username/edit/",
        "/users/{pk}/email/edit/",
        "/audit/",
    ],
)
def test_anonymous_request_is_redirected_to_login(client, admin_user, path):
    path = path.format(pk=admin_user.pk)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    "path",
    ["/users/new/", "/users/{pk}/password/", "/users/{pk}/delete/", "/users/{pk}/username/edit/"],
)
def test_anonymous_post_is_redirected_to_login_and_changes_nothing(client, admin_user, path):
    UserFactory()
    path = path.format(pk=admin_user.pk)

    response = client.post(
        path, {"username": "x", "email": "x@example.com", "password": "Fresh-river-77", "value": "x"}
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    stored = User.objects.get(pk=admin_user.pk)
    assert (stored.username, stored.password) == ("admin", admin_user.password)
    assert not User.objects.filter(username="x").exists()
    assert not AuditEvent.objects.exists()


def test_login_page_is_open_to_anonymous_visitors(client):
    assert client.get("/login/").status_code == 200


def test_home_sends_an_admin_to_the_user_list(admin_client):
    response = admin_client.get("/")

    assert response["Location"] == "/users/"


def test_home_sends_a_user_without_permissions_to_their_account(client, plain_user):
    client.force_login(plain_user)

    response = client.get("/")

    assert response["Location"] == "/account/"


# CSRF


def test_post_without_csrf_token_is_refused(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)

    response = browser.post(
        "/users/new/", {"username": "carol", "email": "carol@example.com", "password": "Fresh-river-77"}
    )

    assert response.status_code == 403
    assert not User.objects.filter(username="carol").exists()


def test_delete_without_csrf_token_is_refused(admin_user, other_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)

    response = browser.post(f"/users/{other_user.pk}/delete/")

    assert response.status_code == 403
    assert User.objects.filter(pk=other_user.pk).exists()


def test_login_without_csrf_token_is_refused(admin_user):
    browser = Client(enforce_csrf_checks=True)

    response = post_login(browser, "admin")

    assert response.status_code == 403
    assert session_key_of(browser) is None


def test_post_with_the_forms_csrf_token_is_accepted(admin_user):
    browser = logged_in_client(admin_user, enforce_csrf_checks=True)
    token = browser.get("/users/new/").context["csrf_token"]

    response = browser.post(
        "/users/new/",
        {
            "csrfmiddlewaretoken": str(token),
            "username": "carol",
            "email": "carol@example.com",
            "password": "Fresh-river-77",
        },
    )

    assert response.status_code == 302
    assert User.objects.filter(username="carol").exists()


# session timeouts


@pytest.fixture
def idle_timeout(settings):
    settings.PANEL_SESSION_IDLE_TIMEOUT = 600
    return 600


def test_session_ends_after_the_idle_timeout(admin_user, idle_timeout):
    with time_machine.travel(T0, tick=False) as traveller:
        browser = logged_in_client(admin_user)
        key = session_key_of(browser)
        assert browser.get("/users/").status_code == 200

        traveller.shift(idle_timeout + 1)
        response = browser.get("/users/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/users/"
    assert not session_exists(key)


def test_idle_timeout_explains_itself_on_the_login_page(admin_user, idle_timeout):
    with time_machine.travel(T0, tick=False) as traveller:
        browser = logged_in_client(admin_user)
        browser.get("/users/")
        traveller.shift(idle_timeout + 1)

        response = browser.get("/users/", follow=True)

    assert "Your session timed out. Please log in again." in response.content.decode()


def test_session_survives_requests_within_the_idle_timeout(admin_user, idle_timeout):
    with time_machine.travel(T0, tick=False) as traveller:
        browser = logged_in_client(admin_user)
        browser.get("/users/")
        for _ in range(4):
            traveller.shift(idle_timeout - 60)
            response = browser.get("/users/")
            assert response.status_code == 200


def test_session_ends_at_the_absolute_timeout_even_when_active(admin_user, idle_timeout, settings):
    settings.SESSION_COOKIE_AGE = 3600
    with time_machine.travel(T0, tick=False) as traveller:
        browser = logged_in_client(admin_user)
        browser.get("/users/")
        for _ in range(7):  # 7 x 500 s = 3500 s, inside the 3600 s limit, never idle for 600 s
            traveller.shift(500)
            assert browser.get("/users/").status_code == 200

        traveller.shift(200)  # 3700 s after the first request, 200 s after the last one
        response = browser.get("/users/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_activity_updates_the_sessions_last_seen_time(admin_user, idle_timeout):
    with time_machine.travel(T0, tick=False) as traveller:
        browser = logged_in_client(admin_user)
        browser.get("/users/")
        traveller.shift(120)
        browser.get("/users/")

    recorded = UserSession.objects.get(session_key=session_key_of(browser))
    assert recorded.last_seen_at == T0 + datetime.timedelta(seconds=120)


# security headers and cookies


@pytest.mark.parametrize("path", ["/login/", "/users/", "/users/999999/delete/", "/healthz"])
def test_security_headers_are_on_every_response(admin_client, path):
    response = admin_client.get(path)

    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp
    assert "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_samesite(client, admin_user):
    post_login(client, "admin")

    cookie = client.cookies["sessionid"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Lax"


# health check


def test_healthz_answers_anonymous_callers_with_ok(client):
    with time_machine.travel(T0, tick=False):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "time": T0.isoformat()}


def test_healthz_accepts_only_get(client):
    assert client.post("/healthz").status_code == 405


def test_session_unused_since_login_ends_after_the_idle_timeout(client, admin_user, idle_timeout):
    with time_machine.travel(T0, tick=False) as traveller:
        post_login(client, "admin")  # the redirect is not followed: no request after the login itself
        traveller.shift(idle_timeout + 1)

        response = client.get("/users/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
