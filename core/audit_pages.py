"""Seek paging of the audit log, for its page and the API: a page starts after a (created_at, id) key.

An OFFSET makes the database read and throw away every event before the page, so the oldest page of a
million events read a million rows. Here every page is "the next ``size`` events after this key" in
(created_at, id) order, newest first or (for Newer and the Oldest jump) oldest first and turned round,
which each list's index (core.models.AuditEvent.Meta.indexes) answers by reading ``size + 1`` rows.

A cursor is ``<microseconds since 1970 UTC>.<event id>``: two numbers, no secret. It only says where to
start; the reader's scope and filters are applied to every page, so a crafted cursor shows nothing more.
"""

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy

_CURSOR = re.compile(r"([0-9]{1,18})\.([0-9]{1,19})")
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MAX_ID = 2**63 - 1
BAD_CURSOR = gettext_lazy("This link's place in the audit log is not valid: start again from the newest events.")

NEWEST, OLDER, NEWER, OLDEST = "newest", "older", "newer", "oldest"


def cursor_of(event):
    moment = event.created_at - _EPOCH
    return f"{(moment.days * 86_400 + moment.seconds) * 1_000_000 + moment.microseconds}.{event.pk}"


def key_of(cursor):
    """The (created_at, id) a cursor names; ValidationError (BAD_CURSOR) for anything else."""
    found = _CURSOR.fullmatch(cursor) if isinstance(cursor, str) else None
    if found is None or int(found[2]) > _MAX_ID:
        raise ValidationError(BAD_CURSOR, code="cursor")
    try:
        moment = _EPOCH + datetime.timedelta(microseconds=int(found[1]))
    except OverflowError:
        raise ValidationError(BAD_CURSOR, code="cursor") from None
    return moment, int(found[2])


@dataclass(frozen=True)
class Position:
    """Where a page starts: the newest or oldest end, or just older or newer than ``cursor``."""

    direction: str = NEWEST
    cursor: str = ""

    @classmethod
    def from_query(cls, query):
        """From ``?older=``, ``?newer=`` or ``?oldest=1`` (the first given); ValidationError for a bad cursor."""
        for direction in (OLDER, NEWER):
            if query.get(direction):
                cursor = query[direction]
                key_of(cursor)
                return cls(direction, cursor)
        return cls(OLDEST) if query.get(OLDEST) else cls()


@dataclass(frozen=True)
class SeekPage:
    events: list
    has_newer: bool
    has_older: bool

    def __iter__(self):
        return iter(self.events)

    def __len__(self):
        return len(self.events)

    @property
    def newer_cursor(self):
        return cursor_of(self.events[0]) if self.events and self.has_newer else ""

    @property
    def older_cursor(self):
        return cursor_of(self.events[-1]) if self.events and self.has_older else ""


# A scope of more parts than this (a company admin over more than 32 companies) is read by walking the time
# index and testing each event instead: SQLite allows 500 SELECTs in one UNION, and each part costs a seek.
MAX_SCOPE_PARTS = 64


def within_parts(events, parts, order, limit):
    """``events`` cut to the first ``limit`` in ``order`` of each of ``parts`` (Q objects, see
    core.audit.set_event_scope): each part is read through its own index and stops after ``limit`` rows,
    so a company whose events are rare in a large log is not found by walking all of it. Taking the first
    ``limit`` of the result in ``order`` gives exactly the first ``limit`` of ``events``."""
    if not parts or len(parts) > MAX_SCOPE_PARTS:
        return events
    model = events.model
    firsts = [
        model.objects.filter(pk__in=events.filter(part).order_by(*order).values("pk")[:limit]).order_by().values("pk")
        for part in parts
    ]
    return model.objects.filter(pk__in=firsts[0].union(*firsts[1:], all=True))


def seek_page(events, *, size, position=Position(), parts=None):
    """The ``size`` events of ``events`` (a filtered queryset, within ``parts`` if given) at ``position``, newest
    first, in one query."""
    backwards = position.direction in (NEWER, OLDEST)
    if position.cursor:
        moment, pk = key_of(position.cursor)
        if backwards:  # the bound on created_at alone is what an index range can use; the OR settles ties
            events = events.filter(Q(created_at__gt=moment) | Q(created_at=moment, id__gt=pk), created_at__gte=moment)
        else:
            events = events.filter(Q(created_at__lt=moment) | Q(created_at=moment, id__lt=pk), created_at__lte=moment)
    order = ("created_at", "id") if backwards else ("-created_at", "-id")
    rows = list(within_parts(events, parts, order, size + 1).order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    if backwards:
        rows.reverse()
        return SeekPage(rows, has_newer=more, has_older=position.direction == NEWER)
    return SeekPage(rows, has_newer=position.direction == OLDER, has_older=more)


# Page numbers of the API reach this many events (an OFFSET reads every event it skips); ``older`` goes on.
API_NUMBERED_EVENTS = 10_000
PAST_NUMBERED = gettext_lazy(
    "Page numbers reach the first %(count)s events: go on with older, the cursor an answer gives as next."
)


def api_page(events, query, *, parts=None):
    """``GET /api/audit-events``: page ``query.page``, or the page after the cursor ``query.older``, with the
    total counted up to API_NUMBERED_EVENTS (``more`` says there are more) and the cursor of the next page."""
    size, start = query.per_page, (query.page - 1) * query.per_page
    if query.older:
        if query.page != 1:
            raise ValidationError({"page": [gettext_lazy("Give either a page number or older, not both.")]})
        try:
            page = seek_page(events, size=size, position=Position(OLDER, query.older), parts=parts)
        except ValidationError as refused:
            raise ValidationError({"older": refused.messages}) from None
        rows, has_more = page.events, page.has_older
    elif start + size > API_NUMBERED_EVENTS:
        raise ValidationError({"page": [PAST_NUMBERED % {"count": f"{API_NUMBERED_EVENTS:,}"}]})
    else:
        order = ("-created_at", "-id")
        rows = list(within_parts(events, parts, order, start + size + 1).order_by(*order)[start : start + size + 1])
        rows, has_more = rows[:size], len(rows) > size
    counted = events.order_by()[: API_NUMBERED_EVENTS + 1].count()
    return {
        "items": rows,
        "total": min(counted, API_NUMBERED_EVENTS),
        "more": counted > API_NUMBERED_EVENTS,
        "page": query.page,
        "size": size,
        "next": cursor_of(rows[-1]) if rows and has_more else None,
    }
