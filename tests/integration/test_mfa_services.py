"""Second-factor services: enrolment, recovery codes, email codes, turning off, and their audit trail."""

import base64
import datetime
import io
import re

import pytest
import time_machine
from django.core import mail, serializers
from django.core.exceptions import ValidationError
from django.core.management import call_command

from accounts import services as account_services
from core import throttle
from core.models import AuditEvent
from mfa import selectors, services
from mfa.models import AuthenticatorDevice, EmailCodeDevice, RecoveryCode, RecoveryCodeDevice
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import totp_of
from tests.integration.conftest import audit_dump, events, mailed_code, wrong_code

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2025, 3, 1, 9, 0, 5, tzinfo=datetime.UTC)
RECOVERY_CODE = re.compile(r"^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$")


@pytest.fixture(autouse=True)
def _frozen():
    """Time stands still (5 s into a TOTP step) unless a test moves it."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def user(db):
    return UserFactory(username="carol", email="carol@example.com")


def _enable_totp(origin, user):
    """Turn the authenticator on; returns (device, recovery codes)."""
    device = services.totp_begin(origin=origin, user=user)
    codes = services.totp_confirm(origin=origin, user=user, device=device, code=totp_of(device).now())
    return AuthenticatorDevice.objects.get(pk=device.pk), codes


def _enable_email(origin, user):
    device = services.email_begin(origin=origin, user=user)
    services.email_confirm(origin=origin, user=user, device=device, code=mailed_code())
    return EmailCodeDevice.objects.get(pk=device.pk)


def _use(origin, user, method, code):
    services.verify_login_code(origin=origin, user=user, method=method, code=code)


# TOTP enrolment


def test_enrolment_is_off_until_a_code_confirms_it(origin, user):
    services.totp_begin(origin=origin, user=user)

    assert not selectors.has_second_factor(user)


def test_confirming_enrolment_turns_two_factor_on(origin, user):
    _enable_totp(origin, user)

    assert selectors.status(user)["totp"]
    assert selectors.has_second_factor(user)


def test_confirming_enrolment_returns_ten_distinct_recovery_codes(origin, user):
    _, codes = _enable_totp(origin, user)

    assert len(codes) == len(set(codes)) == 10
    assert all(RECOVERY_CODE.match(code) for code in codes)
    assert selectors.status(user)["recovery_codes_left"] == 10


def test_confirming_with_a_wrong_code_is_refused(origin, user):
    device = services.totp_begin(origin=origin, user=user)

    with pytest.raises(ValidationError) as raised:
        services.totp_confirm(origin=origin, user=user, device=device, code=wrong_code(totp_of(device).now()))

    assert "code" in raised.value.message_dict


def test_confirming_with_a_wrong_code_leaves_two_factor_off(origin, user):
    device = services.totp_begin(origin=origin, user=user)

    with pytest.raises(ValidationError):
        services.totp_confirm(origin=origin, user=user, device=device, code=wrong_code(totp_of(device).now()))

    assert not AuthenticatorDevice.objects.get(pk=device.pk).confirmed
    assert not selectors.has_second_factor(user)
    assert not RecoveryCodeDevice.objects.filter(user=user).exists()


def test_confirming_with_a_wrong_code_is_audited_as_a_failure(origin, user):
    device = services.totp_begin(origin=origin, user=user)

    with pytest.raises(ValidationError):
        services.totp_confirm(origin=origin, user=user, device=device, code=wrong_code(totp_of(device).now()))

    (event,) = events("mfa.totp.enable")
    assert event.outcome == AuditEvent.Outcome.FAILURE
    assert event.target_id == str(user.pk)


def test_enrolment_start_and_enable_are_audited(origin, user):
    _enable_totp(origin, user)

    assert [(e.action, e.outcome) for e in events()] == [
        ("mfa.totp.enrol_start", AuditEvent.Outcome.SUCCESS),
        ("mfa.totp.enable", AuditEvent.Outcome.SUCCESS),
    ]
    assert all(e.target_id == str(user.pk) for e in events())


def test_new_enrolment_replaces_an_unconfirmed_one(origin, user):
    first = services.totp_begin(origin=origin, user=user)
    second = services.totp_begin(origin=origin, user=user)

    assert list(AuthenticatorDevice.objects.filter(user=user)) == [second]
    assert first.key != second.key


def test_totp_key_is_not_stored_in_plain_text(origin, user):
    device, _ = _enable_totp(origin, user)
    key = device.key
    b32 = base64.b32encode(key).decode()
    forms = {key.hex(), key.hex().upper(), b32, b32.rstrip("="), b32.lower().rstrip("=")}

    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)

    assert len(key) == 20
    assert not [form for form in forms if form in dump.getvalue()]


def test_recovery_codes_are_not_stored_in_plain_text(origin, user):
    _, codes = _enable_totp(origin, user)
    forms = {form for code in codes for form in (code, code.replace("-", ""), code.upper())}

    dump = serializers.serialize("json", [*RecoveryCodeDevice.objects.all(), *RecoveryCode.objects.all()])
    full_dump = io.StringIO()
    call_command("dumpdata", stdout=full_dump)

    assert RecoveryCode.objects.count() == 10
    assert not [form for form in forms if form in dump or form in full_dump.getvalue()]


# recovery codes


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(lambda code: code, id="as-shown"),
        pytest.param(lambda code: code.upper(), id="upper-case"),
        pytest.param(lambda code: code.replace("-", ""), id="no-dashes"),
        pytest.param(lambda code: code.replace("-", " "), id="spaces"),
        pytest.param(lambda code: f"  {code.upper()}  ", id="padded"),
    ],
)
def test_recovery_code_works_as_typed(origin, user, typed):
    _, codes = _enable_totp(origin, user)

    _use(origin, user, "recovery", typed(codes[3]))

    assert selectors.status(user)["recovery_codes_left"] == 9


def test_recovery_code_works_only_once(origin, user):
    _, codes = _enable_totp(origin, user)
    _use(origin, user, "recovery", codes[0])

    with pytest.raises(ValidationError):
        _use(origin, user, "recovery", codes[0])

    assert selectors.status(user)["recovery_codes_left"] == 9


def test_each_recovery_code_works_once(origin, user):
    _, codes = _enable_totp(origin, user)

    for left, code in zip(range(9, -1, -1), codes, strict=True):
        _use(origin, user, "recovery", code)
        assert selectors.status(user)["recovery_codes_left"] == left


def test_unknown_recovery_code_is_refused_and_keeps_the_count(origin, user):
    _enable_totp(origin, user)

    with pytest.raises(ValidationError) as raised:
        _use(origin, user, "recovery", "abcd-efgh-jkmn-pqrs")

    assert "code" in raised.value.message_dict
    assert selectors.status(user)["recovery_codes_left"] == 10


def test_recovery_code_use_is_audited(origin, user):
    _, codes = _enable_totp(origin, user)

    _use(origin, user, "recovery", codes[0])

    (event,) = events("mfa.recovery.use")
    assert (event.outcome, event.target_id) == (AuditEvent.Outcome.SUCCESS, str(user.pk))


def test_failed_recovery_code_is_audited(origin, user):
    _enable_totp(origin, user)

    with pytest.raises(ValidationError):
        _use(origin, user, "recovery", "abcd-efgh-jkmn-pqrs")

    (event,) = events("mfa.recovery.use")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_regenerating_recovery_codes_kills_the_old_set(origin, user):
    _, old = _enable_totp(origin, user)

    services.recovery_codes_regenerate(origin=origin, user=user)

    with pytest.raises(ValidationError):
        _use(origin, user, "recovery", old[0])


def test_regenerated_recovery_codes_work(origin, user):
    _, old = _enable_totp(origin, user)
    _use(origin, user, "recovery", old[0])

    new = services.recovery_codes_regenerate(origin=origin, user=user)
    _use(origin, user, "recovery", new[0])

    assert len(set(new)) == 10
    assert not set(new) & set(old)
    assert selectors.status(user)["recovery_codes_left"] == 9


def test_regenerating_recovery_codes_is_audited(origin, user):
    _enable_totp(origin, user)

    services.recovery_codes_regenerate(origin=origin, user=user)

    (event,) = events("mfa.recovery.regenerate")
    assert event.target_id == str(user.pk)


def test_regenerating_without_two_factor_is_refused(origin, user):
    with pytest.raises(ValidationError):
        services.recovery_codes_regenerate(origin=origin, user=user)

    assert not RecoveryCode.objects.exists()


# the login's code check


def test_totp_code_is_verified_and_audited(origin, user):
    device, _ = _enable_totp(origin, user)
    next_step = totp_of(device).at(T0 + datetime.timedelta(seconds=30))

    _use(origin, user, "totp", next_step)

    (event,) = events("mfa.verify")
    assert (event.outcome, event.details["method"]) == (AuditEvent.Outcome.SUCCESS, "totp")


def test_confirmation_code_cannot_be_replayed_at_login(origin, user):
    device = services.totp_begin(origin=origin, user=user)
    code = totp_of(device).now()
    services.totp_confirm(origin=origin, user=user, device=device, code=code)

    with pytest.raises(ValidationError):
        _use(origin, user, "totp", code)


def test_wrong_totp_code_is_refused_and_audited(origin, user):
    device, _ = _enable_totp(origin, user)

    with pytest.raises(ValidationError) as raised:
        _use(origin, user, "totp", wrong_code(totp_of(device).at(T0 + datetime.timedelta(seconds=30))))

    assert raised.value.message_dict["code"] == [services.INVALID_CODE]
    (event,) = events("mfa.verify")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_code_for_a_factor_the_user_does_not_have_is_refused(origin, user):
    with pytest.raises(ValidationError) as raised:
        _use(origin, user, "totp", "123456")

    assert raised.value.message_dict["code"] == [services.INVALID_CODE]


def test_throttled_device_says_how_long_to_wait(origin, user):
    device, _ = _enable_totp(origin, user)
    later = totp_of(device).at(T0 + datetime.timedelta(seconds=30))
    with pytest.raises(ValidationError):
        _use(origin, user, "totp", wrong_code(later))

    with pytest.raises(ValidationError) as raised:
        _use(origin, user, "totp", later)

    assert "Wait 1 s" in raised.value.message_dict["code"][0]


# turning off, and deleting the user


def test_disable_removes_every_device(origin, user):
    _enable_totp(origin, user)
    _enable_email(origin, user)

    services.two_factor_disable(origin=origin, user=user, reason="by the user")

    assert not AuthenticatorDevice.objects.filter(user=user).exists()
    assert not EmailCodeDevice.objects.filter(user=user).exists()
    assert not RecoveryCodeDevice.objects.filter(user=user).exists()
    assert not RecoveryCode.objects.exists()
    assert not selectors.has_second_factor(user)


def test_disable_is_audited_with_its_reason(origin, user):
    _enable_totp(origin, user)

    services.two_factor_disable(origin=origin, user=user, reason="by admin (lost device)")

    (event,) = events("mfa.disable")
    assert (event.target_id, event.details["reason"]) == (str(user.pk), "by admin (lost device)")


def test_disabling_your_own_with_your_password_turns_it_off(origin, user):
    _enable_totp(origin, user)

    services.two_factor_disable_own(origin=origin, user=user, password=DEFAULT_PASSWORD)

    assert not selectors.has_second_factor(user)


def test_disabling_your_own_with_a_recovery_code_turns_it_off(origin, user):
    _, codes = _enable_totp(origin, user)

    services.two_factor_disable_own(origin=origin, user=user, code=codes[0])

    assert not selectors.has_second_factor(user)


def test_disabling_your_own_with_a_wrong_password_is_refused_and_counted(origin, user):
    _enable_totp(origin, user)

    with pytest.raises(ValidationError, match="not correct"):
        services.two_factor_disable_own(origin=origin, user=user, password="Wrong-pass-99")

    assert selectors.has_second_factor(user)
    for _ in range(throttle.ACCOUNT_GUARD.lock_after - 1):
        throttle.record_failure(origin=origin, username=user.username, ip=origin.ip)
    with pytest.raises(ValidationError, match="Too many failed attempts"):
        services.two_factor_disable_own(origin=origin, user=user, password=DEFAULT_PASSWORD)
    assert selectors.has_second_factor(user)


def test_disable_leaves_other_users_devices_alone(origin, user, other_user):
    _enable_totp(origin, user)
    _enable_totp(origin, other_user)

    services.two_factor_disable(origin=origin, user=user, reason="by the user")

    assert selectors.has_second_factor(other_user)
    assert selectors.status(other_user)["recovery_codes_left"] == 10


def test_deleting_a_user_deletes_its_devices(origin, user):
    _enable_totp(origin, user)
    _enable_email(origin, user)

    account_services.user_delete(origin=origin, user=user)

    assert not AuthenticatorDevice.objects.exists()
    assert not EmailCodeDevice.objects.exists()
    assert not RecoveryCodeDevice.objects.exists()
    assert not RecoveryCode.objects.exists()


# email codes


def test_email_begin_sends_one_email_with_a_six_digit_code(origin, user):
    services.email_begin(origin=origin, user=user)

    (message,) = mail.outbox
    assert message.to == ["carol@example.com"]
    assert re.fullmatch(r"\d{6}", mailed_code(message))


def test_email_code_is_not_stored_in_the_audit_log(origin, user):
    services.email_begin(origin=origin, user=user)

    (event,) = events("mfa.email.code_sent")
    assert event.target_id == str(user.pk)
    assert mailed_code() not in audit_dump()


def test_email_begin_leaves_email_codes_off_until_confirmed(origin, user):
    services.email_begin(origin=origin, user=user)

    assert not selectors.has_second_factor(user)


def test_email_confirm_turns_email_codes_on_and_is_audited(origin, user):
    _enable_email(origin, user)

    assert selectors.status(user)["email"]
    assert selectors.has_second_factor(user)
    (event,) = events("mfa.email.enable")
    assert event.outcome == AuditEvent.Outcome.SUCCESS


def test_email_confirm_with_a_wrong_code_is_refused_and_audited(origin, user):
    device = services.email_begin(origin=origin, user=user)

    with pytest.raises(ValidationError):
        services.email_confirm(origin=origin, user=user, device=device, code=wrong_code(mailed_code()))

    assert not selectors.has_second_factor(user)
    (event,) = events("mfa.email.enable")
    assert event.outcome == AuditEvent.Outcome.FAILURE


def test_second_email_within_a_minute_is_refused(origin, user, _frozen):
    device = services.email_begin(origin=origin, user=user)
    _frozen.shift(59)

    with pytest.raises(services.CodeSendRefused, match="in 1 s"):
        services.email_code_send(origin=origin, user=user, device=EmailCodeDevice.objects.get(pk=device.pk))

    assert len(mail.outbox) == 1
    assert len(events("mfa.email.code_sent")) == 1


def test_second_email_after_61_seconds_is_sent(origin, user, _frozen):
    device = services.email_begin(origin=origin, user=user)
    _frozen.shift(61)

    services.email_code_send(origin=origin, user=user, device=EmailCodeDevice.objects.get(pk=device.pk))

    assert len(mail.outbox) == 2
    assert len(events("mfa.email.code_sent")) == 2


def test_new_email_code_replaces_the_previous_one(origin, user, _frozen):
    device = _enable_email(origin, user)
    _frozen.shift(61)
    services.email_code_send(origin=origin, user=user)
    old, new = mailed_code(mail.outbox[0]), mailed_code(mail.outbox[1])
    if old == new:
        pytest.skip("the two random codes happened to be equal")

    with pytest.raises(ValidationError):
        _use(origin, user, "email", old)
    _frozen.shift(1)
    _use(origin, user, "email", new)
    assert device.pk == EmailCodeDevice.objects.get(user=user).pk


def test_email_code_works_within_five_minutes(origin, user, _frozen):
    _enable_email(origin, user)
    _frozen.shift(61)
    services.email_code_send(origin=origin, user=user)
    _frozen.shift(299)

    _use(origin, user, "email", mailed_code())

    (event,) = events("mfa.verify")
    assert (event.outcome, event.details["method"]) == (AuditEvent.Outcome.SUCCESS, "email")


def test_email_code_expires_after_five_minutes(origin, user, _frozen):
    _enable_email(origin, user)
    _frozen.shift(61)
    services.email_code_send(origin=origin, user=user)
    _frozen.shift(301)

    with pytest.raises(ValidationError):
        _use(origin, user, "email", mailed_code())


def test_email_code_works_only_once(origin, user, _frozen):
    _enable_email(origin, user)
    _frozen.shift(61)
    services.email_code_send(origin=origin, user=user)
    code = mailed_code()
    _use(origin, user, "email", code)

    with pytest.raises(ValidationError):
        _use(origin, user, "email", code)


def test_confirmation_email_code_cannot_be_reused_at_login(origin, user):
    device = services.email_begin(origin=origin, user=user)
    code = mailed_code()
    services.email_confirm(origin=origin, user=user, device=device, code=code)

    with pytest.raises(ValidationError):
        _use(origin, user, "email", code)


def test_failure_on_a_stale_copy_does_not_reopen_a_used_email_code(origin, user, _frozen):
    _enable_email(origin, user)
    _frozen.shift(61)
    services.email_code_send(origin=origin, user=user)
    code = mailed_code()
    # Two login requests load the device at once; one uses the code, the other sends a wrong one.
    stale = EmailCodeDevice.objects.get(user=user)
    _use(origin, user, "email", code)
    assert not stale.verify_token(wrong_code(code))
    _frozen.shift(2)

    with pytest.raises(ValidationError):
        _use(origin, user, "email", code)


# the whole life, audited without secrets


def test_every_step_writes_its_audit_event_without_a_secret(origin, user, _frozen):
    device = services.totp_begin(origin=origin, user=user)
    key = device.key
    codes = services.totp_confirm(origin=origin, user=user, device=device, code=totp_of(device).now())
    _frozen.shift(30)
    totp_code = totp_of(device).now()
    _use(origin, user, "totp", totp_code)
    _use(origin, user, "recovery", codes[0])
    new_codes = services.recovery_codes_regenerate(origin=origin, user=user)
    _enable_email(origin, user)
    _frozen.shift(61)
    services.email_code_send(origin=origin, user=user)
    _use(origin, user, "email", mailed_code())
    services.two_factor_disable(origin=origin, user=user, reason="by the user")

    assert [e.action for e in events()] == [
        "mfa.totp.enrol_start",
        "mfa.totp.enable",
        "mfa.verify",
        "mfa.recovery.use",
        "mfa.recovery.regenerate",
        "mfa.email.code_sent",
        "mfa.email.enable",
        "mfa.email.code_sent",
        "mfa.verify",
        "mfa.disable",
    ]
    dump = audit_dump()
    b32 = base64.b32encode(key).decode()
    secrets = [key.hex(), b32.rstrip("="), totp_code, *codes, *new_codes]
    secrets += [mailed_code(message) for message in mail.outbox]
    assert not [secret for secret in secrets if secret in dump]


def test_the_enrolment_email_does_not_use_up_the_login_codes_allowance(origin, user):
    device = services.email_begin(origin=origin, user=user)
    services.email_confirm(origin=origin, user=user, device=device, code=mailed_code())
    mail.outbox.clear()

    services.email_code_send(origin=origin, user=user)  # at once: no minute to wait

    assert len(mail.outbox) == 1


def test_the_login_code_allowance_still_holds_after_enrolment(origin, user):
    _enable_email(origin, user)
    services.email_code_send(origin=origin, user=user)

    with pytest.raises(services.CodeSendRefused, match="less than a minute ago"):
        services.email_code_send(origin=origin, user=user)


# turning email codes off on their own


def test_email_codes_are_turned_off_alone_keeping_the_app_and_audited(origin, user):
    device, codes = _enable_totp(origin, user)
    _enable_email(origin, user)

    services.email_codes_turn_off(origin=origin, user=user)

    assert selectors.status(user) == {"enabled": True, "totp": True, "email": False, "recovery_codes_left": 10}
    (event,) = events("mfa.email.disable")
    assert (event.actor, event.target_id) == (origin.actor, str(user.pk))


def test_email_codes_that_are_the_last_factor_are_not_turned_off_alone(origin, user):
    _enable_email(origin, user)

    with pytest.raises(ValidationError, match="only second factor"):
        services.email_codes_turn_off(origin=origin, user=user)

    assert selectors.status(user)["email"] is True
    assert not events("mfa.email.disable")


def test_turning_off_email_codes_that_are_off_changes_nothing(origin, user):
    _enable_totp(origin, user)

    with pytest.raises(ValidationError, match="not on"):
        services.email_codes_turn_off(origin=origin, user=user)

    assert not events("mfa.email.disable")
