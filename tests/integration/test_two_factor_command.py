"""`manage.py two_factor status|disable <username>`: an operator's view of a user's factors, and the way out
for a user who lost their device. Reaches mfa.services like the pages do."""

import datetime
import io

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from core.audit import Origin
from core.models import AuditEvent
from mfa import selectors, services
from mfa.models import AuthenticatorDevice, EmailCodeDevice, RecoveryCodeDevice
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import turn_on_app
from tests.integration.conftest import audit_dump, events, turn_on_email

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2031, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def run(*args):
    out = io.StringIO()
    call_command("two_factor", *args, stdout=out)
    return out.getvalue()


# status


def test_status_of_a_user_without_factors_says_everything_is_off(carol):
    output = run("status", "carol")

    assert output.strip() == "carol: app off, email codes off, 0 recovery codes left"


def test_status_of_a_user_with_an_app_shows_it_and_the_recovery_codes(carol):
    turn_on_app(carol)

    output = run("status", "carol")

    assert output.strip() == "carol: app on, email codes off, 10 recovery codes left"


def test_status_of_a_user_with_email_codes_shows_them(carol, mailoutbox):
    turn_on_email(carol)

    output = run("status", "carol")

    assert output.strip() == "carol: app off, email codes on, 0 recovery codes left"


def test_status_counts_used_recovery_codes(carol):
    _, codes = turn_on_app(carol)
    services.verify_login_code(origin=Origin.command("t"), user=carol, method="recovery", code=codes[0])

    output = run("status", "carol")

    assert "9 recovery codes left" in output


def test_status_finds_the_user_ignoring_case(carol):
    output = run("status", "CAROL")

    assert output.startswith("carol: ")


def test_status_never_prints_the_key_or_a_recovery_code(carol):
    totp, codes = turn_on_app(carol)
    secret = totp.secret

    output = run("status", "carol")

    assert secret not in output
    assert not any(code in output for code in codes)


def test_status_changes_nothing_and_writes_no_audit_event(carol):
    turn_on_app(carol)
    before = audit_dump()

    run("status", "carol")

    assert audit_dump() == before
    assert selectors.status(carol)["enabled"]


@pytest.mark.parametrize("action", ["status", "disable"])
def test_unknown_user_is_a_command_error(action):
    with pytest.raises(CommandError, match="No user named 'ghost'."):
        run(action, "ghost")


def test_unknown_user_writes_no_audit_event(carol):
    with pytest.raises(CommandError):
        run("disable", "ghost")

    assert not events("mfa.disable")


def test_unknown_action_is_a_command_error(carol):
    with pytest.raises(CommandError, match="invalid choice"):
        run("enable", "carol")


def test_missing_username_is_a_command_error():
    with pytest.raises(CommandError):
        run("status")


# disable


def test_disable_turns_every_factor_off(carol, mailoutbox):
    turn_on_app(carol)
    turn_on_email(carol)

    output = run("disable", "carol")

    assert output.strip() == "Two-factor authentication is off for carol."
    assert not AuthenticatorDevice.objects.filter(user=carol).exists()
    assert not EmailCodeDevice.objects.filter(user=carol).exists()
    assert not RecoveryCodeDevice.objects.filter(user=carol).exists()


def test_disable_is_audited_with_the_operator_as_actor(carol):
    turn_on_app(carol)

    run("disable", "carol")

    event = events("mfa.disable")[-1]
    assert event.actor is None
    assert event.actor_name == "operator"
    assert event.target_id == str(carol.pk)
    assert event.outcome == AuditEvent.Outcome.SUCCESS
    assert event.details["via"] == "command"
    assert event.details["reason"] == "by the operator"
    assert event.user_agent == "manage.py two_factor disable"


def test_disable_leaves_other_users_factors_alone(carol):
    turn_on_app(carol)
    bob = UserFactory(username="bob")
    turn_on_app(bob)

    run("disable", "carol")

    assert selectors.status(bob)["totp"]


def test_disable_when_already_off_says_so_and_writes_nothing(carol):
    output = run("disable", "carol")

    assert output.strip() == "Two-factor authentication is already off for carol."
    assert not events("mfa.disable")


def test_disable_twice_says_already_off_the_second_time(carol):
    turn_on_app(carol)
    run("disable", "carol")

    output = run("disable", "carol")

    assert "already off" in output
    assert len(events("mfa.disable")) == 1


def test_after_disable_a_password_login_needs_no_second_step(carol):
    turn_on_app(carol)
    run("disable", "carol")
    client = Client()

    response = client.post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response["Location"] != "/login/verify/"
    assert client.session.get("_auth_user_id") == str(carol.pk)
