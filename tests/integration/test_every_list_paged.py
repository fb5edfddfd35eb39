"""The lists beyond the users (a user's tokens, sessions, roles, companies) page with the same component.

core.view_helpers.paging reads ``?page=`` and ``?size=``; panel/templates/_pagination.html shows the bar.
No value of them is ever an error, and a page costs the same queries however long the list.
"""

import datetime
import re

import pytest
from django.contrib.auth.models import Group
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from organisation.models import Company
from tests.factories import UserFactory
from tests.integration.api_script import grant_api_module
from tests.integration.conftest import logged_in_client
from tokens.models import AccessToken
from usersessions.models import UserSession

pytestmark = pytest.mark.django_db

START = datetime.datetime(2031, 1, 1, tzinfo=datetime.UTC)
# Garbage, negative, huge: the first or the last page, never an error (NUL is refused at the door: 400).
ODD_PAGES = ["-1", "0", "abc", "1.5", "", str(10**30), "9" * 5000]
ODD_SIZES = ["7", "abc", "-20", "1000000000", "", "20.0"]


def _queries(client, path, **query):
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, query).status_code == 200
    return len(captured)


def _jump(response):
    return re.search(r'<form class="page-jump".*?</form>', response.content.decode(), re.S).group(0)


# One user's access tokens


@pytest.fixture
def carol(db):
    carol = UserFactory(username="carol")
    grant_api_module(carol)
    return carol


def _tokens(owner, count, *, same_time=False):
    """``count`` tokens named t000…, t000 the oldest (or all made at once, when ``same_time``)."""
    return AccessToken.objects.bulk_create(
        AccessToken(
            user=owner,
            name=f"t{n:03d}",
            secret="s" * 32,
            expires_at=START + datetime.timedelta(days=400),
            created_at=START if same_time else START + datetime.timedelta(minutes=n),
        )
        for n in range(count)
    )


def _token_names(response):
    return [token.name for token in response.context["page"]]


def test_token_list_pages_newest_first(carol):
    _tokens(carol, 45)
    browser = logged_in_client(carol)

    first = browser.get(f"/users/{carol.pk}/tokens/")
    second = browser.get(f"/users/{carol.pk}/tokens/", {"page": 2})

    assert _token_names(first) == [f"t{n:03d}" for n in range(44, 24, -1)]
    assert _token_names(second) == [f"t{n:03d}" for n in range(24, 4, -1)]
    body = first.content.decode()
    assert 'href="?page=2" rel="next"' in body
    assert 'name="page" type="number" min="1" max="3" value="1"' in _jump(first)
    assert "t044" in body and "t024" not in body


def test_tokens_made_at_the_same_moment_keep_one_order_across_pages(carol):
    made = _tokens(carol, 45, same_time=True)
    browser = logged_in_client(carol)

    shown = [
        token.pk
        for page in (1, 2, 3)
        for token in browser.get(f"/users/{carol.pk}/tokens/", {"page": page}).context["page"]
    ]

    assert shown == sorted((token.pk for token in made), reverse=True)


def test_token_list_shows_the_size_asked_for_and_keeps_it_in_its_links(carol):
    _tokens(carol, 120)

    response = logged_in_client(carol).get(f"/users/{carol.pk}/tokens/", {"size": 50, "page": 2})

    assert len(response.context["page"]) == 50
    assert 'href="?size=50&amp;page=3" rel="next"' in response.content.decode()
    assert '<option value="50" selected>' in response.content.decode()


def test_a_thousand_tokens_render_one_small_page(carol):
    _tokens(carol, 1_000)

    response = logged_in_client(carol).get(f"/users/{carol.pk}/tokens/")

    assert len(response.context["page"]) == 20
    assert len(response.content) < 60_000  # all of them on one page took 663 KB


def test_token_list_queries_do_not_grow_with_the_tokens(carol):
    browser = logged_in_client(carol)
    _tokens(carol, 5)
    browser.get(f"/users/{carol.pk}/tokens/")  # the session's first request touches it
    few = _queries(browser, f"/users/{carol.pk}/tokens/")
    _tokens(carol, 300)

    assert _queries(browser, f"/users/{carol.pk}/tokens/", size="200") == few
    assert _queries(browser, f"/users/{carol.pk}/tokens/", page="2") == few


# One user's sessions

SEEN = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def _sessions(owner, count, *, same_time=False, start=0):
    """``count`` live sessions of ``owner`` from 10.0.0.n, n=0 the least recently seen (or all seen at once)."""
    alive = timezone.now() + datetime.timedelta(days=1)
    numbers = range(start, start + count)
    Session.objects.bulk_create(
        Session(session_key=f"k{owner.pk}x{n}", session_data="", expire_date=alive) for n in numbers
    )
    return UserSession.objects.bulk_create(
        UserSession(
            user=owner,
            session_key=f"k{owner.pk}x{n}",
            ip=f"10.0.{n // 250}.{n % 250}",
            created_at=SEEN,
            last_seen_at=SEEN if same_time else SEEN + datetime.timedelta(minutes=n),
        )
        for n in numbers
    )


def _ips(response):
    return [session.ip for session in response.context["page"]]


def test_session_list_pages_most_recently_seen_first(carol):
    browser = logged_in_client(carol)  # its own session, seen now, comes first
    _sessions(carol, 45)

    first = browser.get(f"/users/{carol.pk}/sessions/")
    second = browser.get(f"/users/{carol.pk}/sessions/", {"page": 2})
    third = browser.get(f"/users/{carol.pk}/sessions/", {"page": 3})

    assert _ips(first)[1:] == [f"10.0.0.{n}" for n in range(44, 25, -1)]
    assert _ips(second) == [f"10.0.0.{n}" for n in range(25, 5, -1)]
    assert _ips(third) == [f"10.0.0.{n}" for n in range(5, -1, -1)]
    assert 'href="?page=2" rel="next"' in first.content.decode()
    assert "End all other sessions" in third.content.decode()  # counts every page's sessions


def test_sessions_seen_at_the_same_moment_keep_one_order_across_pages(carol):
    made = _sessions(carol, 45, same_time=True)
    browser = logged_in_client(carol)

    shown = [
        session.pk
        for page in (1, 2, 3)
        for session in browser.get(f"/users/{carol.pk}/sessions/", {"page": page}).context["page"]
    ]

    assert shown[1:] == sorted((session.pk for session in made), reverse=True)


def test_session_list_shows_the_size_asked_for(carol):
    _sessions(carol, 120)

    response = logged_in_client(carol).get(f"/users/{carol.pk}/sessions/", {"size": 100, "page": 2})

    assert len(response.context["page"]) == 21
    assert '<option value="100" selected>' in response.content.decode()
    assert 'href="?size=100&amp;page=1" rel="prev"' in response.content.decode()


def test_session_list_queries_do_not_grow_with_the_sessions(carol):
    browser = logged_in_client(carol)
    _sessions(carol, 5)
    browser.get(f"/users/{carol.pk}/sessions/")
    few = _queries(browser, f"/users/{carol.pk}/sessions/")
    _sessions(carol, 300, start=5)

    assert _queries(browser, f"/users/{carol.pk}/sessions/", size="200") == few
    assert _queries(browser, f"/users/{carol.pk}/sessions/", page="2") == few


# Roles


def _roles(count, start=0):
    """Roles r000…, in name order."""
    Group.objects.bulk_create(Group(name=f"r{n:03d}") for n in range(start, start + count))


def _role_names(response):
    return [role.name for role in response.context["page"]]


def test_role_list_pages_by_name(admin_client):
    _roles(120)
    before = Group.objects.filter(name__lt="r").count()

    first = admin_client.get("/roles/")
    second = admin_client.get("/roles/", {"page": 2})

    assert len(first.context["page"]) == 50
    assert _role_names(second)[0] == f"r{50 - before:03d}"
    assert _role_names(first) + _role_names(second) == sorted(Group.objects.values_list("name", flat=True))[:100]
    assert 'href="?page=2" rel="next"' in first.content.decode()


def test_role_list_shows_the_size_asked_for(admin_client):
    _roles(120)

    response = admin_client.get("/roles/", {"size": 20, "page": 3})

    assert len(response.context["page"]) == 20
    assert 'href="?size=20&amp;page=4" rel="next"' in response.content.decode()


def test_role_list_queries_do_not_grow_with_the_roles(admin_client):
    _roles(5)
    admin_client.get("/roles/")
    few = _queries(admin_client, "/roles/", size="20")
    _roles(300, start=5)

    assert _queries(admin_client, "/roles/", size="200") == few
    assert _queries(admin_client, "/roles/", page="2") == few


# The company tree: its rows, flattened in tree order, are paged


def _forest(tops, subsidiaries):
    """``tops`` top-level companies c00…, each with ``subsidiaries`` subsidiaries c00-0…: in tree order."""
    Company.objects.bulk_create(Company(name=f"c{n:02d}") for n in range(tops))
    parents = Company.objects.filter(parent__isnull=True, name__startswith="c")
    Company.objects.bulk_create(
        Company(name=f"{parent.name}-{n}", parent=parent) for parent in parents for n in range(subsidiaries)
    )
    return [name for n in range(tops) for name in (f"c{n:02d}", *(f"c{n:02d}-{m}" for m in range(subsidiaries)))]


def _company_rows(response):
    return [(company.name, depth) for company, depth in response.context["page"]]


def test_company_tree_pages_its_rows_in_tree_order(admin_client):
    order = _forest(30, 2)  # 90 rows

    rows = [row for page in (1, 2) for row in _company_rows(admin_client.get("/companies/", {"page": page}))]

    assert len(_company_rows(admin_client.get("/companies/"))) == 50
    assert rows == [(name, 1 if "-" in name else 0) for name in order]
    body = admin_client.get("/companies/", {"page": 2}).content.decode()
    assert 'href="?page=1" rel="prev"' in body
    assert 'id="company-' in body and "c29-1" in body and "c00-0" not in body


def test_company_tree_rows_show_their_user_counts_on_every_page(admin_client):
    _forest(30, 2)
    UserFactory(company=Company.objects.get(name="c29-1"))

    (row,) = [
        company
        for company, _ in admin_client.get("/companies/", {"page": 2}).context["page"]
        if company.name == "c29-1"
    ]

    assert row.user_count == 1


def test_company_tree_shows_the_size_asked_for(admin_client):
    _forest(30, 2)

    response = admin_client.get("/companies/", {"size": 20, "page": 2})

    assert _company_rows(response)[0] == ("c06-1", 1)  # row 21: c06 is row 19
    assert len(_company_rows(response)) == 20
    assert 'href="?size=20&amp;page=3" rel="next"' in response.content.decode()


def test_company_tree_queries_do_not_grow_with_the_companies(admin_client):
    _forest(3, 1)
    admin_client.get("/companies/")
    few = _queries(admin_client, "/companies/", size="20")
    Company.objects.bulk_create(Company(name=f"d{n:03d}") for n in range(300))

    assert _queries(admin_client, "/companies/", size="200") == few
    assert _queries(admin_client, "/companies/", page="2") == few


# Odd values, the same for every list: one mechanism (core.view_helpers.paging), checked on each page


def _filled(name, carol, admin_client):
    """(browser, path, default page size) of the list ``name``, filled past its first page."""
    if name == "tokens":
        _tokens(carol, 45)
        return logged_in_client(carol), f"/users/{carol.pk}/tokens/", 20
    if name == "sessions":
        browser = logged_in_client(carol)  # with its own session: 45, 3 pages
        _sessions(carol, 44)
        return browser, f"/users/{carol.pk}/sessions/", 20
    if name == "roles":
        _roles(60)
        return admin_client, "/roles/", 50
    _forest(30, 2)  # 90 rows
    return admin_client, "/companies/", 50


LISTS = ["tokens", "sessions", "roles", "companies"]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("size", ODD_SIZES)
def test_a_list_with_a_size_not_offered_shows_the_default(carol, admin_client, name, size):
    browser, path, default = _filled(name, carol, admin_client)

    response = browser.get(path, {"size": size})

    assert response.status_code == 200
    assert len(response.context["page"]) == default


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("page", ODD_PAGES)
def test_a_list_with_an_odd_page_shows_the_first_or_the_last(carol, admin_client, name, page):
    browser, path, _default = _filled(name, carol, admin_client)

    response = browser.get(path, {"page": page})

    assert response.status_code == 200
    shown = response.context["page"]
    assert shown.number == (shown.paginator.num_pages if len(page) > 3 else 1) and shown.paginator.num_pages > 1


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("field", ["page", "size"])
def test_a_list_refuses_a_nul_byte_at_the_door(carol, admin_client, name, field):
    browser, path, _default = _filled(name, carol, admin_client)

    assert browser.get(path, {field: "\x00"}).status_code == 400


@pytest.mark.parametrize(("name", "items"), list(zip(LISTS, ["tokens", "sessions", "roles", "companies"], strict=True)))
def test_a_list_says_which_of_how_many_it_shows(carol, admin_client, name, items):
    browser, path, default = _filled(name, carol, admin_client)

    response = browser.get(path, {"page": 2})

    total = response.context["page"].paginator.count
    end = min(2 * default, total)
    assert f'<p class="count">{default + 1}–{end} of {total} {items}</p>' in response.content.decode()
