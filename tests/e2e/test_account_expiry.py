"""Account expiry in a real browser: an admin sets it, and the user's open session ends at the moment.

The user (``page``, so that the screenshot is theirs) and the admin (a second context with its
own cookies, watched for console errors and CSP violations the same way) use the live server,
which runs in another thread of this process: ``time_machine.travel(..., tick=True)`` moves its
clock too, so the moment passes without waiting for it.
"""

import datetime
import re

import pytest
import time_machine
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import log_in
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.browser


@pytest.fixture
def carol(db):
    """A user without permissions: logging in lands on their account page."""
    return UserFactory(username="carol", email="carol@example.com")


@pytest.fixture
def admin_browser(another_browser, admin_user):
    """A second browser, logged in as ``admin``."""
    page = another_browser()
    log_in(page, username=admin_user.username)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    return page


def _in_a_few_minutes():
    """A whole minute (the input takes no seconds) one to two minutes from now, in UTC."""
    now = datetime.datetime.now(datetime.UTC)
    return (now + datetime.timedelta(minutes=2)).replace(second=0, microsecond=0)


def test_users_session_ends_at_the_expiry_the_admin_set_and_the_password_no_longer_logs_in(
    page, admin_browser, carol, screenshot
):
    # carol is logged in and working.
    log_in(page, username="carol")
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    # The admin sets carol's expiry from the user list's Change link.
    moment = _in_a_few_minutes()
    shown = f"{moment:%Y-%m-%d %H:%M}"
    expired = f"This account expired on {shown} UTC. Ask an administrator to extend it."
    admin_browser.goto("/users/")
    row = admin_browser.locator(f"tr#user-{carol.pk}")
    expect(row.locator('td[data-label="Expires"]')).to_contain_text("Never")
    row.get_by_role("link", name="Change the expiry of carol").click()
    dialog = admin_browser.get_by_role("dialog", name="Account expiry of carol")
    expect(dialog.get_by_text("Now: never expires.")).to_be_visible()
    dialog.get_by_label("Account expires at (UTC)").fill(shown)  # typed as the list shows it
    dialog.get_by_role("button", name="Save").click()

    expect(admin_browser).to_have_url(re.compile(r"/users/$"))
    expect(admin_browser.get_by_role("status")).to_contain_text(f"{shown} UTC")
    expires_cell = row.locator('td[data-label="Expires"]')
    expect(expires_cell).to_contain_text(shown)
    expect(expires_cell.get_by_text("Expired", exact=True)).to_have_count(0)
    assert User.objects.get(pk=carol.pk).expires_at == moment

    # Before the moment carol goes on as before.
    page.reload()
    expect(page.get_by_role("heading", name="My account")).to_be_visible()

    with time_machine.travel(moment + datetime.timedelta(seconds=30), tick=True):
        # carol's next page load ends her session and says why, on the login page.
        page.reload()
        expect(page).to_have_url(re.compile(r"/login/\?next=/account/$"))
        expect(page.get_by_role("status")).to_have_text(expired)
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)

        # The right password is refused with the same reason.
        page.get_by_label("Username").fill("carol")
        page.get_by_label("Password").fill(DEFAULT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page.get_by_role("alert")).to_have_text(expired)
        expect(page).to_have_url(re.compile(r"/login/\?next=/account/$"))
        expect(page.get_by_label("Username")).to_have_value("carol")
        screenshot("account-expired")

        # The admin's list now marks carol as expired.
        admin_browser.reload()
        expect(expires_cell.get_by_text("Expired", exact=True)).to_be_visible()

    # Nothing of carol's is logged in any more.
    page.goto("/account/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/account/$"))
