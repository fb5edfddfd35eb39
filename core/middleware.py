"""Under /api/, every error answers the one JSON shape, whoever made it."""

import logging
import secrets

from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.views import redirect_to_login
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import resolve_url
from django.utils.translation import gettext_lazy

from core.errors import DETAILS, RETRY_AFTER, error_response, is_api, page_not_found
from core.validators import unstorable
from core.view_helpers import current_page, is_htmx, page_redirect

logger = logging.getLogger(__name__)

# Headers of the answer replaced that describe its old body; every other one (Allow, Retry-After,
# WWW-Authenticate, Vary, the security headers...) is kept.
_BODY_HEADERS = {"content-type", "content-length", "content-encoding", "content-disposition"}


class ApiErrorMiddleware:
    """First in MIDDLEWARE, so that it sees every answer, including those made of an exception.

    Django turns an exception into an answer (an HTML page) inside each middleware layer, through
    handler404, handler500, CSRF_FAILURE_VIEW and its own 400 and 403 pages; and some answers are
    no exception at all (ninja's 405). Those that reach here as something other than JSON are
    replaced by the shape, with their status and headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code < 400 or not is_api(request) or _is_json(response):
            return response
        return _as_api_error(response)


def _is_json(response):
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


def _as_api_error(response):
    status = response.status_code
    replacement = error_response(status, DETAILS.get(status) or f"{response.reason_phrase}.")
    for name, value in response.items():
        if name.lower() not in _BODY_HEADERS:
            replacement[name] = value
    replacement.cookies = response.cookies
    return replacement


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's, except that an htmx request (an inline edit, a switch) whose session has ended loads the
    login page as the whole page, with ``next`` back to the page the browser showed, not into the fragment.

    The middlewares that end a session (accounts', usersessions') leave the reason as a message for it.
    """

    def handle_no_permission(self, request, view_func):
        if not is_htmx(request):
            return super().handle_no_permission(request, view_func)
        login_url = resolve_url(self.get_login_url(view_func))
        login = redirect_to_login(current_page(request), login_url, self.get_redirect_field_name(view_func))
        return page_redirect(request, login["Location"])


class DeletedMeanwhileMiddleware:
    """A view whose object another request deleted while it ran (a row gone when its change took its
    turn) answers 404, as it would have a moment later, instead of a 500. Services say so by raising
    the model's DoesNotExist."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, ObjectDoesNotExist):
            return page_not_found(request, Http404(str(exception)))
        return None


class UnstorableInputMiddleware:
    """Refuses, with a 400, a query string holding a character no database here can store: NUL
    (PostgreSQL's text refuses it) or one that is not UTF-8. A search such as ``?q=a%00b`` would
    otherwise reach the database and fail there.

    Form fields refuse NUL themselves, next to the field (Django's ProhibitNullCharactersValidator),
    and JSON bodies in the API's schemas (core.api.BodyIn), so each answer names the field at fault.
    """

    MESSAGE = gettext_lazy("The address holds a character that cannot be stored (such as a NUL byte).")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any(unstorable(key) or any(unstorable(value) for value in values) for key, values in request.GET.lists()):
            if is_api(request):
                return error_response(400, self.MESSAGE)
            return HttpResponseBadRequest(str(self.MESSAGE), content_type="text/plain; charset=utf-8")
        return self.get_response(request)


class HealthProbeMiddleware:
    """``/livez`` and ``/readyz`` for load balancers and orchestrators, answered before anything else.

    First in MIDDLEWARE, so that a probe needs no public Host header (it is not checked against
    ALLOWED_HOSTS), is never redirected to HTTPS, and touches no session. Liveness says the process
    answers; readiness makes one round trip to the database and one to the cache and answers 503 with
    Retry-After, naming what failed, while either is unreachable.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == "/livez":
            return JsonResponse({"status": "ok"})
        if request.path_info == "/readyz":
            return _readiness()
        return self.get_response(request)


def _readiness():
    checks = {"database": _database_answers, "cache": _cache_answers}
    results = {}
    for name, check in checks.items():
        try:
            check()
        except Exception:  # noqa: BLE001  (any failure means not ready; the reason is logged)
            logger.warning("readiness: the %s does not answer", name, exc_info=True)
            results[name] = "unavailable"
        else:
            results[name] = "ok"
    ready = all(result == "ok" for result in results.values())
    response = JsonResponse({"status": "ok" if ready else "unavailable", **results}, status=200 if ready else 503)
    if not ready:
        response["Retry-After"] = str(RETRY_AFTER)
    return response


def _database_answers():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache_answers():
    key = f"readyz:{secrets.token_hex(8)}"
    cache.set(key, "1", timeout=5)
    if cache.get(key) != "1":
        raise RuntimeError("the cache did not give back what was just stored")
    cache.delete(key)
