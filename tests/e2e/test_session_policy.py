"""A user's session policy in a real browser: exclusive login ends the user's other browsers.

The admin sets the policy on the Session Policy page; then the user logs in from two
browsers (separate contexts, their own cookies), one after the other. The second
browser is built like the ``page`` fixture's context and watched the same way.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.factories import UserFactory
from usersessions.policy import SIGNED_IN_ELSEWHERE

pytestmark = pytest.mark.browser


@pytest.fixture
def alice(db):
    """A user without permissions: logging in lands on their account page."""
    return UserFactory(username="alice", email="alice@example.com")


@pytest.fixture
def other_browser(another_browser):
    """A second browser, with its own cookies."""
    return another_browser()


def set_exclusive_login(page, user):
    """From the user's row in the user list, on their Session Policy page."""
    page.goto("/users/")
    page.wait_for_load_state("load")
    row = page.locator(f"tr#user-{user.pk}")
    row.get_by_text("More", exact=True).click()  # the row's menu of less frequent actions
    row.get_by_role("link", name="Session Policy", exact=True).click()
    expect(page.get_by_role("heading", name=f"Session policy of {user.username}", exact=True)).to_be_visible()
    expect(page.get_by_label("Long-term validity")).not_to_be_checked()
    expect(page.get_by_label("Expiration time (minutes)")).to_have_value("")
    exclusive = page.get_by_label("Exclusive login")
    expect(exclusive).not_to_be_checked()
    exclusive.check()
    page.get_by_role("button", name="Save Configuration", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"The session policy of {user.username} was saved.")


def test_exclusive_login_signs_the_earlier_browser_out_and_tells_it_why(admin_page, other_browser, alice, screenshot):
    set_exclusive_login(admin_page, alice)
    alice.refresh_from_db()
    assert alice.exclusive_login
    assert not alice.long_term_sessions and alice.session_lifetime is None
    admin_page.get_by_role("button", name="Log out", exact=True).click()
    expect(admin_page).to_have_url(re.compile(r"/login/$"))

    # The first browser (the admin's, now logged out) logs in as alice, then a second one does.
    first, second = admin_page, other_browser
    log_in(first, username="alice")
    expect(first.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    log_in(second, username="alice")
    expect(second.get_by_role("heading", name="My account", exact=True)).to_be_visible()

    first.goto("/account/")

    expect(first).to_have_url(re.compile(r"/login/\?next=/account/$"))
    expect(first.get_by_role("status")).to_have_text(SIGNED_IN_ELSEWHERE)
    expect(first.get_by_text("You were signed out because your account signed in on another browser.")).to_be_visible()
    expect(first.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(first.get_by_role("button", name="Log out")).to_have_count(0)
    screenshot("signed-out-elsewhere")

    # The message is said once: the next page does not repeat it.
    first.reload()
    expect(first.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    expect(first.get_by_text(SIGNED_IN_ELSEWHERE)).to_have_count(0)

    second.goto("/account/")
    expect(second).to_have_url(re.compile(r"/account/$"))
    expect(second.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    expect(second.get_by_text(SIGNED_IN_ELSEWHERE)).to_have_count(0)


def test_without_exclusive_login_both_browsers_stay_logged_in(page, other_browser, alice):
    log_in(page, username="alice")
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    log_in(other_browser, username="alice")
    expect(other_browser.get_by_role("heading", name="My account", exact=True)).to_be_visible()

    page.goto("/account/")

    expect(page).to_have_url(re.compile(r"/account/$"))
    expect(page.get_by_role("heading", name="My account", exact=True)).to_be_visible()
    expect(page.get_by_text(SIGNED_IN_ELSEWHERE)).to_have_count(0)


def test_long_term_with_minutes_is_refused_next_to_the_field_and_nothing_is_saved(admin_page, alice, console):
    console.expect_http_error(400, f"/users/{alice.pk}/session-policy/")
    admin_page.goto(f"/users/{alice.pk}/session-policy/")
    admin_page.get_by_label("Long-term validity").check()
    admin_page.get_by_label("Expiration time (minutes)").fill("30")

    admin_page.get_by_role("button", name="Save Configuration", exact=True).click()

    field = admin_page.locator(".field", has=admin_page.get_by_label("Expiration time (minutes)"))
    expect(field.locator(".errors")).to_have_text(
        "Choose long-term validity or an expiration time, not both: long-term sessions never time out."
    )
    alice.refresh_from_db()
    assert (alice.long_term_sessions, alice.session_lifetime) == (False, None)
