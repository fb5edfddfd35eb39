"""Single-use codes and recovery-code sets under two requests at the same moment.

- A recovery code or an emailed login code sent by two logins at once lets one in: the device's row
  is locked while the code is checked and spent (mfa.models.LockedVerificationMixin).
- Two "make new recovery codes" at once leave one set, the one the later request showed:
  mfa.services locks the user's row before it replaces the set.

Only a database with row locks shows this: PostgreSQL.
"""

from functools import partial

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from core.audit import Origin
from mfa import services as mfa_services
from mfa.models import RecoveryCode, RecoveryCodeDevice
from tests.factories import AuthenticatorDeviceFactory, EmailCodeDeviceFactory, RecoveryCodeDeviceFactory, UserFactory
from tests.helpers import SETUP, at_the_same_moment, turn_on_app
from tests.integration.conftest import events, is_logged_in, mailed_code, post_login

ROUNDS = 10
METHODS = ("recovery", "email")

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("postgresql_only")]


def _user_and_code(method):
    """A user who logs in with a second factor, and one valid ``method`` code of theirs."""
    user = UserFactory()
    if method == "recovery":
        AuthenticatorDeviceFactory(user=user)
        return user, RecoveryCodeDeviceFactory(user=user).plain_codes[0]
    EmailCodeDeviceFactory(user=user)
    mfa_services.email_code_send(origin=SETUP, user=user)
    return user, mailed_code()


def _audit_action(method):
    return "mfa.recovery.use" if method == "recovery" else "mfa.verify"


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("method", METHODS)
def test_a_code_checked_twice_at_the_same_moment_passes_once(method, round_):
    user, code = _user_and_code(method)
    checks = [
        partial(
            mfa_services.verify_login_code,
            origin=Origin(ip="192.0.2.1", user_agent=f"login {number}"),
            user=user,
            method=method,
            code=code,
        )
        for number in range(2)
    ]

    outcomes = at_the_same_moment(*checks)

    assert outcomes.count(None) == 1, outcomes
    assert [type(outcome) for outcome in outcomes if outcome is not None] == [ValidationError], outcomes
    assert sorted(event.outcome for event in events(_audit_action(method))) == ["failure", "success"]


@pytest.mark.parametrize("round_", range(ROUNDS))
@pytest.mark.parametrize("method", METHODS)
def test_a_code_sent_by_two_logins_at_the_same_moment_lets_one_in(method, round_):
    user, code = _user_and_code(method)
    browsers = [Client(), Client()]
    for browser in browsers:
        assert post_login(browser, user.username).status_code == 302  # on to the second step

    def send_code(browser):
        return browser.post("/login/verify/", {"method": method, "code": code})

    responses = at_the_same_moment(*(partial(send_code, browser) for browser in browsers))

    assert sorted(response.status_code for response in responses) == [302, 400], responses
    assert [is_logged_in(browser, user) for browser in browsers].count(True) == 1
    if method == "recovery":
        assert RecoveryCode.objects.filter(device__user=user).count() == 9


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_two_new_sets_of_recovery_codes_at_the_same_moment_leave_the_later_one(round_):
    user = UserFactory()
    turn_on_app(user)
    origins = [Origin(ip="192.0.2.1", user_agent=f"request {number}") for number in range(2)]

    outcomes = at_the_same_moment(
        *(partial(mfa_services.recovery_codes_regenerate, origin=origin, user=user) for origin in origins)
    )

    assert all(isinstance(codes, list) for codes in outcomes), outcomes
    (device,) = RecoveryCodeDevice.objects.filter(user=user)
    # The requests ran one after the other: the later one wrote its event after the earlier one committed.
    first, later = events("mfa.recovery.regenerate")
    assert {first.user_agent, later.user_agent} == {origin.user_agent for origin in origins}
    later_codes = outcomes[[origin.user_agent for origin in origins].index(later.user_agent)]
    earlier_codes = outcomes[[origin.user_agent for origin in origins].index(first.user_agent)]
    assert not [code for code in earlier_codes if device.check_unlocked(code) is not None]
    for code in later_codes:
        mfa_services.verify_login_code(origin=SETUP, user=user, method="recovery", code=code)
