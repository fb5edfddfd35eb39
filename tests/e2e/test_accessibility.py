"""axe-core finds no accessibility violation on the pages people use most, at a laptop's and a phone's width.

axe-core (tests/e2e/vendor/axe.min.js, MPL-2.0, see vendor/README.md) runs in the page through
Playwright's evaluate, which the pages' Content-Security-Policy does not govern, so the policy
stays as strict as in production. Every rule axe runs by default counts (WCAG 2.x A and AA and
its best practices).
"""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import log_in
from tests.e2e.organisation import build_organisation

pytestmark = pytest.mark.browser

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
RUN_AXE = AXE + "\n;axe.run(document, {resultTypes: ['violations']}).then((results) => results.violations)"
WIDTHS = {1280: 800, 390: 844}


def described(violations):
    """One line per offending element: the rule, its impact and where."""
    return "\n".join(
        f"{violation['id']} ({violation['impact']}): {violation['help']} at {node['target']}"
        for violation in violations
        for node in violation["nodes"]
    )


def assert_no_violations(page):
    violations = page.evaluate(RUN_AXE)
    assert not violations, f"axe-core on {page.url}:\n{described(violations)}"


@pytest.mark.parametrize("width", WIDTHS)
def test_the_login_page_has_no_violations(page, width):
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    page.goto("/login/")

    assert_no_violations(page)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("path", ["/users/", "/users/{admin}/tokens/", "/users/{admin}/two-factor/"])
def test_a_main_page_has_no_violations(page, admin_user, path, width):
    build_organisation(admin_user)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    log_in(page, username=admin_user.username)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()

    page.goto(path.format(admin=admin_user.pk))

    assert_no_violations(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_user_lists_open_menu_and_enrolment_dialog_have_no_violations(page, admin_user, width):
    build_organisation(admin_user)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    log_in(page, username=admin_user.username)
    page.locator(".row-menu summary").first.click()
    assert_no_violations(page)

    page.get_by_role("switch", name="Turn on two-factor authentication for admin").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    assert_no_violations(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_quick_action_dialogs_have_no_violations(page, admin_user, width):
    """Create User, Change Password and Delete in the shared dialog, the form refused once."""
    build_organisation(admin_user)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    log_in(page, username=admin_user.username)

    page.get_by_role("link", name="Create User", exact=True).first.click()
    dialog = page.get_by_role("dialog", name="Create User")
    dialog.get_by_role("button", name="Create").click()
    expect(dialog.locator('[aria-invalid="true"]').first).to_be_visible()
    assert_no_violations(page)
    page.keyboard.press("Escape")

    for link in ("Change Password", "Delete"):
        page.get_by_role("link", name=link, exact=True).first.click()
        expect(page.get_by_role("dialog")).to_be_visible()
        assert_no_violations(page)
        page.keyboard.press("Escape")
