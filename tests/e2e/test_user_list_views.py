"""The user list's paging, company filter and nesting, and inline edits saved when the field is left.

Each test is one behaviour; the ``page`` fixture fails any test whose pages log a console
error, an uncaught script error or a Content-Security-Policy violation.
"""

import datetime
import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from organisation.models import Company
from tests.e2e.test_user_management import USERNAME_RULE, start_inline_edit, user_cell, user_row
from tests.factories import UserFactory

pytestmark = pytest.mark.browser

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def _members(count, **fields):
    return [
        UserFactory(username=f"member{n:02d}", date_joined=START + datetime.timedelta(days=n), **fields)
        for n in range(count)
    ]


def _rows(page):
    return page.locator("table.users tbody tr")


def _count_line(page):
    return page.locator("p.count")


# Paging


def test_page_size_select_shows_more_users_per_page(admin_page, screenshot):
    _members(45)  # with the admin: 46 users
    admin_page.reload()
    expect(_count_line(admin_page)).to_have_text("1–20 of 46 users")

    admin_page.get_by_label("Per page").select_option("50")

    expect(admin_page).to_have_url(re.compile(r"[?&]size=50\b"))
    expect(_rows(admin_page)).to_have_count(46)
    expect(_count_line(admin_page)).to_have_text("46 users")
    expect(admin_page.get_by_label("Per page")).to_have_value("50")
    screenshot("user-list-page-size")


def test_page_jump_goes_to_the_page_typed(admin_page, screenshot):
    _members(45)
    admin_page.reload()

    admin_page.get_by_role("spinbutton", name="Go to page").fill("3")
    admin_page.get_by_role("button", name="Go", exact=True).click()

    expect(admin_page).to_have_url(re.compile(r"[?&]page=3\b"))
    expect(_count_line(admin_page)).to_have_text("41–46 of 46 users")
    expect(admin_page.get_by_text("Page 3 of 3")).to_be_visible()
    expect(_rows(admin_page)).to_have_count(6)
    screenshot("user-list-last-page")


def test_a_page_past_the_end_shows_the_last_page_and_says_so(admin_page):
    _members(45)

    admin_page.goto("/users/?page=999")

    expect(_count_line(admin_page)).to_contain_text("41–46 of 46 users")
    expect(_count_line(admin_page)).to_contain_text("the page asked for is past the end: this is the last page")


# Company filter


@pytest.fixture
def tree(db):
    root = Company.objects.create(name="Northwind")
    branch = Company.objects.create(name="Northwind Oslo", parent=root)
    UserFactory(username="nora", company=root)
    UserFactory(username="olav", company=branch)
    UserFactory(username="oda", company=branch)
    return root


def test_choosing_a_company_lists_its_subsidiaries_users_until_direct_members_only_is_ticked(admin_page, tree):
    admin_page.reload()
    companies = admin_page.get_by_role("navigation", name="Companies")
    expect(companies.get_by_role("link", name="Northwind Oslo")).to_have_count(0)  # until its parent is chosen

    companies.get_by_role("link", name="Northwind", exact=True).click()
    expect(_count_line(admin_page)).to_have_text("3 users")
    expect(companies.locator("li.depth-1", has_text="Northwind Oslo")).to_be_visible()

    admin_page.get_by_role("checkbox", name="Direct members only").check()

    expect(admin_page).to_have_url(re.compile(r"[?&]direct=1\b"))
    expect(_count_line(admin_page)).to_have_text("1 user")
    expect(_rows(admin_page)).to_have_text([re.compile("nora")])
    expect(admin_page.get_by_role("checkbox", name="Direct members only")).to_be_checked()


def test_sub_users_show_under_their_parent_when_asked(admin_page, screenshot):
    parent = UserFactory(username="parent_pia", date_joined=START)
    UserFactory(username="kid_karl", parent=parent, date_joined=START)
    _members(3)  # newer top-level users, listed before and between them when flat
    admin_page.reload()

    admin_page.get_by_role("checkbox", name="Show sub-users under their parent").check()

    expect(admin_page).to_have_url(re.compile(r"[?&]nested=1\b"))
    usernames = _rows(admin_page).locator('td[data-label="Username"]')
    expect(usernames).to_have_text(["admin", "member02", "member01", "member00", "parent_pia", "kid_karl"])
    expect(_rows(admin_page).last).to_have_attribute("data-depth", "1")
    screenshot("user-list-nested")


# Inline edit: leaving the field saves


@pytest.fixture
def alice(db):
    return UserFactory(username="alice_martin", email="alice.martin@example.com")


def _posts(page):
    """The inline-edit POSTs the page sends from now on."""
    sent = []
    page.on("request", lambda request: sent.append(request.url) if request.method == "POST" else None)
    return sent


def test_leaving_the_field_saves_and_shows_saved(admin_page, alice, screenshot):
    admin_page.reload()

    email = start_inline_edit(admin_page, alice, "email")
    email.fill("alice@martin.example")
    admin_page.get_by_role("heading", name="Users", exact=True).click()  # focus leaves the field

    cell = user_cell(admin_page, alice, "email")
    expect(cell).to_have_text("alice@martin.example")
    expect(cell).to_have_class(re.compile(r"\bis-saved\b"))
    expect(admin_page.locator("#inline-edit-status")).to_have_text("Email of alice_martin: saved.")
    screenshot("inline-edit-saved")
    alice.refresh_from_db()
    assert alice.email == "alice@martin.example"


def test_leaving_the_field_unchanged_closes_it_without_a_request(admin_page, alice):
    admin_page.reload()
    posts = _posts(admin_page)

    start_inline_edit(admin_page, alice, "username")
    admin_page.get_by_role("heading", name="Users", exact=True).click()

    expect(user_cell(admin_page, alice, "username").get_by_role("link")).to_have_text("alice_martin")
    assert posts == []


def test_escape_cancels_and_leaving_afterwards_saves_nothing(admin_page, alice):
    admin_page.reload()
    posts = _posts(admin_page)

    email = start_inline_edit(admin_page, alice, "email")
    email.fill("typed-but-not-saved@example.com")
    email.press("Escape")
    link = user_cell(admin_page, alice, "email").get_by_role("link", name="Edit email of alice_martin")
    expect(link).to_be_focused()
    admin_page.get_by_role("heading", name="Users", exact=True).click()

    expect(user_cell(admin_page, alice, "email")).to_have_text("alice.martin@example.com")
    assert posts == []
    assert User.objects.get(pk=alice.pk).email == "alice.martin@example.com"


def test_a_refused_value_left_by_blur_shows_the_rule_and_the_error_state(admin_page, alice, screenshot):
    admin_page.reload()

    username = start_inline_edit(admin_page, alice, "username")
    username.fill("bad name!")
    admin_page.get_by_role("heading", name="Users", exact=True).click()

    cell = user_cell(admin_page, alice, "username")
    expect(cell.get_by_role("alert")).to_have_text(USERNAME_RULE)
    expect(cell).to_have_class(re.compile(r"\bis-error\b"))
    expect(admin_page.locator("#inline-edit-status")).to_have_text(
        f"Username of alice_martin: not saved. {USERNAME_RULE}"
    )
    expect(username).not_to_be_focused()  # the answer does not pull the focus back
    screenshot("inline-edit-blur-error")
    assert User.objects.get(pk=alice.pk).username == "alice_martin"


def test_enter_still_saves_and_gives_the_focus_back_to_the_value(admin_page, alice):
    admin_page.reload()

    username = start_inline_edit(admin_page, alice, "username")
    username.fill("alice_m")
    username.press("Enter")

    cell = user_cell(admin_page, alice, "username")
    expect(cell.get_by_role("link", name="Edit username of alice_m")).to_be_focused()
    expect(cell).to_have_class(re.compile(r"\bis-saved\b"))
    expect(user_row(admin_page, alice)).to_be_visible()
    assert User.objects.get(pk=alice.pk).username == "alice_m"
