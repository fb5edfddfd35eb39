"""The user list's row actions: Change Password and Delete as links, the rest in a "More" menu.

The menu floats over the rows below (its own row keeps its height) and closes as a menu does: on
Escape, with the focus back on "More", on a click elsewhere, and when another row's menu opens.
"""

import pytest
from playwright.sync_api import expect

from tests.factories import UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def erik(db):
    """Made before admin_page opens the list, so that the list shows him."""
    return UserFactory(username="erik")


def row_of(page, user):
    return page.locator(f"tr#user-{user.pk}")


def more(page, user):
    return row_of(page, user).get_by_text("More", exact=True)


def menu_of(page, user):
    return row_of(page, user).locator(".row-menu .menu")


def test_change_password_is_a_button_of_the_row(erik, admin_page):
    row_of(admin_page, erik).get_by_role("link", name="Change Password").click()

    expect(admin_page.get_by_role("heading", name="Change the password of erik")).to_be_visible()


def test_the_menu_floats_over_the_rows_below(erik, admin_page):
    row_height = row_of(admin_page, erik).bounding_box()["height"]

    more(admin_page, erik).click()

    expect(menu_of(admin_page, erik).get_by_role("link", name="Access Tokens")).to_be_visible()
    assert row_of(admin_page, erik).bounding_box()["height"] == row_height


def test_escape_closes_the_menu_and_gives_the_focus_back_to_more(erik, admin_page):
    more(admin_page, erik).focus()
    admin_page.keyboard.press("Enter")
    admin_page.keyboard.press("Tab")
    expect(menu_of(admin_page, erik).get_by_role("link", name="Access Tokens")).to_be_focused()

    admin_page.keyboard.press("Escape")

    expect(menu_of(admin_page, erik)).to_be_hidden()
    expect(more(admin_page, erik)).to_be_focused()


def test_a_click_elsewhere_closes_the_menu(erik, admin_page):
    more(admin_page, erik).click()

    admin_page.get_by_role("heading", name="Users", exact=True).click()

    expect(menu_of(admin_page, erik)).to_be_hidden()


def test_opening_another_rows_menu_closes_the_first(erik, admin_page, admin_user):
    more(admin_page, erik).click()

    more(admin_page, admin_user).click()

    expect(menu_of(admin_page, erik)).to_be_hidden()
    expect(menu_of(admin_page, admin_user)).to_be_visible()
