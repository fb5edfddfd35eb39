"""Quick actions (create user, change password, create and modify token, move, expiry, every delete confirmation)
open as dialogs over their list, and as plain pages without JavaScript.

One view answers both: htmx gets the form alone (the shared dialog's content), a plain request the
whole page; a successful htmx POST answers HX-Redirect back to the list (whose page shows the flash
message), a refused one the form again with its errors (as 200: htmx swaps 2xx answers only).
"""

import datetime

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.models import User
from organisation.models import Company
from passkeys.models import Passkey
from tests.factories import (
    DEFAULT_PASSWORD,
    AccessTokenFactory,
    CompanyFactory,
    PasskeyFactory,
    RoleFactory,
    UserFactory,
)
from tests.integration.conftest import NEW_PASSWORD, messages_of
from tokens.models import AccessToken

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true", "HX-Current-URL": "http://testserver/users/"}
IN_A_MONTH = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=30)).strftime("%Y-%m-%d %H:%M")


@pytest.fixture
def things(admin_user):
    """One of everything a quick action works on."""
    carol = UserFactory(username="carol")
    return {
        "carol": carol,
        "token": AccessTokenFactory(user=admin_user),
        "passkey": PasskeyFactory(user=admin_user),
        "role": RoleFactory(group__name="Viewers"),
        "company": CompanyFactory(name="Acme"),
    }


# (the page, the heading it opens with, where success goes back to): {placeholders} come from ``things``
ACTIONS = [
    ("/users/new/", "Create User", "/users/"),
    ("/users/{carol}/password/", "Change the password of carol", "/users/"),
    ("/users/{carol}/delete/", "Delete user carol?", "/users/"),
    ("/users/{carol}/expiry/", "Account expiry of carol", "/users/"),
    ("/users/{carol}/company/", "Move carol to another company", "/users/"),
    ("/users/{admin}/tokens/new/", "Create Token", "/users/{admin}/tokens/"),
    ("/users/{admin}/tokens/{token}/edit/", "Modify token {token}", "/users/{admin}/tokens/"),
    ("/users/{admin}/tokens/{token}/delete/", "Delete token {token}?", "/users/{admin}/tokens/"),
    ("/users/{admin}/passkeys/{passkey}/delete/", "Delete passkey", "/users/{admin}/passkeys/"),
    ("/roles/{role}/delete/", "Delete role Viewers?", "/roles/"),
    ("/companies/{company}/delete/", "Delete company Acme?", "/companies/"),
]


def _fill(template, admin_user, things):
    ids = {name: thing.pk for name, thing in things.items()} | {"admin": admin_user.pk}
    return template.format(**ids)


@pytest.mark.parametrize(("path", "heading", "_back"), ACTIONS)
def test_htmx_gets_the_form_alone_for_the_dialog(admin_client, admin_user, things, path, heading, _back):
    path, heading = _fill(path, admin_user, things), _fill(heading, admin_user, things)

    response = admin_client.get(path, headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "<h1" not in body
    assert body.lstrip().startswith('<h2 id="quick-action-title">' + heading)
    assert f'<form method="post" action="{path}"' in body


@pytest.mark.parametrize(("path", "heading", "_back"), ACTIONS)
def test_without_javascript_the_link_opens_a_page(admin_client, admin_user, things, path, heading, _back):
    path, heading = _fill(path, admin_user, things), _fill(heading, admin_user, things)

    response = admin_client.get(path)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.startswith("<!doctype html>")
    assert f"<h1>{heading}" in body


# Successful POSTs from the dialog: (the page, its form, what must have happened)
def _done_create(things):
    return User.objects.filter(username="dora").exists()


SUCCESSES = [
    ("/users/new/", {"username": "dora", "email": "dora@example.com", "password": NEW_PASSWORD}, _done_create),
    (
        "/users/{carol}/password/",
        {"password": NEW_PASSWORD},
        lambda t: User.objects.get(pk=t["carol"].pk).check_password(NEW_PASSWORD),
    ),
    ("/users/{carol}/delete/", {}, lambda t: not User.objects.filter(pk=t["carol"].pk).exists()),
    ("/users/{carol}/expiry/", {"expires_at": IN_A_MONTH}, lambda t: User.objects.get(pk=t["carol"].pk).expires_at),
    ("/users/{carol}/company/", {"company": "{company}"}, lambda t: User.objects.get(pk=t["carol"].pk).company_id),
    (
        "/users/{admin}/tokens/new/",
        {"name": "nightly", "expires_at": IN_A_MONTH},
        lambda t: AccessToken.objects.filter(name="nightly").exists(),
    ),
    (
        "/users/{admin}/tokens/{token}/edit/",
        {"name": "renamed", "expires_at": IN_A_MONTH},
        lambda t: AccessToken.objects.get(pk=t["token"].pk).name == "renamed",
    ),
    ("/users/{admin}/tokens/{token}/delete/", {}, lambda t: not AccessToken.objects.filter(pk=t["token"].pk).exists()),
    (
        "/users/{admin}/passkeys/{passkey}/delete/",
        {},
        lambda t: not Passkey.objects.filter(pk=t["passkey"].pk).exists(),
    ),
    ("/roles/{role}/delete/", {}, lambda t: not Group.objects.filter(name="Viewers").exists()),
    ("/companies/{company}/delete/", {}, lambda t: not Company.objects.filter(name="Acme").exists()),
]


@pytest.mark.parametrize(("path", "data", "done"), SUCCESSES)
def test_success_in_the_dialog_sends_the_window_back_to_the_list(admin_client, admin_user, things, path, data, done):
    back = next(_fill(back, admin_user, things) for action, _heading, back in ACTIONS if action == path)
    path = _fill(path, admin_user, things)
    data = {name: _fill(value, admin_user, things) for name, value in data.items()}

    response = admin_client.post(path, data, headers=HTMX)

    assert response.status_code == 200
    assert response.content == b""
    assert response["HX-Redirect"] == back
    assert done(things)
    shown = admin_client.get(back)  # the list the window loads says what was done (or shows the new secret)
    assert messages_of(shown) or shown.context["created"]


@pytest.mark.parametrize(
    ("shown", "back"),
    [
        ("http://testserver/users/?page=2&size=50&q=car", "/users/?page=2&size=50&q=car"),  # where it was opened
        ("http://testserver/users/", "/users/"),
        ("http://testserver/roles/?page=2", "/users/"),  # opened on another page: the action's own list
        ("http://elsewhere.example/users/?page=2", "/users/"),  # not this panel's page
        ("javascript:alert(1)//testserver/users/", "/users/"),
    ],
)
def test_an_action_goes_back_to_the_page_of_the_list_it_was_opened_on(admin_client, things, shown, back):
    response = admin_client.post(f"/users/{things['carol'].pk}/delete/", headers={**HTMX, "HX-Current-URL": shown})

    assert response["HX-Redirect"] == back


def test_a_refused_form_comes_back_into_the_dialog_with_its_errors(admin_client):
    response = admin_client.post("/users/new/", {"username": "no spaces", "email": "x"}, headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert "HX-Redirect" not in response
    assert "<html" not in body and '<h2 id="quick-action-title">Create User' in body
    assert 'class="errors"' in body
    assert not User.objects.filter(email="x").exists()


def test_a_refused_form_without_javascript_is_its_page_with_400(admin_client):
    response = admin_client.post("/users/new/", {"username": "no spaces", "email": "x"})

    assert response.status_code == 400
    assert response.content.decode().startswith("<!doctype html>")


def test_a_refused_token_change_comes_back_into_the_dialog(admin_client, admin_user):
    token = AccessTokenFactory(user=admin_user, name="before")

    response = admin_client.post(
        f"/users/{admin_user.pk}/tokens/{token.pk}/edit/",
        {"name": "after", "expires_at": "2020-01-01 00:00"},
        headers=HTMX,
    )

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "The expiry must be in the future." in body
    assert AccessToken.objects.get(pk=token.pk).name == "before"


def test_a_refused_deletion_comes_back_into_the_dialog(admin_client, admin_user):
    """The last user manager cannot be deleted: the dialog says so instead of sending the window away."""
    response = admin_client.post(f"/users/{admin_user.pk}/delete/", headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and 'class="alert error"' in body
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_changing_your_own_password_in_the_dialog_goes_home(admin_client, admin_user):
    response = admin_client.post(
        f"/users/{admin_user.pk}/password/",
        {"current_password": DEFAULT_PASSWORD, "password": NEW_PASSWORD},
        headers=HTMX,
    )

    assert response["HX-Redirect"] == "/"


# Re-authentication inside the dialog


@pytest.fixture
def stale_admin_client(admin_client, time_machine):
    admin_client.get("/users/")  # the login's proof is now
    time_machine.move_to(
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=settings.PANEL_REAUTH_SECONDS + 5)
    )
    return admin_client


def test_a_stale_session_gets_the_password_prompt_inside_the_dialog(stale_admin_client, admin_user):
    token = AccessTokenFactory(user=admin_user, name="before")
    path = f"/users/{admin_user.pk}/tokens/{token.pk}/edit/"

    response = stale_admin_client.post(path, {"name": "after", "expires_at": IN_A_MONTH}, headers=HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body  # never a whole page inside the dialog
    assert body.lstrip().startswith('<h2 id="quick-action-title">Confirm it\'s you')
    assert f'<form method="post" action="{path}"' in body
    assert 'name="name" value="after"' in body  # the input is kept
    assert AccessToken.objects.get(pk=token.pk).name == "before"


def test_confirming_in_the_dialog_goes_on_and_sends_the_window_back(stale_admin_client, admin_user):
    token = AccessTokenFactory(user=admin_user, name="before")
    path = f"/users/{admin_user.pk}/tokens/{token.pk}/edit/"
    data = {"name": "after", "expires_at": IN_A_MONTH, "_reauth": "1", "_reauth_password": DEFAULT_PASSWORD}

    response = stale_admin_client.post(path, data, headers=HTMX)

    assert response["HX-Redirect"] == f"/users/{admin_user.pk}/tokens/"
    assert AccessToken.objects.get(pk=token.pk).name == "after"


# The list's links: the page for no JavaScript, the dialog for htmx


def test_the_lists_mark_their_quick_actions(admin_client, admin_user, things):
    users = admin_client.get("/users/").content.decode()
    tokens = admin_client.get(f"/users/{admin_user.pk}/tokens/").content.decode()

    assert 'href="/users/new/" data-quick-action>Create User</a>' in users
    assert f'href="/users/{things["carol"].pk}/password/" data-quick-action>Change Password</a>' in users
    assert f'href="/users/{admin_user.pk}/tokens/{things["token"].pk}/edit/" data-quick-action>Modify</a>' in tokens
    assert '<dialog id="quick-action" class="modal" aria-labelledby="quick-action-title"></dialog>' in users
