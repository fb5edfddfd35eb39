"""The audit log and the login guard's locks over the JSON API: the permissions, filters and services of their pages."""

from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError
from ninja import Field, Query, Router, Schema, Status

from core import audit_pages, throttle
from core.api import NO_NUL, PageQuery, api_origin, errors, page_of, paged, require_permission
from core.audit import EVENTS, events_visible_to, scope_parts
from core.audit_export import filter_events
from core.forms import AuditFilterForm

router = Router()

MOMENT = (
    "A day (2025-03-01: from its start, or until its end) or a date and time (2025-03-01T12:00:00+02:00; "
    "without an offset it is UTC), from 1970 to 9999."
)
# The lock's name: what the Locks page lifts, never blank (it is trimmed).
LOCK_NAME = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"


class AuditEventOut(Schema):
    id: int
    time: datetime = Field(alias="created_at")
    actor: str = Field(alias="actor_name", description="The acting user's name then; empty: nobody logged in.")
    action: str = Field(description="One of the actions the README's audit section lists.")
    target_type: str
    target_id: str
    target_name: str
    outcome: Literal["success", "failure"]
    ip: str | None
    user_agent: str
    details: dict[str, Any]


AUDIT_NUMBERED_EVENTS = audit_pages.API_NUMBERED_EVENTS


class AuditEventPage(Schema):
    items: list[AuditEventOut]
    total: int = Field(description=f"The events that match, counted up to {AUDIT_NUMBERED_EVENTS:,}.")
    more: bool = Field(description=f"More than {AUDIT_NUMBERED_EVENTS:,} events match: total stops counting there.")
    page: int
    size: int
    next: str | None = Field(description="Give it as older to get the next page; null on the last one.")


class AuditEventQuery(PageQuery):
    """The audit page's filters (core.forms.AuditFilterForm), with its rules and messages; page numbers or
    ``older`` (a cursor from ``next``) for where the page starts."""

    actor: str = Field("", max_length=64, pattern=NO_NUL, description="A username, ignoring case.")
    action: str = Field("", json_schema_extra={"enum": ["", *sorted(EVENTS)]}, description="Empty: any action.")
    since: str = Field("", max_length=64, pattern=NO_NUL, description=f"From this moment on. {MOMENT}")
    until: str = Field("", max_length=64, pattern=NO_NUL, description=f"Up to this moment. {MOMENT}")
    older: str = Field(
        "", max_length=40, pattern=NO_NUL, description="The page after this cursor (an answer's next); page is then 1."
    )


class LockOut(Schema):
    kind: Literal["account", "ip"] = Field(description="An account (its name, folded) or a client address (a /64).")
    name: str
    seconds: int = Field(description="How long the wait still lasts.")
    failures: int
    browsers: int = Field(description="An account's browsers waiting on their own (device cookies).")


LockPage = page_of(LockOut, "LockPage")


class LockQuery(Schema):
    kind: Literal["account", "ip"]
    name: str = Field(
        max_length=150,
        pattern=LOCK_NAME,
        description="The name as the list gives it (trimmed); for an account, the username as typed works too.",
    )


@router.get(
    "/audit-events",
    response={200: AuditEventPage, **errors(403, 422)},
    operation_id="audit_events_list",
    tags=["audit"],
    summary="The audit events you may read, newest first, filtered as on the audit page",
)
def audit_events_list(request, query: Query[AuditEventQuery]):
    require_permission(request, "core.view_auditevent")
    form = AuditFilterForm(query.dict(include={"actor", "action", "since", "until"}), actions=EVENTS)
    if not form.is_valid():
        raise ValidationError(form.errors.as_data())
    events = filter_events(events_visible_to(request.user), form.cleaned_data)
    return audit_pages.api_page(events, query, parts=scope_parts(request.user))


@router.get(
    "/locks",
    response={200: LockPage, **errors(403, 422)},
    operation_id="locks_list",
    tags=["locks"],
    summary="The accounts and addresses the login guard makes wait now, longest wait first",
)
def locks_list(request, query: Query[PageQuery]):
    require_permission(request, "core.unlock_accounts")
    return paged(throttle.current_locks(), query)


@router.delete(
    "/locks",
    response={204: None, **errors(403, 422)},
    operation_id="locks_delete",
    tags=["locks"],
    summary="Lift the lock of an account (with its browsers') or of an address; its failures are forgotten",
)
def locks_delete(request, query: Query[LockQuery]):
    require_permission(request, "core.unlock_accounts")
    throttle.lift_lock(origin=api_origin(request), kind=query.kind, name=query.name.strip())
    return Status(204, None)
