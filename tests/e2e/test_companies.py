"""Companies, roles and data scope in a real browser.

The superuser builds a small organisation through the pages (companies, a role,
users placed with the company tree's "+"), then a company admin logs in and sees
only her own company: its tree, its users, and only the modules her role opens.
"""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from organisation.models import Company
from tests.e2e.conftest import VIEWPORT, log_in
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

EVE_PASSWORD = "Sturdy-pass-42"
WALT_PASSWORD = "Quiet-harbour-17"
COMPANY_ADMIN_PERMISSIONS = [
    "See users (the Users module)",
    "Create users and sub-users",
    "Change users: details, passwords, expiry, session policy, sessions, access",
    "See companies (the Companies module)",
]


def open_module(page, name):
    """Through the navigation at the top, as a person would."""
    page.get_by_role("navigation", name="Modules").get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", name=name, exact=True)).to_be_visible()


def company_row(page, name):
    """The row of the Companies table whose company cell reads ``name`` (the "└ " marker is aria-hidden)."""
    return page.get_by_role("row").filter(has=page.get_by_role("cell", name=name, exact=True))


def create_company(page, name, *, under=None):
    """ "Create Company" for a top company, or "Add Subsidiary" in the row of its parent."""
    open_module(page, "Companies")
    if under is None:
        page.get_by_role("link", name="Create Company", exact=True).click()
    else:
        company_row(page, under).get_by_role("link", name="Add Subsidiary", exact=True).click()
    expect(page.get_by_role("heading", name="Create Company", exact=True)).to_be_visible()
    parent = page.get_by_label("Parent company")
    if under is None:
        expect(parent.locator("option:checked")).to_have_text(
            "— None: a company at the top of the tree —"
        )  # the empty choice
    else:
        expect(parent.locator("option:checked")).to_have_text(under)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Company {name} was created.")


def create_role(page, name, permissions):
    open_module(page, "Roles")
    page.get_by_role("link", name="Create Role", exact=True).click()
    expect(page.get_by_role("heading", name="Create Role", exact=True)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(name)
    for label in permissions:
        page.get_by_role("checkbox", name=label, exact=True).check()
    page.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"Role {name} was created.")


def create_user_in(page, company, *, username, password, under=None):
    """With the "+" behind ``company`` in the user list's company tree (a subsidiary shows once its
    parent ``under`` is chosen, which opens that branch)."""
    open_module(page, "Users")
    tree = page.get_by_role("navigation", name="Companies")
    if under:
        tree.get_by_role("link", name=under, exact=True).click()
        expect(page.get_by_role("heading", name=f"Users of {under}", exact=True)).to_be_visible()
    tree.get_by_role("link", name=f"Create a user in {company}", exact=True).click()
    dialog = page.get_by_role("dialog", name="Create User")
    expect(dialog.get_by_label("Related company").locator("option:checked")).to_have_text(company)
    dialog.get_by_label("Username").fill(username)
    dialog.get_by_label("Email").fill(f"{username}@acme.example")
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Create", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"User {username} was created.")


def give_role(page, username, role):
    """On the user's Access page, from their row in the user list."""
    open_module(page, "Users")
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=f"Edit username of {username}", exact=True))
    row.get_by_text("More", exact=True).click()  # the row's menu of less frequent actions
    row.get_by_role("link", name="Access", exact=True).click()
    expect(page.get_by_role("heading", name=f"Access of {username}", exact=True)).to_be_visible()
    page.get_by_role("checkbox", name=role, exact=True).check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"The access of {username} was saved.")
    effective = page.get_by_role("region", name=f"What {username} may do")
    for label in COMPANY_ADMIN_PERMISSIONS:
        expect(effective.get_by_role("listitem").filter(has_text=label)).to_contain_text(f"from {role}")


def username_cells(page):
    return page.locator('table.users tbody td[data-label="Username"]')


def test_company_admin_sees_only_her_company_built_by_the_superuser(admin_page, console, screenshot):
    page = admin_page
    page.wait_for_load_state("load")

    # The superuser builds the organisation through the pages.
    create_company(page, "Acme")
    create_company(page, "Acme East", under="Acme")
    create_company(page, "Acme West", under="Acme")
    expect(page.locator("table.companies tbody td[data-label=Company]")).to_have_text(
        ["Acme", "└ Acme East", "└ Acme West"]
    )
    expect(company_row(page, "Acme East").locator("td.tree-cell")).to_have_class(re.compile(r"\bdepth-1\b"))

    create_role(page, "Company admin", COMPANY_ADMIN_PERMISSIONS)
    create_user_in(page, "Acme East", username="eve", password=EVE_PASSWORD, under="Acme")
    give_role(page, "eve", "Company admin")
    create_user_in(page, "Acme West", username="walt", password=WALT_PASSWORD, under="Acme")

    open_module(page, "Companies")
    expect(page.locator("table.companies tbody td[data-label=Users]")).to_have_text(["0", "1", "1"])
    screenshot("companies")

    eve, walt = User.objects.get(username="eve"), User.objects.get(username="walt")
    assert eve.company == Company.objects.get(name="Acme East")
    assert walt.company == Company.objects.get(name="Acme West")
    assert Company.objects.get(name="Acme East").parent == Company.objects.get(name="Acme", parent=None)
    assert eve.has_perm("accounts.view_user") and not eve.has_perm("auth.view_group")

    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(re.compile(r"/login/$"))

    # Eve, a company admin of Acme East, lands on the Users module scoped to her company.
    log_in(page, username="eve", password=EVE_PASSWORD)
    expect(page).to_have_url(re.compile(r"/users/$"))
    expect(page.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    page.wait_for_load_state("load")

    modules = page.get_by_role("navigation", name="Modules").get_by_role("link")
    expect(modules).to_have_text(["Users", "Companies"])

    tree = page.get_by_role("navigation", name="Companies")
    expect(tree.get_by_role("link", name="Acme East", exact=True)).to_be_visible()
    expect(tree.get_by_role("link", name="Create a user in Acme East", exact=True)).to_be_visible()
    expect(tree.get_by_role("link", name="Acme", exact=True)).to_have_count(0)
    expect(tree.get_by_role("link", name="Acme West", exact=True)).to_have_count(0)
    expect(tree.get_by_role("link")).to_have_text(["All users", "Acme East", "+"])

    expect(page.get_by_text("1 user", exact=True)).to_be_visible()
    expect(username_cells(page)).to_have_text(["eve"])
    expect(page.locator(f"tr#user-{walt.pk}")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit username of admin", exact=True)).to_have_count(0)
    expect(page.locator(f"tr#user-{eve.pk} td[data-label=Company]")).to_contain_text("Acme East")
    screenshot("scoped-user-list")

    # A user outside her scope does not exist for her, even by URL.
    console.expect_http_error(404, f"/users/{walt.pk}/expiry/")
    response = page.goto(f"/users/{walt.pk}/expiry/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found", exact=True)).to_be_visible()


def test_user_list_with_the_company_tree_fits_the_window(admin_page):
    acme = Company.objects.create(name="Acme")
    UserFactory(username="eve", email="eve@acme.example", company=acme)
    admin_page.reload()
    admin_page.wait_for_load_state("load")
    expect(admin_page.get_by_role("navigation", name="Companies")).to_be_visible()

    page_width = admin_page.evaluate("document.documentElement.scrollWidth")

    # A wide table scrolls inside its own frame (.table-wrap), as it does without the tree.
    assert page_width <= VIEWPORT["width"]
