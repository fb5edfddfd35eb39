"""The security review's findings, each replayed through the page or endpoint that was attacked.

Findings 4, 5, 7 and 8 have files of their own (test_lockout_safeguards.py, test_rules_in_one_place.py,
test_token_safeguards.py, test_secrets_at_rest.py); the power rule for every combination is in
test_power_rule.py and sudo mode in test_reauth.py.
"""

import datetime

import pytest
import time_machine
from django.conf import settings

from accounts.models import User
from organisation.models import Company
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import NEW_PASSWORD, grant, logged_in_client
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

COMPANY_ADMIN = (
    "accounts.view_user",
    "accounts.add_user",
    "accounts.change_user",
    "tokens.manage_others_tokens",
    "tokens.create_others_tokens",
    "organisation.view_company",
    "organisation.delete_company",
)


@pytest.fixture
def acme(db):
    return Company.objects.create(name="Acme")


@pytest.fixture
def scoped_admin(acme):
    return grant(UserFactory(username="scoped", company=acme), *COMPANY_ADMIN, "accounts.use_api")


@pytest.fixture
def colleague(acme):
    """More powerful than the scoped admin: may delete users and read the audit log."""
    return grant(
        UserFactory(username="senior", company=acme),
        "accounts.view_user",
        "accounts.delete_user",
        "core.view_auditevent",
        "accounts.use_api",
    )


# 1. A company admin expired or cascade-deleted a superuser placed in a company under it.


def test_finding_1_whole_company_expiry_does_not_reach_a_superuser(scoped_admin, acme):
    root = AdminFactory(username="root2", company=acme)
    browser = logged_in_client(scoped_admin)
    ordinary = UserFactory(username="ed", company=acme)

    response = browser.post(
        f"/users/{ordinary.pk}/expiry/", {"expires_at": "2099-01-01T00:00", "whole_company": "on", "confirmed": "1"}
    )

    assert response.status_code == 400
    root.refresh_from_db()
    assert root.expires_at is None


def test_finding_1_company_cascade_does_not_delete_a_superuser(scoped_admin, acme):
    sub = Company.objects.create(name="Acme-Sub", parent=acme)
    root = AdminFactory(username="root2", company=sub)

    response = logged_in_client(scoped_admin).post(f"/companies/{sub.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 409
    assert User.objects.filter(pk=root.pk).exists()


# 2. A scoped admin took over a more privileged colleague: a 10-year token for them, or their password.


def test_finding_2_no_token_for_a_more_powerful_colleague(scoped_admin, colleague):
    response = Browser.of(scoped_admin).call("post", f"/api/users/{colleague.pk}/tokens", {"long_term": True})

    assert_error(response, 404)
    assert not AccessToken.objects.filter(user=colleague).exists()


def test_finding_2_no_password_for_a_more_powerful_colleague(scoped_admin, colleague):
    browser = logged_in_client(scoped_admin)

    page = browser.post(f"/users/{colleague.pk}/password/", {"password": NEW_PASSWORD})
    api = Browser.of(scoped_admin).call("put", f"/api/users/{colleague.pk}/password", {"password": NEW_PASSWORD})

    assert page.status_code == 404
    assert_error(api, 404)
    assert User.objects.get(pk=colleague.pk).check_password(DEFAULT_PASSWORD)


# 3. A stolen session planted a lasting backdoor: a token and a passkey that outlived a password change.


def test_finding_3_a_stolen_old_session_cannot_mint_a_token_or_start_a_passkey(scoped_admin):
    start = datetime.datetime(2026, 6, 1, 9, 0, tzinfo=datetime.UTC)
    with time_machine.travel(start, tick=False) as clock:
        stolen = logged_in_client(scoped_admin)  # the victim's cookie, replayed by the attacker
        clock.shift(settings.PANEL_REAUTH_SECONDS + 1)

        token = stolen.post(
            f"/api/users/{scoped_admin.pk}/tokens", {"long_term": True}, content_type="application/json"
        )
        passkey = stolen.post("/passkeys/register/options/", {"name": "Attacker"}, HTTP_HOST="localhost")

    assert_error(token, 403)
    assert passkey.status_code == 403
    assert not AccessToken.objects.exists()


# 6. A delegated admin lifted its own account expiry.


def test_finding_6_nobody_lifts_their_own_expiry(scoped_admin):
    User.objects.filter(pk=scoped_admin.pk).update(expires_at=datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC))
    browser = logged_in_client(scoped_admin)

    page = browser.post(f"/users/{scoped_admin.pk}/expiry/", {"expires_at": ""})
    api = Browser.of(scoped_admin).call("patch", f"/api/users/{scoped_admin.pk}", {"expires_at": None})
    script = Script.of(scoped_admin).call("patch", f"/api/users/{scoped_admin.pk}", {"expires_at": None})

    assert page.status_code == 403
    assert_error(api, 403)
    assert_error(script, 403)
    assert User.objects.get(pk=scoped_admin.pk).expires_at is not None
