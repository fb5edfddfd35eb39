"""Security notifications (core.notify): the owner is emailed when a credential changes or a new browser
logs in, once the change commits, without any secret, and a mail fault never fails the change."""

import re

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.db import transaction
from django.test import Client

from accounts import services as account_services
from core.audit import Origin
from mfa import services as mfa_services
from passkeys import services as passkey_services
from tests.factories import AccessTokenFactory, UserFactory
from tests.helpers import SETUP, turn_on_app
from tests.integration.conftest import (
    NEW_PASSWORD,
    events,
    logged_in_client,
    mailed_code,
    post_login,
    register_passkey,
)
from tokens import services as token_services

pytestmark = pytest.mark.django_db

CHROME_ON_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
IP = "198.51.100.7"


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """A block whose transaction commits: what core.notify queued for the commit is sent at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def as_carol(carol):
    return Origin(actor=carol, ip=IP, user_agent=CHROME_ON_LINUX)


@pytest.fixture
def as_admin(admin_user):
    return Origin(actor=admin_user, ip=IP, user_agent=CHROME_ON_LINUX)


def only_email(to="carol@example.com"):
    """The one email sent, checked to go to ``to`` and to carry the panel's name and the origin."""
    (message,) = mail.outbox
    assert message.to == [to]
    assert message.subject.startswith(f"[{django_settings.PANEL_NAME}] ")
    assert message.from_email == django_settings.DEFAULT_FROM_EMAIL
    return message


def assert_tells_where_and_what_to_do(message):
    assert IP in message.body
    assert "Chrome on Linux" in message.body
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", message.body)
    assert "If this wasn't you" in message.body


# Passwords and email


def test_changing_your_own_password_emails_you_without_the_password(carol, as_carol, committed):
    with committed():
        account_services.user_change_own_password(
            origin=as_carol, user=carol, current_password="Sturdy-pass-42", new_password=NEW_PASSWORD, session_key=None
        )

    message = only_email()
    assert "password" in message.subject
    assert_tells_where_and_what_to_do(message)
    assert NEW_PASSWORD not in message.body
    assert "Sturdy-pass-42" not in message.body
    assert "By:" not in message.body


def test_an_admin_setting_your_password_emails_you_who_did(carol, as_admin, committed):
    with committed():
        account_services.user_set_password(origin=as_admin, user=carol, password=NEW_PASSWORD)

    message = only_email()
    assert "By:      admin" in message.body
    assert NEW_PASSWORD not in message.body


def test_a_password_reset_by_email_emails_you(carol, committed):
    with committed():
        account_services.user_set_password(
            origin=Origin(ip=IP, user_agent=CHROME_ON_LINUX), user=carol, password=NEW_PASSWORD, by_reset=True
        )

    message = only_email()
    assert "reset" in message.body
    assert NEW_PASSWORD not in message.body


def test_an_email_change_is_told_to_the_old_address(carol, as_carol, committed):
    with committed():
        account_services.user_update(origin=as_carol, user=carol, email="carol@elsewhere.example")

    message = only_email(to="carol@example.com")
    assert "carol@elsewhere.example" in message.body
    assert_tells_where_and_what_to_do(message)


def test_a_username_change_alone_sends_nothing(carol, as_admin, committed):
    with committed():
        account_services.user_update(origin=as_admin, user=carol, username="caroline")

    assert mail.outbox == []


def test_a_user_created_by_the_operator_is_not_emailed(db, committed):
    with committed():
        account_services.user_create(origin=SETUP, username="dora", email="dora@example.com", password=NEW_PASSWORD)

    assert mail.outbox == []


# Second factors


def test_turning_on_an_authenticator_app_emails_you_without_its_key_or_codes(carol, as_carol, committed):
    with committed():
        totp, codes = turn_on_app(carol, origin=as_carol)

    message = only_email()
    assert "Authenticator" in message.subject
    assert_tells_where_and_what_to_do(message)
    for secret in [totp.secret, totp.now(), *codes]:
        assert secret not in message.body


def test_turning_on_email_codes_emails_you_without_the_code(carol, as_carol, committed):
    device = mfa_services.email_begin(origin=as_carol, user=carol)
    code = mailed_code()
    mail.outbox.clear()

    with committed():
        mfa_services.email_confirm(origin=as_carol, user=carol, device=device, code=code)

    message = only_email()
    assert "Email login codes turned on" in message.subject
    assert code not in message.body


def test_new_recovery_codes_email_you_without_the_codes(carol, as_carol, committed):
    turn_on_app(carol)
    with committed():
        codes = mfa_services.recovery_codes_regenerate(origin=as_carol, user=carol)

    message = only_email()
    assert "recovery codes" in message.subject
    assert not any(code in message.body for code in codes)


@pytest.mark.parametrize("who", ["user", "admin"])
def test_turning_two_factor_off_emails_you(carol, as_carol, as_admin, committed, who):
    turn_on_app(carol)
    with committed():
        mfa_services.two_factor_disable(origin=as_carol if who == "user" else as_admin, user=carol, reason="test")

    message = only_email()
    assert "Two-factor authentication turned off" in message.subject
    assert ("By:      admin" in message.body) is (who == "admin")


# Passkeys


def test_registering_a_passkey_emails_you(carol, committed):
    with committed():
        register_passkey(carol, name="Work laptop")

    message = only_email()
    assert "passkey" in message.subject
    assert "Work laptop" in message.body


def test_deleting_a_passkey_emails_you(carol, as_carol, committed):
    passkey, _ = register_passkey(carol, name="Work laptop")
    with committed():
        passkey_services.passkey_delete(origin=as_carol, passkey=passkey)

    message = only_email()
    assert "removed" in message.subject
    assert "Work laptop" in message.body


# Tokens


def test_creating_your_own_token_emails_you_without_the_secret(carol, as_carol, committed):
    with committed():
        token, secret = token_services.token_create(origin=as_carol, user=carol, long_term=True, name="backup")

    message = only_email()
    assert "created" in message.subject
    assert "backup" in message.body
    assert_tells_where_and_what_to_do(message)
    assert secret not in message.body + message.subject


def test_changing_a_token_emails_its_owner_without_the_secret(carol, as_admin, committed):
    token = AccessTokenFactory(user=carol, name="backup")
    with committed():
        token_services.token_update(origin=as_admin, token=token, name="nightly")

    message = only_email()
    assert "changed" in message.subject
    assert "nightly" in message.body
    assert token.secret not in message.body


def test_deleting_a_token_emails_its_owner_without_the_secret(carol, as_carol, committed):
    token = AccessTokenFactory(user=carol, name="backup")
    with committed():
        token_services.token_delete(origin=as_carol, token=token)

    message = only_email()
    assert "deleted" in message.subject
    assert "backup" in message.body
    assert token.secret not in message.body


# Only after the commit, and never at the change's expense


def test_a_change_that_rolls_back_sends_nothing(carol, as_admin, committed):
    with committed(), pytest.raises(RuntimeError), transaction.atomic():
        account_services.user_set_password(origin=as_admin, user=carol, password=NEW_PASSWORD)
        raise RuntimeError("something later failed")

    assert mail.outbox == []


@pytest.fixture
def mail_down(settings):
    """A real SMTP backend aimed at a closed port: every send fails."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5


def test_a_password_change_stands_when_mail_is_down(carol, as_admin, committed, mail_down, caplog):
    with committed():
        account_services.user_set_password(origin=as_admin, user=carol, password=NEW_PASSWORD)

    carol.refresh_from_db()
    assert carol.check_password(NEW_PASSWORD)
    assert events("user.password_change")
    assert "Could not send the notification" in caplog.text


def test_a_token_is_created_when_mail_is_down(carol, as_carol, committed, mail_down, caplog):
    with committed():
        token, secret = token_services.token_create(origin=as_carol, user=carol, long_term=True)

    assert token.pk and secret
    assert "Could not send the notification" in caplog.text
    assert secret not in caplog.text


# New browsers


def test_the_first_login_from_a_browser_emails_you_and_the_next_one_does_not(carol, committed):
    browser = Client(REMOTE_ADDR=IP, HTTP_USER_AGENT=CHROME_ON_LINUX)
    with committed():
        assert post_login(browser, "carol").status_code == 302

    message = only_email()
    assert message.subject.endswith("New login to your account")
    assert_tells_where_and_what_to_do(message)
    assert "Sturdy-pass-42" not in message.body

    browser.post("/logout/")
    mail.outbox.clear()
    with committed():
        assert post_login(browser, "carol").status_code == 302  # the browser kept its device cookie

    assert mail.outbox == []


def test_a_browser_known_for_another_account_is_new_for_yours(carol, committed):
    UserFactory(username="dave")
    browser = Client(REMOTE_ADDR=IP)
    post_login(browser, "dave")
    browser.post("/logout/")

    with committed():
        assert post_login(browser, "carol").status_code == 302

    only_email()


def test_no_new_login_email_when_you_turned_it_off(carol, committed):
    carol.notify_new_login = False
    carol.save()
    with committed():
        assert post_login(Client(REMOTE_ADDR=IP), "carol").status_code == 302

    assert mail.outbox == []


def test_no_new_login_email_when_the_panel_turned_it_off(carol, committed, settings):
    settings.PANEL_NOTIFY_NEW_LOGIN = False
    with committed():
        assert post_login(Client(REMOTE_ADDR=IP), "carol").status_code == 302

    assert mail.outbox == []


# The switch


def test_user_set_notifications_turns_new_login_emails_off_and_audits_it(carol, as_carol):
    account_services.user_set_notifications(origin=as_carol, user=carol, notify_new_login=False)

    carol.refresh_from_db()
    assert carol.notify_new_login is False
    (event,) = events("user.notifications")
    assert (event.actor, event.target_id) == (carol, str(carol.pk))
    assert event.details["changes"] == {"notify_new_login": {"from": True, "to": False}}


def test_user_set_notifications_without_a_change_writes_nothing(carol, as_carol):
    account_services.user_set_notifications(origin=as_carol, user=carol, notify_new_login=True)

    assert events("user.notifications") == []


def test_the_account_page_switch_turns_new_login_emails_off_and_on(carol):
    browser = logged_in_client(carol, enforce_csrf_checks=True)
    page = browser.get("/account/")
    assert 'name="notify_new_login"' in page.content.decode()
    csrf = {"csrfmiddlewaretoken": browser.cookies[django_settings.CSRF_COOKIE_NAME].value}

    response = browser.post("/account/notifications/", csrf)  # an unticked box is not sent

    assert response.status_code == 302
    carol.refresh_from_db()
    assert carol.notify_new_login is False
    browser.post("/account/notifications/", {**csrf, "notify_new_login": "on"})
    carol.refresh_from_db()
    assert carol.notify_new_login is True
    assert [event.details["changes"]["notify_new_login"]["to"] for event in events("user.notifications")] == [
        False,
        True,
    ]


def test_the_account_page_switch_needs_the_csrf_token_and_a_post(carol):
    browser = logged_in_client(carol, enforce_csrf_checks=True)

    assert browser.post("/account/notifications/", {}).status_code == 403
    assert browser.get("/account/notifications/").status_code == 405
    carol.refresh_from_db()
    assert carol.notify_new_login is True
    assert events("user.notifications") == []
