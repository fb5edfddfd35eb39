"""The audit log pages by seeking (core.audit_pages): no duplicates or gaps, ties on created_at, filters, a company
admin's scope (also with a crafted cursor), bad cursors, constant queries; the API's cursor and bounded pages."""

import datetime
import types

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import audit_pages
from core.audit import Origin, events_visible_to, record
from core.audit_pages import cursor_of
from core.models import AuditEvent
from tests.factories import CompanyFactory, UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import grant, logged_in_client

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2030, 3, 1, 12, 0, tzinfo=datetime.UTC)


def seed(count, *, per_moment=3, **fields):
    """``count`` events, ``per_moment`` of them at each second, so that pages split ties on created_at."""
    return AuditEvent.objects.bulk_create(
        AuditEvent(created_at=T0 + datetime.timedelta(seconds=n // per_moment), action="user.update", **fields)
        for n in range(count)
    )


def newest_first(events):
    return [event.pk for event in sorted(events, key=lambda event: (event.created_at, event.pk), reverse=True)]


def walk(client, query, *, direction="older", start=None):
    """Every page from the newest (or the oldest) on, following Older (or Newer): the IDs in the order shown."""
    response = client.get("/audit/", {**query, **(start or {})})
    pages = [response]
    while True:
        page = response.context["page"]
        cursor = page.older_cursor if direction == "older" else page.newer_cursor
        if not cursor:
            break
        response = client.get("/audit/", {**query, direction: cursor})
        assert response.status_code == 200
        pages.append(response)
    if direction == "newer":
        pages.reverse()
    return [event.pk for response in pages for event in response.context["page"]]


def test_older_pages_list_every_event_once_in_order_across_ties(admin_client):
    AuditEvent.objects.all().delete()
    made = seed(130)

    assert walk(admin_client, {"size": 20}) == newest_first(made)


def test_newer_pages_from_the_oldest_list_every_event_once_in_order(admin_client):
    AuditEvent.objects.all().delete()
    made = seed(130, per_moment=7)

    assert walk(admin_client, {"size": 20}, direction="newer", start={"oldest": "1"}) == newest_first(made)


def test_the_oldest_page_holds_the_oldest_events_and_links_only_newer(admin_client):
    AuditEvent.objects.all().delete()
    made = seed(45)

    page = admin_client.get("/audit/", {"oldest": "1", "size": 20}).context["page"]

    assert [event.pk for event in page] == newest_first(made)[-20:]
    assert (page.has_newer, page.has_older) == (True, False)


def test_filters_hold_on_every_page(admin_client):
    AuditEvent.objects.all().delete()
    made = seed(90, actor_name="Alice") + seed(90, actor_name="bob")
    made += AuditEvent.objects.bulk_create([AuditEvent(created_at=T0, action="user.create", actor_name="alice")])

    shown = walk(admin_client, {"size": 20, "actor": "ALICE", "action": "user.update"})

    assert shown == newest_first(event for event in made if event.actor_name == "Alice")


@pytest.fixture
def companies():
    """Company A (with its subsidiary A1) and company B, a user in each, and an admin of A who reads the log."""
    a = CompanyFactory(name="A")
    a1, b = CompanyFactory(name="A1", parent=a), CompanyFactory(name="B")
    users = {"a": UserFactory(company=a), "a1": UserFactory(company=a1), "b": UserFactory(company=b)}
    admin = grant(UserFactory(username="a-admin", company=a), "core.view_auditevent")
    return types.SimpleNamespace(admin=admin, **users)


def test_a_company_admin_pages_through_exactly_their_scope(companies):
    c = companies
    for n in range(40):
        actor, target = [(c.a, c.b), (c.b, c.a1), (c.b, c.b), (None, c.b), (c.a1, None)][n % 5]
        record(origin=Origin(actor=actor), action="user.update", target=target)
    in_scope = AuditEvent.objects.filter(actor_company_id__in=[c.a.company_id, c.a1.company_id]) | (
        AuditEvent.objects.filter(target_company_id__in=[c.a.company_id, c.a1.company_id])
    )

    shown = walk(logged_in_client(c.admin), {"size": 20})

    assert shown == newest_first(in_scope)
    assert len(shown) == 24 + 1  # 3 of every 5, and the admin's own login
    assert not AuditEvent.objects.filter(pk__in=shown, actor=c.b, target_id=str(c.b.pk)).exists()


@pytest.mark.parametrize("max_parts", [0, 64])
def test_a_company_admin_reads_the_same_pages_by_index_parts_or_by_walking_the_log(companies, monkeypatch, max_parts):
    """Up to MAX_SCOPE_PARTS, a page is merged from a page of each company's events; beyond, the time index is
    walked and each event tested. Both list the same events, also with a filter and from the oldest end."""
    c = companies
    monkeypatch.setattr(audit_pages, "MAX_SCOPE_PARTS", max_parts)
    for n in range(60):
        actor, target = [(c.a, c.b), (c.b, c.a1), (c.b, c.b), (None, c.a), (c.a1, None), (c.a, c.a1)][n % 6]
        record(origin=Origin(actor=actor), action=["user.update", "user.create"][n % 2], target=target)
    visible = events_visible_to(c.admin)
    reader = logged_in_client(c.admin)

    assert walk(reader, {"size": 7}) == newest_first(visible)
    assert walk(reader, {"size": 7}, direction="newer", start={"oldest": "1"}) == newest_first(visible)
    filtered = walk(reader, {"size": 4, "action": "user.create"})
    assert filtered == newest_first(visible.filter(action="user.create"))
    api = Script.of(c.admin)
    numbered = [
        item["id"]
        for page in (1, 2, 3)
        for item in api.call("get", "/api/audit-events", size=20, page=page).json()["items"]
    ]
    assert numbered == newest_first(events_visible_to(c.admin))[: len(numbered)]


def test_a_crafted_cursor_shows_a_company_admin_nothing_beyond_their_scope(companies):
    c = companies
    outside = [record(origin=Origin(actor=c.b), action="user.update", target=c.b) for _ in range(5)]
    record(origin=Origin(actor=c.a), action="user.update", target=c.a)
    reader = logged_in_client(c.admin)
    visible = set(events_visible_to(c.admin).values_list("pk", flat=True))
    crafted = [cursor_of(outside[-1]), cursor_of(outside[0]), f"{10**17}.{2**63 - 1}", "0.0"]

    for direction in ("older", "newer"):
        for cursor in crafted:
            response = reader.get("/audit/", {direction: cursor})
            assert response.status_code == 200
            assert {event.pk for event in response.context["page"]} <= visible
    api = Script.of(c.admin).call("get", "/api/audit-events", older=f"{10**17}.{2**63 - 1}").json()
    assert {item["id"] for item in api["items"]} == set(events_visible_to(c.admin).values_list("pk", flat=True))
    assert not {event.pk for event in outside} & visible


@pytest.mark.parametrize(
    "bad", ["garbage", "1.2.3", "\x00", "1\x00.2", "9" * 5000, f"{10**18 - 1}.1", f"1.{2**63}", "-1.5", " 1.2", "１.２"]
)
def test_a_bad_cursor_is_a_clear_400_on_the_page_and_a_422_on_the_api(admin_client, admin_user, bad):
    for direction in ("older", "newer"):
        response = admin_client.get("/audit/", {direction: bad})
        assert response.status_code == 400
        assert "not valid" in response.content.decode() or "\x00" in bad  # a NUL: the middleware's own 400
    api = Script.of(admin_user).call("get", "/api/audit-events", older=bad)
    if "\x00" in bad:
        assert_error(api, 400)
    else:
        assert_error(api, 422, {"older"})


def test_a_page_costs_the_same_queries_at_any_size_and_position(admin_client):
    def queries(**query):
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get("/audit/", query).status_code == 200
        return len(captured)

    seed(5)
    few = queries()
    made = seed(300)
    assert {few, queries(), queries(oldest="1"), queries(older=cursor_of(made[150])), queries(actor="x")} == {few}


def test_the_action_menu_is_the_catalogue_not_the_table(admin_client):
    AuditEvent.objects.bulk_create([AuditEvent(action="legacy.kind")])

    choices = [value for value, _ in admin_client.get("/audit/").context["form"].fields["action"].choices]

    assert "legacy.kind" not in choices
    assert {"user.delete", "audit.prune"} <= set(choices)


def test_events_record_the_companies_of_their_actor_and_target_user(companies):
    c = companies

    event = record(origin=Origin(actor=c.a1), action="user.update", target=c.b)
    not_a_user = record(origin=Origin(actor=c.b), action="company.update", target=c.a.company)

    assert (event.actor_company_id, event.target_company_id) == (c.a1.company_id, c.b.company_id)
    assert (not_a_user.actor_company_id, not_a_user.target_company_id) == (c.b.company_id, None)


def test_the_backfill_gives_old_events_their_users_companies(companies):
    from django.apps import apps

    from accounts.migrations import __name__ as package

    backfill = __import__(f"{package}.0012_audit_event_companies", fromlist=["backfill"]).backfill
    c = companies
    old = [
        record(origin=Origin(actor=c.a), action="user.update", target=c.b),
        record(origin=Origin(), action="company.update", target=c.a.company),
    ]
    AuditEvent.objects.update(actor_company_id=None, target_company_id=None)

    backfill(apps, types.SimpleNamespace(connection=connection))

    old = [AuditEvent.objects.get(pk=event.pk) for event in old]
    assert (old[0].actor_company_id, old[0].target_company_id) == (c.a.company_id, c.b.company_id)
    assert (old[1].actor_company_id, old[1].target_company_id) == (None, None)


# The API


def test_the_api_pages_on_with_next_and_bounds_page_numbers(admin_user, monkeypatch):
    AuditEvent.objects.all().delete()
    made = seed(25)
    script = Script.of(admin_user)
    monkeypatch.setattr(audit_pages, "API_NUMBERED_EVENTS", 10)

    first = script.call("get", "/api/audit-events", size=10).json()
    second = script.call("get", "/api/audit-events", size=10, older=first["next"]).json()
    third = script.call("get", "/api/audit-events", size=10, older=second["next"]).json()

    shown = [item["id"] for body in (first, second, third) for item in body["items"]]
    assert shown[:25] == newest_first(AuditEvent.objects.filter(pk__in=[event.pk for event in made]))
    assert len(shown) == len(set(shown)) == AuditEvent.objects.count()  # and the token's own events, older
    assert (first["total"], first["more"], third["next"]) == (10, True, None)
    assert_error(script.call("get", "/api/audit-events", size=10, page=2), 422, {"page"})
    assert_error(script.call("get", "/api/audit-events", page=2, older=first["next"]), 422, {"page"})
