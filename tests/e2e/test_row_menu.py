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


@pytest.fixture
def user_list(erik, admin_page):
    """The user list with erik's row, its scripts run (row-menu.js is deferred)."""
    admin_page.wait_for_load_state("load")
    return admin_page


def row_of(page, user):
    return page.locator(f"tr#user-{user.pk}")


def more(page, user):
    return row_of(page, user).get_by_text("More", exact=True)


def menu_of(page, user):
    return row_of(page, user).locator(".row-menu .menu")


def test_change_password_is_a_button_of_the_row(erik, user_list):
    row_of(user_list, erik).get_by_role("link", name="Change Password").click()

    expect(user_list.get_by_role("heading", name="Change the password of erik")).to_be_visible()


def test_the_menu_floats_over_the_rows_below(erik, user_list):
    row_height = row_of(user_list, erik).bounding_box()["height"]

    more(user_list, erik).click()

    expect(menu_of(user_list, erik).get_by_role("link", name="Access Tokens")).to_be_visible()
    assert row_of(user_list, erik).bounding_box()["height"] == row_height


def test_escape_closes_the_menu_and_gives_the_focus_back_to_more(erik, user_list):
    more(user_list, erik).focus()
    user_list.keyboard.press("Enter")
    user_list.keyboard.press("Tab")
    expect(menu_of(user_list, erik).get_by_role("link", name="Access Tokens")).to_be_focused()

    user_list.keyboard.press("Escape")

    expect(menu_of(user_list, erik)).to_be_hidden()
    expect(more(user_list, erik)).to_be_focused()


def test_a_click_elsewhere_closes_the_menu(erik, user_list):
    more(user_list, erik).click()

    user_list.get_by_role("heading", name="Users", exact=True).click()

    expect(menu_of(user_list, erik)).to_be_hidden()


def test_opening_another_rows_menu_closes_the_first(erik, user_list, admin_user):
    more(user_list, erik).click()

    more(user_list, admin_user).click()

    expect(menu_of(user_list, erik)).to_be_hidden()
    expect(menu_of(user_list, admin_user)).to_be_visible()
