"""Rules that cut across apps, each kept in one place and reached by every caller.

- The data scope (organisation.scope): services acting on many users at once refuse rather than
  reach a user the actor cannot see (a superuser in a company under a company admin).
- The login guard (core.throttle.guarded_attempt): every check of a password or a code, including
  the current password on the password page and in the API, and turning two-factor off.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from accounts import services
from accounts.models import User
from core import throttle
from core.audit import Origin
from organisation import services as organisation_services
from organisation.models import Company
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import NEW_PASSWORD, events, grant, logged_in_client

pytestmark = pytest.mark.django_db

COMPANY_ADMIN = (
    "accounts.view_user",
    "accounts.change_user",
    "accounts.delete_user",
    "organisation.view_company",
    "organisation.delete_company",
)
WRONG = "Wrong-guess-99"


@pytest.fixture
def east(db):
    return Company.objects.create(name="East")


@pytest.fixture
def east_admin(east):
    return grant(UserFactory(username="eve", company=east), *COMPANY_ADMIN)


@pytest.fixture
def hidden_superuser(east):
    """A superuser placed in East: its company admin cannot see it, so may not touch it."""
    return AdminFactory(username="root2", company=east)


# The data scope in bulk services


def test_whole_company_expiry_refuses_when_the_company_holds_a_superuser(east_admin, hidden_superuser):
    colleague = UserFactory(username="ed", company=east_admin.company)

    with pytest.raises(ValidationError) as refused:
        services.user_set_expiry(origin=Origin(actor=east_admin), user=colleague, expires_at=None, whole_company=True)

    assert "1 account you cannot manage: root2." in refused.value.message_dict["expires_at"][0]
    hidden_superuser.refresh_from_db()
    assert hidden_superuser.expires_at is None


def test_whole_company_expiry_page_shows_the_refusal_and_changes_nothing(east_admin, hidden_superuser):
    colleague = UserFactory(username="ed", company=east_admin.company)
    browser = logged_in_client(east_admin)

    response = browser.post(
        f"/users/{colleague.pk}/expiry/",
        {"expires_at": "2099-01-01T00:00", "whole_company": "on", "confirmed": "1"},
    )

    assert response.status_code == 400
    assert "you cannot manage" in response.content.decode()
    assert not User.objects.filter(expires_at__isnull=False).exists()


def test_the_operator_may_expire_a_whole_company_with_its_superuser(east_admin, hidden_superuser):
    AdminFactory(username="lasting")  # a user manager who never expires remains (organisation.services)
    moment = timezone.now() + datetime.timedelta(days=30)

    changed = services.user_set_expiry(
        origin=Origin.command("user"), user=east_admin, expires_at=moment, whole_company=True
    )

    assert changed == 2
    hidden_superuser.refresh_from_db()
    assert hidden_superuser.expires_at == moment


def test_company_cascade_refuses_when_it_would_delete_a_superuser(east_admin, hidden_superuser):
    sub = Company.objects.create(name="East-Sub", parent=east_admin.company)
    other = grant(UserFactory(username="sam", company=sub), "accounts.view_user")
    AdminFactory(username="root3", company=sub)
    origin = Origin(actor=east_admin)

    with pytest.raises(organisation_services.CompanyNotEmpty, match="1 account you cannot manage"):
        organisation_services.company_delete(origin=origin, company=sub, cascade=True)

    assert User.objects.filter(pk=other.pk).exists()
    assert Company.objects.filter(pk=sub.pk).exists()


def test_company_cascade_page_shows_the_refusal(east_admin):
    sub = Company.objects.create(name="East-Sub", parent=east_admin.company)
    AdminFactory(username="root3", company=sub)
    browser = logged_in_client(east_admin)

    response = browser.post(f"/companies/{sub.pk}/delete/", {"cascade": "on"})

    assert response.status_code == 409
    assert "you cannot manage" in response.content.decode()
    assert Company.objects.filter(pk=sub.pk).exists()


def test_deleting_a_user_refuses_to_take_a_superuser_sub_user_along(east_admin):
    parent = UserFactory(username="ed", company=east_admin.company)
    AdminFactory(username="root4", company=east_admin.company, parent=parent)

    with pytest.raises(PermissionDenied):
        services.user_delete(origin=Origin(actor=east_admin), user=parent)

    assert User.objects.filter(pk=parent.pk).exists()


def test_deleting_a_user_with_a_superuser_sub_user_is_forbidden_in_the_api(east_admin):
    parent = UserFactory(username="ed", company=east_admin.company)
    AdminFactory(username="root4", company=east_admin.company, parent=parent)

    response = Script.of(east_admin).call("delete", f"/api/users/{parent.pk}")

    assert_error(response, 403)
    assert User.objects.filter(pk=parent.pk).exists()


# The login guard on every password and code check


def test_current_password_guesses_on_the_page_lock_the_account(plain_user):
    browser = logged_in_client(plain_user)
    for _ in range(throttle.ACCOUNT_GUARD.lock_after):
        browser.post(f"/users/{plain_user.pk}/password/", {"current_password": WRONG, "password": NEW_PASSWORD})

    response = browser.post(
        f"/users/{plain_user.pk}/password/", {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD}
    )

    assert response.status_code == 400
    assert "Too many failed attempts" in response.content.decode()
    assert User.objects.get(pk=plain_user.pk).check_password(DEFAULT_PASSWORD)


def test_current_password_guesses_in_the_api_are_answered_429_once_locked(plain_user):
    script = Browser.of(plain_user)  # a password changes through the API from a browser session only
    path = f"/api/users/{plain_user.pk}/password"
    statuses = [
        script.call("put", path, {"current_password": WRONG, "password": NEW_PASSWORD}).status_code
        for _ in range(throttle.ACCOUNT_GUARD.lock_after + 1)
    ]

    right = script.call("put", path, {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD})

    assert statuses[: throttle.ACCOUNT_GUARD.free_failures] == [422] * throttle.ACCOUNT_GUARD.free_failures
    assert statuses[-1] == 429
    assert_error(right, 429)
    assert int(right["Retry-After"]) > 0
    assert User.objects.get(pk=plain_user.pk).check_password(DEFAULT_PASSWORD)


def test_a_throttled_current_password_check_is_audited_without_running_the_hash(plain_user):
    origin = Origin(actor=plain_user, ip="192.0.2.7")
    for _ in range(throttle.ACCOUNT_GUARD.lock_after):
        with pytest.raises(ValidationError):
            services.user_change_own_password(
                origin=origin, user=plain_user, current_password=WRONG, new_password=NEW_PASSWORD, session_key=None
            )

    with pytest.raises(throttle.Throttled):
        services.user_change_own_password(
            origin=origin,
            user=plain_user,
            current_password=DEFAULT_PASSWORD,
            new_password=NEW_PASSWORD,
            session_key=None,
        )

    refusals = [event for event in events("user.password_change") if event.details.get("reason") == "throttled"]
    assert refusals and all(event.target_id == str(plain_user.pk) for event in refusals)


def test_password_guesses_to_turn_two_factor_off_count_toward_the_lockout(plain_user):
    from mfa import services as mfa_services

    origin = Origin(actor=plain_user, ip="192.0.2.8")
    for _ in range(throttle.ACCOUNT_GUARD.lock_after):
        with pytest.raises(ValidationError):
            mfa_services.two_factor_disable_own(origin=origin, user=plain_user, password=WRONG)

    with pytest.raises(throttle.Throttled):
        mfa_services.two_factor_disable_own(origin=origin, user=plain_user, password=DEFAULT_PASSWORD)
