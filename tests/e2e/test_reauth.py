"""Sudo mode in a real browser: a session whose login is old is asked for the password before a token is
created, and the token it was creating is then created with what had been typed."""

import time

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from playwright.sync_api import expect

from core.reauth import PROOF_AT
from tests.e2e.authenticator import VirtualAuthenticator, register
from tests.factories import DEFAULT_PASSWORD
from tokens.models import AccessToken

pytestmark = pytest.mark.browser


def _age_the_login(page):
    """Make this browser's last proof older than the re-authentication window, on the server."""
    (cookie,) = [cookie for cookie in page.context.cookies() if cookie["name"] == settings.SESSION_COOKIE_NAME]
    session = SessionStore(session_key=cookie["value"])
    session[PROOF_AT] = int(time.time()) - settings.PANEL_REAUTH_SECONDS - 60
    session.save()


def test_an_old_login_confirms_the_password_then_creates_the_token_typed(admin_page, admin_user, screenshot):
    page = admin_page
    page.goto(f"/users/{admin_user.pk}/tokens/")
    _age_the_login(page)

    page.get_by_role("link", name="Create Token").click()
    dialog = page.get_by_role("dialog", name="Create Token")
    dialog.get_by_label("Name", exact=True).fill("after-confirming")
    dialog.get_by_label("Long-term").check()
    dialog.get_by_role("button", name="Create").click()

    prompt = page.get_by_role("dialog", name="Confirm it's you")  # in the dialog, never a page inside it
    expect(prompt).to_be_visible()
    expect(prompt.get_by_role("banner")).to_have_count(0)
    assert not AccessToken.objects.exists()
    screenshot("reauth")
    prompt.get_by_label("Your password").fill(DEFAULT_PASSWORD)
    prompt.get_by_role("button", name="Confirm and continue").click()

    expect(page.locator("#created-secret")).to_be_visible()
    token = AccessToken.objects.get(user=admin_user)
    assert token.name == "after-confirming"


def test_an_old_login_confirms_with_a_passkey_instead_of_the_password(admin_page, admin_user):
    page = admin_page
    VirtualAuthenticator(page)
    register(page, admin_user, "Laptop")
    page.goto(f"/users/{admin_user.pk}/tokens/")
    _age_the_login(page)

    page.get_by_role("link", name="Create Token").click()
    dialog = page.get_by_role("dialog", name="Create Token")
    dialog.get_by_label("Name", exact=True).fill("by-passkey")
    dialog.get_by_label("Long-term").check()
    dialog.get_by_role("button", name="Create").click()
    prompt = page.get_by_role("dialog", name="Confirm it's you")
    prompt.get_by_role("button", name="Use a passkey instead").click()

    expect(page.locator("#created-secret")).to_be_visible()
    assert AccessToken.objects.get(user=admin_user).name == "by-passkey"
