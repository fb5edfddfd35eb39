"""The audit log page: what it lists, its filters, and who may read it."""

import datetime

import pytest
import time_machine
from django.test import Client

from accounts import services
from core.audit import Origin
from core.models import AuditEvent
from tests.factories import UserFactory
from tests.integration.conftest import NEW_PASSWORD, grant, logged_in_client

pytestmark = pytest.mark.django_db

DAY1 = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)
DAY2 = datetime.datetime(2025, 3, 2, 23, 59, 59, tzinfo=datetime.UTC)
DAY3 = datetime.datetime(2025, 3, 3, 0, 0, tzinfo=datetime.UTC)


def _listed(response):
    return [(event.action, event.actor_name, event.target_name) for event in response.context["page"]]


@pytest.fixture
def history(admin_user):
    """Three changes by two actors on three days, made through the services."""
    other_admin = UserFactory(username="root2", is_superuser=True)
    with time_machine.travel(DAY1, tick=False):
        carol = services.user_create(
            origin=Origin(actor=admin_user), username="carol", email="carol@example.com", password=NEW_PASSWORD
        )
    with time_machine.travel(DAY2, tick=False):
        services.user_update(origin=Origin(actor=other_admin), user=carol, email="carol@example.org")
    with time_machine.travel(DAY3, tick=False):
        services.user_delete(origin=Origin(actor=admin_user), user=carol)


def test_audit_log_lists_events_newest_first(admin_client, history):
    response = admin_client.get("/audit/")

    assert response.status_code == 200
    assert _listed(response) == [
        ("auth.login", "", "admin"),  # the reader's own login, today
        ("user.delete", "admin", "carol"),
        ("user.update", "root2", "carol"),
        ("user.create", "admin", "carol"),
    ]


def test_audit_log_shows_time_actor_action_target_ip_and_outcome(admin_client, admin_user):
    services.user_create(
        origin=Origin(actor=admin_user, ip="198.51.100.7"),
        username="carol",
        email="c@example.com",
        password=NEW_PASSWORD,
    )

    body = admin_client.get("/audit/").content.decode()

    assert "user.create" in body
    assert "carol" in body
    assert "198.51.100.7" in body
    assert "Success" in body


def test_audit_log_filters_by_actor_ignoring_case(admin_client, history):
    response = admin_client.get("/audit/", {"actor": "ROOT2"})

    assert response.status_code == 200
    assert _listed(response) == [("user.update", "root2", "carol")]


def test_audit_log_filters_by_action(admin_client, history):
    response = admin_client.get("/audit/", {"action": "user.create"})

    assert _listed(response) == [("user.create", "admin", "carol")]


def test_audit_log_filters_by_actor_and_action_together(admin_client, history):
    response = admin_client.get("/audit/", {"actor": "admin", "action": "user.delete"})

    assert _listed(response) == [("user.delete", "admin", "carol")]


def test_audit_log_date_range_includes_both_whole_days(admin_client, history):
    response = admin_client.get("/audit/", {"since": "2025-03-01", "until": "2025-03-02"})

    assert [action for action, _, _ in _listed(response)] == ["user.update", "user.create"]


def test_audit_log_since_alone_starts_at_midnight_utc(admin_client, history):
    response = admin_client.get("/audit/", {"since": "2025-03-03"})

    # The deletion at 00:00:00 UTC that day, and the reader's own login today.
    assert [action for action, _, _ in _listed(response)] == ["auth.login", "user.delete"]


def test_audit_log_until_alone_ends_at_the_end_of_that_day(admin_client, history):
    response = admin_client.get("/audit/", {"until": "2025-03-02"})

    assert [action for action, _, _ in _listed(response)] == ["user.update", "user.create"]


@pytest.mark.parametrize("bad", ["yesterday", "2025-13-01", "2025-02-30", "1'; DROP TABLE x;--"])
def test_audit_log_bad_date_is_a_form_error_not_a_crash(admin_client, history, bad):
    response = admin_client.get("/audit/", {"since": bad})

    assert response.status_code == 400
    assert response.context["form"].errors["since"]
    assert "Enter a valid date." in response.content.decode()


def test_audit_log_end_before_start_is_a_form_error(admin_client, history):
    response = admin_client.get("/audit/", {"since": "2025-03-03", "until": "2025-03-01"})

    assert response.status_code == 400
    assert "The end date must not be before the start date." in response.content.decode()


def test_audit_log_unknown_action_is_a_form_error(admin_client, history):
    response = admin_client.get("/audit/", {"action": "user.explode"})

    assert response.status_code == 400


def test_audit_log_lists_login_success_and_failure(admin_client, admin_user):
    visitor = Client()
    visitor.post("/login/", {"username": "nobody", "password": "Wrong-pass-99"})
    visitor.post("/login/", {"username": "admin", "password": "Wrong-pass-99"})
    visitor.post("/login/", {"username": "admin", "password": "Sturdy-pass-42"})

    response = admin_client.get("/audit/", {"action": "auth.login"})

    outcomes = [(event.target_name, event.outcome) for event in response.context["page"]]
    assert outcomes == [
        ("admin", AuditEvent.Outcome.SUCCESS),
        ("admin", AuditEvent.Outcome.FAILURE),
        ("nobody", AuditEvent.Outcome.FAILURE),
        ("admin", AuditEvent.Outcome.SUCCESS),  # the reader's own login, before the visitor's
    ]
    body = response.content.decode()
    assert "Failure" in body
    assert "Success" in body
    assert "Wrong-pass-99" not in body


def test_audit_log_paginates_fifty_events_per_page(admin_client, admin_user):
    AuditEvent.objects.bulk_create(AuditEvent(action="user.update", actor_name="admin") for _ in range(55))

    first = admin_client.get("/audit/", {"action": "user.update"})
    second = admin_client.get("/audit/", {"action": "user.update", "older": first.context["page"].older_cursor})
    old_link = admin_client.get("/audit/", {"page": "abc"})

    assert len(first.context["page"]) == 50
    assert len(second.context["page"]) == 5
    assert old_link.status_code == 200


def test_audit_log_is_open_to_holders_of_its_view_permission():
    reader = grant(UserFactory(username="auditor"), "core.view_auditevent")

    assert logged_in_client(reader).get("/audit/").status_code == 200


def test_audit_log_is_forbidden_without_its_permission(admin_user):
    user_admin = grant(UserFactory(username="useradmin"), "accounts.view_user", "accounts.change_user")

    assert logged_in_client(user_admin).get("/audit/").status_code == 403


def test_audit_log_refuses_post(admin_client):
    assert admin_client.post("/audit/").status_code == 405
