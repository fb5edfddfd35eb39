"""The API's one error shape, and the answer to a fault.

Every error under /api/ answers ``{"detail": "<sentence>", "errors": {"<field>": ["<message>"]} | null}``
as JSON. ``error_response`` is the one place that builds it: the API's exception handlers
(panel.api), the two-factor middleware, the passkey endpoints and ``core.middleware.ApiErrorMiddleware``
all call it.

A fault (the database or the cache cannot be reached) answers 503 with ``Retry-After``, never 500, on
pages too. ``server_error`` is the project's handler500: Django calls it for every unhandled exception,
raised by a view or by a middleware, while the exception is still at hand (``sys.exc_info()``); a
middleware only ever sees the 500 page that was already made of it.
"""

import sys

from django import db
from django.http import HttpResponse, JsonResponse
from django.template import loader
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views import csrf, defaults

try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError:  # pragma: no cover - redis is a dependency; the local-memory cache needs none
    RedisConnectionError = RedisTimeoutError = ConnectionError

API_PREFIX = "/api/"
RETRY_AFTER = 30  # seconds a client should wait after a 503

CSRF_DETAIL = _("CSRF check failed: send the X-CSRFToken header.")


def _retry_detail():
    return ngettext(
        "The service is temporarily unavailable: try again in %(seconds)d second.",
        "The service is temporarily unavailable: try again in %(seconds)d seconds.",
        RETRY_AFTER,
    ) % {"seconds": RETRY_AFTER}


# What a status means when nothing more precise was said (an error answered outside the API's views),
# in the language of the request that reads it.
DETAILS = {
    400: _("Bad request."),
    401: _("Authentication required: send an access token."),
    403: _("You do not have permission to do this."),
    404: _("Not found."),
    405: _("Method not allowed."),
    413: _("The request body is too large."),
    429: _("Too many requests: try again later."),
    500: _("Server error: it was logged. Try again later."),
    503: lazy(_retry_detail, str)(),
}

# Errors of the database's operation, not of the program (PEP 249): unreachable, connection lost, shut down.
# IntegrityError, ProgrammingError, DataError are bugs: they stay 500.
# Cache faults: redis-py's connection errors and timeouts, and the OS's (refused, reset, broken pipe).
CACHE_FAULTS = (RedisConnectionError, RedisTimeoutError, ConnectionError)
FAULTS = (db.OperationalError, db.InterfaceError, *CACHE_FAULTS)


def error_response(status, detail, errors=None, headers=None):
    """The one error answer: ``{"detail": detail, "errors": errors}`` with ``status`` and ``headers``."""
    return JsonResponse({"detail": str(detail), "errors": errors}, status=status, headers=headers)


def is_api(request):
    return request.path_info.startswith(API_PREFIX)


def is_fault(exc):
    return isinstance(exc, FAULTS)


def unavailable(request):
    """503 with Retry-After: JSON under /api/, else a plain page that needs neither database nor session."""
    headers = {"Retry-After": str(RETRY_AFTER)}
    if is_api(request):
        return error_response(503, DETAILS[503], headers=headers)
    # Rendered without the request: no context processor runs, so nothing reads the database.
    return HttpResponse(loader.get_template("503.html").render(), status=503, headers=headers)


# Django's error views (handler404, handler500, CSRF_FAILURE_VIEW): JSON under /api/, Django's pages elsewhere.


def page_not_found(request, exception, template_name=defaults.ERROR_404_TEMPLATE_NAME):
    if is_api(request):
        return error_response(404, DETAILS[404])
    return defaults.page_not_found(request, exception, template_name)


def server_error(request, template_name=defaults.ERROR_500_TEMPLATE_NAME):
    """Called inside Django's ``except`` block (DEBUG off); Django then logs the exception with this status."""
    if is_fault(sys.exc_info()[1]):
        return unavailable(request)
    if is_api(request):
        return error_response(500, DETAILS[500])
    return defaults.server_error(request, template_name)


def csrf_failure(request, reason=""):
    if is_api(request):
        return error_response(403, CSRF_DETAIL)
    return csrf.csrf_failure(request, reason)
