"""What every API router shares: the error schema, the request field types, the acting origin, the permission check."""

import re
from datetime import datetime
from typing import Annotated

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Schema
from pydantic import BeforeValidator, create_model, field_validator, model_validator

from core.audit import Origin, record
from core.models import AuditEvent
from core.validators import unstorable

TOKEN_CANNOT_CHANGE_CREDENTIALS = gettext_lazy(
    "An access token cannot create or change credentials: use the panel in a browser."
)


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] | None = None


class BodyIn(Schema):
    """A JSON request body; it must be an object.

    ninja hands a schema a non-object body (an array, a string, null) wrapped so
    that it reads as ``{}``: a PATCH would then "succeed" changing nothing.
    """

    @model_validator(mode="before")
    @classmethod
    def _must_be_an_object(cls, data):
        data = getattr(data, "_obj", data)
        if not isinstance(data, dict):
            raise ValueError(_("The request body must be a JSON object."))
        return data

    @field_validator("*", mode="before")
    @classmethod
    def _storable_text(cls, value):
        """No text in a body may hold a character the database cannot store (NUL, or one not UTF-8)."""
        texts = value if isinstance(value, list) else [value]
        if any(isinstance(text, str) and unstorable(text) for text in texts):
            raise ValueError(_("This may not contain a NUL byte or a character that is not valid UTF-8."))
        return value


def stated(*, description=None, **keywords):
    """A field whose schema states rules (JSON Schema keywords: ``maxLength``, ``pattern``...) the services enforce.

    pydantic does not check them a second time: the services' validators answer, with the messages the
    pages show and every field's errors at once. Give the numbers from the validators' constants.
    """
    return Field(description=description, json_schema_extra=keywords)


# What BodyIn refuses in every text, stated in the schema: a NUL byte. (Lone surrogates cannot be
# sent as UTF-8, so a schema need not exclude them.)
NO_NUL = r"^[^\u0000]*$"


def text(*, description=None, **keywords):
    """A text field stating its ``keywords`` and that it holds no NUL byte."""
    return Annotated[str, stated(description=description, pattern=NO_NUL, **keywords)]


Text = text()

_RFC3339_START = re.compile(r"\d{4}-\d\d-\d\d[Tt]")


def _written_moment(value):
    """pydantic would also read a number, or a string of digits, as Unix time: the schema promises a date-time."""
    if isinstance(value, str) and _RFC3339_START.match(value):
        return value
    raise ValueError(_("Give a date and time with its offset, such as 2030-01-31T17:00:00+01:00."))


# A date and time in a request: RFC 3339 text (the schema's format: date-time); the offset is checked
# by core.validators.clean_moment, with the rules of the field.
Moment = Annotated[datetime, BeforeValidator(_written_moment)]


def errors(*statuses):
    """The error responses an operation documents; any can answer 400 (unreadable body), 401, 429 (too many
    failed token attempts) and 503 (the database or the cache cannot be reached); panel.api adds their
    ``Retry-After``."""
    return {status: ErrorOut for status in sorted({400, 401, 429, 503, *statuses})}


def examples(*, request=None, response=None, status=200):
    """``openapi_extra`` giving an operation an example JSON body to send and one it answers with ``status``."""
    extra = {"responses": {status: {"content": {"application/json": {"example": response}}}}}
    if request is not None:
        extra["requestBody"] = {"content": {"application/json": {"example": request}}}
    return extra


def api_origin(request):
    """Who is acting through the API, and with which token."""
    token = getattr(request, "access_token", None)
    return Origin.from_request(request, via="api", credential=token.pk if token is not None else None)


def require_permission(request, permission):
    if not request.user.has_perm(permission):
        raise PermissionDenied


def in_scope(get, request, pk, field):
    """``get(actor=<the caller>, pk=pk)``: the object the caller may see, None for None; an unknown one
    (or one beyond the caller's scope) is an error of the request's ``field`` (422)."""
    if pk is None:
        return None
    try:
        return get(actor=request.user, pk=pk)
    except Http404:
        raise ValidationError({field: _("No such one within your scope.")}) from None


def require_browser_session(request):
    """Refuse (403) a request authenticated by an access token: the first line of every API route that creates
    or changes a credential (a token, a passkey, a password, a second factor).

    A leaked token must not be able to turn itself into a password, a second factor or another token, which
    would outlive its deletion. The refusal is audited as ``token.refused`` with the reason.
    """
    token = getattr(request, "access_token", None)
    if token is None:
        return
    origin = api_origin(request)
    reason = "an access token cannot create or change credentials"
    details = {"reason": reason, "path": request.path[:200]}
    record(origin=origin, action="token.refused", target=token, outcome=AuditEvent.Outcome.FAILURE, details=details)
    raise PermissionDenied(TOKEN_CANNOT_CHANGE_CREDENTIALS)


# Every list the API answers is paged the same way (PageQuery in, page_of(...) out).
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 200


class PageQuery(Schema):
    """``page`` (from 1) and ``size`` (1 to 200), or AcePanel's ``limit`` for ``size``."""

    page: int = Field(1, ge=1, le=1_000_000, description="From 1. Past the last page the items are empty.")
    size: int | None = Field(None, ge=1, le=MAX_PAGE_SIZE, description=f"Items per page ({DEFAULT_PAGE_SIZE})")
    limit: int | None = Field(
        None, ge=1, le=MAX_PAGE_SIZE, description="AcePanel's name for size; size wins when both are given."
    )

    @property
    def per_page(self):
        return self.size or self.limit or DEFAULT_PAGE_SIZE


def page_of(item_schema, name):
    """The answer schema of a list of ``item_schema``: ``{"items", "total", "page", "size"}``."""
    return create_model(
        name, __base__=Schema, items=(list[item_schema], ...), total=(int, ...), page=(int, ...), size=(int, ...)
    )


def page_answer(query, *, items, total):
    return {"items": list(items), "total": total, "page": query.page, "size": query.per_page}


def paged(items, query):
    """The page ``query`` asks of ``items`` (a queryset, or a list); past the end, no items and the right total."""
    start = (query.page - 1) * query.per_page
    total = len(items) if isinstance(items, list) else items.count()
    return page_answer(query, items=items[start : start + query.per_page], total=total)
