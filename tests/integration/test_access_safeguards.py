"""What no non-superuser or access change may do: manage a superuser, or take away the last user manager."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts import services
from core.audit import Origin
from core.models import AuditEvent
from organisation import selectors as organisation_selectors
from organisation import services as organisation_services
from organisation.models import Company
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.integration.api_script import Browser, Script, assert_error
from tests.integration.conftest import grant, logged_in_client

pytestmark = pytest.mark.django_db

OPERATOR = Origin.command("pytest")


@pytest.fixture
def later():
    return (timezone.now() + timedelta(days=30)).replace(second=0, microsecond=0)


def test_a_company_admin_cannot_reach_a_superuser_of_their_company():
    east = Company.objects.create(name="East")
    admin = grant(UserFactory(company=east), "accounts.view_user", "accounts.change_user")
    boss = AdminFactory(company=east)
    browser = logged_in_client(admin)

    assert boss.username not in browser.get("/users/").content.decode()
    assert browser.get(f"/users/{boss.pk}/password/").status_code == 404
    assert browser.get(f"/users/{boss.pk}/access/").status_code == 404


def test_taking_change_user_from_the_last_manager_is_refused_and_changes_nothing():
    manager = grant(UserFactory(), "accounts.change_user")

    with pytest.raises(services.LastUserError):
        organisation_services.user_set_access(origin=OPERATOR, user=manager, roles=[], permissions=[])

    assert manager.has_perm("accounts.change_user")


def test_deleting_the_role_of_the_last_manager_is_refused_and_keeps_the_role():
    managers = Group.objects.create(name="Managers")
    managers.permissions.add(*organisation_selectors.permissions_named({"accounts.change_user"}))
    UserFactory().groups.add(managers)

    with pytest.raises(services.LastUserError):
        organisation_services.role_delete(origin=OPERATOR, role=managers)

    assert Group.objects.filter(name="Managers").exists()


def test_the_role_delete_page_explains_the_refusal(admin_client, admin_user):
    admin_user.is_superuser = False
    admin_user.save()
    managers = Group.objects.create(name="Managers")
    wanted = {"accounts.change_user", "auth.delete_group", "auth.view_group"}
    managers.permissions.add(*organisation_selectors.permissions_named(wanted))
    admin_user.groups.add(managers)

    response = admin_client.post(f"/roles/{managers.pk}/delete/")

    assert response.status_code == 409
    assert "no user able to manage users" in response.content.decode()


def test_a_company_admin_renames_their_own_company():
    root = Company.objects.create(name="Root")
    east = Company.objects.create(name="East", parent=root)
    admin = grant(UserFactory(company=east), "organisation.view_company", "organisation.change_company")

    response = logged_in_client(admin).post(f"/companies/{east.pk}/edit/", {"name": "East Coast", "parent": ""})

    east.refresh_from_db()
    assert response.status_code == 302, response.content
    assert (east.name, east.parent) == ("East Coast", root)


def test_staff_without_a_company_cannot_take_over_a_superuser(admin_user):
    staff = grant(UserFactory(), "accounts.view_user", "accounts.change_user", "accounts.delete_user")
    browser = logged_in_client(staff)

    assert admin_user.username not in browser.get("/users/").content.decode()
    assert browser.get(f"/users/{admin_user.pk}/password/").status_code == 404
    assert browser.post(f"/users/{admin_user.pk}/delete/").status_code == 404
    assert admin_user.check_password(DEFAULT_PASSWORD)


def test_staff_api_token_cannot_reach_a_superuser(admin_user):
    staff = grant(UserFactory(), "accounts.view_user", "accounts.change_user")
    script = Script.of(staff)

    assert_error(script.call("get", f"/api/users/{admin_user.pk}"), 404)
    # A password changes through the API from a browser session only (a token is refused outright).
    browser = Browser.of(staff)
    assert_error(browser.call("put", f"/api/users/{admin_user.pk}/password", {"password": "Fresh-river-77"}), 404)


def test_a_superuser_still_manages_another_superuser(admin_client):
    other = AdminFactory()

    assert admin_client.get(f"/users/{other.pk}/password/").status_code == 200


# Expiry: a user manager whose account never expires must remain, where one did. Otherwise the panel
# would run unmanaged from that moment on, with nobody left to notice.


def _expiry_refusals():
    return AuditEvent.objects.filter(action="user.expiry", outcome="failure")


def test_setting_an_expiry_on_the_last_lasting_manager_is_refused_and_audited(later):
    manager = grant(UserFactory(), "accounts.change_user")
    AdminFactory(expires_at=later)  # a manager, but one who expires too

    with pytest.raises(services.LastUserError, match="expiry date"):
        services.user_set_expiry(origin=OPERATOR, user=manager, expires_at=later)

    manager.refresh_from_db()
    assert manager.expires_at is None
    assert list(_expiry_refusals().values_list("target_id", "details__reason")) == [
        (str(manager.pk), "no lasting manager")
    ]


def test_a_panel_whose_managers_all_expire_already_may_set_more_expiries(later):
    AdminFactory(expires_at=later)
    manager = grant(UserFactory(expires_at=later), "accounts.change_user")

    services.user_set_expiry(origin=OPERATOR, user=manager, expires_at=later - timedelta(days=1))

    manager.refresh_from_db()
    assert manager.expires_at == later - timedelta(days=1)


def test_the_expiry_page_explains_the_refusal(admin_client, admin_user, later):
    other = AdminFactory(username="other")

    response = admin_client.post(f"/users/{other.pk}/expiry/", {"expires_at": later.strftime("%Y-%m-%dT%H:%M")})
    assert response.status_code == 302  # admin_user remains, never expiring
    response = logged_in_client(other).post(
        f"/users/{admin_user.pk}/expiry/", {"expires_at": later.strftime("%Y-%m-%dT%H:%M")}
    )

    assert response.status_code == 400
    assert str(services.LastUserError.messages["no lasting manager"]) in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.expires_at is None
    assert _expiry_refusals().count() == 1


def test_the_api_answers_409_and_keeps_the_refusal_event(admin_user, later):
    other = AdminFactory(username="other")
    services.user_set_expiry(origin=OPERATOR, user=other, expires_at=later)

    response = Script.of(other).call("patch", f"/api/users/{admin_user.pk}", {"expires_at": later.isoformat()})

    assert_error(response, 409)
    assert response.json()["detail"] == services.LastUserError.messages["no lasting manager"]
    assert _expiry_refusals().count() == 1
