"""The sessions page: listing a user's logged-in browsers and ending them, through django.test.Client and the services.

Browsers log in through /login/ with a password, so that the real login signal
records each session with the User-Agent and address it came from.
"""

import datetime
import re

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from core.audit import Origin
from core.models import AuditEvent
from tests.factories import DEFAULT_PASSWORD, AccessTokenFactory, PasskeyFactory, UserFactory
from tests.helpers import SETUP
from tests.integration.conftest import (
    events,
    grant,
    logged_in_client,
    opens_account_page,
    session_exists,
    session_key_of,
    turn_on_email,
    user_session_keys,
)
from usersessions import devices
from usersessions import services as session_services
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

LINUX_CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
)
CURL = "curl/8.5.0"

HOME_IP, OFFICE_IP, PHONE_IP = "203.0.113.5", "198.51.100.7", "192.0.2.44"
T0 = datetime.datetime(2025, 3, 1, 9, 0, tzinfo=datetime.UTC)


def _login(username, *, ip=HOME_IP, agent=LINUX_CHROME):
    """A separate browser that logs in with the password form, as a person would."""
    browser = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    response = browser.post("/login/", {"username": username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302, response.content
    return browser


def _record(browser):
    return UserSession.objects.get(session_key=session_key_of(browser))


def _sessions_url(user):
    return f"/users/{user.pk}/sessions/"


def _end_url(user, session):
    return f"/users/{user.pk}/sessions/{session.pk}/end/"


def _end_all_url(user):
    return f"/users/{user.pk}/sessions/end-all/"


def _text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _session_rows(response):
    """{UserSession pk: the row's visible text}, in page order."""
    content = response.content.decode()
    return {int(pk): _text(row) for pk, row in re.findall(r'<tr id="session-(\d+)">(.*?)</tr>', content, re.DOTALL)}


def _messages(response):
    return [_text(item) for item in re.findall(r'<li class="message[^"]*">(.*?)</li>', response.content.decode())]


def _is_sent_to_log_in(browser):
    response = browser.get("/account/")
    return response.status_code == 302 and response["Location"].startswith("/login/")


def _expire(browser):
    Session.objects.filter(session_key=session_key_of(browser)).update(
        expire_date=timezone.now() - datetime.timedelta(seconds=1)
    )


@pytest.fixture
def alice(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def bob(db):
    return UserFactory(username="bob", email="bob@example.com")


@pytest.fixture
def helpdesk(db):
    """Not a superuser: may change users, so may see and end their sessions."""
    return grant(UserFactory(username="helpdesk"), "accounts.change_user")


# listing


def test_two_logins_list_two_sessions_with_device_and_address(alice):
    home = _login("alice", ip=HOME_IP, agent=LINUX_CHROME)
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)

    response = home.get(_sessions_url(alice))

    assert response.status_code == 200
    rows = _session_rows(response)
    assert set(rows) == {_record(home).pk, _record(office).pk}
    assert rows[_record(home).pk].startswith("Chrome on Linux This browser 203.0.113.5 ")
    assert rows[_record(office).pk].startswith("Firefox on Windows 198.51.100.7 ")
    assert "This browser" not in rows[_record(office).pk]
    assert "My sessions" in response.content.decode()


def test_the_current_session_offers_log_out_and_the_others_end_session(alice):
    home = _login("alice")
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)

    rows = _session_rows(home.get(_sessions_url(alice)))

    assert rows[_record(home).pk].endswith("Log out")
    assert rows[_record(office).pk].endswith("End session")


def test_each_browser_sees_its_own_session_marked(alice):
    home = _login("alice")
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)

    rows = _session_rows(office.get(_sessions_url(alice)))

    assert "This browser" in rows[_record(office).pk]
    assert "This browser" not in rows[_record(home).pk]


def test_end_all_button_shows_only_when_there_is_another_session(alice):
    home = _login("alice")
    assert "End all other sessions" not in home.get(_sessions_url(alice)).content.decode()

    _login("alice", ip=OFFICE_IP)

    assert "End all other sessions" in home.get(_sessions_url(alice)).content.decode()


def test_list_holds_only_the_owners_sessions(alice, bob):
    home = _login("alice")
    _login("bob", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)

    rows = _session_rows(home.get(_sessions_url(alice)))

    assert list(rows) == [_record(home).pk]


def test_expired_session_is_not_listed(alice):
    home = _login("alice")
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)
    _expire(office)

    rows = _session_rows(home.get(_sessions_url(alice)))

    assert list(rows) == [_record(home).pk]


def test_deleted_django_session_is_not_listed(alice):
    home = _login("alice")
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)
    Session.objects.filter(session_key=session_key_of(office)).delete()  # as clearsessions or a server-side purge

    rows = _session_rows(home.get(_sessions_url(alice)))

    assert list(rows) == [_record(home).pk]


def test_a_session_without_user_agent_or_address_shows_unknown(alice):
    browser = logged_in_client(alice)  # force_login: a request with no headers and no peer address

    rows = _session_rows(browser.get(_sessions_url(alice)))

    assert list(rows.values()) == [rows[_record(browser).pk]]
    assert rows[_record(browser).pk].startswith("Unknown device This browser unknown ")


def test_list_shows_login_and_last_seen_times_most_recently_seen_first(alice):
    with time_machine.travel(T0, tick=False) as clock:
        early = _login("alice", ip=HOME_IP, agent=LINUX_CHROME)  # logs in at 09:00
        clock.shift(60)
        _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)  # logs in at 09:01, never seen again
        clock.shift(4 * 60)
        assert opens_account_page(early)  # 09:05: seen again, more than a minute after its last touch
        clock.shift(30)

        response = early.get(_sessions_url(alice))

    assert list(_session_rows(response).values()) == [
        "Chrome on Linux This browser 203.0.113.5 2025-03-01 09:00 UTC 2025-03-01 09:05 UTC Log out",
        "Firefox on Windows 198.51.100.7 2025-03-01 09:01 UTC 2025-03-01 09:01 UTC End session",
    ]


def test_anonymous_visitor_is_sent_to_log_in(alice, client):
    response = client.get(_sessions_url(alice))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


# ending one session


def test_ending_another_of_your_sessions_logs_that_browser_out_at_its_next_request(alice):
    home = _login("alice", ip=HOME_IP)
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)
    office_key, office_session = session_key_of(office), _record(office)

    response = home.post(_end_url(alice, office_session))

    assert response.status_code == 302
    assert response["Location"] == _sessions_url(alice)
    assert not session_exists(office_key)
    assert not UserSession.objects.filter(pk=office_session.pk).exists()
    assert _is_sent_to_log_in(office)
    assert opens_account_page(home)
    assert list(_session_rows(home.get(_sessions_url(alice)))) == [_record(home).pk]


def test_ending_a_session_says_which_one(alice):
    home = _login("alice", ip=HOME_IP)
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)

    response = home.post(_end_url(alice, _record(office)), follow=True)

    assert _messages(response) == ["The session from 198.51.100.7 was ended."]


def test_ending_a_session_is_audited(alice):
    home = _login("alice", ip=HOME_IP, agent=LINUX_CHROME)
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)
    ended = _record(office)

    home.post(_end_url(alice, ended))

    (event,) = events("session.end")
    assert (event.actor_id, event.actor_name, event.target_type, event.target_id) == (
        alice.pk,
        "alice",
        "user",
        str(alice.pk),
    )
    assert (event.ip, event.user_agent, event.outcome) == (HOME_IP, LINUX_CHROME, AuditEvent.Outcome.SUCCESS)
    assert event.details == {"ip": OFFICE_IP, "started": ended.created_at.isoformat(), "via": "web"}


def test_ending_your_current_session_logs_you_out(alice):
    home = _login("alice", ip=HOME_IP)
    office = _login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)
    home_key = session_key_of(home)

    response = home.post(_end_url(alice, _record(home)))

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert not session_exists(home_key)
    assert _is_sent_to_log_in(home)
    assert opens_account_page(office)
    assert user_session_keys(alice) == {session_key_of(office)}
    assert len(events("session.end")) == 1


def test_ending_a_session_twice_is_404_the_second_time(alice):
    home = _login("alice")
    office = _login("alice", ip=OFFICE_IP)
    url = _end_url(alice, _record(office))
    home.post(url)

    assert home.post(url).status_code == 404
    assert len(events("session.end")) == 1


# ending all sessions


def test_end_all_keeps_this_session_and_ends_every_other(alice):
    home = _login("alice", ip=HOME_IP)
    others = [_login("alice", ip=OFFICE_IP, agent=WINDOWS_FIREFOX), _login("alice", ip=PHONE_IP, agent=IPHONE_SAFARI)]
    other_keys = [session_key_of(browser) for browser in others]

    response = home.post(_end_all_url(alice), follow=True)

    assert response.redirect_chain == [(_sessions_url(alice), 302)]
    assert _messages(response) == ["2 other sessions ended."]
    assert list(_session_rows(response)) == [_record(home).pk]
    assert not any(session_exists(key) for key in other_keys)
    assert user_session_keys(alice) == {session_key_of(home)}
    assert all(_is_sent_to_log_in(browser) for browser in others)
    assert opens_account_page(home)
    (event,) = events("session.end_all")
    assert (event.actor_id, event.target_id, event.details) == (
        alice.pk,
        str(alice.pk),
        {"sessions_ended": 2, "via": "web"},
    )


@pytest.mark.parametrize(("others", "message"), [(0, "0 other sessions ended."), (1, "1 other session ended.")])
def test_end_all_message_counts_the_sessions_ended(alice, others, message):
    home = _login("alice")
    for _ in range(others):
        _login("alice", ip=OFFICE_IP)

    response = home.post(_end_all_url(alice), follow=True)

    assert _messages(response) == [message]
    assert opens_account_page(home)


def test_end_all_counts_only_the_sessions_the_page_listed(alice):
    home = _login("alice", ip=HOME_IP)
    _login("alice", ip=OFFICE_IP)
    _expire(_login("alice", ip=PHONE_IP))  # stale: never listed, already unusable
    assert len(_session_rows(home.get(_sessions_url(alice)))) == 2

    response = home.post(_end_all_url(alice), follow=True)

    assert _messages(response) == ["1 other session ended."]
    assert events("session.end_all")[0].details["sessions_ended"] == 1


# another user's sessions


def test_user_admin_lists_another_users_sessions(helpdesk, bob):
    admin = _login("helpdesk", ip=HOME_IP)
    bob_home = _login("bob", ip=OFFICE_IP, agent=WINDOWS_FIREFOX)
    bob_phone = _login("bob", ip=PHONE_IP, agent=IPHONE_SAFARI)

    response = admin.get(_sessions_url(bob))

    assert response.status_code == 200
    content = response.content.decode()
    assert "Sessions of bob" in content
    assert "End all sessions" in content
    rows = _session_rows(response)
    assert set(rows) == {_record(bob_home).pk, _record(bob_phone).pk}
    assert rows[_record(bob_home).pk].startswith("Firefox on Windows 198.51.100.7 ")
    assert rows[_record(bob_phone).pk].startswith("Mobile Safari on iOS (iPhone) 192.0.2.44 ")
    assert not any("This browser" in row or "Log out" in row for row in rows.values())


def test_user_admin_sees_end_all_even_for_a_single_session(helpdesk, bob):
    admin = _login("helpdesk")
    _login("bob", ip=OFFICE_IP)

    assert "End all sessions" in admin.get(_sessions_url(bob)).content.decode()


def test_user_admin_ends_one_of_another_users_sessions(helpdesk, bob):
    admin = _login("helpdesk", ip=HOME_IP)
    bob_home = _login("bob", ip=OFFICE_IP)
    bob_phone = _login("bob", ip=PHONE_IP, agent=IPHONE_SAFARI)

    response = admin.post(_end_url(bob, _record(bob_phone)))

    assert response.status_code == 302
    assert response["Location"] == _sessions_url(bob)
    assert _is_sent_to_log_in(bob_phone)
    assert opens_account_page(bob_home)
    assert opens_account_page(admin)
    (event,) = events("session.end")
    assert (event.actor_id, event.target_id, event.details["ip"]) == (helpdesk.pk, str(bob.pk), PHONE_IP)


def test_user_admin_end_all_ends_every_session_of_the_user_and_none_of_their_own(helpdesk, bob):
    admin, admin_elsewhere = _login("helpdesk", ip=HOME_IP), _login("helpdesk", ip=PHONE_IP)
    bobs = [_login("bob", ip=OFFICE_IP), _login("bob", ip=PHONE_IP, agent=IPHONE_SAFARI)]

    response = admin.post(_end_all_url(bob), follow=True)

    assert response.redirect_chain == [(_sessions_url(bob), 302)]
    assert _messages(response) == ["2 sessions ended."]
    assert "No active sessions." in response.content.decode()
    assert user_session_keys(bob) == set()
    assert all(_is_sent_to_log_in(browser) for browser in bobs)
    assert user_session_keys(helpdesk) == {session_key_of(admin), session_key_of(admin_elsewhere)}
    assert opens_account_page(admin) and opens_account_page(admin_elsewhere)
    (event,) = events("session.end_all")
    assert (event.actor_id, event.target_id, event.details["sessions_ended"]) == (helpdesk.pk, str(bob.pk), 2)


def test_superuser_manages_another_users_sessions(admin_user, bob):
    admin = _login("admin")
    bob_browser = _login("bob", ip=OFFICE_IP)

    assert list(_session_rows(admin.get(_sessions_url(bob)))) == [_record(bob_browser).pk]
    assert admin.post(_end_url(bob, _record(bob_browser))).status_code == 302
    assert _is_sent_to_log_in(bob_browser)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/users/{bob}/sessions/"),
        ("post", "/users/{bob}/sessions/{bob_session}/end/"),
        ("post", "/users/{bob}/sessions/end-all/"),
        # Refused before any lookup: unknown users and sessions answer the same, so ids cannot be probed.
        ("get", "/users/999999/sessions/"),
        ("post", "/users/999999/sessions/1/end/"),
        ("post", "/users/999999/sessions/end-all/"),
        ("post", "/users/{bob}/sessions/999999/end/"),
    ],
)
@pytest.mark.parametrize("perms", [(), ("accounts.view_user",), ("accounts.view_user", "accounts.delete_user")])
def test_another_users_sessions_are_forbidden_without_change_user(alice, bob, method, path, perms):
    grant(alice, *perms)
    browser = _login("alice")
    bob_browser = _login("bob", ip=OFFICE_IP)
    before = (user_session_keys(bob), AuditEvent.objects.count())

    response = getattr(browser, method)(path.format(bob=bob.pk, bob_session=_record(bob_browser).pk))

    assert response.status_code == 403
    assert (user_session_keys(bob), AuditEvent.objects.count()) == before
    assert opens_account_page(bob_browser)


def test_another_users_session_under_your_own_id_is_404(alice, bob):
    browser = _login("alice")
    bob_browser = _login("bob", ip=OFFICE_IP)

    response = browser.post(_end_url(alice, _record(bob_browser)))

    assert response.status_code == 404
    assert opens_account_page(bob_browser)
    assert events("session.end") == []


def test_user_admin_gets_404_for_a_session_under_the_wrong_owner(helpdesk, alice, bob):
    admin = _login("helpdesk")
    alice_browser = _login("alice", ip=HOME_IP)
    bob_browser = _login("bob", ip=OFFICE_IP)

    assert admin.post(_end_url(alice, _record(bob_browser))).status_code == 404
    assert admin.post(_end_url(bob, _record(admin))).status_code == 404
    assert admin.post(_end_url(alice, _record(admin))).status_code == 404
    assert all(opens_account_page(browser) for browser in (admin, alice_browser, bob_browser))
    assert events("session.end") == []


@pytest.mark.parametrize("path", ["/users/999999/sessions/", "/users/999999/sessions/end-all/"])
def test_user_admin_gets_404_for_an_unknown_user(helpdesk, path):
    admin = _login("helpdesk")

    response = admin.get(path) if path.endswith("/sessions/") else admin.post(path)

    assert response.status_code == 404
    assert events("session.end_all") == []


def test_unknown_session_id_under_your_own_id_is_404(alice):
    browser = _login("alice")

    assert browser.post(f"/users/{alice.pk}/sessions/999999/end/").status_code == 404


# methods, CSRF and malformed paths


@pytest.mark.parametrize("which", ["end", "end-all"])
@pytest.mark.parametrize("method", ["get", "head", "put", "delete"])
def test_end_and_end_all_answer_405_to_anything_but_post(alice, which, method):
    home = _login("alice")
    office = _login("alice", ip=OFFICE_IP)
    path = _end_url(alice, _record(office)) if which == "end" else _end_all_url(alice)

    response = getattr(home, method)(path)

    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert opens_account_page(office)
    assert user_session_keys(alice) == {session_key_of(home), session_key_of(office)}


@pytest.mark.parametrize("which", ["end-other", "end-this", "end-all"])
def test_posts_need_the_csrf_token(alice, which):
    browser = logged_in_client(alice, enforce_csrf_checks=True)
    office = _login("alice", ip=OFFICE_IP)
    path = {
        "end-other": _end_url(alice, _record(office)),
        "end-this": _end_url(alice, _record(browser)),
        "end-all": _end_all_url(alice),
    }[which]
    browser.get(_sessions_url(alice))  # the page sets the CSRF cookie; the form's token is not sent

    response = browser.post(path)

    assert response.status_code == 403
    assert user_session_keys(alice) == {session_key_of(browser), session_key_of(office)}
    assert opens_account_page(office) and opens_account_page(browser)
    assert events("session.end") == events("session.end_all") == []


def test_post_with_the_csrf_token_from_the_page_succeeds(alice):
    browser = logged_in_client(alice, enforce_csrf_checks=True)
    office = _login("alice", ip=OFFICE_IP)
    browser.get(_sessions_url(alice))

    response = browser.post(_end_all_url(alice), {"csrfmiddlewaretoken": browser.cookies["csrftoken"].value})

    assert response.status_code == 302
    assert _is_sent_to_log_in(office)


@pytest.mark.parametrize(
    "path",
    [
        "/users/{me}/sessions/abc/end/",
        "/users/{me}/sessions/1.5/end/",
        "/users/{me}/sessions/-1/end/",
        "/users/{me}/sessions/%20/end/",
        "/users/{me}/sessions//end/",
        "/users/{me}/sessions/{mine}x/end/",
        "/users/{me}/sessions/99999999999999999999999999/end/",
        "/users/abc/sessions/{mine}/end/",
        "/users/abc/sessions/",
        "/users/abc/sessions/end-all/",
    ],
)
def test_a_malformed_id_in_the_path_is_404(alice, path):
    browser = _login("alice")

    response = browser.post(path.format(me=alice.pk, mine=_record(browser).pk))

    assert response.status_code == 404
    assert opens_account_page(browser)
    assert events("session.end") == events("session.end_all") == []


def test_a_huge_session_id_for_a_user_admin_is_404(helpdesk, bob):
    admin = _login("helpdesk")

    assert admin.post(f"/users/{bob.pk}/sessions/99999999999999999999999999/end/").status_code == 404
    assert admin.get("/users/99999999999999999999999999/sessions/").status_code == 404


# the account page and the user list


def _security_badges(content):
    """{"Two-factor authentication": "Off", "Passkeys": "0", ...}: each security item's badge."""
    found = re.findall(r'<strong>([^<]+)</strong> <span class="badge[^"]*">([^<]*)</span>', content)
    return dict(found)


def test_account_page_shows_the_security_overview_of_a_new_account(alice):
    browser = _login("alice")

    content = browser.get("/account/").content.decode()

    assert _security_badges(content) == {
        "Two-factor authentication": "Off",
        "Passkeys": "0",
        "Sessions": "1",
        "Access tokens": "0",
    }
    assert '<span class="badge">Off</span>' in content
    for url, label in [
        (reverse("accounts:user_password", args=[alice.pk]), "Change my password"),
        (reverse("mfa:two_factor", args=[alice.pk]), "Two-factor authentication"),
        (reverse("passkeys:passkey_list", args=[alice.pk]), "My passkeys"),
        (reverse("sessions:session_list", args=[alice.pk]), "My sessions"),
        (reverse("tokens:token_list", args=[alice.pk]), "My access tokens"),
    ]:
        assert re.search(rf'<a class="button" href="{re.escape(url)}"( data-quick-action)?>{label}</a>', content)


def test_account_page_counts_what_the_user_has(alice, bob):
    turn_on_email(alice)
    PasskeyFactory.create_batch(2, user=alice)
    PasskeyFactory(user=bob)
    AccessTokenFactory.create_batch(3, user=alice)
    AccessTokenFactory(user=bob)
    browser = logged_in_client(alice)  # alice now has a second factor: skip the login step
    logged_in_client(alice)
    _expire(logged_in_client(alice))  # not counted
    logged_in_client(bob)  # not counted

    content = browser.get("/account/").content.decode()

    assert _security_badges(content) == {
        "Two-factor authentication": "On",
        "Passkeys": "2",
        "Sessions": "2",
        "Access tokens": "3",
    }
    assert '<span class="badge success">On</span>' in content


def _user_row(content, user):
    match = re.search(rf'<tr id="user-{user.pk}">(.*?)</tr>', content, re.DOTALL)
    assert match, f"no row for {user.username}"
    return match.group(1)


def test_user_list_links_only_your_own_sessions_without_change_user(alice, bob):
    viewer = grant(UserFactory(username="viewer"), "accounts.view_user")

    content = logged_in_client(viewer).get("/users/").content.decode()

    assert f'<a href="/users/{viewer.pk}/sessions/">Sessions</a>' in _user_row(content, viewer)
    for other in (alice, bob):
        assert "/sessions/" not in _user_row(content, other)


def test_user_list_links_every_rows_sessions_with_change_user(alice, bob):
    manager = grant(UserFactory(username="manager"), "accounts.view_user", "accounts.change_user")

    content = logged_in_client(manager).get("/users/").content.decode()

    for user in (manager, alice, bob):
        assert f'<a href="/users/{user.pk}/sessions/">Sessions</a>' in _user_row(content, user)


# services


def test_session_end_one_deletes_the_django_session_and_the_record_and_audits(alice):
    home, office = _login("alice", ip=HOME_IP), _login("alice", ip=OFFICE_IP)
    ended, office_key = _record(office), session_key_of(office)
    origin = Origin(actor=alice, ip="192.0.2.99", user_agent="Browser/1")

    assert session_services.session_end_one(origin=origin, session=ended) is None

    assert not Session.objects.filter(session_key=office_key).exists()
    assert not UserSession.objects.filter(pk=ended.pk).exists()
    assert session_exists(session_key_of(home))
    assert user_session_keys(alice) == {session_key_of(home)}
    (event,) = events("session.end")
    assert (event.actor_id, event.target_type, event.target_id, event.target_name) == (
        alice.pk,
        "user",
        str(alice.pk),
        "alice",
    )
    assert (event.ip, event.user_agent) == ("192.0.2.99", "Browser/1")
    assert event.details == {"ip": OFFICE_IP, "started": ended.created_at.isoformat(), "via": "web"}


def test_session_end_one_of_a_session_already_gone_from_django_still_forgets_it(alice):
    office = _login("alice", ip=OFFICE_IP)
    ended = _record(office)
    Session.objects.filter(session_key=ended.session_key).delete()

    session_services.session_end_one(origin=SETUP, session=ended)

    assert user_session_keys(alice) == set()
    assert events("session.end")[0].actor_name == "operator"


def test_sessions_end_all_keeps_the_excepted_key_and_returns_how_many_ended(alice, bob):
    keep = _login("alice", ip=HOME_IP)
    others = [_login("alice", ip=OFFICE_IP), _login("alice", ip=PHONE_IP)]
    bob_browser = _login("bob", ip=OFFICE_IP)
    other_keys = [session_key_of(browser) for browser in others]
    origin = Origin(actor=alice, ip=HOME_IP)

    ended = session_services.sessions_end_all(origin=origin, user=alice, except_key=session_key_of(keep))

    assert ended == 2
    assert not Session.objects.filter(session_key__in=other_keys).exists()
    assert user_session_keys(alice) == {session_key_of(keep)}
    assert session_exists(session_key_of(keep)) and session_exists(session_key_of(bob_browser))
    assert user_session_keys(bob) == {session_key_of(bob_browser)}
    (event,) = events("session.end_all")
    assert (event.actor_id, event.target_id, event.ip, event.details) == (
        alice.pk,
        str(alice.pk),
        HOME_IP,
        {"sessions_ended": 2, "via": "web"},
    )


def test_sessions_end_all_without_an_excepted_key_ends_every_session(alice, helpdesk):
    keys = [session_key_of(_login("alice", ip=ip)) for ip in (HOME_IP, OFFICE_IP)]
    admin_key = session_key_of(_login("helpdesk"))

    ended = session_services.sessions_end_all(origin=Origin(actor=helpdesk, ip=HOME_IP), user=alice)

    assert ended == 2
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert user_session_keys(alice) == set()
    assert user_session_keys(helpdesk) == {admin_key} and session_exists(admin_key)
    (event,) = events("session.end_all")
    assert (event.actor_id, event.target_id, event.details["sessions_ended"]) == (helpdesk.pk, str(alice.pk), 2)


def test_sessions_end_all_with_nothing_to_end_returns_zero_and_still_audits(alice):
    assert session_services.sessions_end_all(origin=SETUP, user=alice) == 0

    (event,) = events("session.end_all")
    assert (event.target_id, event.details) == (str(alice.pk), {"sessions_ended": 0, "via": "command"})


# device descriptions


@pytest.mark.parametrize(
    ("user_agent", "described"),
    [
        ("", "Unknown device"),
        (CURL, "curl"),
        (IPHONE_SAFARI, "Mobile Safari on iOS (iPhone)"),
        (ANDROID_CHROME, "Chrome Mobile on Android (Pixel 8)"),
        (WINDOWS_FIREFOX, "Firefox on Windows"),
        (LINUX_CHROME, "Chrome on Linux"),
        (
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
            "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
            "Safari on Mac OS X",
        ),
    ],
)
def test_describe_names_browser_system_and_device(user_agent, described):
    assert devices.describe(user_agent) == described


@pytest.mark.parametrize("user_agent", ["integration-test", "Mozilla/5.0", "x"])
def test_describe_calls_an_unrecognised_user_agent_unknown(user_agent):
    assert devices.describe(user_agent) == "Unknown device"
