"""User management through a real browser: what an admin sees and does on the user pages.

Each test is one behaviour. The ``page`` fixture fails any test whose pages log a
console error, an uncaught script error or a Content-Security-Policy violation.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.browser

USERNAME_RULE = "Username may only contain letters (A-Z, a-z), digits, underscores (_) and hyphens (-)."
PASSWORD_KINDS_RULE = "Password must contain at least two of: letters, digits and special characters."

# A realistic team for the user list (the ``admin`` fixture user makes six).
TEAM = [
    ("alice_martin", "alice.martin@example.com"),
    ("bruno-costa", "bruno.costa@example.org"),
    ("chen_wei", "wei.chen@example.net"),
    ("dana-okafor", "dana.okafor@example.com"),
    ("erik_lindqvist", "erik.lindqvist@example.org"),
]


@pytest.fixture
def team(db):
    return [UserFactory(username=username, email=email) for username, email in TEAM]


def user_row(page, user):
    return page.locator(f"tr#user-{user.pk}")


def user_cell(page, user, field):
    """The inline-editable cell of ``field`` ("username" or "email") in the row of ``user``."""
    return user_row(page, user).locator(f'td[data-label="{field.capitalize()}"]')


def start_inline_edit(page, user, field):
    """Click the value in the cell; the cell turns into a one-field form with the input focused."""
    user_cell(page, user, field).get_by_role("link", name=f"Edit {field} of {user.username}").click()
    field_input = page.get_by_role("textbox", name=f"{field.capitalize()} of {user.username}", exact=True)
    expect(field_input).to_be_focused()
    return field_input


def test_admin_logs_in_and_lands_on_the_user_list(page, admin_user):
    log_in(page, username="admin", password=DEFAULT_PASSWORD)

    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    expect(page.get_by_role("banner").get_by_role("link", name="admin", exact=True)).to_be_visible()


def test_failed_login_says_incorrect_username_or_password(page, admin_user):
    log_in(page, username="admin", password="Not-the-password-1")

    expect(page.get_by_role("alert")).to_have_text("Incorrect username or password.")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_user_list_shows_every_user_with_their_email(admin_page, team, screenshot):
    admin_page.reload()

    expect(admin_page.get_by_text("6 users", exact=True)).to_be_visible()
    for user in team:
        expect(user_cell(admin_page, user, "username")).to_have_text(user.username)
        expect(user_cell(admin_page, user, "email")).to_have_text(user.email)
    screenshot("user-list")


def open_create_user(page):
    """Create User opens its form in a dialog over the list."""
    page.get_by_role("link", name="Create User").click()
    dialog = page.get_by_role("dialog", name="Create User")
    expect(dialog.get_by_label("Username")).to_be_focused()
    return dialog


def test_weak_password_shows_the_rule_next_to_the_password_field(admin_page, screenshot):
    dialog = open_create_user(admin_page)
    dialog.get_by_label("Username").fill("frida_berg")
    dialog.get_by_label("Email").fill("frida.berg@example.com")
    dialog.get_by_label("Password").fill("onlyletters")
    dialog.get_by_role("button", name="Create").click()

    password = dialog.get_by_label("Password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_have_accessible_description(re.compile(re.escape(PASSWORD_KINDS_RULE)))
    rules = dialog.locator(".field", has=admin_page.get_by_label("Password")).get_by_role("listitem")
    expect(rules).to_contain_text([PASSWORD_KINDS_RULE])
    # Still in the dialog over the list; what was typed in the other fields is kept; nothing was created.
    expect(admin_page).to_have_url(re.compile(r"/users/$"))
    expect(dialog.get_by_label("Username")).to_have_value("frida_berg")
    assert not User.objects.filter(username="frida_berg").exists()
    screenshot("create-user-error")


def test_user_is_created_once_the_weak_password_is_fixed(admin_page):
    dialog = open_create_user(admin_page)
    dialog.get_by_label("Username").fill("frida_berg")
    dialog.get_by_label("Email").fill("frida.berg@example.com")
    dialog.get_by_label("Password").fill("onlyletters")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.get_by_text(PASSWORD_KINDS_RULE)).to_be_visible()

    dialog.get_by_label("Password").fill("Fjord-Lantern-73")
    dialog.get_by_role("button", name="Create").click()

    expect(admin_page.get_by_role("status")).to_have_text("User frida_berg was created.")
    expect(admin_page.get_by_role("dialog")).to_have_count(0)
    frida = User.objects.get(username="frida_berg")
    expect(user_cell(admin_page, frida, "email")).to_have_text("frida.berg@example.com")
    assert frida.check_password("Fjord-Lantern-73")


def test_email_edited_inline_is_saved_on_enter(admin_page, team):
    alice = team[0]
    admin_page.reload()

    email = start_inline_edit(admin_page, alice, "email")
    email.fill("alice@martin.example")
    email.press("Enter")

    expect(user_cell(admin_page, alice, "email")).to_have_text("alice@martin.example")
    expect(admin_page.get_by_role("textbox", name="Email of alice_martin")).to_have_count(0)
    alice.refresh_from_db()
    assert alice.email == "alice@martin.example"


def test_refused_inline_edit_shows_the_rule_under_the_cell_and_keeps_the_stored_value(admin_page, team, screenshot):
    bruno = team[1]
    admin_page.reload()

    username = start_inline_edit(admin_page, bruno, "username")
    username.fill("bad name!")
    username.press("Enter")

    cell = user_cell(admin_page, bruno, "username")
    expect(cell.get_by_role("alert")).to_have_text(USERNAME_RULE)
    expect(username).to_have_value("bad name!")
    expect(username).to_have_attribute("aria-invalid", "true")
    bruno.refresh_from_db()
    assert bruno.username == "bruno-costa"
    screenshot("inline-edit-error")


def test_escape_cancels_an_inline_edit_and_restores_the_stored_value(admin_page, team):
    chen = team[2]
    admin_page.reload()

    email = start_inline_edit(admin_page, chen, "email")
    email.fill("typed-but-not-saved@example.com")
    email.press("Escape")

    cell = user_cell(admin_page, chen, "email")
    expect(cell).to_have_text("wei.chen@example.net")
    expect(cell.get_by_role("link", name="Edit email of chen_wei")).to_be_focused()
    chen.refresh_from_db()
    assert chen.email == "wei.chen@example.net"


def test_search_by_username_narrows_the_list(admin_page, team):
    dana = team[3]
    admin_page.reload()

    admin_page.get_by_role("searchbox", name="Search users").fill("dana")
    admin_page.get_by_role("button", name="Search").click()

    expect(admin_page.get_by_text("1 user matching “dana”")).to_be_visible()
    rows = admin_page.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(user_cell(admin_page, dana, "username")).to_have_text("dana-okafor")


def test_user_is_deleted_through_a_confirmation_page_naming_them(admin_page, team):
    erik = team[4]
    admin_page.reload()

    user_row(admin_page, erik).get_by_role("link", name="Delete").click()
    dialog = admin_page.get_by_role("dialog", name="Delete user erik_lindqvist?")
    expect(dialog.get_by_text("erik_lindqvist (erik.lindqvist@example.org) will no longer")).to_be_visible()
    dialog.get_by_role("button", name="Delete erik_lindqvist").click()

    expect(admin_page.get_by_role("status")).to_have_text("User erik_lindqvist was deleted.")
    expect(user_row(admin_page, erik)).to_have_count(0)
    assert not User.objects.filter(pk=erik.pk).exists()


def test_last_user_cannot_be_deleted(admin_page, admin_user):
    user_row(admin_page, admin_user).get_by_role("link", name="Delete").click()
    dialog = admin_page.get_by_role("dialog", name="Delete user admin?")
    dialog.get_by_role("button", name="Delete admin").click()

    expect(dialog.get_by_role("alert")).to_contain_text("The last user cannot be deleted")
    assert User.objects.filter(pk=admin_user.pk).exists()


def test_logging_out_lands_on_the_login_page_and_ends_the_session(admin_page):
    admin_page.get_by_role("button", name="Log out").click()

    expect(admin_page).to_have_url(re.compile(r"/login/$"))
    expect(admin_page.get_by_role("heading", name="Log in to Panel")).to_be_visible()
    admin_page.goto("/users/")
    expect(admin_page).to_have_url(re.compile(r"/login/\?next=/users/$"))


def test_user_pages_load_without_console_errors_or_csp_violations(admin_page, admin_user, team):
    """Every user page, opened in turn; the ``page`` fixture fails the test on any error it logged."""
    for path, heading in [
        ("/users/", "Users"),
        ("/users/new/", "Create User"),
        (f"/users/{team[0].pk}/email/edit/", "Edit the email of alice_martin"),
        (f"/users/{team[0].pk}/password/", "Change the password of alice_martin"),
        (f"/users/{team[0].pk}/delete/", "Delete user alice_martin?"),
        ("/account/", "My account"),
        (f"/users/{admin_user.pk}/password/", "Change my password"),
    ]:
        admin_page.goto(path)
        expect(admin_page.get_by_role("heading", level=1)).to_have_text(heading)


def test_admin_disables_an_account_with_its_switch_and_its_browser_is_signed_out(
    admin_page, team, another_browser, screenshot
):
    alice = team[0]
    alice_page = another_browser()
    log_in(alice_page, username=alice.username)
    expect(alice_page.get_by_role("banner").get_by_role("link", name=alice.username, exact=True)).to_be_visible()
    admin_page.reload()
    switch = user_row(admin_page, alice).get_by_role("switch", name=f"Account of {alice.username} enabled")
    expect(switch).to_have_attribute("aria-checked", "true")

    switch.click()

    switched = user_row(admin_page, alice).get_by_role("switch", name=f"Account of {alice.username} enabled")
    expect(switched).to_have_attribute("aria-checked", "false")
    screenshot("user-disabled")
    assert not User.objects.get(pk=alice.pk).is_active
    alice_page.reload()
    expect(alice_page.get_by_text("You were signed out because your account was disabled.")).to_be_visible()
