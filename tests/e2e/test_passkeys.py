"""Passkeys through a real browser: registering one on the passkey manager, signing in with it
(no username, no password, no second step), deleting it, and the login refusing it afterwards.

The authenticator is Chromium's virtual one, driven over the DevTools protocol: it holds
resident credentials and verifies the user. With presence simulation on it answers every
request at once, as if the user touched the sensor; that includes the background
(conditional mediation) request the login page starts for the username's autofill, which
is how a user picking the passkey from the autofill looks. With presence simulation off
that request waits, as for a user who ignores the autofill, and only the
"Sign in with a passkey" button, which replaces it, logs in; turning presence back on does
not answer the request already waiting.
"""

import base64
import datetime
import re

import pytest
from playwright.sync_api import expect

from core.audit import Origin
from mfa import selectors as mfa_selectors
from passkeys.models import Passkey
from passkeys.services import NOT_ACCEPTED
from tests.e2e.authenticator import VirtualAuthenticator, open_register_dialog, register
from tests.helpers import enable_totp, log_out

pytestmark = pytest.mark.browser

_TIME = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d UTC$")
_OPTIONS, _FINISH = "/login/passkey/options/", "/login/passkey/"


def _passkey_row(page, name):
    return page.locator("table.passkeys tbody tr", has=page.locator('td[data-label="Name"]', has_text=name))


def _log_out_with_autofill_waiting(page, authenticator):
    """Log out to the login page, whose background autofill request then waits, as for a user who ignores it."""
    authenticator.answer_at_once(False)
    log_out(page)
    page.wait_for_load_state("networkidle")  # the autofill request has fetched its options and is waiting
    authenticator.answer_at_once(True)
    expect(page.locator("[data-passkey-status]")).to_be_hidden()


def _click_sign_in_with_a_passkey(page):
    button = page.get_by_role("button", name="Sign in with a passkey")
    expect(button).to_be_enabled()  # passkeys.js enables it
    button.click()


def _posts_to(page):
    paths = []
    page.on("request", lambda request: request.method == "POST" and paths.append(request.url.split("?")[0]))
    return paths


def test_passkey_is_registered_logs_in_without_password_or_code_and_is_deleted(
    admin_page, admin_user, base_url, console, screenshot
):
    page = admin_page
    authenticator = VirtualAuthenticator(page)
    posts = _posts_to(page)

    # The manager, from the admin's own row in the user list: empty.
    page.locator(f"tr#user-{admin_user.pk}").get_by_text("More", exact=True).click()
    page.locator(f"tr#user-{admin_user.pk}").get_by_role("link", name="Passkeys").click()
    expect(page.get_by_role("heading", name="Passkeys of admin", exact=True)).to_be_visible()
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()

    # Register one named "Laptop": the authenticator answers, the page reloads with it.
    dialog = open_register_dialog(page)
    dialog.get_by_label("Name").fill("Laptop")
    dialog.get_by_role("button", name="Register").click()
    expect(page.get_by_role("status")).to_have_text("Passkey “Laptop” was registered. You can now log in with it.")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.get_by_text("No passkeys yet.")).to_have_count(0)
    row = _passkey_row(page, "Laptop")
    expect(row).to_have_count(1)
    expect(row.locator('td[data-label="Last Used"]')).to_have_text("Never")
    expect(row.locator('td[data-label="Creation Time"]')).to_have_text(_TIME)
    held = authenticator.credentials()
    assert [(c["isResidentCredential"], c["rpId"]) for c in held] == [(True, "localhost")]
    passkey = Passkey.objects.get(user=admin_user)
    assert passkey.name == "Laptop"
    assert base64.urlsafe_b64decode(held[0]["credentialId"] + "==") == bytes(passkey.credential_id)
    screenshot("passkeys")

    # Two-factor on: the password alone would now lead to a code; the passkey must not.
    enable_totp(admin_user, origin=Origin(actor=admin_user, ip="127.0.0.1", user_agent="e2e-test"))
    assert mfa_selectors.has_second_factor(admin_user)
    _log_out_with_autofill_waiting(page, authenticator)
    expect(page.get_by_label("Username")).to_be_empty()
    expect(page.get_by_label("Password")).to_be_empty()
    screenshot("login-passkey")
    posts.clear()
    _click_sign_in_with_a_passkey(page)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page).to_have_url(f"{base_url}/users/")
    expect(page.get_by_role("banner").get_by_role("link", name="admin", exact=True)).to_be_visible()
    # The button's own request logged in (the waiting autofill request was abandoned), with no verify step.
    assert posts == [f"{base_url}{_OPTIONS}", f"{base_url}{_FINISH}"]

    # Back on the manager: it was used just now.
    page.locator(f"tr#user-{admin_user.pk}").get_by_text("More", exact=True).click()
    page.locator(f"tr#user-{admin_user.pk}").get_by_role("link", name="Passkeys").click()
    row = _passkey_row(page, "Laptop")
    last_used = row.locator('td[data-label="Last Used"] time')
    expect(last_used).to_have_text(_TIME)
    used_at = datetime.datetime.fromisoformat(last_used.get_attribute("datetime"))
    assert abs(datetime.datetime.now(datetime.UTC) - used_at) < datetime.timedelta(minutes=1)

    # Delete it through the confirmation dialog: the list is empty again.
    row.get_by_role("link", name="Delete").click()
    page.get_by_role("dialog", name="Delete passkey “Laptop”?").get_by_role("button", name="Delete passkey").click()
    expect(page.get_by_role("status")).to_have_text("Passkey “Laptop” was deleted. It can no longer log in.")
    expect(page.get_by_text("No passkeys yet.")).to_be_visible()
    assert not Passkey.objects.filter(user=admin_user).exists()

    # The device keeps its copy and still answers; the panel refuses it and the login page stays.
    _log_out_with_autofill_waiting(page, authenticator)
    assert len(authenticator.credentials()) == 1
    console.expect_http_error(400, _FINISH)
    posts.clear()
    _click_sign_in_with_a_passkey(page)
    refusal = page.locator("[data-passkey-status]")
    expect(refusal).to_have_text(str(NOT_ACCEPTED))
    expect(refusal).to_have_attribute("role", "alert")
    expect(page.get_by_role("alert")).to_have_text(str(NOT_ACCEPTED))
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_enabled()
    expect(page).to_have_url(f"{base_url}/login/")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    assert posts == [f"{base_url}{_OPTIONS}", f"{base_url}{_FINISH}"]


def test_picking_the_passkey_from_the_username_autofill_logs_in(admin_page, admin_user, base_url):
    """The background (conditional mediation) request, answered as when the user picks the passkey."""
    page = admin_page
    VirtualAuthenticator(page)
    register(page, admin_user, "Phone")

    posts = _posts_to(page)

    # Logging out leads to the login page, whose autofill request is answered at once: no click at all.
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page).to_have_url(f"{base_url}/users/")
    assert posts == [f"{base_url}/logout/", f"{base_url}{_OPTIONS}", f"{base_url}{_FINISH}"]
    assert Passkey.objects.get(user=admin_user).last_used_at is not None


def test_an_empty_name_is_refused_in_the_dialog_and_nothing_is_registered(admin_page, admin_user, console):
    page = admin_page
    authenticator = VirtualAuthenticator(page)
    console.expect_http_error(422, "/passkeys/register/options/")
    page.goto(f"/users/{admin_user.pk}/passkeys/")

    dialog = open_register_dialog(page)
    dialog.get_by_role("button", name="Register").click()

    status = dialog.locator("[data-passkey-status]")
    expect(status).to_have_text("Give the passkey a name, such as the device it is on.")
    expect(status).to_have_attribute("role", "alert")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Register")).to_be_enabled()
    assert authenticator.credentials() == []
    assert not Passkey.objects.filter(user=admin_user).exists()


def test_the_login_page_starts_the_autofill_request_without_errors(page):
    """Conditional mediation starts in the background on load; the ``page`` fixture fails on any console error."""
    page.goto("/login/")
    page.wait_for_load_state("networkidle")

    expect(page.get_by_label("Username")).to_have_attribute("autocomplete", "username webauthn")
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_enabled()
    expect(page.locator("[data-passkey-status]")).to_be_hidden()


def test_an_autofill_request_the_browser_ends_shows_no_error(page):
    """An authenticator with no passkey for the panel ends the autofill request at once; nobody asked for it."""
    VirtualAuthenticator(page)
    page.goto("/login/")
    page.wait_for_load_state("networkidle")

    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_enabled()
    expect(page.locator("[data-passkey-status]")).to_be_hidden(timeout=2000)
