"""The Enabled switch: a disabled account cannot log in by any means, its sessions end, its tokens are refused.

Keycloak's "Enabled": a way to stop an account without deleting it or inventing an expiry. Nobody
disables their own account, the power rule decides who may disable whom, and someone able to manage
users (for good) must remain.
"""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone

from accounts import services
from accounts.models import User
from core.audit import Origin
from organisation.models import Company
from tests.factories import DEFAULT_PASSWORD, AdminFactory, UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import events, grant, is_logged_in, logged_in_client, page_text, post_login

pytestmark = pytest.mark.django_db

OPERATOR = Origin.command("pytest")


def _switch(browser, user, enabled, **headers):
    return browser.post(f"/users/{user.pk}/enabled/", {"enabled": "true" if enabled else "false"}, **headers)


# The service


def test_disabling_ends_the_sessions_and_is_audited(admin_user):
    user = UserFactory()
    browser = logged_in_client(user)

    assert services.user_set_enabled(origin=Origin(actor=admin_user), user=user, enabled=False) is True

    assert not User.objects.get(pk=user.pk).is_active
    response = browser.get("/account/", follow=True)
    assert not is_logged_in(browser, user)
    assert services.DISABLED in page_text(response)
    [event] = events("user.disable")
    assert (event.actor_id, event.target_id, event.details["sessions_ended"]) == (admin_user.pk, str(user.pk), 1)


def test_enabling_again_lets_the_user_log_in(admin_user):
    user = UserFactory(is_active=False)

    assert services.user_set_enabled(origin=Origin(actor=admin_user), user=user, enabled=True) is True

    browser = Client()
    post_login(browser, user.username, DEFAULT_PASSWORD)
    assert is_logged_in(browser, user)
    assert len(events("user.enable")) == 1


def test_switching_to_what_it_already_is_changes_and_records_nothing(admin_user):
    user = UserFactory()

    assert services.user_set_enabled(origin=Origin(actor=admin_user), user=user, enabled=True) is False

    assert events("user.enable") == []


def test_nobody_disables_their_own_account_not_even_a_superuser(admin_user):
    with pytest.raises(PermissionDenied, match="your own account"):
        services.user_set_enabled(origin=Origin(actor=admin_user), user=admin_user, enabled=False)

    assert User.objects.get(pk=admin_user.pk).is_active


def test_disabling_the_last_manager_that_never_expires_is_refused_and_audited():
    manager = grant(UserFactory(), "accounts.change_user")
    grant(UserFactory(expires_at=timezone.now() + timedelta(days=3)), "accounts.change_user")

    with pytest.raises(services.LastUserError, match="expiry date"):
        services.user_set_enabled(origin=OPERATOR, user=manager, enabled=False)

    assert User.objects.get(pk=manager.pk).is_active
    assert [event.outcome for event in events("user.disable")] == ["failure"]


def test_disabling_the_only_manager_is_refused():
    manager = grant(UserFactory(), "accounts.change_user")
    UserFactory()

    with pytest.raises(services.LastUserError, match="no user able to manage users"):
        services.user_set_enabled(origin=OPERATOR, user=manager, enabled=False)


# A disabled account cannot log in by any means


def test_a_disabled_user_cannot_log_in_with_a_password():
    user = UserFactory(is_active=False)
    browser = Client()

    response = post_login(browser, user.username, DEFAULT_PASSWORD)

    # The same answer as a wrong password (Django's ModelBackend): the page tells nobody the account exists.
    assert "Incorrect username or password." in page_text(response)
    assert not is_logged_in(browser, user)


def test_the_tokens_of_a_disabled_user_are_refused(admin_user):
    owner = grant(UserFactory(), "accounts.view_user")
    script = Script.of(owner)
    assert script.whoami().status_code == 200

    services.user_set_enabled(origin=Origin(actor=admin_user), user=owner, enabled=False)

    assert_error(script.whoami(), 401)


# The page: the switch in the user list


def test_the_user_list_shows_a_switch_per_user_but_not_for_oneself(admin_client, admin_user):
    other = UserFactory(username="other")

    content = admin_client.get("/users/").content.decode()

    assert f'action="/users/{other.pk}/enabled/"' in content
    assert f'action="/users/{admin_user.pk}/enabled/"' not in content
    assert 'role="switch" aria-checked="true" aria-label="Account of other enabled"' in content


def test_the_switch_without_javascript_redirects_with_a_message(admin_client):
    other = UserFactory(username="other")

    response = _switch(admin_client, other, False, follow=True)

    assert "The account of other is disabled." in page_text(response)
    assert not User.objects.get(pk=other.pk).is_active


def test_the_switch_with_htmx_answers_the_switch_turned(admin_client):
    other = UserFactory(username="other")

    response = _switch(admin_client, other, False, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert 'aria-checked="false"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_a_refusal_with_htmx_comes_back_in_the_switch():
    expiring = grant(
        UserFactory(expires_at=timezone.now() + timedelta(days=3)), "accounts.view_user", "accounts.change_user"
    )
    lasting = grant(UserFactory(username="lasting"), "accounts.view_user", "accounts.change_user")

    response = _switch(logged_in_client(expiring), lasting, False, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert str(services.LastUserError.messages["no lasting manager"]) in response.content.decode()
    assert User.objects.get(pk=lasting.pk).is_active


@pytest.mark.parametrize("value", ["", "yes", "0", "False", "true\x00", "x" * 5000])
def test_anything_but_true_or_false_is_a_400_and_changes_nothing(admin_client, value):
    other = UserFactory()

    response = admin_client.post(f"/users/{other.pk}/enabled/", {"enabled": value})

    assert response.status_code == 400
    assert User.objects.get(pk=other.pk).is_active


def test_the_switch_refuses_get(admin_client):
    other = UserFactory()

    assert admin_client.get(f"/users/{other.pk}/enabled/").status_code == 405


def test_a_user_without_change_user_cannot_switch(admin_user):
    viewer = grant(UserFactory(), "accounts.view_user")
    other = UserFactory()

    assert _switch(logged_in_client(viewer), other, False).status_code == 403
    assert User.objects.get(pk=other.pk).is_active


# A semi-trusted company admin, by page and by API


@pytest.fixture
def company_admin():
    east = Company.objects.create(name="East")
    return grant(UserFactory(company=east), "accounts.view_user", "accounts.change_user", "accounts.use_api")


def test_a_company_admin_cannot_disable_a_superuser_or_another_company(company_admin):
    boss = AdminFactory(company=company_admin.company)
    stranger = UserFactory(company=Company.objects.create(name="West"))
    browser, script = logged_in_client(company_admin), Script.of(company_admin)

    for target in (boss, stranger):
        assert _switch(browser, target, False).status_code == 404
        assert_error(script.call("patch", f"/api/users/{target.pk}", {"is_active": False}), 404)
        assert User.objects.get(pk=target.pk).is_active


def test_a_company_admin_cannot_disable_someone_holding_more_than_they_do(company_admin):
    stronger = grant(UserFactory(company=company_admin.company), "accounts.change_user", "accounts.delete_user")

    with pytest.raises(PermissionDenied):
        services.user_set_enabled(origin=Origin(actor=company_admin), user=stronger, enabled=False)


# The API


def test_the_api_disables_and_enables(admin_user):
    other = UserFactory()
    script = Script.of(admin_user)

    response = script.call("patch", f"/api/users/{other.pk}", {"is_active": False})

    assert response.status_code == 200 and response.json()["is_active"] is False
    assert script.call("patch", f"/api/users/{other.pk}", {"is_active": True}).json()["is_active"] is True


def test_the_api_leaves_it_alone_when_null_or_omitted(admin_user):
    other = UserFactory()
    script = Script.of(admin_user)

    script.call("patch", f"/api/users/{other.pk}", {"is_active": None})
    script.call("patch", f"/api/users/{other.pk}", {"username": "renamed"})

    assert User.objects.get(pk=other.pk).is_active


def test_the_api_refuses_disabling_yourself_with_403(admin_user):
    response = Script.of(admin_user).call("patch", f"/api/users/{admin_user.pk}", {"is_active": False})

    assert_error(response, 403)


def test_the_api_answers_409_for_the_last_manager_and_keeps_the_refusal_event():
    expiring = grant(UserFactory(expires_at=timezone.now() + timedelta(days=3)), "accounts.change_user")
    lasting = grant(UserFactory(), "accounts.change_user")

    response = Script.of(expiring).call("patch", f"/api/users/{lasting.pk}", {"is_active": False})

    assert_error(response, 409)
    assert [event.outcome for event in events("user.disable")] == ["failure"]


@pytest.mark.parametrize("value", ["maybe", 2, [], {}])
def test_the_api_refuses_a_value_that_is_not_a_boolean(admin_user, value):
    other = UserFactory()

    response = Script.of(admin_user).call("patch", f"/api/users/{other.pk}", {"is_active": value})

    assert response.status_code == 422
    assert User.objects.get(pk=other.pk).is_active
