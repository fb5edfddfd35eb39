"""The audit log and the login guard's locks over the JSON API: the permissions, filters and service of their pages."""

import datetime
from urllib.parse import urlencode

import pytest
import time_machine

from core import throttle
from core.audit import Origin, record
from core.models import AuditEvent
from organisation.models import Company
from tests.factories import UserFactory
from tests.integration.api_script import Script, assert_error
from tests.integration.conftest import events, grant, logged_in_client

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2030, 3, 1, 12, 0, tzinfo=datetime.UTC)


@pytest.fixture
def reader(db):
    return Script.of(grant(UserFactory(username="reader"), "core.view_auditevent"))


@pytest.fixture
def unlocker(db):
    return Script.of(grant(UserFactory(username="unlocker"), "core.unlock_accounts"))


@pytest.fixture
def logged(db):
    """Three events a day apart, by alice, bob and alice."""
    alice, bob = UserFactory(username="alice"), UserFactory(username="bob")
    for day, (actor, action) in enumerate([(alice, "user.update"), (bob, "user.create"), (alice, "user.create")]):
        with time_machine.travel(T0 + datetime.timedelta(days=day), tick=False):
            record(origin=Origin(actor=actor, ip="192.0.2.1"), action=action, target=actor)


def listed(script, **query):
    response = script.call("get", "/api/audit-events", **query)
    assert response.status_code == 200, response.content
    return response.json()


# Audit events


def test_events_are_listed_newest_first_with_their_fields(logged, reader):
    body = listed(reader, action="user.create")

    assert body["total"] == 2
    newest = body["items"][0]
    assert (newest["actor"], newest["action"], newest["target_name"], newest["outcome"]) == (
        "alice",
        "user.create",
        "alice",
        "success",
    )
    assert newest["ip"] == "192.0.2.1"
    assert newest["time"].startswith("2030-03-03T12:00:00")
    assert newest["details"] == {"via": "web"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "ALICE"}, [("alice", "user.create"), ("alice", "user.update")]),
        ({"since": "2030-03-02"}, [("alice", "user.create"), ("bob", "user.create")]),
        ({"until": "2030-03-02"}, [("bob", "user.create"), ("alice", "user.update")]),
        ({"since": "2030-03-02T13:00:00+01:00", "until": "2030-03-02T12:00:00Z"}, [("bob", "user.create")]),
        ({"action": "auth.login"}, []),
    ],
)
def test_events_are_filtered_as_on_the_audit_page(logged, reader, query, expected):
    items = listed(reader, **query)["items"]

    assert [(item["actor"], item["action"]) for item in items if item["actor"] in ("alice", "bob")] == expected


def test_events_are_paged_and_past_the_end_is_empty(logged, reader):
    assert [item["action"] for item in listed(reader, actor="alice", size=1, page=2)["items"]] == ["user.update"]
    beyond = listed(reader, actor="alice", limit=2, page=50)
    assert (beyond["items"], beyond["total"], beyond["size"]) == ([], 2, 2)


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"action": "user.fly"}, {"action"}),
        ({"since": "yesterday"}, {"since"}),
        ({"since": "0001-01-01"}, {"since"}),
        ({"until": "99999-01-01"}, {"until"}),
        ({"since": "2030-03-02T10:00:00+15:00"}, {"since"}),
        ({"since": "2030-03-03", "until": "2030-03-01"}, {"until"}),
        ({"actor": "a" * 65}, {"actor"}),
        ({"page": 0}, {"page"}),
        ({"size": 201}, {"size"}),
        ({"page": "x"}, {"page"}),
    ],
)
def test_bad_filters_are_422_with_field_errors(logged, reader, query, fields):
    assert_error(reader.call("get", "/api/audit-events", **query), 422, fields)


def test_a_nul_byte_in_the_query_is_refused_before_any_filter(reader, unlocker):
    lock_account("alice")

    assert_error(reader.call("get", "/api/audit-events", actor="a\x00b"), 400)
    assert_error(unlocker.call("delete", "/api/locks?kind=account&name=a%00b"), 400)
    assert len(throttle.current_locks()) == 1


def test_a_company_admin_reads_only_the_events_of_their_scope(db):
    east, west = Company.objects.create(name="East"), Company.objects.create(name="West")
    insider, outsider = UserFactory(username="ed", company=east), UserFactory(username="walt", company=west)
    for actor in (insider, outsider):
        record(origin=Origin(actor=actor), action="user.update", target=actor)
    east_reader = Script.of(grant(UserFactory(username="eve", company=east), "core.view_auditevent"))

    actors = {item["actor"] for item in listed(east_reader, action="user.update")["items"]}

    assert actors == {"ed"}


def test_reading_events_needs_the_audit_permission(db):
    assert_error(Script.of(UserFactory()).call("get", "/api/audit-events"), 403)


# Locks


def lock_account(username):
    for attempt in range(throttle.ACCOUNT_GUARD.lock_after):
        ip = f"198.51.100.{attempt + 1}"
        throttle.record_failure(origin=Origin(ip=ip), username=username, ip=ip)


def lock_ip(ip):
    for _ in range(throttle.IP_GUARD.lock_after):
        throttle.record_failure(origin=Origin(ip=ip), username=None, ip=ip)


def test_locks_are_listed_longest_wait_first(unlocker):
    lock_account("alice")
    lock_ip("203.0.113.9")

    body = unlocker.call("get", "/api/locks").json()

    assert body["total"] == 2
    assert {(item["kind"], item["name"]) for item in body["items"]} == {
        ("account", "alice"),
        ("ip", throttle.throttle_key("203.0.113.9")),
    }
    assert all(item["seconds"] > 0 and item["failures"] > 0 for item in body["items"])
    assert [item["seconds"] for item in body["items"]] == sorted(
        (item["seconds"] for item in body["items"]), reverse=True
    )


def test_locks_are_paged(unlocker):
    lock_ip("203.0.113.9")

    beyond = unlocker.call("get", "/api/locks", page=2).json()

    assert (beyond["items"], beyond["total"]) == ([], 1)


def test_lifting_an_account_lock_lets_it_log_in_again_and_is_audited(unlocker):
    lock_account("alice")

    response = unlocker.call("delete", "/api/locks?kind=account&name=%20Alice%20")

    assert response.status_code == 204
    assert throttle.current_locks() == []
    (event,) = events("auth.unlock")
    assert (event.actor_id, event.target_name, event.details["kind"], event.details["via"]) == (
        unlocker.user.pk,
        "alice",
        "account",
        "api",
    )
    assert event.details["credential"] == unlocker.token.pk


@pytest.mark.parametrize(("address", "name"), [("203.0.113.9", "203.0.113.9"), ("2001:db8::1", "2001:db8::/64")])
def test_lifting_an_address_lock_by_the_name_the_list_gives(unlocker, address, name):
    lock_ip(address)
    (lock,) = throttle.current_locks()
    assert lock.name == name

    assert unlocker.call("delete", f"/api/locks?{urlencode({'kind': 'ip', 'name': name})}").status_code == 204
    assert throttle.current_locks() == []


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ("kind=door&name=alice", {"kind"}),
        ("name=alice", {"kind"}),
        ("kind=account", {"name"}),
        ("kind=account&name=", {"name"}),
        ("kind=account&name=%20%20", {"name"}),
        ("kind=account&name=" + "a" * 151, {"name"}),
        ("kind=account&name=a%20b", {"name"}),
        ("kind=ip&name=somewhere", {"name"}),
        ("kind=ip&name=%C2%99%0F%C3%99", {"name"}),
    ],
)
def test_lifting_refuses_bad_values_with_field_errors(unlocker, query, fields):
    lock_account("alice")

    assert_error(unlocker.call("delete", f"/api/locks?{query}"), 422, fields)
    assert len(throttle.current_locks()) == 1
    assert not AuditEvent.objects.filter(action="auth.unlock").exists()


def test_locks_need_the_unlock_permission(db):
    lock_account("alice")
    script = Script.of(grant(UserFactory(), "core.view_auditevent"))

    assert_error(script.call("get", "/api/locks"), 403)
    assert_error(script.call("delete", "/api/locks?kind=account&name=alice"), 403)
    assert len(throttle.current_locks()) == 1


def test_the_locks_page_refuses_a_name_no_lock_can_have_too(unlocker):
    client = logged_in_client(unlocker.user)

    response = client.post("/locks/", {"kind": "ip", "name": "somewhere"})

    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="auth.unlock").exists()
