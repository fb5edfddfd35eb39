"""Each factory builds a valid, saved object that the app's own code accepts."""

import json
from datetime import timedelta

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from core import crypto
from mfa import selectors as mfa_selectors
from mfa import services as mfa_services
from organisation import scope
from organisation.models import Role
from passkeys import selectors as passkey_selectors
from passkeys import services as passkey_services
from tests.factories import (
    AccessTokenFactory,
    AuthenticatorDeviceFactory,
    CompanyFactory,
    EmailCodeDeviceFactory,
    PasskeyFactory,
    RecoveryCodeDeviceFactory,
    RoleFactory,
    UserFactory,
    UserHandleFactory,
    UserSessionFactory,
)
from tests.helpers import SETUP
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import TEST_RP, session_exists
from tokens.models import AccessToken
from usersessions import selectors as session_selectors

pytestmark = pytest.mark.django_db


def test_company_factory_makes_a_subsidiary_inside_its_parents_scope():
    parent = CompanyFactory()
    child = CompanyFactory(parent=parent)

    assert child.pk and child.parent == parent
    assert scope.subtree_ids(parent.pk) == {parent.pk, child.pk}


def test_role_factory_makes_the_group_its_role_and_its_permissions():
    company = CompanyFactory()
    role = RoleFactory(company=company, group__name="Helpdesk", permissions=["accounts.view_user"])
    user = UserFactory()
    user.groups.add(role.group)

    assert Role.objects.get(group__name="Helpdesk") == role
    assert role.company == company
    assert type(user).objects.get(pk=user.pk).has_perm("accounts.view_user")


def test_access_token_factory_stores_the_secret_encrypted_and_authenticates_a_bearer_request():
    user = UserFactory()
    grant_api_module(user)
    token = AccessTokenFactory(user=user, ip_allowlist=["192.0.2.0/24"])

    stored = AccessToken.objects.get(pk=token.pk)
    assert token.secret not in stored.encrypted_secret
    assert crypto.decrypt(stored.encrypted_secret) == token.secret
    assert token.bearer == f"pnl_{token.pk}_{token.secret}"
    response = Client(REMOTE_ADDR="192.0.2.7").get("/api/user/info", HTTP_AUTHORIZATION=f"Bearer {token.bearer}")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == user.username


def test_access_token_factory_can_make_an_expired_token_that_is_refused():
    user = UserFactory()
    grant_api_module(user)
    token = AccessTokenFactory(user=user, expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().get("/api/user/info", HTTP_AUTHORIZATION=f"Bearer {token.bearer}")

    assert token.is_expired
    assert response.status_code == 401
    assert response.json()["detail"] == "token expired"


def test_passkey_factory_makes_a_passkey_that_logs_its_user_in():
    user = UserFactory()
    passkey = PasskeyFactory(user=user, name="Laptop")

    options = json.loads(passkey_services.login_options(rp=TEST_RP))
    credential = passkey.authenticator.login(options)

    assert list(passkey_selectors.passkeys_of(owner=user)) == [passkey]
    assert passkey_services.passkey_authenticate(origin=SETUP, rp=TEST_RP, credential=credential) == user


def test_user_handle_factory_keeps_one_handle_per_user():
    handle = UserHandleFactory()

    assert len(bytes(handle.handle)) == 64
    assert UserHandleFactory(user=handle.user) == handle
    assert PasskeyFactory(user=handle.user).user.passkey_handle == handle


def test_authenticator_device_factory_verifies_the_code_of_its_known_key():
    device = AuthenticatorDeviceFactory()

    assert mfa_selectors.status(device.user)["totp"]
    assert mfa_services.verify_login_code(origin=SETUP, user=device.user, method="totp", code=device.totp.now()) is None
    assert not device.verify_token(device.totp.now())  # a code is accepted once


def test_recovery_code_device_factory_stores_hashed_codes_that_work_once():
    device = RecoveryCodeDeviceFactory(plain_codes=["abcd-efgh-jkmn-pqrs", "tuvw-xyz2-3456-789a"])

    assert mfa_selectors.status(device.user)["recovery_codes_left"] == 2
    assert not device.codes.filter(code_hash__contains="abcd").exists()
    assert device.verify_token("ABCD EFGH JKMN PQRS")
    assert not device.verify_token("abcd-efgh-jkmn-pqrs")
    assert len(RecoveryCodeDeviceFactory().plain_codes) == 10


def test_email_code_device_factory_turns_email_codes_on(mailoutbox):
    device = EmailCodeDeviceFactory()

    assert mfa_selectors.login_methods(device.user) == ["email"]
    mfa_services.email_code_send(origin=SETUP, user=device.user)
    assert mailoutbox[-1].to == [device.user.email]


def test_user_session_factory_makes_an_active_logged_in_session():
    session = UserSessionFactory()

    assert list(session_selectors.active_sessions(owner=session.user)) == [session]
    assert session_exists(session.session_key)
    browser = Client()
    browser.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    response = browser.get("/account/")
    assert response.status_code == 200
    assert response.context["user"] == session.user
