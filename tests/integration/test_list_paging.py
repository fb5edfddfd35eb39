"""The paged lists (users, audit log) and the user list's views: page size, page jump, total shown,
a company with its subsidiaries or alone, and sub-users nested under their parent.

Paging parameters come from links people edit and share: no value of them is ever an error.
"""

import datetime
import re
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.models import AuditEvent
from organisation.models import Company
from tests.factories import UserFactory
from tests.integration.conftest import grant, logged_in_client
from tests.integration.test_company_scope import COMPANY_ADMIN_PERMISSIONS

pytestmark = pytest.mark.django_db

START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def _members(count, **fields):
    """``count`` users, member00 the oldest, so that newest-first order is known."""
    return [
        UserFactory(username=f"member{n:02d}", date_joined=START + datetime.timedelta(days=n), **fields)
        for n in range(count)
    ]


def _names(response):
    return [user.username for user in response.context["page"]]


def _count_line(response):
    return re.search(r'<p class="count">(.*?)</p>', response.content.decode(), re.S).group(1)


# Page size


def test_user_list_shows_the_page_size_asked_for(admin_client):
    _members(60)

    response = admin_client.get("/users/", {"size": 50})

    assert len(response.context["page"]) == 50
    assert "1–50 of 61 users" in _count_line(response)
    assert 'href="?size=50&amp;page=2"' in response.content.decode()


def test_user_list_offers_twenty_fifty_hundred_and_two_hundred_per_page(admin_client):
    _members(25)

    body = admin_client.get("/users/").content.decode()

    assert re.findall(r'<option value="(\d+)"', body) == ["20", "50", "100", "200"]
    assert '<option value="20" selected>' in body


@pytest.mark.parametrize("size", ["7", "abc", "1000000000", "", "-20", "20.0", "٢٠"])
def test_user_list_with_a_size_not_offered_shows_the_default(admin_client, size):
    _members(25)

    response = admin_client.get("/users/", {"size": size})

    assert response.status_code == 200
    assert len(response.context["page"]) == 20


def test_search_and_company_links_keep_the_page_size(admin_client):
    company = Company.objects.create(name="Acme")
    _members(25, company=company)

    body = admin_client.get("/users/", {"size": 100, "q": "member"}).content.decode()

    assert f'href="?size=100&amp;company={company.pk}"' in body  # the tree
    assert '<input type="hidden" name="size" value="100">' in body  # the search form


# Page number and the jump


@pytest.mark.parametrize("page", ["-1", "0", "abc", "1.5", " 2", "²", "", "--1"])
def test_user_list_with_a_page_that_is_not_a_number_shows_the_first_page(admin_client, page):
    _members(45)

    response = admin_client.get("/users/", {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == 1
    assert "past the end" not in _count_line(response)


@pytest.mark.parametrize("page", ["4", "99", str(10**30), "9" * 5000])
def test_user_list_past_the_end_shows_the_last_page_and_says_so(admin_client, page):
    _members(45)  # with the admin: 46 users, 3 pages

    response = admin_client.get("/users/", {"page": page})

    assert response.status_code == 200
    assert response.context["page"].number == 3
    assert _names(response) == ["member05", "member04", "member03", "member02", "member01", "member00"]
    line = _count_line(response)
    assert "41–46 of 46 users" in line
    assert "the page asked for is past the end: this is the last page" in line


@pytest.mark.parametrize("query", [{}, {"q": "member"}, {"nested": "1"}])
def test_every_page_shows_the_rows_of_the_list_in_order_also_those_read_from_the_end(admin_client, query):
    """Pages past the middle are read backwards from the end (core.pagination.NearerEndPaginator)."""
    members = _members(65)
    parent = members[30]
    UserFactory(username="member99", parent=parent, date_joined=START)  # a sub-user among the last pages
    whole = [
        name
        for page in range(1, 5)
        for name in _names(admin_client.get("/users/", {**query, "size": 20, "page": page}))
    ]
    if query.get("nested"):
        expected = ["admin"] + [f"member{n:02d}" for n in range(64, 30, -1)] + ["member30", "member99"]
        expected += [f"member{n:02d}" for n in range(29, -1, -1)]
    else:
        expected = [user.username for user in User.objects.order_by("-date_joined", "-id")]
        if query.get("q"):
            expected.remove("admin")
    assert whole == expected


@pytest.mark.parametrize("path", ["/users/", "/audit/"])
@pytest.mark.parametrize("name", ["page", "size"])
def test_a_nul_byte_in_the_paging_parameters_is_refused_at_the_door_not_a_server_error(admin_client, path, name):
    # core.middleware refuses NUL in any query string (400), before a list reads it.
    assert admin_client.get(path, {name: "\x00"}).status_code == 400


def test_page_jump_form_goes_to_a_page_and_keeps_the_other_parameters(admin_client):
    _members(120)

    response = admin_client.get("/users/", {"q": "member", "size": 50, "page": 2})

    jump = re.search(r'<form class="page-jump".*?</form>', response.content.decode(), re.S).group(0)
    assert '<input type="hidden" name="q" value="member">' in jump
    assert '<input type="hidden" name="size" value="50">' in jump
    assert 'name="page" type="number" min="1" max="3" value="2"' in jump
    assert _names(admin_client.get("/users/", {"q": "member", "size": 50, "page": 3})) == [
        f"member{n:02d}" for n in range(19, -1, -1)
    ]


def test_page_size_form_starts_again_at_the_first_page(admin_client):
    _members(45)

    body = admin_client.get("/users/", {"q": "member", "page": 2}).content.decode()

    size_form = re.search(r'<form class="page-size".*?</form>', body, re.S).group(0)
    assert '<input type="hidden" name="q" value="member">' in size_form
    assert 'name="page"' not in size_form


def test_a_list_that_fits_the_smallest_page_shows_no_paging_bar(admin_client):
    _members(5)

    response = admin_client.get("/users/")

    assert 'class="pagination"' not in response.content.decode()
    assert _count_line(response) == "6 users"


def test_total_uses_thousands_separators(admin_client):
    UserFactory.create_batch(1_000 - 1)

    response = admin_client.get("/users/", {"size": 200, "page": 5})

    assert _count_line(response) == "801–1,000 of 1,000 users"


def test_user_list_queries_do_not_grow_with_the_page_size(admin_client):
    _members(60)
    admin_client.get("/users/")  # the session's first request touches it, and fills the cached total

    def queries(size):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/users/", {"size": size}).status_code == 200
        return len(captured)

    assert queries(20) == queries(200)


# The audit log shares the paging


@pytest.mark.parametrize(("size", "shown"), [("20", 20), ("200", 120), ("7", 50), ("abc", 50), (str(10**9), 50)])
def test_audit_log_shows_the_page_size_asked_for_or_its_default_of_fifty(admin_client, size, shown):
    AuditEvent.objects.bulk_create(AuditEvent(action="user.update", actor_name="admin") for _ in range(120))

    response = admin_client.get("/audit/", {"action": "user.update", "size": size})

    assert response.status_code == 200
    assert len(response.context["page"]) == shown


@pytest.mark.parametrize("page", ["-1", "abc", str(10**30), "3"])
def test_audit_log_ignores_page_numbers_of_old_links(admin_client, page):
    # The log pages by seeking (Older/Newer): a page number from an old link shows the newest events.
    AuditEvent.objects.bulk_create(AuditEvent(action="user.update", actor_name="admin") for _ in range(120))

    response = admin_client.get("/audit/", {"action": "user.update", "page": page})

    assert response.status_code == 200
    assert (response.context["page"].has_newer, response.context["page"].has_older) == (False, True)


def test_audit_log_paging_links_keep_the_filters_and_the_size(admin_client):
    AuditEvent.objects.bulk_create(AuditEvent(action="user.update", actor_name="admin") for _ in range(120))

    response = admin_client.get("/audit/", {"action": "user.update", "size": 20})
    older = response.context["page"].older_cursor

    body = response.content.decode()
    assert f'href="?action=user.update&amp;size=20&amp;older={older}" rel="next"' in body
    assert 'href="?action=user.update&amp;size=20&amp;oldest=1"' in body


# A company with its subsidiaries


@pytest.fixture
def org(db):
    """Root → (East → East-Sub, West); eve administers East."""
    root = Company.objects.create(name="Root")
    east = Company.objects.create(name="East", parent=root)
    east_sub = Company.objects.create(name="East-Sub", parent=east)
    west = Company.objects.create(name="West", parent=root)
    org = SimpleNamespace(root=root, east=east, east_sub=east_sub, west=west)
    org.east_admin = grant(UserFactory(username="eve", company=east), *COMPANY_ADMIN_PERMISSIONS)
    for username, company in [("rita", root), ("ed", east), ("esther", east_sub), ("ezra", east_sub), ("walt", west)]:
        UserFactory(username=username, company=company)
    return org


def test_choosing_a_company_lists_its_users_and_those_of_its_subsidiaries(admin_client, org):
    response = admin_client.get("/users/", {"company": org.root.pk})

    assert sorted(_names(response)) == ["ed", "esther", "eve", "ezra", "rita", "walt"]


def test_direct_members_only_lists_the_company_itself(admin_client, org):
    response = admin_client.get("/users/", {"company": org.root.pk, "direct": "1"})

    assert _names(response) == ["rita"]
    assert 'name="direct" value="1" data-autosubmit checked' in response.content.decode()


def test_company_admin_sees_their_company_with_its_subsidiaries(org):
    browser = logged_in_client(org.east_admin)

    assert sorted(_names(browser.get("/users/", {"company": org.east.pk}))) == ["ed", "esther", "eve", "ezra"]
    assert sorted(_names(browser.get("/users/", {"company": org.east.pk, "direct": "1"}))) == ["ed", "eve"]


@pytest.mark.parametrize("company", ["root", "west"])
@pytest.mark.parametrize("options", [{}, {"direct": "1"}, {"nested": "1"}, {"size": "200", "page": "2"}])
def test_company_admin_cannot_list_a_company_outside_their_scope(org, company, options):
    response = logged_in_client(org.east_admin).get("/users/", {"company": getattr(org, company).pk, **options})

    assert response.status_code == 404
    assert b"walt" not in response.content


def _tree(response):
    rows = response.context["companies"]
    return [(company.name, depth, company.has_subsidiaries, company.is_open) for company, depth in rows]


def test_company_tree_shows_the_top_level_until_a_company_is_chosen(admin_client, org):
    assert _tree(admin_client.get("/users/")) == [("Root", 0, True, False)]


def test_company_tree_opens_the_branch_down_to_the_chosen_company(admin_client, org):
    response = admin_client.get("/users/", {"company": org.east.pk})

    assert _tree(response) == [
        ("Root", 0, True, True),
        ("East", 1, True, True),
        ("East-Sub", 2, False, False),
        ("West", 1, False, False),
    ]
    body = response.content.decode()
    assert '<li class="depth-1 closed">' not in body  # West has no subsidiaries: nothing to open
    assert '<li class="depth-0 open">' in body


def test_company_tree_shows_no_user_counts(admin_client, org):
    """Counting every company's users read the whole user table on each request; the page says how many."""
    body = admin_client.get("/users/", {"company": org.root.pk}).content.decode()

    assert 'class="muted" title="Users of' not in body
    assert "6 users</p>" in body


def test_company_tree_takes_the_same_queries_at_any_number_of_companies(admin_client, org):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            response = admin_client.get("/users/", {"company": org.east.pk})
        return len(captured), len(response.context["companies"])

    before, shown = queries()
    for n in range(10):
        branch = Company.objects.create(name=f"Branch {n}", parent=org.west)
        UserFactory(company=Company.objects.create(name=f"Twig {n}", parent=branch))

    assert queries() == (before, shown)  # West's branches stay closed


# Sub-users under their parent


@pytest.fixture
def family(db):
    """parent → (child → grandchild, sibling), all in Acme, created in that order (sibling newest)."""
    acme = Company.objects.create(name="Acme")
    parent = UserFactory(username="parent", company=acme, date_joined=START)
    child = UserFactory(username="child", company=acme, parent=parent, date_joined=START)
    return SimpleNamespace(
        acme=acme,
        parent=parent,
        child=child,
        grandchild=UserFactory(username="grandchild", company=acme, parent=child, date_joined=START),
        sibling=UserFactory(
            username="sibling", company=acme, parent=parent, date_joined=START + datetime.timedelta(days=1)
        ),
    )


def _rows(response):
    return [(user.username, user.tree_depth) for user in response.context["page"]]


def test_nested_list_shows_each_sub_user_after_its_parent_with_its_depth(admin_client, family):
    response = admin_client.get("/users/", {"company": family.acme.pk, "nested": "1"})

    assert _rows(response) == [("parent", 0), ("sibling", 1), ("child", 1), ("grandchild", 2)]
    body = response.content.decode()
    assert f'<tr id="user-{family.grandchild.pk}" class="nested-row" data-depth="2">' in body
    assert "1 top-level user" in _count_line(response)


def test_nested_list_pages_by_top_level_users_and_keeps_a_family_on_one_page(admin_client, family):
    family.parent.date_joined = START + datetime.timedelta(days=30)  # in the middle of the members
    family.parent.save()
    _members(45)  # with the admin: 47 top-level users

    pages = [admin_client.get("/users/", {"nested": "1", "page": n}) for n in (1, 2, 3)]

    assert [len([row for row in page.context["page"] if row.tree_depth == 0]) for page in pages] == [20, 20, 7]
    first = _rows(pages[0])
    at = first.index(("parent", 0))
    assert first[at : at + 4] == [("parent", 0), ("sibling", 1), ("child", 1), ("grandchild", 2)]
    assert sum(len(page.context["page"]) for page in pages) == 47 + 3


def test_nested_list_does_not_show_a_sub_user_beyond_reach(family):
    reader = grant(UserFactory(username="reader", company=family.acme), *COMPANY_ADMIN_PERMISSIONS)
    grant(family.child, "core.unlock_accounts")  # a permission the reader lacks

    response = logged_in_client(reader).get("/users/", {"nested": "1"})

    assert ("child", 1) not in _rows(response)
    # child's own sub-user is visible: with its parent out of sight, it stands on its own.
    assert ("grandchild", 0) in _rows(response)
    assert ("sibling", 1) in _rows(response)


def test_nested_list_shows_the_visible_sub_users_of_a_parent_beyond_reach(family):
    reader = grant(UserFactory(username="reader", company=family.acme), *COMPANY_ADMIN_PERMISSIONS)
    grant(family.parent, "core.unlock_accounts")

    rows = _rows(logged_in_client(reader).get("/users/", {"nested": "1"}))

    assert "parent" not in [name for name, _ in rows]
    assert rows.index(("child", 0)) + 1 == rows.index(("grandchild", 1))
    assert ("sibling", 0) in rows


def test_nested_search_shows_a_matching_sub_user_on_its_own(admin_client, family):
    assert _rows(admin_client.get("/users/", {"q": "grand", "nested": "1"})) == [("grandchild", 0)]


def test_nested_list_of_a_company_admin_never_reaches_outside_their_scope(org):
    walt = org.west.users.get()
    UserFactory(username="wendy", company=org.west, parent=walt)

    names = [name for name, _ in _rows(logged_in_client(org.east_admin).get("/users/", {"nested": "1"}))]

    assert sorted(names) == ["ed", "esther", "eve", "ezra"]
