"""Log lines that say when, how bad, where from and for whom, and one line per request.

``RequestLogMiddleware`` (first in MIDDLEWARE) gives each request an ID: the ``X-Request-ID`` a trusted
proxy (PANEL_TRUSTED_PROXIES) sends, if well formed, else a new one. Every answer carries it back in
``X-Request-ID``, error and fault pages included. While the request runs, a context variable holds it,
so that every line logged meanwhile (an audit event's, Django's own) carries the request ID, the user and
the client IP; when it is answered, one line says the method, the path, the status and the duration.

``ContextFilter`` adds those fields to every record (``-`` outside a request); ``TextFormatter`` and
``JsonFormatter`` (PANEL_LOG_FORMAT) write a line of them. No query string is logged, and a password
reset link's token is replaced in every line: a link in a log must not reset anyone's password.
"""

import contextvars
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.utils.functional import SimpleLazyObject, empty

from core.client_ip import from_trusted_proxy, get_client_ip

logger = logging.getLogger("panel.request")

REQUEST_ID_HEADER = "X-Request-ID"
# What a proxy's request ID may be (nginx's $request_id, a UUID, a trace ID): nothing that could break a line.
_WELL_FORMED_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")
# panel/urls.py's password_reset_confirm: /password-reset/<uidb64>/<token>/ (set-password is Django's own step).
_RESET_TOKEN = re.compile(r"(/password-reset/[A-Za-z0-9_-]+/)(?!set-password\b)[A-Za-z0-9_:-]+")
REDACTED = "<redacted>"
NONE = "-"


@dataclass(frozen=True)
class RequestContext:
    request: object
    request_id: str
    client_ip: str


_current = contextvars.ContextVar("panel_request", default=None)


def redact(text: str) -> str:
    """``text`` with every password reset token replaced."""
    return _RESET_TOKEN.sub(rf"\1{REDACTED}", text) if "/password-reset/" in text else text


def request_id_for(request) -> str:
    """The proxy's X-Request-ID when a trusted proxy sent a well-formed one, else a new one (32 hex digits)."""
    given = request.headers.get(REQUEST_ID_HEADER, "")
    if given and from_trusted_proxy(request) and _WELL_FORMED_ID.fullmatch(given):
        return given
    return secrets.token_hex(16)


def _known_user(request):
    """The request's user if something already looked it up; logging never queries the database itself."""
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is None or not user.is_authenticated:
        return NONE
    return f"{user.pk}:{user.get_username()}"


class ContextFilter(logging.Filter):
    """Adds ``request_id``, ``user`` and ``client_ip`` to every record, ``-`` outside a request."""

    def filter(self, record):
        context = _current.get()
        record.request_id = context.request_id if context else NONE
        record.client_ip = context.client_ip if context else NONE
        record.user = _known_user(context.request) if context else NONE
        return True


def _timestamp(record) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``<UTC time> <LEVEL> <logger> request_id=… user=<id>:<username> ip=… <message>``, then any traceback."""

    def format(self, record):
        line = (
            f"{_timestamp(record)} {record.levelname} {record.name} request_id={getattr(record, 'request_id', NONE)} "
            f"user={getattr(record, 'user', NONE)} ip={getattr(record, 'client_ip', NONE)} "
            f"{redact(record.getMessage())}"
        )
        if record.exc_info:
            line += "\n" + redact(self.formatException(record.exc_info))
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: the text line's fields, a record's structured ``fields``, any traceback."""

    def format(self, record):
        entry = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", NONE),
            "user": getattr(record, "user", NONE),
            "ip": getattr(record, "client_ip", NONE),
            "message": redact(record.getMessage()),
            **getattr(record, "fields", {}),
        }
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestLogMiddleware:
    """First in MIDDLEWARE: the request ID, the context of every line, and one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        context = RequestContext(
            request=request, request_id=request_id_for(request), client_ip=get_client_ip(request) or NONE
        )
        token = _current.set(context)
        try:
            response = self.get_response(request)
            response[REQUEST_ID_HEADER] = context.request_id
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            path = redact(request.path)  # never the query string
            logger.info(
                "%s %s %s %sms",
                request.method,
                path,
                response.status_code,
                duration_ms,
                extra={
                    "fields": {
                        "method": request.method,
                        "path": path,
                        "status": response.status_code,
                        "duration_ms": duration_ms,
                    }
                },
            )
            return response
        finally:
            _current.reset(token)
