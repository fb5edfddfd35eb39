"""Every page and dialog at a phone's, a laptop's and a wide desktop's width, with companies present.

At each width the test visits every page a superuser can open (and the login and password-reset
pages before logging in), opens every dialog, and checks two things a person would otherwise meet:
the document is never wider than the window, and every button and link of the main content (or of
the open dialog) lies inside the window once scrolled into view, with no box in between that has
to be scrolled sideways first. A screenshot of each page is saved as ``<page>-<width>.png``.
"""

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.e2e.conftest import PROJECT_ROOT, SCREENSHOTS, log_in
from tests.e2e.organisation import build_organisation

pytestmark = pytest.mark.browser

# A phone's, a laptop's and a wide desktop's, and the edges where the layout changes: the smallest
# phone, tables as cards up to 1023 px, the company tree above the users up to 1279 px.
WIDTHS = {360: 740, 390: 844, 768: 1024, 1023: 768, 1024: 768, 1279: 800, 1280: 800, 1920: 1080}
# Every width's pictures, untracked; the README's two also go to docs/screenshots when
# `make screenshots` asks for them (PANEL_SCREENSHOTS_DIR).
WIDTH_SCREENSHOTS = PROJECT_ROOT / "test-results" / "screenshots" / "widths"
README_SCREENSHOTS = {"users-1280": "user-list-companies.png", "users-390": "user-list-phone.png"}

# What a person can reach in the open dialog, or else in <main>: where it lies once scrolled into
# view, and which boxes inside hold content they would have to scroll sideways to see.
MEASURE = """() => {
  const root = document.querySelector("dialog[open]") || document.querySelector("main");
  const width = window.innerWidth;
  const name = (element) => (element.getAttribute("aria-label") || element.textContent).trim().slice(0, 40);
  const span = (box) => `[${Math.round(box.left)}, ${Math.round(box.right)}]`;
  const outside = [];
  for (const element of root.querySelectorAll("a[href], button, summary, input:not([type=hidden]), select")) {
    if (!element.checkVisibility({visibilityProperty: true})) continue;
    element.scrollIntoViewIfNeeded();
    const box = element.getBoundingClientRect();
    if (box.left < 0 || box.right > width + 0.5) outside.push(`${name(element)} ${span(box)}`);
  }
  const sideways = [];
  for (const element of root.querySelectorAll("*")) {
    const overflow = getComputedStyle(element).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && element.scrollWidth > element.clientWidth + 1) {
      const what = `${element.tagName.toLowerCase()}.${element.className}`;
      sideways.push(`${what} ${element.scrollWidth} in ${element.clientWidth}`);
    }
  }
  const dialog = document.querySelector("dialog[open]");
  const dialogBox = dialog && dialog.getBoundingClientRect();
  if (dialogBox && (dialogBox.left < 0 || dialogBox.right > width + 0.5)) {
    outside.push(`the dialog ${span(dialogBox)}`);
  }
  return {documentWidth: document.documentElement.scrollWidth, width, outside, sideways};
}"""


@pytest.fixture
def organisation(admin_user):
    return build_organisation(admin_user)


def pages(admin, organisation):
    """(name, path) of every page a superuser opens; each dialog is opened from its page by ``DIALOGS``."""
    alice, company = organisation.alice, organisation.company
    token = admin.access_tokens.first()
    passkey = admin.passkeys.first()
    role = company.parent.roles.first().group
    return [
        ("users", "/users/"),
        ("users-of-company", f"/users/?company={company.pk}"),
        ("user-create", "/users/new/"),
        ("user-password", f"/users/{alice.pk}/password/"),
        ("user-delete", f"/users/{alice.pk}/delete/"),
        ("user-expiry", f"/users/{alice.pk}/expiry/"),
        ("user-move", f"/users/{alice.pk}/company/"),
        ("user-email-edit", f"/users/{alice.pk}/email/edit/"),
        ("user-access", f"/users/{alice.pk}/access/"),
        ("tokens", f"/users/{admin.pk}/tokens/"),
        ("token-create", f"/users/{admin.pk}/tokens/new/"),
        ("token-update", f"/users/{admin.pk}/tokens/{token.pk}/edit/"),
        ("token-delete", f"/users/{admin.pk}/tokens/{token.pk}/delete/"),
        ("sessions", f"/users/{admin.pk}/sessions/"),
        ("session-policy", f"/users/{alice.pk}/session-policy/"),
        ("two-factor", f"/users/{admin.pk}/two-factor/"),
        ("two-factor-on", f"/users/{alice.pk}/two-factor/"),
        ("two-factor-disable", f"/users/{alice.pk}/two-factor/disable/"),
        ("passkeys", f"/users/{admin.pk}/passkeys/"),
        ("passkey-delete", f"/users/{admin.pk}/passkeys/{passkey.pk}/delete/"),
        ("companies", "/companies/"),
        ("company-create", "/companies/new/"),
        ("company-update", f"/companies/{company.pk}/edit/"),
        ("company-delete", f"/companies/{company.pk}/delete/"),
        ("roles", "/roles/"),
        ("role-create", "/roles/new/"),
        ("role-update", f"/roles/{role.pk}/edit/"),
        ("role-delete", f"/roles/{role.pk}/delete/"),
        ("audit", "/audit/"),
        ("locks", "/locks/"),
        ("account", "/account/"),
    ]


def open_row_menu(page):
    page.locator(".row-menu summary").first.click()


def open_two_factor_dialog(page):
    page.get_by_role("switch", name="Turn on two-factor authentication for admin").click()
    expect(page.get_by_role("dialog")).to_be_visible()


def open_create_token(page):
    page.get_by_role("link", name="Create Token").click()
    expect(page.get_by_role("dialog", name="Create Token")).to_be_visible()


def open_token_created(page):
    open_create_token(page)
    page.get_by_label("Name", exact=True).fill("deploy from the release pipeline")
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("dialog", name="created")).to_be_visible()


def open_register_passkey(page):
    page.get_by_role("link", name="Register Passkey").click()
    expect(page.get_by_role("dialog", name="Register Passkey")).to_be_visible()


def quick_action(link, dialog):
    """Opens the shared dialog from the page's first link named ``link`` (a quick action)."""

    def open_it(page):
        page.get_by_role("link", name=link).first.click()
        expect(page.get_by_role("dialog", name=dialog)).to_be_visible()

    return open_it


# (name, the page it opens from, how) of every dialog and menu.
DIALOGS = [
    ("users-create-dialog", "users-of-company", quick_action(re.compile("^Create User$"), "Create User")),
    ("users-password-dialog", "users", quick_action("Change Password", re.compile("^Change"))),
    ("users-delete-dialog", "users", quick_action(re.compile("^Delete$"), re.compile("^Delete user"))),
    ("users-expiry-dialog", "users", quick_action(re.compile("^Change the expiry of"), re.compile("^Account expiry"))),
    ("tokens-modify-dialog", "tokens", quick_action("Modify", re.compile("^Modify token"))),
    ("tokens-delete-dialog", "tokens", quick_action(re.compile("^Delete$"), re.compile("^Delete token"))),
    ("passkeys-delete-dialog", "passkeys", quick_action(re.compile("^Delete$"), re.compile("^Delete passkey"))),
    ("companies-delete-dialog", "companies", quick_action(re.compile("^Delete$"), re.compile("^Delete company"))),
    ("roles-delete-dialog", "roles", quick_action(re.compile("^Delete$"), re.compile("^Delete role"))),
    ("users-row-menu", "users", open_row_menu),
    ("users-two-factor-dialog", "users", open_two_factor_dialog),
    ("tokens-create-dialog", "tokens", open_create_token),
    ("tokens-created-dialog", "tokens", open_token_created),
    ("passkeys-register-dialog", "passkeys", open_register_passkey),
]


class Findings:
    """What goes wrong at one width, page by page, so that one run reports every page at once."""

    def __init__(self, page, width):
        self.page, self.width, self.problems = page, width, []

    def check(self, name):
        path = WIDTH_SCREENSHOTS / f"{name}-{self.width}.png"
        self.page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
        readme_name = README_SCREENSHOTS.get(f"{name}-{self.width}")
        if readme_name and os.environ.get("PANEL_SCREENSHOTS_DIR"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, SCREENSHOTS / readme_name)
        found = self.page.evaluate(MEASURE)
        if found["documentWidth"] > found["width"]:
            self.problems.append(f"{name}: the page is {found['documentWidth']} px wide in {found['width']}")
        for outside in found["outside"]:
            self.problems.append(f"{name}: outside the window: {outside}")
        for sideways in found["sideways"]:
            self.problems.append(f"{name}: scrolls sideways: {sideways}")


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_and_dialog_fits_the_window(page, admin_user, organisation, width):
    WIDTH_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": width, "height": WIDTHS[width]})
    findings = Findings(page, width)
    for name, path in [("login", "/login/"), ("password-reset", "/password-reset/")]:
        page.goto(path)
        findings.check(name)
    log_in(page, username=admin_user.username)
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    admin = User.objects.get(pk=admin_user.pk)
    for name, path in pages(admin, organisation):
        page.goto(path)
        findings.check(name)
        for dialog, opened_from, open_it in DIALOGS:
            if opened_from == name:
                open_it(page)
                findings.check(dialog)
                page.goto(path)

    assert not findings.problems, f"At {width} px:\n" + "\n".join(findings.problems)
