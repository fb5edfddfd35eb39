"""The account page's notification switch in a real browser: new-login emails off, then on again."""

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser


def test_new_login_emails_are_switched_off_and_on_from_the_account_page(page, screenshot):
    user = UserFactory(username="nora", email="nora@example.com")
    log_in(page, username="nora")
    page.goto("/account/")
    switch = page.get_by_label("Email me when my account is logged in to from a new browser")
    expect(switch).to_be_checked()

    switch.uncheck()
    page.get_by_role("button", name="Save", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Emails about new logins are off.")
    expect(page.get_by_label("Email me when my account is logged in to from a new browser")).not_to_be_checked()
    assert User.objects.get(pk=user.pk).notify_new_login is False
    screenshot("account-notifications")

    page.get_by_label("Email me when my account is logged in to from a new browser").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Emails about new logins are on.")
    assert User.objects.get(pk=user.pk).notify_new_login is True
