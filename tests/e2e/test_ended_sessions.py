"""A session that ended while its page stayed open: the next click shows the login page as the whole page.

Inline edits and the two-factor switch fetch fragments with htmx; the login page must never end up
inside a table cell or a dialog, and it says why the session ended.
"""

import datetime
import re

import pytest
import time_machine
from django.conf import settings
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, UserFactory
from usersessions.policy import SIGNED_IN_ELSEWHERE

pytestmark = pytest.mark.browser


@pytest.fixture
def alice(db):
    return UserFactory(username="alice_martin", email="alice.martin@example.com")


def _email_cell(page, user):
    return page.locator(f'tr#user-{user.pk} td[data-label="Email"]')


def _shows_the_whole_login_page(page, reason):
    expect(page).to_have_url(re.compile(r"/login/\?next=/users/$"))
    expect(page.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_have_text(reason)
    expect(page.locator("table")).to_have_count(0)  # not the list with a login form in one cell
    expect(page.locator("dialog[open]")).to_have_count(0)


def test_inline_edit_after_signing_in_on_another_browser_shows_the_login_page_saying_why(
    admin_page, admin_user, another_browser, alice, screenshot
):
    admin_user.exclusive_login = True
    admin_user.save(update_fields=["exclusive_login"])
    admin_page.reload()
    admin_page.wait_for_load_state("load")  # htmx, a deferred script, handles the click

    other = another_browser()
    log_in(other, username=admin_user.username)
    expect(other.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    _email_cell(admin_page, alice).get_by_role("link", name=f"Edit email of {alice.username}").click()

    _shows_the_whole_login_page(admin_page, SIGNED_IN_ELSEWHERE)
    screenshot("ended-session-login")

    # Logging in again goes back to the list the user was on.
    admin_page.get_by_label("Username").fill(admin_user.username)
    admin_page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    admin_page.get_by_role("button", name="Log in").click()
    expect(admin_page).to_have_url(re.compile(r"/users/$"))


def test_the_two_factor_switch_after_the_idle_timeout_shows_the_login_page_saying_why(admin_page, admin_user):
    admin_page.wait_for_load_state("load")
    later = datetime.timedelta(seconds=settings.PANEL_SESSION_IDLE_TIMEOUT + 60)

    with time_machine.travel(datetime.datetime.now(tz=datetime.UTC) + later, tick=True):
        admin_page.locator(f'tr#user-{admin_user.pk} td[data-label="Two-Factor Auth"]').get_by_role(
            "switch", name=f"Turn on two-factor authentication for {admin_user.username}"
        ).click()

        _shows_the_whole_login_page(admin_page, "Your session timed out. Please log in again.")
