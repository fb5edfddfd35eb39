"""Password reset by email, end to end through django.test.Client and the test outbox.

The answer to a reset request never tells whether the address belongs to
anyone, even when the request is over its limit; the link in the email works
once; the new password meets Panel's rules; a reset ends the user's sessions,
lifts a login lockout and leaves the second factor in place. The clock is held
still with time-machine and moved by hand past each limit.
"""

import datetime
import re
from base64 import b32encode

import pyotp
import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django.utils.http import urlsafe_base64_encode

from accounts import services as account_services
from accounts.models import User
from core.audit import Origin
from core.models import AuditEvent
from mfa import selectors as mfa_selectors
from mfa import services as mfa_services
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integration.conftest import (
    NEW_PASSWORD,
    audit_dump,
    events,
    is_logged_in,
    logged_in_client,
    page_text,
    session_key_of,
)

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2031, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
SENT_URL = "/password-reset/sent/"
DONE_URL = "/password-reset/done/"
NO_LONGER_WORKS = "This link no longer works"
CHECK_YOUR_EMAIL = "If the address belongs to an account, a link to choose a new password is on its way."
LOCKED_OUT = "Too many failed attempts."
# Longer than any delay the guards impose before their lock (60 s).
PAST_ANY_DELAY = 61
HOUR = 3600
_LINK = re.compile(r"http://testserver(/password-reset/[^/\s]+/[^/\s]+/)")

# The reset limits are fixed windows kept as cache keys with a time to live; Redis expires them on
# its own clock, which time-machine cannot move.
needs_local_cache_clock = pytest.mark.skipif(
    "redis" in settings.CACHES["default"]["BACKEND"].lower(),
    reason="Redis expires the window on its own clock; time-machine cannot move it",
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


# helpers


def _ask(address, *, ip="192.0.2.1", client=None):
    return (client or Client()).post("/password-reset/", {"email": address}, REMOTE_ADDR=ip)


def _link(message):
    links = _LINK.findall(message.body)
    assert len(links) == 1, message.body
    return links[0]


def _open_form(client, link):
    """Open the emailed link: Django moves the token into the session and redirects to the form."""
    response = client.get(link)
    assert response.status_code == 302, page_text(response)
    return response["Location"]


def _reset(client, link, password=NEW_PASSWORD, confirmation=None):
    form_url = _open_form(client, link)
    return client.post(form_url, {"new_password1": password, "new_password2": confirmation or password})


def _reset_by_email(user, mailoutbox, password=NEW_PASSWORD):
    """The whole flow for ``user``, from asking to setting ``password``."""
    before = len(mailoutbox)
    assert _ask(user.email).status_code == 302
    assert len(mailoutbox) == before + 1
    response = _reset(Client(), _link(mailoutbox[-1]), password)
    assert response.status_code == 302 and response["Location"] == DONE_URL, page_text(response)
    return response


def _log_in(client, username, password, *, ip="192.0.2.50"):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip)


def _answer(response):
    """What a visitor can see of an answer: status, where it sends them, and the page they land on.

    The page's CSRF token (the language switcher's form) is masked anew on every page, for everyone: left out.
    """
    landing = Client().get(response["Location"]) if response.status_code == 302 else response
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', 'name="csrfmiddlewaretoken"', page_text(landing))
    return response.status_code, response.get("Location"), page


def _field_errors(response, field):
    return list(response.context["form"].errors.get(field, []))


# the flow


def test_reset_request_answers_with_the_check_your_email_page(carol, mailoutbox):
    response = _ask("carol@example.com", client=(client := Client()))

    assert response.status_code == 302
    assert response["Location"] == SENT_URL
    page = client.get(SENT_URL)
    assert page.status_code == 200
    assert CHECK_YOUR_EMAIL in page_text(page)


def test_reset_email_goes_to_the_address_with_one_link(carol, mailoutbox):
    _ask("carol@example.com")

    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["carol@example.com"]
    assert message.subject == "Reset your Panel password"
    assert _link(message).startswith("/password-reset/")


def test_reset_email_contains_no_password(carol, mailoutbox):
    _ask("carol@example.com")

    message = mailoutbox[0]
    assert DEFAULT_PASSWORD not in message.body
    assert carol.password not in message.body
    assert "$argon2" not in message.body


def test_reset_request_ignores_the_case_of_the_address(carol, mailoutbox):
    _ask("Carol@EXAMPLE.com")

    assert [message.to for message in mailoutbox] == [["carol@example.com"]]


def test_emailed_link_opens_the_new_password_form(carol, mailoutbox):
    _ask("carol@example.com")
    client = Client()

    page = client.get(_open_form(client, _link(mailoutbox[0])))

    assert page.status_code == 200
    assert "Choose a new password" in page_text(page)
    assert NO_LONGER_WORKS not in page_text(page)


def test_new_password_from_the_link_replaces_the_old_one(carol, mailoutbox):
    _ask("carol@example.com")

    response = _reset(Client(), _link(mailoutbox[0]))

    assert response.status_code == 302
    assert response["Location"] == DONE_URL
    carol.refresh_from_db()
    assert carol.check_password(NEW_PASSWORD)
    assert not carol.check_password(DEFAULT_PASSWORD)


def test_done_page_says_the_password_changed(carol, mailoutbox):
    _ask("carol@example.com")
    client = Client()
    _reset(client, _link(mailoutbox[0]))

    page = client.get(DONE_URL)

    assert page.status_code == 200
    assert "Your password was changed" in page_text(page)


def test_user_logs_in_with_the_new_password_after_a_reset(carol, mailoutbox):
    _reset_by_email(carol, mailoutbox)
    client = Client()

    response = _log_in(client, "carol", NEW_PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client, carol)


def test_old_password_no_longer_logs_in_after_a_reset(carol, mailoutbox):
    _reset_by_email(carol, mailoutbox)
    client = Client()

    response = _log_in(client, "carol", DEFAULT_PASSWORD)

    assert response.status_code == 200
    assert not is_logged_in(client, carol)


def test_emailed_link_works_only_once(carol, mailoutbox):
    _ask("carol@example.com")
    link = _link(mailoutbox[0])
    _reset(Client(), link)

    again = Client().get(link)

    assert again.status_code == 200
    assert NO_LONGER_WORKS in page_text(again)


def test_emailed_link_cannot_set_a_second_password(carol, mailoutbox):
    _ask("carol@example.com")
    link = _link(mailoutbox[0])
    client = Client()
    form_url = _open_form(client, link)
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    response = client.post(form_url, {"new_password1": "Other-lake-55", "new_password2": "Other-lake-55"})

    assert response.status_code == 200
    assert NO_LONGER_WORKS in page_text(response)
    carol.refresh_from_db()
    assert carol.check_password(NEW_PASSWORD)


def test_emailed_link_expires_after_an_hour(carol, mailoutbox, clock):
    _ask("carol@example.com")
    clock.shift(HOUR + 1)

    response = Client().get(_link(mailoutbox[0]))

    assert response.status_code == 200
    assert NO_LONGER_WORKS in page_text(response)


def test_emailed_link_still_works_just_under_an_hour(carol, mailoutbox, clock):
    _ask("carol@example.com")
    clock.shift(HOUR - 60)

    response = _reset(Client(), _link(mailoutbox[0]))

    assert response["Location"] == DONE_URL


def test_a_password_change_kills_an_earlier_link(carol, mailoutbox, origin):
    _ask("carol@example.com")
    account_services.user_set_password(origin=origin, user=carol, password="Other-lake-55")

    response = Client().get(_link(mailoutbox[0]))

    assert NO_LONGER_WORKS in page_text(response)


# the new password's rules

BAD_PASSWORDS = {
    "too short": ("Ab1-", "Password must be at least 8 characters long."),
    "too long": ("Abcdefgh-123456789012", "Password must be at most 20 characters long."),
    "one kind": ("abcdefghijkl", "Password must contain at least two of: letters, digits and special characters."),
    "common": ("password123", "This password is too common."),
    "like the username": ("carol123", "The password is too similar to the username."),
    "very long": ("Ab1-" * 2_500, "Password must be at most 20 characters long."),
    "nul byte": ("Fresh\x00river-77", "Null characters are not allowed."),
    "empty": ("", "This field is required."),
}


@pytest.mark.parametrize(("password", "message"), BAD_PASSWORDS.values(), ids=BAD_PASSWORDS.keys())
def test_new_password_breaking_a_rule_is_refused_with_its_message(carol, mailoutbox, password, message):
    _ask("carol@example.com")

    response = _reset(Client(), _link(mailoutbox[0]), password)

    assert response.status_code == 200
    assert message in _field_errors(response, "new_password1") + _field_errors(response, "new_password2")
    assert message in page_text(response)
    carol.refresh_from_db()
    assert carol.check_password(DEFAULT_PASSWORD)


def test_mismatched_confirmation_is_refused_with_its_message(carol, mailoutbox):
    _ask("carol@example.com")

    response = _reset(Client(), _link(mailoutbox[0]), NEW_PASSWORD, confirmation="Fresh-river-78")

    assert response.status_code == 200
    assert "The two password fields didn’t match." in _field_errors(response, "new_password2")
    carol.refresh_from_db()
    assert carol.check_password(DEFAULT_PASSWORD)


def test_refused_password_keeps_the_link_usable(carol, mailoutbox):
    _ask("carol@example.com")
    client = Client()
    form_url = _open_form(client, _link(mailoutbox[0]))
    client.post(form_url, {"new_password1": "short", "new_password2": "short"})

    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert response["Location"] == DONE_URL


# links that are not links


def _uid(value):
    return urlsafe_base64_encode(value if isinstance(value, bytes) else str(value).encode())


# Every broken link a person or a scanner might open; {uid} is the real user's.
BROKEN_LINKS = {
    "garbage uid and token": "/password-reset/garbage/garbage/",
    "unknown user": f"/password-reset/{_uid(999_999)}/abc-123/",
    "uid beyond any integer column": f"/password-reset/{_uid(10**30)}/abc-123/",
    "negative uid": f"/password-reset/{_uid(-1)}/abc-123/",
    "uid of letters": f"/password-reset/{_uid('abc')}/abc-123/",
    "uid not utf-8": f"/password-reset/{_uid(bytes([0xFF, 0xFE]))}/abc-123/",
    "uid not base64": "/password-reset/%21%21%21%21/abc-123/",
    "nul byte in uid": "/password-reset/%00/abc-123/",
    "very long uid": f"/password-reset/{'A' * 10_000}/abc-123/",
    "right uid, wrong token": "/password-reset/{uid}/cxyz12-0123456789abcdef0123456789abcdef/",
    "right uid, malformed token": "/password-reset/{uid}/no-dash-here-and-far-too-long/",
    "right uid, very long token": "/password-reset/{uid}/" + "a" * 5_000 + "-" + "b" * 5_000 + "/",
    "right uid, nul byte in token": "/password-reset/{uid}/abc%00-123/",
    "set-password without a session": "/password-reset/{uid}/set-password/",
}


def _broken_link(label, user):
    return BROKEN_LINKS[label].replace("{uid}", _uid(user.pk))


@pytest.mark.parametrize("label", BROKEN_LINKS)
def test_broken_link_shows_the_no_longer_works_page(carol, label):
    response = Client().get(_broken_link(label, carol))

    assert response.status_code == 200
    assert NO_LONGER_WORKS in page_text(response)


@pytest.mark.parametrize("label", BROKEN_LINKS)
def test_posting_to_a_broken_link_changes_nothing(carol, label):
    data = {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}

    response = Client().post(_broken_link(label, carol), data)

    assert response.status_code == 200
    assert NO_LONGER_WORKS in page_text(response)
    carol.refresh_from_db()
    assert carol.check_password(DEFAULT_PASSWORD)
    assert not events("user.password_reset")


def test_link_of_another_user_does_not_open_for_this_one(carol, mailoutbox):
    bob = UserFactory(username="bob", email="bob@example.com")
    _ask("carol@example.com")
    token = _link(mailoutbox[0]).rstrip("/").rsplit("/", 1)[1]

    response = Client().get(f"/password-reset/{_uid(bob.pk)}/{token}/")

    assert NO_LONGER_WORKS in page_text(response)


# the same answer for every address


def test_unknown_address_gets_the_same_answer_as_a_known_one(carol, mailoutbox):
    known = _answer(_ask("carol@example.com"))

    unknown = _answer(_ask("nobody@example.com"))

    assert unknown == known
    assert len(mailoutbox) == 1


def test_address_of_a_user_without_a_usable_password_gets_the_same_answer(carol, mailoutbox):
    locked = UserFactory(username="dave", email="dave@example.com", password="!unusable")
    known = _answer(_ask("carol@example.com"))

    answer = _answer(_ask(locked.email))

    assert answer == known
    assert [message.to for message in mailoutbox] == [["carol@example.com"]]


def test_inactive_users_address_gets_the_same_answer_and_no_email(carol, mailoutbox):
    UserFactory(username="erin", email="erin@example.com", is_active=False)
    known = _answer(_ask("carol@example.com"))

    answer = _answer(_ask("erin@example.com"))

    assert answer == known
    assert len(mailoutbox) == 1


MALFORMED_ADDRESSES = {
    "no at sign": "not-an-address",
    "empty": "",
    "spaces": "   ",
    "two at signs": "a@@example.com",
    "very long": "a" * 300 + "@example.com",
    "nul byte": "carol\x00@example.com",
    "newline header injection": "carol@example.com\nBcc: evil@example.com",
}


@pytest.mark.parametrize("address", MALFORMED_ADDRESSES.values(), ids=MALFORMED_ADDRESSES.keys())
def test_malformed_address_gets_a_clear_message_and_no_email(carol, mailoutbox, address):
    response = _ask(address)

    assert response.status_code == 200
    assert _field_errors(response, "email")
    assert "Reset your password" in page_text(response)
    assert mailoutbox == []


@pytest.mark.parametrize("address", MALFORMED_ADDRESSES.values(), ids=MALFORMED_ADDRESSES.keys())
def test_malformed_address_answer_does_not_depend_on_any_account(address):
    """The form refuses the spelling alone: with or without users, the page reads the same."""
    before = _answer(_ask(address))
    UserFactory(username="carol", email="carol@example.com")

    after = _answer(_ask(address))

    assert _strip_csrf(after) == _strip_csrf(before)


def _strip_csrf(answer):
    status, location, text = answer
    return status, location, re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", text)


# throttling: per address and per IP


def _ask_spaced(clock, address, *, ip):
    """Ask, then let the clock pass every growing delay, so that only the hourly limit applies."""
    response = _ask(address, ip=ip)
    clock.shift(PAST_ANY_DELAY)
    return response


def test_five_requests_for_one_address_are_sent(carol, mailoutbox, clock):
    for n in range(5):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 1}")

    assert len(mailoutbox) == 5


def test_sixth_request_for_one_address_within_the_hour_sends_nothing(carol, mailoutbox, clock):
    for n in range(5):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 1}")

    _ask("carol@example.com", ip="198.51.100.99")

    assert len(mailoutbox) == 5


def test_request_over_the_address_limit_gets_the_same_answer(carol, mailoutbox, clock):
    answered = _answer(_ask_spaced(clock, "carol@example.com", ip="198.51.100.1"))
    for n in range(4):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 2}")

    over = _answer(_ask("carol@example.com", ip="198.51.100.99"))

    assert over == answered


def test_address_limit_counts_the_address_in_any_case(carol, mailoutbox, clock):
    for n in range(5):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 1}")

    _ask("  CAROL@Example.COM ", ip="198.51.100.99")

    assert len(mailoutbox) == 5


def test_address_limit_leaves_other_addresses_alone(carol, mailoutbox, clock):
    UserFactory(username="bob", email="bob@example.com")
    for n in range(6):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 1}")

    _ask("bob@example.com", ip="198.51.100.99")

    assert mailoutbox[-1].to == ["bob@example.com"]


@needs_local_cache_clock
def test_address_limit_lifts_an_hour_after_the_first_request(carol, mailoutbox, clock):
    for n in range(6):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 1}")
    sent = len(mailoutbox)
    clock.shift(HOUR)

    _ask("carol@example.com", ip="198.51.100.99")

    assert len(mailoutbox) == sent + 1


def test_unknown_address_over_its_limit_gets_the_same_answer(carol, mailoutbox, clock):
    known = _answer(_ask("carol@example.com", ip="198.51.100.1"))
    for n in range(5):
        _ask_spaced(clock, "nobody@example.com", ip=f"198.51.100.{n + 2}")

    over = _answer(_ask("nobody@example.com", ip="198.51.100.99"))

    assert over == known


def _users(count):
    return [UserFactory(username=f"member{n}", email=f"member{n}@example.com") for n in range(count)]


def test_twenty_requests_from_one_ip_are_sent(mailoutbox, clock):
    for user in _users(20):
        _ask_spaced(clock, user.email, ip="203.0.113.9")

    assert len(mailoutbox) == 20


def test_twenty_first_request_from_one_ip_within_the_hour_sends_nothing(mailoutbox, clock):
    *first, last = _users(21)
    for user in first:
        _ask_spaced(clock, user.email, ip="203.0.113.9")

    _ask(last.email, ip="203.0.113.9")

    assert len(mailoutbox) == 20
    assert last.email not in {message.to[0] for message in mailoutbox}


def test_request_over_the_ip_limit_gets_the_same_answer(mailoutbox, clock):
    *first, last = _users(21)
    answered = _answer(_ask_spaced(clock, first[0].email, ip="203.0.113.9"))
    for user in first[1:]:
        _ask_spaced(clock, user.email, ip="203.0.113.9")

    over = _answer(_ask(last.email, ip="203.0.113.9"))

    assert over == answered


def test_ip_limit_leaves_other_ips_alone(mailoutbox, clock):
    *first, last = _users(21)
    for user in first:
        _ask_spaced(clock, user.email, ip="203.0.113.9")
    _ask(last.email, ip="203.0.113.9")

    _ask(last.email, ip="203.0.113.10")

    assert mailoutbox[-1].to == [last.email]


@needs_local_cache_clock
def test_ip_limit_lifts_an_hour_after_the_first_request(mailoutbox, clock):
    *first, last = _users(21)
    for user in first:
        _ask_spaced(clock, user.email, ip="203.0.113.9")
    clock.shift(HOUR)

    _ask(last.email, ip="203.0.113.9")

    assert mailoutbox[-1].to == [last.email]


def test_request_over_the_limit_is_audited_as_throttled(carol, mailoutbox, clock):
    for n in range(5):
        _ask_spaced(clock, "carol@example.com", ip=f"198.51.100.{n + 1}")

    _ask("carol@example.com", ip="198.51.100.99")

    throttled = [event.details["throttled"] for event in events("auth.password_reset_request")]
    assert throttled == [False] * 5 + [True]


# what a reset does to sessions, lockouts and the second factor


def test_reset_ends_every_existing_session(carol, mailoutbox):
    browsers = [logged_in_client(carol), logged_in_client(carol)]
    keys = [session_key_of(browser) for browser in browsers]

    _reset_by_email(carol, mailoutbox)

    for browser in browsers:
        assert browser.get("/account/")["Location"].startswith("/login/")
    assert not any(is_logged_in(browser, carol) for browser in browsers)
    assert events("user.password_reset")[-1].details["sessions_ended"] == len(keys)


def test_reset_does_not_log_the_resetting_browser_in(carol, mailoutbox):
    _ask("carol@example.com")
    client = Client()

    _reset(client, _link(mailoutbox[0]))

    assert not is_logged_in(client, carol)


def _lock_out(clock, username, *, ip="192.0.2.50"):
    """Ten wrong passwords through the login page, each after the previous one's delay."""
    for _ in range(10):
        response = _log_in(Client(), username, "Wrong-pass-1", ip=ip)
        assert LOCKED_OUT not in page_text(response)
        clock.shift(PAST_ANY_DELAY)


def test_ten_wrong_passwords_lock_the_account_out(carol, clock):
    _lock_out(clock, "carol")
    client = Client()

    response = _log_in(client, "carol", DEFAULT_PASSWORD)

    assert LOCKED_OUT in page_text(response)
    assert not is_logged_in(client, carol)


def test_locked_out_account_logs_in_right_after_a_reset(carol, mailoutbox, clock):
    _lock_out(clock, "carol")

    _reset_by_email(carol, mailoutbox)
    client = Client()
    response = _log_in(client, "carol", NEW_PASSWORD)

    assert response.status_code == 302
    assert is_logged_in(client, carol)


def test_locked_out_account_can_ask_for_a_reset(carol, mailoutbox, clock):
    _lock_out(clock, "carol")

    _ask("carol@example.com")

    assert len(mailoutbox) == 1


def _turn_on_totp(user):
    """A confirmed authenticator app, its code computed by pyotp from the device's key."""
    origin = Origin.command("t")
    device = mfa_services.totp_begin(origin=origin, user=user)
    secret = b32encode(device.key).decode()
    mfa_services.totp_confirm(origin=origin, user=user, device=device, code=pyotp.TOTP(secret).now())
    return secret


def test_user_with_an_authenticator_still_gets_the_second_step_after_a_reset(carol, mailoutbox):
    _turn_on_totp(carol)
    _reset_by_email(carol, mailoutbox)
    client = Client()

    response = _log_in(client, "carol", NEW_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/login/verify/"
    assert not is_logged_in(client, carol)


def test_reset_keeps_the_authenticator(carol, mailoutbox):
    _turn_on_totp(carol)

    _reset_by_email(carol, mailoutbox)

    assert mfa_selectors.status(carol)["totp"] is True


def test_second_step_after_a_reset_takes_the_next_app_code(carol, mailoutbox, clock):
    secret = _turn_on_totp(carol)
    _reset_by_email(carol, mailoutbox)
    client = Client()
    _log_in(client, "carol", NEW_PASSWORD)
    clock.shift(30)

    response = client.post("/login/verify/", {"method": "totp", "code": pyotp.TOTP(secret).now()})

    assert response.status_code == 302
    assert is_logged_in(client, carol)


# the audit log


def test_reset_request_is_audited_with_the_address_typed(carol, mailoutbox):
    _ask("carol@example.com", ip="198.51.100.4")

    event = events("auth.password_reset_request")[-1]
    assert event.target_name == "carol@example.com"
    assert event.ip == "198.51.100.4"
    assert event.outcome == AuditEvent.Outcome.SUCCESS


def test_reset_is_audited_on_the_user(carol, mailoutbox):
    _reset_by_email(carol, mailoutbox)

    event = events("user.password_reset")[-1]
    assert event.target_id == str(carol.pk)
    assert event.details["self"] is True


def test_audit_log_never_holds_the_token_or_the_new_password(carol, mailoutbox):
    _ask("carol@example.com")
    link = _link(mailoutbox[0])
    uid, token = link.strip("/").split("/")[1:]
    _reset(Client(), link)
    assert events("auth.password_reset_request") and events("user.password_reset")

    dump = audit_dump()

    assert token not in dump
    assert token.split("-")[1] not in dump
    assert NEW_PASSWORD not in dump
    assert User.objects.get(pk=carol.pk).password not in dump
    assert "set-password" not in dump


def test_audit_log_never_holds_a_refused_new_password(carol, mailoutbox):
    _ask("carol@example.com")
    _reset(Client(), _link(mailoutbox[0]), "carol123")

    assert "carol123" not in audit_dump()
