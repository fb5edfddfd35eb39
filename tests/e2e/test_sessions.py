"""The sessions page in a real browser: two browsers logged in as one user, one ends the other.

The second browser is a separate context (its own cookies), built like the ``page``
fixture's and watched the same way for console errors and CSP violations.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

WINDOWS_FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.fixture
def alice(db):
    """A user without permissions: logging in lands on their account page."""
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def other_browser(another_browser):
    """A second browser (its own cookies) that says it is Firefox on Windows."""
    return another_browser(user_agent=WINDOWS_FIREFOX)


def session_rows(page):
    return page.locator("table.sessions tbody tr")


def open_my_sessions(page):
    """From the account page, as a person would."""
    page.goto("/account/")
    page.get_by_role("link", name="My sessions", exact=True).click()
    expect(page.get_by_role("heading", name="My sessions", exact=True)).to_be_visible()


def test_ending_the_other_browsers_session_logs_it_out(page, other_browser, alice, screenshot):
    log_in(page, username="alice")
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    log_in(other_browser, username="alice")
    expect(other_browser.get_by_role("heading", name="My account", exact=True)).to_be_visible()

    open_my_sessions(page)

    rows = session_rows(page)
    expect(rows).to_have_count(2)
    expect(page.get_by_text("This browser", exact=True)).to_have_count(1)
    this_row = rows.filter(has_text="This browser")
    other_row = rows.filter(has_text="Firefox on Windows")
    expect(this_row).to_contain_text("Chrome on Linux")
    expect(this_row.get_by_role("button", name="Log out", exact=True)).to_be_visible()
    expect(other_row).to_contain_text("127.0.0.1")
    expect(page.get_by_role("button", name="End all other sessions", exact=True)).to_be_visible()
    screenshot("sessions")

    other_row.get_by_role("button", name="End session", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("The session from 127.0.0.1 was ended.")
    expect(session_rows(page)).to_have_count(1)
    expect(session_rows(page)).to_contain_text("This browser")
    expect(page.get_by_role("button", name="End all other sessions", exact=True)).to_have_count(0)

    other_browser.goto("/account/")

    expect(other_browser).to_have_url(re.compile(r"/login/\?next=/account/$"))
    expect(other_browser.get_by_role("button", name="Log in", exact=True)).to_be_visible()

    page.goto("/account/")
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()


def test_log_out_on_this_browsers_row_lands_on_the_login_page_and_keeps_the_other(page, other_browser, alice):
    log_in(page, username="alice")
    log_in(other_browser, username="alice")
    open_my_sessions(page)

    session_rows(page).filter(has_text="This browser").get_by_role("button", name="Log out", exact=True).click()

    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    other_browser.goto("/account/")
    expect(other_browser.get_by_role("heading", name="My account", exact=True)).to_be_visible()
