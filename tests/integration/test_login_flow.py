"""The login with a second factor, and brute-force protection of passwords and codes (real hasher, cache, sessions)."""

import datetime

import pytest
import time_machine
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.signals import user_login_failed
from django.core import mail
from django.test import Client

from core.models import AuditEvent
from mfa import services
from tests.factories import UserFactory
from tests.helpers import SETUP, turn_on_app
from tests.integration.conftest import (
    events,
    mailed_code,
    opens_account_page,
    post_login,
    session_exists,
    session_key_of,
    strip_csrf,
    wrong_code,
)

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2025, 3, 1, 9, 0, 5, tzinfo=datetime.UTC)  # 5 s into a TOTP step
WRONG_PASSWORD = "Wrong-pass-99"
LOGIN_FAILED = "Incorrect username or password."
INVALID_CODE = str(services.INVALID_CODE)
TIMED_OUT = "Your login timed out. Enter your password again."
LOCKED_15_MIN = "Too many failed attempts. Try again in 15 min 0 s, or reset your password by email."
# Longer than the growing delay before the tenth failure (32 s); nine of them stay inside the 300 s login step.
PAST_ANY_DELAY = 33


class CountingBackend(ModelBackend):
    """Django's own backend (so the real hasher runs), counting how often it is asked."""

    calls = 0

    def authenticate(self, request, username=None, password=None, **kwargs):
        type(self).calls += 1
        return super().authenticate(request, username=username, password=password, **kwargs)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def counting_backend(settings):
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.CountingBackend"]
    CountingBackend.calls = 0
    return CountingBackend


@pytest.fixture
def failed_signals():
    received = []

    def receiver(sender, credentials, **kwargs):
        received.append(credentials.get("username"))

    user_login_failed.connect(receiver, dispatch_uid="test_login_flow")
    yield received
    user_login_failed.disconnect(dispatch_uid="test_login_flow")


@pytest.fixture
def plain(db):
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def totp_user(db, clock):
    """dave, with an authenticator app (enrolled at T0) and ten recovery codes."""
    user = UserFactory(username="dave", email="dave@example.com")
    user.totp, user.recovery_codes = turn_on_app(user)
    return user


@pytest.fixture
def email_user(db, clock):
    """erin, with email codes (turned on at T0; the cooldown of that email has passed)."""
    user = UserFactory(username="erin", email="erin@example.com")
    device = services.email_begin(origin=SETUP, user=user)
    services.email_confirm(origin=SETUP, user=user, device=device, code=mailed_code())
    mail.outbox.clear()
    clock.shift(61)
    return user


def _next_code(user):
    """The next step's code: accepted (one step of tolerance) and newer than the one that confirmed enrolment."""
    return user.totp.at(datetime.datetime.now(tz=datetime.UTC) + datetime.timedelta(seconds=30))


def _verify(client, method, code):
    return client.post("/login/verify/", {"action": "verify", "method": method, "code": code})


def _fail_passwords(client, username, times, clock, *, spaced=True):
    for _ in range(times):
        response = post_login(client, username, WRONG_PASSWORD)
        assert LOGIN_FAILED in response.content.decode()
        if spaced:
            clock.shift(PAST_ANY_DELAY)


def _text(response):
    return response.content.decode()


# the second step


def test_user_without_second_factor_logs_in_with_the_password(client, plain):
    response = post_login(client, "alice", next="/account/")

    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert opens_account_page(client)


def test_user_with_totp_is_sent_to_the_verification_step(client, totp_user):
    response = post_login(client, "dave")

    assert (response.status_code, response["Location"]) == (302, "/login/verify/")


def test_user_with_totp_is_not_logged_in_before_the_code(client, totp_user):
    post_login(client, "dave")

    response = client.get("/account/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_verification_page_offers_the_users_factors(client, totp_user):
    post_login(client, "dave")

    response = client.get("/login/verify/")

    assert response.status_code == 200
    assert 'value="totp"' in _text(response) and 'value="recovery"' in _text(response)
    assert "Email me a code" not in _text(response)


def test_totp_code_completes_the_login(client, totp_user):
    post_login(client, "dave", next="/account/")

    response = _verify(client, "totp", _next_code(totp_user))

    assert (response.status_code, response["Location"]) == (302, "/account/")
    assert opens_account_page(client)


def test_totp_code_completes_the_login_with_a_new_session_key(client, totp_user):
    post_login(client, "dave")
    pending_key = session_key_of(client)

    _verify(client, "totp", _next_code(totp_user))

    assert session_key_of(client) not in (None, pending_key)
    assert not session_exists(pending_key)


def test_password_step_issues_a_new_session_key(client, totp_user):
    session = client.session
    session["visited"] = True
    session.save()
    anonymous_key = session_key_of(client)

    post_login(client, "dave")

    assert session_key_of(client) != anonymous_key
    assert not session_exists(anonymous_key)


def test_recovery_code_completes_the_login_with_a_new_session_key(client, totp_user):
    post_login(client, "dave")
    pending_key = session_key_of(client)

    response = _verify(client, "recovery", totp_user.recovery_codes[0].upper())

    assert response.status_code == 302
    assert opens_account_page(client)
    assert session_key_of(client) != pending_key


def test_emailed_code_completes_the_login_with_a_new_session_key(client, email_user):
    post_login(client, "erin")
    pending_key = session_key_of(client)

    sent = client.post("/login/verify/", {"action": "send"}, follow=True)
    (message,) = mail.outbox
    response = _verify(client, "email", mailed_code())

    assert message.to == ["erin@example.com"]
    assert "A code was sent to your email address." in _text(sent)
    assert response.status_code == 302
    assert opens_account_page(client)
    assert session_key_of(client) != pending_key


def test_second_email_within_a_minute_is_refused_with_a_message(client, email_user, clock):
    post_login(client, "erin")
    client.post("/login/verify/", {"action": "send"})
    clock.shift(30)

    response = client.post("/login/verify/", {"action": "send"}, follow=True)

    assert len(mail.outbox) == 1
    assert "You can ask for another in 30 s." in _text(response)


def test_login_completion_is_audited(client, totp_user):
    post_login(client, "dave")
    _verify(client, "totp", _next_code(totp_user))

    (verified,) = events("mfa.verify")
    (login,) = events("auth.login")
    assert (verified.outcome, verified.target_id) == (AuditEvent.Outcome.SUCCESS, str(totp_user.pk))
    assert (login.outcome, login.target_id) == (AuditEvent.Outcome.SUCCESS, str(totp_user.pk))


def test_pending_login_still_works_just_before_300_seconds(client, totp_user, clock):
    post_login(client, "dave")
    clock.shift(299)

    _verify(client, "totp", _next_code(totp_user))

    assert opens_account_page(client)


def test_pending_login_expires_after_300_seconds(client, totp_user, clock):
    post_login(client, "dave")
    clock.shift(301)

    response = client.get("/login/verify/", follow=True)

    assert response.redirect_chain == [("/login/", 302)]
    assert TIMED_OUT in _text(response)


def test_right_code_after_the_pending_login_expired_does_not_log_in(client, totp_user, clock):
    post_login(client, "dave")
    clock.shift(301)

    response = _verify(client, "totp", _next_code(totp_user))

    assert response["Location"] == "/login/"
    assert not opens_account_page(client)


def test_wrong_code_shows_the_form_error(client, totp_user):
    post_login(client, "dave")

    response = _verify(client, "totp", wrong_code(_next_code(totp_user)))

    assert response.status_code == 400
    assert INVALID_CODE in _text(response)
    assert not opens_account_page(client)


@pytest.mark.parametrize(
    ("method", "code", "message"),
    [
        pytest.param("totp", "", "Enter the code.", id="empty"),
        pytest.param("totp", "abcdef", INVALID_CODE, id="letters"),
        pytest.param("totp", "12345", INVALID_CODE, id="too-short"),
        pytest.param("totp", "1234567", INVALID_CODE, id="too-long"),
        pytest.param("totp", "9" * 5000, "That is too long to be a code.", id="very-long"),
        pytest.param("recovery", "not-a-code", INVALID_CODE, id="recovery-garbage"),
        pytest.param("email", "123456", "Select a valid choice.", id="factor-not-offered"),
    ],
)
def test_bad_code_input_gives_a_clear_message_not_an_error_page(client, totp_user, method, code, message):
    post_login(client, "dave")

    response = _verify(client, method, code)

    assert response.status_code == 400
    assert message in _text(response)


def test_verification_page_without_a_pending_login_redirects_to_login(client):
    response = client.get("/login/verify/")

    assert (response.status_code, response["Location"]) == (302, "/login/")


def test_code_without_a_pending_login_redirects_to_login(client, totp_user):
    response = _verify(client, "totp", _next_code(totp_user))

    assert response["Location"] == "/login/"
    assert not opens_account_page(client)


def test_user_made_inactive_during_the_second_step_is_refused(client, totp_user):
    post_login(client, "dave")
    totp_user.is_active = False
    totp_user.save(update_fields=["is_active"])

    response = _verify(client, "totp", _next_code(totp_user))

    assert response["Location"] == "/login/"
    assert not opens_account_page(client)


def test_cancel_abandons_the_pending_login(client, totp_user):
    post_login(client, "dave")

    client.post("/login/verify/cancel/")
    response = _verify(client, "totp", _next_code(totp_user))

    assert response["Location"] == "/login/"
    assert not opens_account_page(client)


# brute force: the same answers for real and made-up names


def test_failures_and_lockout_read_the_same_for_existing_and_unknown_usernames(plain, clock):
    # Same length names, from different addresses so that only the account counters fill up.
    real, unknown = Client(REMOTE_ADDR="198.51.100.1"), Client(REMOTE_ADDR="198.51.100.2")

    def normalised(response, typed):
        return strip_csrf(response.content).replace(f'value="{typed}"'.encode(), b'value=""')

    answers = []
    for attempt in range(11):
        if attempt:
            clock.shift(PAST_ANY_DELAY if attempt < 10 else 0)
        answers.append((post_login(real, "alice", WRONG_PASSWORD), post_login(unknown, "ghost", WRONG_PASSWORD)))

    for for_real, for_unknown in answers:
        assert for_real.status_code == for_unknown.status_code == 200
        assert normalised(for_real, "alice") == normalised(for_unknown, "ghost")
    assert LOCKED_15_MIN in _text(answers[-1][0])


def test_early_throttled_answers_read_the_same_for_existing_and_unknown_usernames(plain, clock):
    real, unknown = Client(REMOTE_ADDR="198.51.100.1"), Client(REMOTE_ADDR="198.51.100.2")
    for _ in range(4):
        post_login(real, "alice", WRONG_PASSWORD)
        post_login(unknown, "ghost", WRONG_PASSWORD)

    for_real, for_unknown = post_login(real, "alice"), post_login(unknown, "ghost")

    assert strip_csrf(for_real.content).replace(b"alice", b"") == strip_csrf(for_unknown.content).replace(b"ghost", b"")
    assert "Try again in 1 s" in _text(for_real)


# brute force: growing delays and the lockout


def test_three_failures_cost_no_delay(client, plain):
    for _ in range(3):
        post_login(client, "alice", WRONG_PASSWORD)

    post_login(client, "alice")

    assert opens_account_page(client)


def test_fourth_failure_makes_the_next_attempt_wait(client, plain):
    for _ in range(4):
        post_login(client, "alice", WRONG_PASSWORD)

    response = post_login(client, "alice")

    assert "Too many failed attempts. Try again in 1 s, or reset your password by email." in _text(response)
    assert not opens_account_page(client)


def test_right_password_works_once_the_delay_has_passed(client, plain, clock):
    for _ in range(4):
        post_login(client, "alice", WRONG_PASSWORD)
    clock.shift(1)

    post_login(client, "alice")

    assert opens_account_page(client)


def test_delay_grows_with_each_failure(client, plain, clock):
    for _ in range(4):
        post_login(client, "alice", WRONG_PASSWORD)
    clock.shift(1)
    post_login(client, "alice", WRONG_PASSWORD)  # the fifth: the next attempt waits 2 s

    response = post_login(client, "alice")

    assert "Try again in 2 s" in _text(response)


def test_tenth_consecutive_failure_locks_the_account(client, plain, clock):
    _fail_passwords(client, "alice", 9, clock)
    post_login(client, "alice", WRONG_PASSWORD)

    response = post_login(client, "alice")

    assert LOCKED_15_MIN in _text(response)
    assert not opens_account_page(client)


def test_locked_account_refuses_the_right_password_until_900_seconds_pass(client, plain, clock):
    _fail_passwords(client, "alice", 9, clock)
    post_login(client, "alice", WRONG_PASSWORD)
    clock.shift(899)

    response = post_login(client, "alice")

    assert "Try again in 1 s" in _text(response)
    assert not opens_account_page(client)


def test_locked_account_accepts_the_right_password_after_900_seconds(client, plain, clock):
    _fail_passwords(client, "alice", 9, clock)
    post_login(client, "alice", WRONG_PASSWORD)
    clock.shift(900)

    post_login(client, "alice")

    assert opens_account_page(client)


def test_lockout_holds_from_another_address(plain, clock):
    _fail_passwords(Client(REMOTE_ADDR="198.51.100.1"), "alice", 10, clock)

    response = post_login(Client(REMOTE_ADDR="203.0.113.9"), "alice")

    assert "Too many failed attempts." in _text(response)


def test_lockout_ignores_the_case_of_the_username(client, plain, clock):
    _fail_passwords(client, "alice", 10, clock)

    response = post_login(client, "ALICE")

    assert "Too many failed attempts." in _text(response)


def test_throttled_attempt_does_not_run_authentication(client, plain, counting_backend, failed_signals):
    for _ in range(4):
        post_login(client, "alice", WRONG_PASSWORD)
    assert (counting_backend.calls, len(failed_signals)) == (4, 4)

    post_login(client, "alice")

    assert counting_backend.calls == 4
    assert len(failed_signals) == 4


def test_attempt_on_a_locked_account_does_not_run_authentication(client, plain, clock, counting_backend):
    _fail_passwords(client, "alice", 10, clock)
    calls = counting_backend.calls

    for _ in range(5):
        post_login(client, "alice")

    assert counting_backend.calls == calls == 10


def test_login_through_the_counting_backend_still_works(client, plain, counting_backend):
    post_login(client, "alice")

    assert counting_backend.calls == 1
    assert opens_account_page(client)


# brute force: per address


def test_many_usernames_from_one_address_are_throttled(db):
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    for number in range(11):
        post_login(attacker, f"guess{number}", WRONG_PASSWORD)

    response = post_login(attacker, "guess-new", WRONG_PASSWORD)

    assert "Too many failed attempts. Try again in 1 s" in _text(response)


def test_address_limit_stops_a_real_user_behind_that_address(plain):
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    for number in range(11):
        post_login(attacker, f"guess{number}", WRONG_PASSWORD)

    post_login(attacker, "alice")

    assert not opens_account_page(attacker)


def test_address_limit_does_not_touch_other_addresses(plain):
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    for number in range(11):
        post_login(attacker, f"guess{number}", WRONG_PASSWORD)
    elsewhere = Client(REMOTE_ADDR="203.0.113.9")

    post_login(elsewhere, "alice")

    assert opens_account_page(elsewhere)


def test_ten_failures_from_one_address_cost_no_delay(plain):
    attacker = Client(REMOTE_ADDR="198.51.100.66")
    for number in range(10):
        post_login(attacker, f"guess{number}", WRONG_PASSWORD)

    post_login(attacker, "alice")

    assert opens_account_page(attacker)


# brute force: second-factor codes


def test_failed_codes_count_toward_the_account_lockout(client, totp_user, clock):
    post_login(client, "dave")
    for attempt in range(10):
        response = _verify(client, "totp", "000000")
        assert INVALID_CODE in _text(response) or "Too many wrong codes" in _text(response)
        if attempt < 9:
            clock.shift(PAST_ANY_DELAY)

    response = post_login(Client(), "dave")

    assert LOCKED_15_MIN in _text(response)


def test_locked_account_refuses_the_right_code_at_the_second_step(client, totp_user, clock):
    post_login(client, "dave")
    for attempt in range(10):
        _verify(client, "totp", "000000")
        if attempt < 9:
            clock.shift(PAST_ANY_DELAY)

    response = _verify(client, "totp", _next_code(totp_user))

    assert response.status_code == 400
    assert LOCKED_15_MIN in _text(response)
    assert not opens_account_page(client)


def test_failed_codes_are_delayed_like_passwords(client, totp_user):
    post_login(client, "dave")
    for _ in range(4):
        _verify(client, "totp", "000000")

    response = _verify(client, "recovery", totp_user.recovery_codes[0])

    assert "Too many failed attempts. Try again in 1 s" in _text(response)
    assert not opens_account_page(client)


def test_password_and_code_failures_add_up(client, totp_user, clock):
    _fail_passwords(client, "dave", 5, clock)
    post_login(client, "dave")
    for attempt in range(5):
        _verify(client, "recovery", "not-a-code")
        if attempt < 4:
            clock.shift(PAST_ANY_DELAY)

    response = post_login(Client(), "dave")

    assert LOCKED_15_MIN in _text(response)


# brute force: success resets the account


def test_successful_login_resets_the_account_counter(client, plain):
    for _ in range(3):
        post_login(client, "alice", WRONG_PASSWORD)
    post_login(client, "alice")
    client.post("/logout/")
    for _ in range(3):
        post_login(client, "alice", WRONG_PASSWORD)

    post_login(client, "alice")

    # Without the reset these would be failures 4 to 6, and this attempt would have to wait 4 s.
    assert opens_account_page(client)


def test_right_password_alone_does_not_reset_the_counter_of_a_two_factor_user(totp_user):
    attacker = Client()
    for _ in range(3):
        post_login(attacker, "dave", WRONG_PASSWORD)
    post_login(attacker, "dave")  # the right password, then no code
    post_login(attacker, "dave", WRONG_PASSWORD)

    response = post_login(Client(), "dave")

    assert "Try again in 1 s" in _text(response)


def test_completed_second_step_resets_the_account_counter(client, totp_user):
    for _ in range(3):
        post_login(client, "dave", WRONG_PASSWORD)
    post_login(client, "dave")
    _verify(client, "totp", _next_code(totp_user))
    client.post("/logout/")
    for _ in range(3):
        post_login(client, "dave", WRONG_PASSWORD)

    response = post_login(client, "dave")

    assert response["Location"] == "/login/verify/"


# audit


def test_wrong_code_is_audited_as_a_failure(client, totp_user):
    post_login(client, "dave")

    _verify(client, "totp", "000000")

    (event,) = events("mfa.verify")
    assert (event.outcome, event.target_id, event.details["method"]) == (
        AuditEvent.Outcome.FAILURE,
        str(totp_user.pk),
        "totp",
    )


def test_wrong_recovery_code_is_audited_as_a_failure(client, totp_user):
    post_login(client, "dave")

    _verify(client, "recovery", "abcd-efgh-jkmn-pqrs")

    (event,) = events("mfa.recovery.use")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_each_failed_password_is_audited(client, plain, clock):
    _fail_passwords(client, "alice", 3, clock)

    assert [(e.outcome, e.target_name) for e in events("auth.login")] == [(AuditEvent.Outcome.FAILURE, "alice")] * 3


def test_throttled_password_attempt_is_audited(client, plain):
    for _ in range(4):
        post_login(client, "alice", WRONG_PASSWORD)

    post_login(client, "alice")

    event = events("auth.login")[-1]
    assert (event.outcome, event.target_name, event.details["reason"]) == (
        AuditEvent.Outcome.FAILURE,
        "alice",
        "throttled",
    )


def test_attempt_on_a_locked_account_is_audited(client, plain, clock):
    _fail_passwords(client, "alice", 10, clock)

    post_login(client, "alice")

    event = events("auth.login")[-1]
    assert (event.outcome, event.details["reason"]) == (AuditEvent.Outcome.FAILURE, "throttled")


def test_throttled_code_attempt_is_audited(client, totp_user):
    post_login(client, "dave")
    for _ in range(4):
        _verify(client, "totp", "000000")

    _verify(client, "totp", _next_code(totp_user))

    assert len(events("mfa.verify", outcome=AuditEvent.Outcome.FAILURE)) == 5


def test_failure_that_locks_the_account_is_audited_as_a_lockout(client, plain, clock):
    _fail_passwords(client, "alice", 10, clock)

    (event,) = events("auth.lockout")
    assert (event.outcome, event.target_name) == (AuditEvent.Outcome.FAILURE, "alice")
