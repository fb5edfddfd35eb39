"""Changing two-factor over the API: enrolling an authenticator app, new recovery codes, email codes on,
and turning it off, under the two-factor pages' rules.

Creating a factor or recovery codes is for a browser session only (a token is refused, audited); a
browser needs a recent login proof where the page asks for one; turning off your own needs a current
code or your password, another's needs mfa.reset_two_factor, within your scope.
"""

import datetime
import re

import pyotp
import pytest
import time_machine

from core.api import TOKEN_CANNOT_CHANGE_CREDENTIALS
from core.models import AuditEvent
from core.reauth import PROOF_AT
from mfa import selectors, services
from mfa.models import AuthenticatorDevice, EmailCodeDevice
from organisation.models import Company
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.helpers import SETUP, turn_on_app
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import grant, mailed_code, wrong_code

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2031, 6, 1, 12, 0, 5, tzinfo=datetime.UTC)  # 5 s into a TOTP step
RESET = "mfa.reset_two_factor"
BASE32 = re.compile(r"^[A-Z2-7]+$")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(T0, tick=False) as traveller:
        yield traveller


def _url(user_id, tail=""):
    return f"/api/users/{user_id}/two-factor{tail}"


def _stale(browser):
    """The browser's login proof is older than PANEL_REAUTH_SECONDS."""
    session = browser.client.session
    session[PROOF_AT] = 0
    session.save()
    return browser


def _begin(caller, user):
    return caller.call("post", _url(user.pk, "/totp"), {})


def _enrol(caller, user):
    """Begin and confirm an app through the API; returns (the confirm response, the app's TOTP)."""
    enrolment = _begin(caller, user).json()
    totp = pyotp.TOTP(enrolment["key"])
    body = {"device_id": enrolment["device_id"], "code": totp.now()}
    return caller.call("post", _url(user.pk, "/totp/confirm"), body), totp


def _refused_as_a_token(response):
    assert_error(response, 403)
    assert response.json()["detail"] == TOKEN_CANNOT_CHANGE_CREDENTIALS
    assert AuditEvent.objects.filter(action="token.refused").exists()


@pytest.fixture
def company_helpdesk(db):
    """A semi-trusted helpdesk of East: may reset East's two-factor, nobody else's."""
    east = Company.objects.create(name="East")
    return grant(UserFactory(username="easthelp", company=east), RESET)


# enrolling an authenticator app


def test_begin_answers_the_url_and_the_key(carol):
    response = _begin(Browser.of(carol), carol)

    assert response.status_code == 201
    body = response.json()
    assert BASE32.match(body["key"])
    assert body["otpauth_url"].startswith("otpauth://totp/")
    assert f"secret={body['key']}" in body["otpauth_url"]
    assert selectors.status(carol)["enabled"] is False


def test_confirming_with_a_code_turns_it_on_and_answers_the_recovery_codes(carol):
    response, _totp = _enrol(Browser.of(carol), carol)

    assert response.status_code == 200
    codes = response.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    assert selectors.status(carol) == {"enabled": True, "totp": True, "email": False, "recovery_codes_left": 10}


def test_a_wrong_code_is_refused_and_leaves_it_off(carol):
    browser = Browser.of(carol)
    enrolment = _begin(browser, carol).json()
    right = pyotp.TOTP(enrolment["key"]).now()

    response = browser.call(
        "post", _url(carol.pk, "/totp/confirm"), {"device_id": enrolment["device_id"], "code": wrong_code(right)}
    )

    assert_error(response, 422, fields=["code"])
    assert selectors.status(carol)["enabled"] is False


def test_confirming_an_enrolment_that_is_not_open_is_refused(carol, other_user):
    other_device = services.totp_begin(origin=SETUP, user=other_user)

    response = Browser.of(carol).call(
        "post", _url(carol.pk, "/totp/confirm"), {"device_id": other_device.pk, "code": "123456"}
    )

    assert_error(response, 422, fields=["device_id"])
    assert not AuthenticatorDevice.objects.filter(user=other_user, confirmed=True).exists()


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"device_id": 1, "code": "12\u00003456"}, ["code"]),
        ({"device_id": 1, "code": "1" * 100_000}, ["code"]),
        ({"device_id": 1, "code": 123456}, ["code"]),
        ({"device_id": "one", "code": "123456"}, ["device_id"]),
        ({"device_id": 10**30, "code": "123456"}, ["device_id"]),
        ({"code": "123456"}, ["device_id"]),
        ({"device_id": 1}, ["code"]),
    ],
)
def test_bad_confirmations_are_validation_errors(carol, body, fields):
    response = Browser.of(carol).call("post", _url(carol.pk, "/totp/confirm"), body)

    assert_error(response, 422, fields=fields)
    assert selectors.status(carol)["enabled"] is False


def test_a_token_cannot_enrol_an_app(carol):
    script = Script.of(carol)

    _refused_as_a_token(_begin(script, carol))
    _refused_as_a_token(script.call("post", _url(carol.pk, "/totp/confirm"), {"device_id": 1, "code": "123456"}))
    assert not AuthenticatorDevice.objects.filter(user=carol).exists()


def test_beginning_needs_a_recent_login_proof(carol):
    response = _begin(_stale(Browser.of(carol)), carol)

    assert_error(response, 403)
    assert not AuthenticatorDevice.objects.filter(user=carol).exists()


def test_another_users_app_is_enrolled_with_the_permission_only(carol, other_user):
    assert_error(_begin(Browser.of(carol), other_user), 403)

    response, _totp = _enrol(Browser.of(grant(UserFactory(), RESET)), other_user)

    assert response.status_code == 200
    assert selectors.status(other_user)["totp"] is True


def test_a_company_helpdesk_cannot_reach_beyond_their_scope(company_helpdesk):
    stranger = UserFactory(company=Company.objects.create(name="West"))
    boss = AdminFactory(company=company_helpdesk.company)
    browser = Browser.of(company_helpdesk)

    for target in (stranger, boss):
        turn_on_app(target)
        assert_error(_begin(browser, target), 404)
        assert_error(browser.call("post", _url(target.pk, "/recovery-codes"), {}), 404)
        assert_error(browser.call("post", _url(target.pk, "/disable"), {}), 404)
        assert selectors.status(target)["totp"] is True


# new recovery codes


def test_new_recovery_codes_replace_the_old_ones(carol):
    _totp, old = turn_on_app(carol)

    response = Browser.of(carol).call("post", _url(carol.pk, "/recovery-codes"), {})

    assert response.status_code == 201
    new = response.json()["recovery_codes"]
    assert len(new) == 10 and not set(new) & set(old)
    assert AuditEvent.objects.filter(action="mfa.recovery.regenerate").exists()


def test_recovery_codes_need_two_factor_on(carol):
    response = Browser.of(carol).call("post", _url(carol.pk, "/recovery-codes"), {})

    assert_error(response, 422, fields=["__all__"])


def test_a_token_cannot_make_recovery_codes(carol):
    turn_on_app(carol)

    _refused_as_a_token(Script.of(carol).call("post", _url(carol.pk, "/recovery-codes"), {}))


def test_recovery_codes_need_a_recent_login_proof(carol):
    turn_on_app(carol)

    assert_error(_stale(Browser.of(carol)).call("post", _url(carol.pk, "/recovery-codes"), {}), 403)


# turning two-factor off


def test_own_two_factor_is_turned_off_with_a_current_code(carol, clock):
    totp, _codes = turn_on_app(carol)
    clock.shift(30)  # the code that turned it on cannot be used again

    response = Browser.of(carol).call("post", _url(carol.pk, "/disable"), {"code": totp.now()})

    assert response.status_code == 204
    assert selectors.status(carol)["enabled"] is False


def test_own_two_factor_is_turned_off_with_a_token_and_the_password(carol):
    turn_on_app(carol)

    response = Script.of(carol).call("post", _url(carol.pk, "/disable"), {"password": DEFAULT_PASSWORD})

    assert response.status_code == 204
    assert selectors.status(carol)["enabled"] is False


@pytest.mark.parametrize("body", [{}, {"code": "000000"}, {"password": "Not-the-password-1"}])
def test_own_two_factor_needs_a_right_proof(carol, body):
    turn_on_app(carol)

    response = Browser.of(carol).call("post", _url(carol.pk, "/disable"), body)

    assert_error(response, 422, fields=["__all__"])
    assert selectors.status(carol)["enabled"] is True


@pytest.mark.parametrize(
    ("body", "fields"),
    [({"code": "\u0000"}, ["code"]), ({"password": ["x"]}, ["password"]), ({"code": 5}, ["code"]), ([], ["body"])],
)
def test_bad_proofs_are_validation_errors(carol, body, fields):
    turn_on_app(carol)

    assert_error(Browser.of(carol).call("post", _url(carol.pk, "/disable"), body), 422, fields=fields)


def test_another_users_two_factor_is_reset_with_the_permission(carol, other_user):
    turn_on_app(other_user)

    assert_error(Script.of(carol).call("post", _url(other_user.pk, "/disable"), {}), 403)
    response = Script.of(grant(UserFactory(username="helpdesk"), RESET)).call(
        "post", _url(other_user.pk, "/disable"), {}
    )

    assert response.status_code == 204
    assert selectors.status(other_user)["enabled"] is False
    event = AuditEvent.objects.get(action="mfa.disable")
    assert event.details["reason"] == "by helpdesk (lost device)"


def test_turning_off_needs_a_recent_login_proof_in_a_browser(carol):
    totp, _codes = turn_on_app(carol)

    assert_error(_stale(Browser.of(carol)).call("post", _url(carol.pk, "/disable"), {"code": totp.now()}), 403)
    assert selectors.status(carol)["enabled"] is True


# email codes on


def test_email_codes_are_turned_on_with_the_code_sent(carol, mailoutbox):
    browser = Browser.of(carol)

    begun = browser.call("post", _url(carol.pk, "/email"), {})
    body = {"device_id": begun.json()["device_id"], "code": mailed_code()}
    confirmed = browser.call("post", _url(carol.pk, "/email/confirm"), body)

    assert (begun.status_code, confirmed.status_code) == (202, 204)
    assert selectors.status(carol)["email"] is True


def test_a_second_email_within_a_minute_is_429_with_retry_after(carol, mailoutbox):
    browser = Browser.of(carol)
    browser.call("post", _url(carol.pk, "/email"), {})

    response = browser.call("post", _url(carol.pk, "/email"), {})

    assert_error(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert len(mailoutbox) == 1


def test_only_the_owner_turns_email_codes_on(other_user, mailoutbox):
    response = Browser.of(AdminFactory()).call("post", _url(other_user.pk, "/email"), {})

    assert_error(response, 403)
    assert response.json()["detail"] == selectors.EMAIL_OWNER_ONLY
    assert mailoutbox == []


def test_a_token_cannot_turn_email_codes_on(carol, mailoutbox):
    script = Script.of(carol)

    _refused_as_a_token(script.call("post", _url(carol.pk, "/email"), {}))
    _refused_as_a_token(script.call("post", _url(carol.pk, "/email/confirm"), {"device_id": 1, "code": "123456"}))
    assert mailoutbox == []


def test_a_wrong_emailed_code_leaves_email_codes_off(carol, mailoutbox):
    browser = Browser.of(carol)
    device_id = browser.call("post", _url(carol.pk, "/email"), {}).json()["device_id"]

    response = browser.call(
        "post", _url(carol.pk, "/email/confirm"), {"device_id": device_id, "code": wrong_code(mailed_code())}
    )

    assert_error(response, 422, fields=["code"])
    assert not EmailCodeDevice.objects.filter(user=carol, confirmed=True).exists()
