"""Quick actions in a real browser: dialogs over the list with JavaScript, plain pages without.

Create user, change password, create and modify token, move, expiry and every delete confirmation
open their form in the page's one shared dialog; a refused form comes back into it with its errors,
a saved one sends the window back to the list with what was done. Without JavaScript the same links
open pages of their own.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import SCREENSHOTS, log_in
from tests.factories import AccessTokenFactory, UserFactory
from tokens.models import AccessToken

pytestmark = pytest.mark.browser

WEAK = "onlyletters"
STRONG = "Fjord-Lantern-73"


def row_of(page, user):
    return page.locator(f"tr#user-{user.pk}")


def test_change_password_opens_as_a_dialog_shows_the_refusal_then_saves(admin_page, screenshot):
    erik = UserFactory(username="erik")
    admin_page.reload()

    row_of(admin_page, erik).get_by_role("link", name="Change Password").click()
    dialog = admin_page.get_by_role("dialog", name="Change the password of erik")
    expect(dialog.get_by_label("New password")).to_be_focused()
    dialog.get_by_label("New password").fill(WEAK)
    dialog.get_by_role("button", name="Change Password").click()

    expect(dialog.get_by_role("listitem").filter(has_text="at least two of")).to_be_visible()
    expect(dialog.get_by_label("New password")).to_be_focused()  # the refused field
    expect(admin_page).to_have_url(re.compile(r"/users/$"))  # still over the list
    screenshot("quick-action-refused")
    dialog.get_by_label("New password").fill(STRONG)
    dialog.get_by_role("button", name="Change Password").click()

    expect(admin_page.get_by_role("status")).to_have_text("The password of erik was changed and their sessions ended.")
    expect(admin_page.get_by_role("dialog")).to_have_count(0)
    assert User.objects.get(pk=erik.pk).check_password(STRONG)


def test_modify_token_refuses_a_past_expiry_in_the_dialog_then_saves(admin_page, admin_user):
    token = AccessTokenFactory(user=admin_user, name="nightly")
    admin_page.goto(f"/users/{admin_user.pk}/tokens/")

    admin_page.locator(f"tr#token-{token.pk}").get_by_role("link", name="Modify").click()
    dialog = admin_page.get_by_role("dialog", name=f"Modify token {token.pk}")
    expires = dialog.get_by_label("Expires at (UTC)")
    expect(expires).to_have_attribute("placeholder", "YYYY-MM-DD HH:MM")
    expires.fill("2020-01-01 00:00")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_text("The expiry must be in the future.")).to_be_visible()

    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)
    expires.fill(f"{later:%Y-%m-%d %H:%M}")
    dialog.get_by_label("Name", exact=True).fill("weekly")
    dialog.get_by_role("button", name="Save").click()

    expect(admin_page.get_by_role("status")).to_have_text(f"Token {token.pk} was modified.")
    row = admin_page.locator(f"tr#token-{token.pk}")
    expect(row.locator('td[data-label="Name"]')).to_have_text("weekly")
    expect(row.locator('td[data-label="Expires"]')).to_have_text(f"{later:%Y-%m-%d %H:%M} UTC")


def test_cancel_and_escape_close_the_dialog_and_change_nothing(admin_page):
    erik = UserFactory(username="erik")
    admin_page.reload()

    row_of(admin_page, erik).get_by_role("link", name="Delete").click()
    dialog = admin_page.get_by_role("dialog", name="Delete user erik?")
    dialog.get_by_role("link", name="Cancel").click()
    expect(dialog).to_have_count(0)

    row_of(admin_page, erik).get_by_role("link", name="Delete").click()
    expect(dialog).to_be_visible()
    admin_page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)

    expect(admin_page).to_have_url(re.compile(r"/users/$"))
    assert User.objects.filter(pk=erik.pk).exists()


def test_renaming_yourself_inline_renames_you_in_the_top_bar(admin_page, admin_user):
    cell = row_of(admin_page, admin_user).locator('td[data-label="Username"]')
    cell.get_by_role("link", name="Edit username of admin").click()
    field = admin_page.get_by_role("textbox", name="Username of admin", exact=True)
    field.fill("chief")
    field.press("Enter")

    expect(cell).to_have_text("chief")
    expect(admin_page.get_by_role("banner").get_by_role("link", name="chief", exact=True)).to_be_visible()


def test_the_inline_edit_opened_as_a_page_saves_and_goes_back_to_the_list(admin_page, admin_user):
    carol = UserFactory(username="carol")
    admin_page.goto(f"/users/{carol.pk}/username/edit/")  # as from "open link in new tab"

    admin_page.get_by_label("Username of carol").fill("caroline")
    admin_page.get_by_role("button", name="Save").click()

    expect(admin_page).to_have_url(re.compile(r"/users/$"))
    expect(admin_page.get_by_role("status")).to_have_text("Saved the username of caroline.")


# Without JavaScript


@pytest.fixture
def plain_page(no_script_page, admin_user):
    """The admin in a browser with JavaScript turned off."""
    log_in(no_script_page, username=admin_user.username)
    expect(no_script_page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    return no_script_page


def test_without_javascript_create_user_is_a_page_that_refuses_then_creates(plain_page, console):
    console.expect_http_error(400, "/users/new/")  # the refused form, answered as a page
    plain_page.get_by_role("link", name="Create User").click()

    expect(plain_page).to_have_url(re.compile(r"/users/new/$"))
    expect(plain_page.get_by_role("heading", level=1)).to_have_text("Create User")
    plain_page.get_by_label("Username").fill("frida")
    plain_page.get_by_label("Email").fill("frida@example.com")
    plain_page.get_by_label("Password").fill(WEAK)
    plain_page.get_by_role("button", name="Create").click()
    expect(plain_page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    plain_page.screenshot(path=str(SCREENSHOTS / "no-js-create-user-error.png"), full_page=True)

    plain_page.get_by_label("Password").fill(STRONG)
    plain_page.get_by_role("button", name="Create").click()

    expect(plain_page).to_have_url(re.compile(r"/users/$"))
    expect(plain_page.get_by_role("status")).to_have_text("User frida was created.")


def test_without_javascript_deleting_a_token_confirms_on_a_page(plain_page, admin_user):
    token = AccessTokenFactory(user=admin_user)
    plain_page.goto(f"/users/{admin_user.pk}/tokens/")

    plain_page.locator(f"tr#token-{token.pk}").get_by_role("link", name="Delete").click()
    expect(plain_page.get_by_role("heading", level=1)).to_have_text(f"Delete token {token.pk}?")
    plain_page.get_by_role("button", name=f"Delete token {token.pk}").click()

    expect(plain_page.get_by_role("status")).to_contain_text(f"Token {token.pk} was deleted.")
    assert not AccessToken.objects.filter(pk=token.pk).exists()


def test_deleting_on_a_later_page_comes_back_to_that_page(admin_page):
    users = [UserFactory(username=f"user{number:02}") for number in range(30)]  # newest first: user29 … user00
    admin_page.goto("/users/?page=2&size=20")
    last = users[0]

    row_of(admin_page, last).get_by_role("link", name="Delete").click()
    admin_page.get_by_role("dialog").get_by_role("button", name=f"Delete {last.username}").click()

    expect(admin_page.get_by_role("status")).to_have_text(f"User {last.username} was deleted.")
    expect(admin_page).to_have_url(re.compile(r"/users/\?page=2&size=20$"))
    expect(row_of(admin_page, users[1])).to_be_visible()  # still the second page
