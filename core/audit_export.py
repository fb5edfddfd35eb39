"""The audit log's filters, and its export as CSV or JSON Lines.

The page, its downloads and ``manage.py audit_export`` filter through ``filter_events`` and
export through ``export``, so that a file holds what the page lists. Events are read in chunks
(``iterator``) and written as they come: an export of a million events never sits in memory.
"""

import csv
import datetime
import io
import json

from django.db.models import Count, Max, Value
from django.db.models.functions import Upper

from core.audit import record

# Rows read from the database, and written out, at a time.
CHUNK_ROWS = 1000
COLUMNS = (
    "time",
    "actor",
    "action",
    "target_type",
    "target_id",
    "target_name",
    "outcome",
    "ip",
    "user_agent",
    "details",
)
FORMATS = {"csv": "text/csv", "jsonl": "application/jsonl"}
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection, OWASP).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def filter_events(events, filters):
    """``events`` narrowed by the cleaned data of a valid ``core.forms.AuditFilterForm``."""
    if filters.get("actor"):
        # UPPER on both sides, as the database folds case, so that core_audit_actor_idx serves it (an iexact
        # is a LIKE on SQLite, which no index serves). A deleted user's events still carry their name.
        events = events.alias(actor_upper=Upper("actor_name")).filter(actor_upper=Upper(Value(filters["actor"])))
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("since"):
        events = events.filter(created_at__gte=filters["since"])
    if filters.get("until"):
        events = events.filter(created_at__lte=filters["until"])
    return events


def export(*, origin, events, filters, file_format):
    """Audit an export of ``events`` (its format, filters and size) and return its text, chunk by chunk.

    The export is audited before any event leaves, and holds the events that matched at that moment
    (the audit event itself, and any written later, are not in it).
    """
    totals = events.aggregate(count=Count("pk"), last=Max("pk"))
    record(
        origin=origin,
        action="audit.export",
        details={"format": file_format, "filters": _described(filters), "count": totals["count"]},
    )
    rows = (_row(event) for event in events.filter(pk__lte=totals["last"] or 0).iterator(chunk_size=CHUNK_ROWS))
    return _csv_chunks(rows) if file_format == "csv" else _jsonl_chunks(rows)


def _described(filters):
    """The filters that were set, as JSON can hold them (moments in ISO 8601)."""
    return {
        name: value.isoformat() if isinstance(value, datetime.datetime) else value
        for name, value in filters.items()
        if value
    }


def _row(event):
    return {
        "time": event.created_at.astimezone(datetime.UTC).isoformat(),
        "actor": event.actor_name,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "target_name": event.target_name,
        "outcome": event.outcome,
        "ip": event.ip or "",
        "user_agent": event.user_agent,
        "details": event.details,
    }


def _batches(rows):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK_ROWS:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_chunks(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for batch in _batches(rows):
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([_csv_cell(row[column]) for column in COLUMNS] for row in batch)
        yield buffer.getvalue()


def _csv_cell(value):
    """A cell a spreadsheet shows as text: details as JSON, and a leading formula character quoted away."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _jsonl_chunks(rows):
    for batch in _batches(rows):
        yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in batch)
