"""Mail goes out after the answer (core.mail), against real SMTP servers on loopback: a request that
sends mail answers before the server accepts it, a server that never answers does not hold the
request and its failure is logged, and a change that rolls back sends nothing.

These tests turn the background sender on (the other tests send in the caller's thread), so the
database rows the sender reads must be committed: transactional tests.
"""

import logging
import re
import time

import pytest
from django.db import transaction
from django.test import Client

from accounts import services as account_services
from core import mail
from mfa import services as mfa_services
from tests.helpers import SETUP
from tests.integration.conftest import NEW_PASSWORD
from tests.smtp_server import silent_server, smtp_server, use_smtp

pytestmark = pytest.mark.django_db(transaction=True)

STALL = 3.0  # seconds the SMTP server takes to accept a message
ANSWERED_WELL_BEFORE = 1.0


@pytest.fixture
def background(settings):
    settings.MAIL_IN_BACKGROUND = True
    yield settings
    assert mail.wait_until_sent(STALL + 5), "the sender did not finish"


@pytest.fixture
def stalling_smtp(background):
    with smtp_server(stall=STALL) as (port, inbox):
        use_smtp(background, port)
        yield inbox


def timed(action):
    started = time.perf_counter()
    result = action()
    return result, time.perf_counter() - started


def test_a_reset_request_answers_before_the_smtp_server_accepts_the_link(carol, stalling_smtp):
    response, seconds = timed(lambda: Client().post("/password-reset/", {"email": "carol@example.com"}))

    assert response.status_code == 302
    assert seconds < ANSWERED_WELL_BEFORE
    assert stalling_smtp.messages == []
    assert mail.wait_until_sent(STALL + 5)
    (message,) = stalling_smtp.messages
    assert message["To"] == "carol@example.com"
    assert "/password-reset/" in message.get_payload()


def test_a_login_code_is_sent_after_the_call_returns(carol, stalling_smtp):
    _, seconds = timed(lambda: mfa_services.email_begin(origin=SETUP, user=carol))

    assert seconds < ANSWERED_WELL_BEFORE
    assert mail.wait_until_sent(STALL + 5)
    (message,) = stalling_smtp.messages
    assert message["To"] == "carol@example.com"
    assert re.search(r"\b\d{6}\b", message.get_payload())


def test_a_silent_smtp_server_does_not_hold_the_request_and_the_failure_is_logged(carol, background, caplog):
    caplog.set_level(logging.ERROR)
    with silent_server() as port:
        use_smtp(background, port, timeout=1)
        response, seconds = timed(lambda: Client().post("/password-reset/", {"email": "carol@example.com"}))
        assert response.status_code == 302
        assert seconds < 0.5
        assert caplog.records == []  # not failed yet: the sender waits for the greeting until the timeout

        assert mail.wait_until_sent(5)

    (record,) = caplog.records
    assert record.getMessage() == f"Failed to send password reset email to {carol.pk}"  # Django's, by user id
    assert "carol@example.com" not in caplog.text


def test_a_notification_that_cannot_be_sent_is_logged_by_user_id(carol, background, caplog):
    caplog.set_level(logging.ERROR)
    with silent_server() as port:
        use_smtp(background, port, timeout=1)
        account_services.user_set_password(origin=SETUP, user=carol, password=NEW_PASSWORD)
        assert mail.wait_until_sent(5)

    (record,) = caplog.records
    assert record.getMessage().startswith("Could not send the notification")
    assert record.getMessage().endswith(f"Your password was changed' to the user {carol.pk}.")
    assert "carol@example.com" not in caplog.text


def test_a_change_that_rolls_back_sends_nothing_and_one_that_commits_is_sent(carol, background):
    with smtp_server() as (port, inbox):
        use_smtp(background, port)
        with pytest.raises(RuntimeError), transaction.atomic():
            account_services.user_set_password(origin=SETUP, user=carol, password=NEW_PASSWORD)
            raise RuntimeError("something later failed")
        assert mail.wait_until_sent(5)
        assert inbox.messages == []

        account_services.user_set_password(origin=SETUP, user=carol, password=NEW_PASSWORD)
        assert mail.wait_until_sent(5)
        (message,) = inbox.messages
        assert message["To"] == "carol@example.com"
