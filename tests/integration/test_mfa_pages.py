"""The two-factor pages through django.test.Client: enrolling, recovery codes, email codes, turning off, logging in.

Codes come from pyotp, an implementation independent of Panel's; the clock is held
still with time-machine so that every code belongs to a known 30-second step.
"""

import datetime
import re
from base64 import b32encode
from urllib.parse import parse_qs, unquote, urlsplit

import pyotp
import pytest
import time_machine
from django.test import Client

from core.audit import Origin
from core.models import AuditEvent
from mfa import services
from mfa.models import AuthenticatorDevice, EmailCodeDevice, RecoveryCode, RecoveryCodeDevice
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.helpers import EMAILED_CODE
from tests.integration.conftest import OTPAUTH, events, grant, is_logged_in, logged_in_client, messages_of, page_text

pytestmark = pytest.mark.django_db

# A fixed "now" at the start of a 30-second step.
T0 = datetime.datetime(2031, 6, 1, 12, 0, 0, tzinfo=datetime.UTC)
STEP = 30
HTMX = {"HTTP_HX_REQUEST": "true"}
RESET = "mfa.reset_two_factor"
INVALID_CODE = "That code is not valid. Check it and try again."
ENROLMENT_CLOSED = "This enrolment is no longer open. Start again."
_RECOVERY = re.compile(r"<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>")

# Every kind of wrong code a person or a fuzzer might type.
BAD_CODES = {
    "empty": "",
    "whitespace": " \t ",
    "letters": "abcdef",
    "five digits": "12345",
    "seven digits": "1234567",
    "very long": "1" * 10_000,
    "arabic-indic digits": "\u0661\u0662\u0663\u0664\u0665\u0666",
    "fullwidth digits": "\uff11\uff12\uff13\uff14\uff15\uff16",
    "emoji": "\U0001f510" * 6,
    "nul byte": "123\x00456",
}
CODE_MESSAGES = (INVALID_CODE, "Enter the code.", "That is too long to be a code.", "Null characters are not allowed.")

# The inputs ConfirmCodeForm itself refuses (the rest reach the service and get its message).
_FORM_REFUSES = {"empty", "whitespace", "very long", "nul byte"}


def _code_params(keys):
    return [pytest.param(BAD_CODES[key], id=key) for key in keys]


@pytest.fixture(autouse=True)
def clock():
    """Every test runs at T0, clock stopped (logins made by fixtures included)."""
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


@pytest.fixture
def carol_client(carol):
    return logged_in_client(carol)


@pytest.fixture
def resetter(db):
    """An admin who is not a superuser: may see users and reset others' two-factor."""
    return grant(UserFactory(username="helpdesk"), "accounts.view_user", RESET)


@pytest.fixture
def resetter_client(resetter):
    return logged_in_client(resetter)


@pytest.fixture
def viewer(db):
    """May see the user list, nothing about others' two-factor."""
    return grant(UserFactory(username="viewer"), "accounts.view_user")


@pytest.fixture
def viewer_client(viewer):
    return logged_in_client(viewer)


# helpers


def _url(user, action=""):
    return f"/users/{user.pk}/two-factor/{action}"


def _secret_from(response):
    """The TOTP secret from the otpauth:// URL the enrolment shows, as an app that cannot scan would read it."""
    url = OTPAUTH.search(page_text(response)).group(0)
    return parse_qs(urlsplit(url).query)["secret"][0]


def _device_id_from(response):
    return int(re.search(r'name="device" value="(\d+)"', response.content.decode()).group(1))


def _code(secret, *, steps_ahead=0):
    """pyotp's code for now (the frozen clock) plus ``steps_ahead`` steps."""
    return pyotp.TOTP(secret).at(datetime.datetime.now(datetime.UTC).timestamp() + steps_ahead * STEP)


def _start(client, user, **extra):
    response = client.post(_url(user, "app/enable/"), **extra)
    assert response.status_code == 200
    return response, _secret_from(response), _device_id_from(response)


def _enrol(client, user):
    """Enable and confirm through the pages; returns (secret, recovery codes)."""
    _, secret, device_id = _start(client, user)
    response = client.post(_url(user, "app/confirm/"), {"device": device_id, "code": _code(secret)}, follow=True)
    assert response.status_code == 200, page_text(response)
    return secret, _RECOVERY.findall(response.content.decode())


def _turn_on(user):
    """Give ``user`` a confirmed authenticator through the services (as an operator); returns (secret, codes)."""
    origin = Origin.command("test")
    device = services.totp_begin(origin=origin, user=user)
    secret = b32encode(device.key).decode()
    codes = services.totp_confirm(origin=origin, user=user, device=device, code=_code(secret))
    return secret, codes


def _has_app(user):
    return AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()


def _factor_rows():
    """Every second-factor row, to show that a refused request wrote nothing."""
    return (
        sorted(AuthenticatorDevice.objects.values_list("pk", "user_id", "confirmed", "last_t")),
        sorted(EmailCodeDevice.objects.values_list("pk", "user_id", "confirmed")),
        sorted(RecoveryCode.objects.values_list("pk", "code_hash")),
    )


def _log_in_with_password(client, user):
    response = client.post("/login/", {"username": user.username, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return response


# the two-factor page


def test_two_factor_page_shows_every_factor_off_for_a_new_user(carol, carol_client):
    response = carol_client.get(_url(carol))

    assert response.status_code == 200
    text = page_text(response)
    assert "Set up an authenticator app" in text
    assert "Turn on email codes" in text
    assert "Recovery codes" not in text
    assert "Turn off two-factor authentication" not in text


def test_two_factor_page_shows_recovery_codes_left(carol, carol_client, clock):
    _turn_on(carol)
    code = services.recovery_codes_regenerate(origin=Origin.command("test"), user=carol)[0]
    services.verify_login_code(origin=Origin.command("test"), user=carol, method="recovery", code=code)

    text = page_text(carol_client.get(_url(carol)))

    assert "9 of 10 left" in text
    assert "Make new recovery codes" in text
    assert "Turn off two-factor authentication" in text


# enrolling an authenticator app


def test_enable_shows_the_qr_code_the_otpauth_url_and_the_code_field(carol, carol_client):
    response = carol_client.post(_url(carol, "app/enable/"))

    assert response.status_code == 200
    text = page_text(response)
    assert "<svg" in text
    url = urlsplit(OTPAUTH.search(text).group(0))
    query = parse_qs(url.query)
    assert unquote(url.path) == "/Panel:carol"
    assert query["issuer"] == ["Panel"]
    assert (query["algorithm"], query["digits"], query["period"]) == (["SHA1"], ["6"], ["30"])
    assert len(query["secret"][0]) == 32  # 160 bits in base32
    assert 'name="code"' in text
    assert 'autocomplete="one-time-code"' in text
    assert not _has_app(carol)


def test_enable_response_is_never_stored(carol, carol_client):
    response = carol_client.post(_url(carol, "app/enable/"))

    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_enable_for_htmx_answers_the_dialog_fragment_only(carol, carol_client):
    response = carol_client.post(_url(carol, "app/enable/"), **HTMX)

    text = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in text
    assert 'id="mfa-dialog-title"' in text
    assert "no-store" in response["Cache-Control"]


def test_enable_again_replaces_the_unconfirmed_device(carol, carol_client):
    _, first_secret, first_id = _start(carol_client, carol)
    _, second_secret, second_id = _start(carol_client, carol)

    assert first_secret != second_secret
    assert list(AuthenticatorDevice.objects.filter(user=carol).values_list("pk", flat=True)) == [second_id]


def test_confirm_with_a_pyotp_code_turns_two_factor_on_and_shows_ten_recovery_codes(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol)

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": _code(secret)})

    # Post/redirect/get: the codes are shown on the page the POST redirects to.
    assert response.status_code == 302
    assert response["Location"] == _url(carol, "recovery-codes/new/")
    shown = carol_client.get(response["Location"])
    codes = _RECOVERY.findall(shown.content.decode())
    assert len(codes) == len(set(codes)) == 10
    assert "Two-factor authentication is on" in page_text(shown)
    assert _has_app(carol)
    assert RecoveryCode.objects.filter(device__user=carol).count() == 10
    assert "no-store" in shown["Cache-Control"]


def test_recovery_codes_are_shown_once_a_reload_shows_none_and_makes_none(carol, carol_client, clock):
    _, codes = _enrol(carol_client, carol)
    stored = set(RecoveryCode.objects.values_list("code_hash", flat=True))

    reloaded = carol_client.get(_url(carol, "recovery-codes/new/"), follow=True)

    assert not _RECOVERY.findall(reloaded.content.decode())
    assert not any(code in reloaded.content.decode() for code in codes)
    assert messages_of(reloaded) == ["Recovery codes are shown only once. If you did not save them, make new ones."]
    assert set(RecoveryCode.objects.values_list("code_hash", flat=True)) == stored
    assert len(events("mfa.recovery.regenerate")) == 0


def test_codes_kept_for_one_user_are_not_shown_on_anothers_page(carol, resetter_client, resetter, clock):
    _turn_on(carol)
    resetter_client.post(_url(carol, "recovery-codes/"))

    assert resetter_client.get(_url(resetter, "recovery-codes/new/")).status_code == 302
    assert len(_RECOVERY.findall(resetter_client.get(_url(carol, "recovery-codes/new/")).content.decode())) == 10


def test_confirm_over_htmx_answers_the_recovery_codes_fragment(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol, **HTMX)

    response = carol_client.post(
        _url(carol, "app/confirm/"), {"device": device_id, "code": _code(secret)}, follow=True, **HTMX
    )

    assert response.status_code == 200
    assert "<html" not in response.content.decode()
    assert len(_RECOVERY.findall(response.content.decode())) == 10


def test_recovery_codes_offer_copy_and_a_download_holding_every_code(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol)

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": _code(secret)}, follow=True)

    text = page_text(response)
    codes = _RECOVERY.findall(response.content.decode())
    download = re.search(r'<a class="button" download="([^"]+)" href="([^"]+)">Download</a>', text)
    assert download.group(1) == "panel-carol-recovery-codes.txt"
    assert unquote(download.group(2)) == "data:text/plain;charset=utf-8," + "".join(f"{code}\n" for code in codes)
    assert 'data-copy="recovery-codes-text"' in text


def test_confirm_is_audited_with_the_user_as_actor(carol, carol_client, clock):
    _enrol(carol_client, carol)

    (start,) = events("mfa.totp.enrol_start")
    (enable,) = events("mfa.totp.enable")
    for event in (start, enable):
        assert (event.actor, event.target_id, event.outcome) == (carol, str(carol.pk), AuditEvent.Outcome.SUCCESS)


def test_recovery_codes_are_stored_hashed(carol, carol_client, clock):
    _, codes = _enrol(carol_client, carol)

    stored = list(RecoveryCode.objects.values_list("code_hash", flat=True))
    assert not any(code in hash_ or code.replace("-", "") in hash_ for code in codes for hash_ in stored)


def test_wrong_confirmation_code_keeps_the_enrolment_open_and_says_so(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol)
    wrong = f"{(int(_code(secret)) + 1) % 1_000_000:06d}"

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": wrong})

    assert response.status_code == 400
    assert INVALID_CODE in page_text(response)
    assert OTPAUTH.search(page_text(response))  # the QR step again, same device
    assert AuthenticatorDevice.objects.get(pk=device_id).confirmed is False
    assert not RecoveryCodeDevice.objects.filter(user=carol).exists()
    assert events("mfa.totp.enable")[0].outcome == AuditEvent.Outcome.FAILURE


def test_wrong_confirmation_code_over_htmx_answers_200_with_the_message(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol, **HTMX)
    wrong = f"{(int(_code(secret)) + 1) % 1_000_000:06d}"

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": wrong}, **HTMX)

    assert response.status_code == 200
    assert INVALID_CODE in page_text(response)
    assert not _has_app(carol)


def test_confirm_accepts_a_code_typed_with_surrounding_spaces(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol)

    response = carol_client.post(
        _url(carol, "app/confirm/"), {"device": device_id, "code": f"  {_code(secret)} "}, follow=True
    )

    assert response.status_code == 200
    assert _has_app(carol)


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("code", _code_params(BAD_CODES))
def test_bad_confirmation_code_is_a_clear_message_and_keeps_the_enrolment(carol, carol_client, clock, code, htmx):
    extra = HTMX if htmx else {}
    _, _, device_id = _start(carol_client, carol, **extra)
    before = _factor_rows()

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": code}, **extra)

    assert response.status_code == (200 if htmx else 400)
    text = page_text(response)
    assert re.search(r'class="errors"|class="alert error"', text), text
    assert any(message in text for message in CODE_MESSAGES)
    assert OTPAUTH.search(text), "the enrolment step (QR code and field) is shown again"
    assert _factor_rows() == before


BAD_DEVICES = {
    "missing": None,
    "empty": "",
    "non-numeric": "abc",
    "negative": "-1",
    "huge": "9" * 40,
    "unknown": "987654",
}
_DEVICE_FORM_REFUSES = {"missing", "empty", "non-numeric"}


def _device_params(*, htmx):
    params = []
    for key, value in BAD_DEVICES.items():
        params.append(pytest.param(value, htmx, id=f"{key}-{'htmx' if htmx else 'plain'}"))
    return params


@pytest.mark.parametrize(("device", "htmx"), _device_params(htmx=False) + _device_params(htmx=True))
def test_bad_device_id_says_the_enrolment_is_no_longer_open(carol, carol_client, clock, device, htmx):
    extra = HTMX if htmx else {}
    _, secret, _ = _start(carol_client, carol)
    before = _factor_rows()
    data = {"code": _code(secret)} | ({} if device is None else {"device": device})

    response = carol_client.post(_url(carol, "app/confirm/"), data, **extra)

    assert response.status_code == (200 if htmx else 400)
    assert ENROLMENT_CLOSED in page_text(response)
    assert _factor_rows() == before


def test_another_users_pending_device_cannot_be_confirmed(carol, carol_client, clock):
    bob = UserFactory(username="bob")
    _, bob_secret, bob_device = _start(logged_in_client(bob), bob)
    before = _factor_rows()

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": bob_device, "code": _code(bob_secret)})

    assert response.status_code == 400
    assert ENROLMENT_CLOSED in page_text(response)
    assert _factor_rows() == before


def test_an_already_confirmed_device_cannot_be_confirmed_again(carol, carol_client, clock):
    _, secret, device_id = _start(carol_client, carol)
    carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": _code(secret)})
    clock.shift(STEP)
    before = _factor_rows()

    response = carol_client.post(_url(carol, "app/confirm/"), {"device": device_id, "code": _code(secret)})

    assert response.status_code == 400
    assert ENROLMENT_CLOSED in page_text(response)
    assert _factor_rows() == before


def test_re_enrolling_replaces_the_old_app_and_recovery_codes(carol, carol_client, clock):
    old_secret, old_codes = _enrol(carol_client, carol)
    clock.shift(STEP)

    new_secret, new_codes = _enrol(carol_client, carol)

    assert old_secret != new_secret
    assert AuthenticatorDevice.objects.filter(user=carol).count() == 1
    assert not set(old_codes) & set(new_codes)
    assert RecoveryCode.objects.filter(device__user=carol).count() == 10


# recovery codes


def test_regenerate_shows_ten_new_codes_and_the_old_stop_working(carol, carol_client, clock):
    _, old_codes = _enrol(carol_client, carol)

    posted = carol_client.post(_url(carol, "recovery-codes/"))
    response = carol_client.get(posted["Location"])

    assert posted.status_code == 302
    new_codes = _RECOVERY.findall(response.content.decode())
    assert len(new_codes) == 10
    assert not set(old_codes) & set(new_codes)
    assert "The previous codes no longer work." in page_text(response)
    assert "Download" in page_text(response)
    assert "no-store" in response["Cache-Control"]
    assert len(events("mfa.recovery.regenerate")) == 1
    with pytest.raises(Exception, match="not valid"):
        services.verify_login_code(origin=Origin.command("test"), user=carol, method="recovery", code=old_codes[0])


def test_regenerate_without_two_factor_says_to_turn_it_on_first(carol, carol_client):
    response = carol_client.post(_url(carol, "recovery-codes/"), follow=True)

    assert "Turn on two-factor authentication first." in messages_of(response)
    assert not RecoveryCodeDevice.objects.exists()


# turning two-factor off for yourself


def test_disable_page_asks_for_a_code_or_the_password(carol, carol_client, clock):
    _turn_on(carol)

    response = carol_client.get(_url(carol, "disable/"))

    assert response.status_code == 200
    assert 'name="code"' in response.content.decode()
    assert 'name="password"' in response.content.decode()
    assert _has_app(carol)


def test_disable_own_with_a_current_code(carol, carol_client, clock):
    secret, _ = _turn_on(carol)
    clock.shift(STEP)

    response = carol_client.post(_url(carol, "disable/"), {"code": _code(secret)}, follow=True)

    assert f"Two-factor authentication is off for {carol.username}." in messages_of(response)
    assert _factor_rows() == ([], [], [])
    (event,) = events("mfa.disable")
    assert (event.actor, event.target_id, event.details["reason"]) == (carol, str(carol.pk), "by the user")


def test_disable_own_with_a_recovery_code(carol, carol_client, clock):
    _, codes = _turn_on(carol)

    response = carol_client.post(_url(carol, "disable/"), {"code": codes[3]})

    assert response.status_code == 302
    assert not _has_app(carol)


def test_disable_own_with_the_password(carol, carol_client, clock):
    _turn_on(carol)

    response = carol_client.post(_url(carol, "disable/"), {"password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert not _has_app(carol)
    assert not RecoveryCodeDevice.objects.filter(user=carol).exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Enter a current code or your password."),
        ({"code": "", "password": ""}, "Enter a current code or your password."),
        ({"code": "000000"}, "That code or password is not correct."),
        ({"code": "abcdef"}, "That code or password is not correct."),
        ({"code": "\u0661\u0662\u0663\u0664\u0665\u0666"}, "That code or password is not correct."),
        ({"code": "1" * 10_000}, "Ensure this value has at most 32 characters (it has 10000)."),
        ({"password": "Not-the-password-1"}, "That code or password is not correct."),
        ({"password": "x" * 10_000}, "That code or password is not correct."),
    ],
    ids=[
        "nothing",
        "both-empty",
        "wrong-code",
        "letters",
        "unicode-digits",
        "very-long-code",
        "wrong-password",
        "long-password",
    ],
)
def test_disable_own_with_a_wrong_proof_is_refused_and_changes_nothing(carol, carol_client, clock, data, message):
    _turn_on(carol)
    before = _factor_rows()
    disabled_before = len(events("mfa.disable"))

    response = carol_client.post(_url(carol, "disable/"), data)

    assert response.status_code == 400
    assert message in page_text(response)
    assert _factor_rows() == before
    assert len(events("mfa.disable")) == disabled_before


def test_disable_own_with_the_code_used_at_enrolment_is_refused(carol, carol_client, clock):
    secret, _ = _turn_on(carol)  # accepted at step T0, so no code of that step or earlier is accepted again

    response = carol_client.post(_url(carol, "disable/"), {"code": _code(secret)})

    assert response.status_code == 400
    assert _has_app(carol)


# email codes


def _emailed_code(mail):
    return EMAILED_CODE.search(mail.body).group(1)


def test_email_enable_sends_a_code_and_confirming_it_turns_email_codes_on(carol, carol_client, mailoutbox):
    response = carol_client.post(_url(carol, "email/enable/"))

    assert response.status_code == 200
    assert "carol@example.com" in page_text(response)
    (mail,) = mailoutbox
    assert mail.to == ["carol@example.com"]
    assert mail.subject == "Panel login code"
    device_id = _device_id_from(response)
    assert not EmailCodeDevice.objects.get(pk=device_id).confirmed

    response = carol_client.post(_url(carol, "email/confirm/"), {"device": device_id, "code": _emailed_code(mail)})

    assert response.status_code == 302
    assert EmailCodeDevice.objects.get(pk=device_id).confirmed
    assert [e.outcome for e in events("mfa.email.enable")] == [AuditEvent.Outcome.SUCCESS]
    text = page_text(carol_client.get(_url(carol)))
    assert 'Email codes <span class="badge success">On</span>' in text


def test_email_enable_twice_within_a_minute_sends_one_email(carol, carol_client, mailoutbox):
    carol_client.post(_url(carol, "email/enable/"))

    response = carol_client.post(_url(carol, "email/enable/"), follow=True)

    assert len(mailoutbox) == 1
    assert any("less than a minute ago" in message for message in messages_of(response))


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("code", [*_code_params(BAD_CODES), pytest.param("wrong", id="wrong 6 digits")])
def test_bad_email_confirmation_code_is_a_clear_message_and_keeps_the_enrolment(
    carol, carol_client, mailoutbox, code, htmx
):
    extra = HTMX if htmx else {}
    response = carol_client.post(_url(carol, "email/enable/"))
    device_id = _device_id_from(response)
    if code == "wrong":
        code = f"{(int(_emailed_code(mailoutbox[0])) + 1) % 1_000_000:06d}"
    before = _factor_rows()

    response = carol_client.post(_url(carol, "email/confirm/"), {"device": device_id, "code": code}, **extra)

    assert response.status_code == (200 if htmx else 400)
    text = page_text(response)
    assert any(message in text for message in CODE_MESSAGES)
    assert ENROLMENT_CLOSED not in text
    assert 'name="code"' in text, "the code field is shown again"
    assert _factor_rows() == before


@pytest.mark.parametrize("device", BAD_DEVICES.values(), ids=BAD_DEVICES.keys())
def test_bad_email_device_id_says_the_enrolment_is_no_longer_open(carol, carol_client, mailoutbox, device):
    carol_client.post(_url(carol, "email/enable/"))
    before = _factor_rows()
    data = {"code": _emailed_code(mailoutbox[0])} | ({} if device is None else {"device": device})

    response = carol_client.post(_url(carol, "email/confirm/"), data)

    assert response.status_code == 400
    assert ENROLMENT_CLOSED in page_text(response)
    assert _factor_rows() == before


def test_email_codes_cannot_be_turned_on_for_another_user_even_with_the_permission(carol, resetter_client, mailoutbox):
    response = resetter_client.post(_url(carol, "email/enable/"))

    assert response.status_code == 403
    assert not mailoutbox
    assert not EmailCodeDevice.objects.exists()


def test_another_users_pending_email_device_cannot_be_confirmed(carol, carol_client, mailoutbox):
    bob = UserFactory(username="bob")
    logged_in_client(bob).post(_url(bob, "email/enable/"))
    bob_device = EmailCodeDevice.objects.get(user=bob)
    bob_code = _emailed_code(mailoutbox[-1])
    before = _factor_rows()

    response = carol_client.post(_url(carol, "email/confirm/"), {"device": bob_device.pk, "code": bob_code})

    assert response.status_code == 400
    assert ENROLMENT_CLOSED in page_text(response)
    assert _factor_rows() == before


# the login's verification step


def test_password_login_with_two_factor_goes_to_the_verification_step_not_in(carol, clock):
    _turn_on(carol)
    client = Client()

    response = _log_in_with_password(client, carol)

    assert response["Location"] == "/login/verify/"
    assert not is_logged_in(client, carol)
    page = client.get("/login/verify/")
    assert page.status_code == 200
    assert "Logging in as carol" in page_text(page)
    assert client.get("/users/").status_code == 302


def test_login_with_the_next_app_code(carol, clock):
    secret, _ = _turn_on(carol)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "totp", "code": _code(secret, steps_ahead=1)})

    assert response.status_code == 302
    assert is_logged_in(client, carol)
    assert events("mfa.verify")[-1].outcome == AuditEvent.Outcome.SUCCESS


def test_login_refuses_the_code_already_used_at_enrolment(carol, clock):
    secret, _ = _turn_on(carol)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "totp", "code": _code(secret)})

    assert response.status_code == 400
    assert INVALID_CODE in page_text(response)
    assert not is_logged_in(client, carol)


def test_login_with_a_recovery_code_uses_it_up(carol, clock):
    _, codes = _turn_on(carol)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "recovery", "code": codes[0].upper()})

    assert response.status_code == 302
    assert is_logged_in(client, carol)
    assert RecoveryCode.objects.filter(device__user=carol).count() == 9
    again = Client()
    _log_in_with_password(again, carol)
    assert again.post("/login/verify/", {"method": "recovery", "code": codes[0]}).status_code == 400


def test_login_with_an_emailed_code(carol, carol_client, clock, mailoutbox):
    response = carol_client.post(_url(carol, "email/enable/"))
    carol_client.post(
        _url(carol, "email/confirm/"), {"device": _device_id_from(response), "code": _emailed_code(mailoutbox[0])}
    )
    clock.shift(61)  # past the one-per-minute limit that the enrolment's email started
    client = Client()
    _log_in_with_password(client, carol)
    page = client.get("/login/verify/")
    assert "Email me a code" in page_text(page)

    sent = client.post("/login/verify/", {"action": "send"}, follow=True)

    assert any("A code was sent" in message for message in messages_of(sent))
    assert len(mailoutbox) == 2
    response = client.post("/login/verify/", {"method": "email", "code": _emailed_code(mailoutbox[1])})
    assert response.status_code == 302
    assert is_logged_in(client, carol)


def _checked_method(page):
    return re.search(r'<input type="radio" name="method" value="(\w+)"[^>]*checked', page.content.decode()).group(1)


def test_after_email_me_a_code_the_choice_is_email_and_the_code_is_accepted_as_posted(carol, carol_client, mailoutbox):
    _turn_on(carol)  # an app first: "Verify with" starts on it
    response = carol_client.post(_url(carol, "email/enable/"))
    carol_client.post(
        _url(carol, "email/confirm/"), {"device": _device_id_from(response), "code": _emailed_code(mailoutbox[0])}
    )
    client = Client()
    _log_in_with_password(client, carol)
    assert _checked_method(client.get("/login/verify/")) == "totp"

    # Right after enrolling: the enrolment's email does not count against the one a minute.
    sent = client.post("/login/verify/", {"action": "send"}, follow=True)

    assert messages_of(sent) == ["A code was sent to your email address. It is valid for 5 minutes."]
    assert _checked_method(sent) == "email"
    # The page's form as the browser posts it: the checked choice, and the code typed.
    response = client.post("/login/verify/", {"method": _checked_method(sent), "code": _emailed_code(mailoutbox[-1])})
    assert response.status_code == 302
    assert is_logged_in(client, carol)


def test_email_me_a_code_twice_within_a_minute_sends_one(carol, carol_client, clock, mailoutbox):
    response = carol_client.post(_url(carol, "email/enable/"))
    carol_client.post(
        _url(carol, "email/confirm/"), {"device": _device_id_from(response), "code": _emailed_code(mailoutbox[0])}
    )
    clock.shift(61)
    client = Client()
    _log_in_with_password(client, carol)
    client.post("/login/verify/", {"action": "send"})

    again = client.post("/login/verify/", {"action": "send"}, follow=True)

    assert len(mailoutbox) == 2
    assert any("less than a minute ago" in message for message in messages_of(again))


def test_email_me_a_code_without_email_codes_sends_nothing_and_does_not_fail(carol, mailoutbox):
    _turn_on(carol)  # an app only
    client = Client(raise_request_exception=False)
    _log_in_with_password(client, carol)
    assert "Email me a code" not in page_text(client.get("/login/verify/"))

    response = client.post("/login/verify/", {"action": "send"}, follow=True)

    assert response.status_code == 200
    assert not mailoutbox
    assert not is_logged_in(client, carol)


@pytest.mark.parametrize("code", BAD_CODES.values(), ids=BAD_CODES.keys())
def test_bad_login_code_is_a_clear_message(carol, clock, code):
    _turn_on(carol)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "totp", "code": code})

    assert response.status_code == 400
    text = page_text(response)
    assert any(message in text for message in CODE_MESSAGES)
    assert not is_logged_in(client, carol)


@pytest.mark.parametrize("method", ["", "sms", "email", "x" * 10_000, None])
def test_bad_login_method_is_a_clear_message(carol, clock, method):
    secret, _ = _turn_on(carol)  # no email device: "email" is not offered
    client = Client()
    _log_in_with_password(client, carol)
    data = {"code": _code(secret, steps_ahead=1)} | ({} if method is None else {"method": method})

    response = client.post("/login/verify/", data)

    assert response.status_code == 400
    assert "errors" in response.content.decode()
    assert not is_logged_in(client, carol)


def test_verify_without_a_pending_login_sends_back_to_the_password(client):
    response = client.get("/login/verify/", follow=True)

    assert response.redirect_chain[-1][0] == "/login/"
    assert "Your login timed out. Enter your password again." in messages_of(response)


# another user's two-factor: permissions


def _others_actions(target):
    """Every two-factor URL about ``target``, with the method that acts."""
    return [
        ("get", _url(target)),
        ("get", _url(target, "disable/")),
        ("post", _url(target, "disable/")),
        ("post", _url(target, "app/enable/")),
        ("post", _url(target, "app/confirm/")),
        ("post", _url(target, "email/enable/")),
        ("post", _url(target, "email/confirm/")),
        ("post", _url(target, "recovery-codes/")),
    ]


def test_without_the_permission_another_users_two_factor_is_forbidden(carol, viewer_client, clock, mailoutbox):
    _turn_on(carol)
    before = _factor_rows()

    for method, url in _others_actions(carol):
        response = getattr(viewer_client, method)(url, {"device": 1, "code": "123456"} if method == "post" else None)
        assert response.status_code == 403, (method, url)
    assert _factor_rows() == before
    assert not mailoutbox


def test_without_the_permission_a_non_existent_user_is_forbidden_too(viewer_client):
    ghost = UserFactory.build(pk=987654)

    for method, url in _others_actions(ghost):
        assert getattr(viewer_client, method)(url).status_code == 403, (method, url)


def test_with_the_permission_a_non_existent_user_is_not_found(resetter_client):
    ghost = UserFactory.build(pk=987654)

    for method, url in _others_actions(ghost):
        assert getattr(resetter_client, method)(url).status_code == 404, (method, url)


def test_admin_with_the_permission_enrols_another_user_audited_as_the_admin(carol, resetter, resetter_client, clock):
    response, secret, device_id = _start(resetter_client, carol, **HTMX)
    assert "Turn on two-factor authentication for carol" in page_text(response)

    response = resetter_client.post(
        _url(carol, "app/confirm/"), {"device": device_id, "code": _code(secret)}, follow=True, **HTMX
    )

    assert response.status_code == 200
    assert len(_RECOVERY.findall(response.content.decode())) == 10
    assert _has_app(carol)
    assert not _has_app(resetter)
    for action in ("mfa.totp.enrol_start", "mfa.totp.enable"):
        (event,) = events(action)
        assert (event.actor, event.target_id) == (resetter, str(carol.pk))


def test_admin_with_the_permission_sees_another_users_two_factor_page(carol, resetter_client, clock):
    _turn_on(carol)

    response = resetter_client.get(_url(carol))

    assert response.status_code == 200
    text = page_text(response)
    assert "Two-factor authentication of carol" in text
    assert "10 of 10 left" in text
    assert "Turn on email codes" not in text


def test_admin_turns_off_another_users_two_factor_without_their_code_audited(carol, resetter, resetter_client, clock):
    _turn_on(carol)
    page = resetter_client.get(_url(carol, "disable/"))
    assert page.status_code == 200
    assert 'name="code"' not in page.content.decode()

    response = resetter_client.post(_url(carol, "disable/"), follow=True)

    assert "Two-factor authentication is off for carol." in messages_of(response)
    assert not _has_app(carol)
    assert not RecoveryCodeDevice.objects.filter(user=carol).exists()
    (event,) = events("mfa.disable")
    assert (event.actor, event.target_id) == (resetter, str(carol.pk))
    assert "helpdesk" in event.details["reason"]


def test_admin_regenerates_another_users_recovery_codes(carol, resetter, resetter_client, clock):
    _turn_on(carol)

    response = resetter_client.post(_url(carol, "recovery-codes/"), follow=True)

    assert response.status_code == 200
    assert len(_RECOVERY.findall(response.content.decode())) == 10
    assert events("mfa.recovery.regenerate")[0].actor == resetter


# GET never changes anything; CSRF


@pytest.mark.parametrize(
    "action", ["app/enable/", "app/confirm/", "email/enable/", "email/confirm/", "recovery-codes/"]
)
def test_actions_refuse_get(carol, carol_client, clock, mailoutbox, action):
    _turn_on(carol)
    before = _factor_rows()

    response = carol_client.get(_url(carol, action), {"device": 1, "code": "123456"})

    assert response.status_code == 405
    assert _factor_rows() == before
    assert not mailoutbox


def test_login_cancel_refuses_get(client):
    assert client.get("/login/verify/cancel/").status_code == 405


def test_get_on_the_disable_page_changes_nothing(carol, resetter_client, clock):
    _turn_on(carol)
    before = _factor_rows()

    resetter_client.get(_url(carol, "disable/"), {"code": "123456", "password": DEFAULT_PASSWORD})

    assert _factor_rows() == before


def test_every_two_factor_post_needs_the_csrf_token(carol, clock, mailoutbox):
    secret, _ = _turn_on(carol)
    client = logged_in_client(carol, enforce_csrf_checks=True)
    before = _factor_rows()

    for action in ["app/enable/", "app/confirm/", "email/enable/", "email/confirm/", "recovery-codes/", "disable/"]:
        response = client.post(
            _url(carol, action), {"code": _code(secret, steps_ahead=1), "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 403, action
    assert _factor_rows() == before
    assert not mailoutbox


def test_login_verify_needs_the_csrf_token(carol, clock):
    secret, _ = _turn_on(carol)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.context["csrf_token"]
    client.post("/login/", {"username": "carol", "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": str(token)})

    response = client.post("/login/verify/", {"method": "totp", "code": _code(secret, steps_ahead=1)})

    assert response.status_code == 403
    assert not is_logged_in(client, carol)


# the user list's 2FA column


def _switch_cell(response, user):
    text = response.content.decode()
    start = text.index(f'<tr id="user-{user.pk}">')
    row = text[start : text.index("</tr>", start)]
    return re.search(r'<td data-label="Two-Factor Auth">(.*?)</td>', row, re.S).group(1)


def test_user_list_shows_on_and_off_with_a_switch_for_an_admin(carol, admin_user, admin_client, clock):
    _turn_on(carol)

    response = admin_client.get("/users/")

    on = _switch_cell(response, carol)
    off = _switch_cell(response, admin_user)
    assert f'href="{_url(carol)}"' in on
    assert ">On</a>" in on
    assert f'hx-post="{_url(admin_user, "app/enable/")}"' in off
    assert 'role="switch"' in off
    assert ">Off</button>" in off
    assert '<dialog id="mfa-dialog"' in response.content.decode()


def test_user_list_shows_the_switch_only_on_your_own_row_without_the_permission(carol, viewer, viewer_client, clock):
    bob = UserFactory(username="bob")
    _turn_on(carol)

    response = viewer_client.get("/users/")

    assert response.status_code == 200
    own = _switch_cell(response, viewer)
    assert 'role="switch"' in own
    carol_cell, bob_cell = _switch_cell(response, carol), _switch_cell(response, bob)
    assert "<a" not in carol_cell and ">On</span>" in carol_cell
    assert "<form" not in bob_cell and ">Off</span>" in bob_cell


def test_user_list_shows_on_for_email_codes_too(carol, admin_client, mailoutbox):
    services.email_begin(origin=Origin.command("test"), user=carol)
    device = EmailCodeDevice.objects.get(user=carol)
    services.email_confirm(origin=Origin.command("test"), user=carol, device=device, code=_emailed_code(mailoutbox[-1]))

    assert ">On</a>" in _switch_cell(admin_client.get("/users/"), carol)


# the key for manual entry, recovery codes left at login, email codes off on their own


def test_enrolment_shows_the_base32_key_in_groups_of_four_with_a_copy_button(carol, carol_client):
    response, secret, _ = _start(carol_client, carol)

    shown = re.search(r'<code id="totp-key-grouped">([A-Z2-7 ]+)</code>', response.content.decode()).group(1)
    assert shown.replace(" ", "") == secret
    assert all(len(group) == 4 for group in shown.split(" ")[:-1])
    assert f'<span id="totp-key" hidden>{secret}</span>' in response.content.decode()
    assert 'data-copy="totp-key"' in response.content.decode()


@pytest.mark.parametrize(("used_before", "left"), [(0, 9), (6, 3)])
def test_login_with_a_recovery_code_says_how_many_are_left(carol, clock, used_before, left):
    _, codes = _turn_on(carol)
    for code in codes[:used_before]:
        services.verify_login_code(origin=Origin.command("test"), user=carol, method="recovery", code=code)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "recovery", "code": codes[-1]}, follow=True)

    assert messages_of(response) == [f"Recovery code accepted. {left} recovery codes left."]


@pytest.mark.parametrize(("used_before", "left"), [(7, "2 recovery codes"), (8, "1 recovery code")])
def test_login_with_one_of_the_last_recovery_codes_warns_and_links_to_new_ones(carol, clock, used_before, left):
    _, codes = _turn_on(carol)
    for code in codes[:used_before]:
        services.verify_login_code(origin=Origin.command("test"), user=carol, method="recovery", code=code)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "recovery", "code": codes[-1]}, follow=True)

    (message,) = messages_of(response)
    assert message.startswith(f"Recovery code accepted. Only {left} left:")
    assert f'<a href="{_url(carol)}">make new recovery codes</a>' in response.content.decode()


def test_login_with_an_app_code_says_nothing_about_recovery_codes(carol, clock):
    secret, _ = _turn_on(carol)
    client = Client()
    _log_in_with_password(client, carol)

    response = client.post("/login/verify/", {"method": "totp", "code": _code(secret, steps_ahead=1)}, follow=True)

    assert not any("recovery" in message for message in messages_of(response))


def _email_on(client, user, mailoutbox):
    response = client.post(_url(user, "email/enable/"))
    data = {"device": _device_id_from(response), "code": _emailed_code(mailoutbox[-1])}
    client.post(_url(user, "email/confirm/"), data, follow=True)  # its message shown


def test_email_codes_are_turned_off_alone_from_the_two_factor_page(carol, carol_client, clock, mailoutbox):
    _turn_on(carol)
    _email_on(carol_client, carol, mailoutbox)
    assert "Turn off email codes" in page_text(carol_client.get(_url(carol)))

    response = carol_client.post(_url(carol, "email/disable/"), follow=True)

    assert messages_of(response) == ["Email codes are off. Logins need a code from your authenticator app."]
    assert not EmailCodeDevice.objects.filter(user=carol).exists()
    assert _has_app(carol)
    assert events("mfa.email.disable")[0].actor == carol


def test_email_codes_as_the_last_factor_lead_to_turning_two_factor_off_with_proof(
    carol, carol_client, clock, mailoutbox
):
    _email_on(carol_client, carol, mailoutbox)

    response = carol_client.post(_url(carol, "email/disable/"), follow=True)

    assert response.redirect_chain[-1][0] == _url(carol, "disable/")
    assert messages_of(response) == [services.EMAIL_IS_LAST_FACTOR]
    assert EmailCodeDevice.objects.filter(user=carol, confirmed=True).exists()
    assert not events("mfa.email.disable")


def test_turning_off_another_users_email_codes_needs_the_permission(carol, viewer_client, resetter_client, mailoutbox):
    _turn_on(carol)
    _email_on(logged_in_client(carol), carol, mailoutbox)

    assert viewer_client.post(_url(carol, "email/disable/")).status_code == 403
    assert resetter_client.post(_url(carol, "email/disable/")).status_code == 302
    assert not EmailCodeDevice.objects.filter(user=carol).exists()
