"""Authenticator app codes through AuthenticatorDevice.verify_token: SHA-1, 6 digits, 30 s, one step of tolerance."""

import base64

import pyotp
import pytest
import time_machine

from core import crypto
from mfa.models import AuthenticatorDevice
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# RFC 6238 Appendix B: the SHA-1 seed, and (Unix time, 8-digit code) pairs.
RFC6238_KEY = b"12345678901234567890"
RFC6238_SHA1_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]
NOW = 1_750_000_005  # 5 s into a 30-second step, so one step either side stays inside the window
STEP = 30


def _device(key=RFC6238_KEY):
    return AuthenticatorDevice.objects.create(
        user=UserFactory(), name="Authenticator app", confirmed=True, encrypted_key=crypto.encrypt(key.hex())
    )


def _verify(device, code):
    """Verify through a fresh copy from the database, as each login request does."""
    return AuthenticatorDevice.objects.get(pk=device.pk).verify_token(code)


def _pyotp(device):
    return pyotp.TOTP(base64.b32encode(device.key).decode(), digits=6, interval=STEP)


@pytest.mark.parametrize(("at", "code"), RFC6238_SHA1_VECTORS)
def test_rfc6238_sha1_vector_is_accepted_at_six_digits(at, code):
    device = _device()

    with time_machine.travel(at, tick=False):
        assert _verify(device, code[-6:])


@pytest.mark.parametrize(("at", "code"), RFC6238_SHA1_VECTORS)
def test_rfc6238_code_is_refused_far_from_its_time(at, code):
    device = _device()

    with time_machine.travel(at + 10 * STEP, tick=False):
        assert not _verify(device, code[-6:])


def test_key_round_trips_through_encryption():
    assert _device().key == RFC6238_KEY


def test_code_from_pyotp_is_accepted():
    device = _device(b"\x8a" * 20)

    with time_machine.travel(NOW, tick=False):
        assert _verify(device, _pyotp(device).now())


def test_accepted_code_records_its_time_step():
    device = _device()

    with time_machine.travel(NOW, tick=False):
        _verify(device, _pyotp(device).now())

    assert AuthenticatorDevice.objects.get(pk=device.pk).last_t == NOW // STEP


def test_same_code_twice_is_refused():
    device = _device()

    with time_machine.travel(NOW, tick=False):
        code = _pyotp(device).now()
        assert _verify(device, code)
        assert not _verify(device, code)


def test_earlier_step_code_after_a_later_one_is_refused():
    device = _device()
    totp = _pyotp(device)

    with time_machine.travel(NOW, tick=False):
        assert _verify(device, totp.at(NOW + STEP))
        # The current step's code is still inside the window, but older than the one used.
        assert not _verify(device, totp.at(NOW))


def test_same_code_is_refused_on_a_later_step_within_tolerance():
    device = _device()
    totp = _pyotp(device)
    code = totp.at(NOW)

    with time_machine.travel(NOW, tick=False):
        assert _verify(device, code)
    with time_machine.travel(NOW + STEP, tick=False):
        assert not _verify(device, code)


def test_failure_on_a_stale_copy_does_not_reopen_a_used_code():
    device = _device()
    code = _pyotp(device).at(NOW)

    with time_machine.travel(NOW, tick=False) as traveller:
        # Two login requests load the device at once; one uses the code, the other sends a wrong one.
        stale = AuthenticatorDevice.objects.get(pk=device.pk)
        assert _verify(device, code)
        assert not stale.verify_token("000000" if code != "000000" else "111111")
        traveller.shift(2)  # past the one-second throttle delay

        assert not _verify(device, code)


@pytest.mark.parametrize("steps", [-1, 1])
def test_code_one_step_early_or_late_is_accepted(steps):
    device = _device()

    with time_machine.travel(NOW, tick=False):
        assert _verify(device, _pyotp(device).at(NOW + steps * STEP))


@pytest.mark.parametrize("steps", [-2, 2])
def test_code_two_steps_early_or_late_is_refused(steps):
    device = _device()

    with time_machine.travel(NOW, tick=False):
        assert not _verify(device, _pyotp(device).at(NOW + steps * STEP))


@pytest.mark.parametrize(
    "code",
    [
        pytest.param("", id="empty"),
        pytest.param("      ", id="blank"),
        pytest.param("abcdef", id="letters"),
        pytest.param("12a456", id="digit-and-letter"),
        pytest.param("12345", id="too-short"),
        pytest.param("1234567", id="too-long"),
        pytest.param("9" * 10_000, id="very-long"),
        pytest.param("１２３４５６", id="fullwidth-digits"),
        pytest.param("-12345", id="signed"),
        pytest.param("12 345", id="inner-space"),
        pytest.param("\x00" * 6, id="nul"),
        pytest.param(None, id="none"),
    ],
)
def test_malformed_code_is_refused_without_an_exception(code):
    device = _device()

    with time_machine.travel(NOW, tick=False):
        assert _verify(device, code) is False


def test_right_code_with_a_digit_appended_is_refused():
    device = _device()

    with time_machine.travel(NOW, tick=False):
        assert not _verify(device, _pyotp(device).now() + "0")


def test_retry_right_after_a_failure_is_refused_even_with_the_right_code():
    device = _device()

    with time_machine.travel(NOW, tick=False):
        code = _pyotp(device).now()
        assert not _verify(device, "000000" if code != "000000" else "111111")

        assert not _verify(device, code)


def test_retry_after_the_throttle_delay_is_accepted():
    device = _device()

    with time_machine.travel(NOW, tick=False) as traveller:
        code = _pyotp(device).now()
        assert not _verify(device, "000000" if code != "000000" else "111111")
        traveller.shift(1)

        assert _verify(device, code)


def test_throttle_delay_doubles_with_each_failure():
    device = _device()
    totp = _pyotp(device)

    with time_machine.travel(NOW, tick=False) as traveller:
        wrong = "000000" if totp.now() != "000000" else "111111"
        assert not _verify(device, wrong)
        traveller.shift(1)
        assert not _verify(device, wrong)  # second failure: the next try waits 2 s
        traveller.shift(1)
        assert not _verify(device, totp.now())
        traveller.shift(1)

        assert _verify(device, totp.now())


def test_success_resets_the_throttle():
    device = _device()
    totp = _pyotp(device)

    with time_machine.travel(NOW, tick=False) as traveller:
        assert not _verify(device, "abcdef")
        traveller.shift(1)
        assert _verify(device, totp.now())

    assert AuthenticatorDevice.objects.get(pk=device.pk).throttling_failure_count == 0
