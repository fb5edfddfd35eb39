"""The JSON API root: authentication, the one error shape, and the routers of each app.

Every error answers ``{"detail": "<sentence>", "errors": {"<field>": ["<message>", ...]}}``,
``errors`` only where fields are at fault (422), built by core.errors.error_response. The handlers
below give the errors raised in the API's views their status and sentence; any other exception
goes on to Django (ninja re-raises it with DEBUG off), whose handler500 answers 503 for a
database or cache fault and 500 otherwise, and core.middleware.ApiErrorMiddleware turns the
errors answered outside these views (404, 405, 400...) into the same shape.
"""

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as SchemaValidationError
from ninja.security import APIKeyCookie

from accounts.api import router as accounts_router
from accounts.services import LastUserError
from core.api_routes import router as core_router
from core.errors import CSRF_DETAIL, DETAILS, error_response
from core.throttle import Throttled
from mfa.api import router as mfa_router
from organisation.api import router as organisation_router
from organisation.services import CompanyNotEmpty
from panel import __version__
from panel.session_api import router as sessions_router
from passkeys.api import router as passkeys_router
from tokens.api import router as tokens_router
from tokens.authentication import BearerTokenAuth, SignedRequestAuth, TokenRefused


class SessionCookieAuth(APIKeyCookie):
    """A logged-in browser; it must send the CSRF token, unlike a script with an access token."""

    def __init__(self):
        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request):
        if not request.user.is_authenticated:
            return None  # not a browser session: no CSRF check, the request is simply unauthenticated
        reason = CsrfViewMiddleware(lambda _: None).process_view(request, None, (), {})
        if reason is not None:
            raise PermissionDenied(CSRF_DETAIL)
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request, key):
        return request.user if key is not None else None


# OpenAPI links: the answer that names a new resource, and the calls that can act on it next (for
# clients, and for the stateful schemathesis run, which follows them).
# {(operation ID, status): {link name: (operation ID, parameters[, request body])}}
_NEW_USER = {"user_id": "$response.body#/id"}
_NEW_COMPANY = {"company_id": "$response.body#/id"}
_NEW_ROLE = {"role_id": "$response.body#/id"}
_NEW_TOKEN = {"user_id": "$request.path.user_id", "token_id": "$response.body#/id"}
LINKS = {
    ("users_create", 201): {
        "GetUser": ("users_get", _NEW_USER),
        "UpdateUser": ("users_update", _NEW_USER),
        "SetPassword": ("users_password_set", _NEW_USER),
        "DeleteUser": ("users_delete", _NEW_USER),
        "ListTokens": ("tokens_list", _NEW_USER),
        "CreateToken": ("tokens_create", _NEW_USER),
        "CreateLongTermToken": ("tokens_create", _NEW_USER, {"long_term": True}),
        "CreateLimitedToken": ("tokens_create", _NEW_USER, {"long_term": True, "permissions": []}),
        "TwoFactorStatus": ("two_factor_get", _NEW_USER),
        "ListPasskeys": ("passkeys_list", _NEW_USER),
        "SetExpiry": ("users_expiry_set", _NEW_USER),
        "ListSessions": ("sessions_list", _NEW_USER),
        "EndAllSessions": ("sessions_end_all", _NEW_USER),
        "GetSessionPolicy": ("session_policy_get", _NEW_USER),
        "SetSessionPolicy": ("session_policy_set", _NEW_USER),
        "BeginTotp": ("two_factor_totp_begin", _NEW_USER),
        "TurnTwoFactorOff": ("two_factor_disable", _NEW_USER),
        "GetAccess": ("access_get", _NEW_USER),
        "SetAccess": ("access_set", _NEW_USER),
    },
    ("two_factor_totp_begin", 201): {
        "ConfirmTotp": (
            "two_factor_totp_confirm",
            {"user_id": "$request.path.user_id"},
            {"device_id": "$response.body#/device_id", "code": "000000"},
        ),
    },
    ("companies_create", 201): {
        "GetCompany": ("companies_get", _NEW_COMPANY),
        "UpdateCompany": ("companies_update", _NEW_COMPANY),
        "DeleteCompany": ("companies_delete", _NEW_COMPANY),
    },
    ("roles_create", 201): {
        "GetRole": ("roles_get", _NEW_ROLE),
        "UpdateRole": ("roles_update", _NEW_ROLE),
        "DeleteRole": ("roles_delete", _NEW_ROLE),
    },
    ("tokens_create", 201): {
        "UpdateToken": ("tokens_update", _NEW_TOKEN),
        "DeleteToken": ("tokens_delete", _NEW_TOKEN),
        "ListTokens": ("tokens_list", {"user_id": "$request.path.user_id"}),
    },
}


def _link(operation_id, parameters, request_body=None):
    link = {"operationId": operation_id, "parameters": parameters}
    return link if request_body is None else {**link, "requestBody": request_body}


# The answers that say when to try again (core.api.errors documents them on every operation).
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}
RETRY_STATUSES = (429, 503)


class PanelAPI(NinjaAPI):
    """ninja's API with the LINKS and the ``Retry-After`` headers added to the schema it publishes."""

    def get_openapi_schema(self, **kwargs):
        schema = super().get_openapi_schema(**kwargs)
        operations = {
            operation["operationId"]: operation for path in schema["paths"].values() for operation in path.values()
        }
        for (source, status), links in LINKS.items():
            operations[source]["responses"][status]["links"] = {name: _link(*link) for name, link in links.items()}
        for operation in operations.values():
            for status in RETRY_STATUSES:
                if status in operation["responses"]:
                    operation["responses"][status]["headers"] = RETRY_AFTER
        return schema


api = PanelAPI(
    title="Panel API",
    version="1",
    description=(
        "Everything an admin does on the pages: users, companies, roles and access, tokens, sessions, two-factor, "
        "the audit log and lockouts. Authenticate with an access token, Bearer or signed (see the security "
        'schemes and README). Errors answer `{"detail", "errors"}`; 429 and 503 say when to retry in '
        "`Retry-After`."
    ),
    # Relative: the panel that served this schema, whatever its host, so a client generated from it works anywhere.
    servers=[{"url": "/", "description": "This panel"}],
    auth=[SignedRequestAuth(), BearerTokenAuth(), SessionCookieAuth()],
    urls_namespace="api",
)


@api.exception_handler(TokenRefused)
def _token_refused(request, exc):
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    if exc.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="panel"'
    return error_response(exc.status, exc.message, headers=headers)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return error_response(401, DETAILS[401], headers={"WWW-Authenticate": 'Bearer realm="panel"'})


@api.exception_handler(PermissionDenied)
def _forbidden(request, exc):
    return error_response(403, str(exc) or DETAILS[403])


@api.exception_handler(Http404)
@api.exception_handler(ObjectDoesNotExist)  # deleted by another request meanwhile (core.middleware)
def _not_found(request, exc):
    return error_response(404, DETAILS[404])


@api.exception_handler(LastUserError)
@api.exception_handler(CompanyNotEmpty)
def _refused_for_what_remains(request, exc):
    return error_response(409, str(exc))


@api.exception_handler(Throttled)
def _throttled(request, exc):
    return error_response(429, exc.messages[0], headers={"Retry-After": str(exc.wait)})


@api.exception_handler(ValidationError)
def _rule_failed(request, exc):
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return error_response(422, _("The request is not valid."), errors=errors)


# pydantic's error types (https://docs.pydantic.dev/latest/errors/validation_errors/) that clients meet,
# each with its context's placeholders.
SCHEMA_MESSAGES = {
    "missing": gettext_lazy("This field is required."),
    "string_type": gettext_lazy("Send text."),
    "string_too_long": gettext_lazy("Send at most %(max_length)s characters."),
    "string_too_short": gettext_lazy("Send at least %(min_length)s characters."),
    "int_type": gettext_lazy("Send a whole number."),
    "int_parsing": gettext_lazy("Send a whole number."),
    "int_from_float": gettext_lazy("Send a whole number."),
    "bool_type": gettext_lazy("Send true or false."),
    "bool_parsing": gettext_lazy("Send true or false."),
    "list_type": gettext_lazy("Send a list."),
    "dict_type": gettext_lazy("Send a JSON object."),
    "model_type": gettext_lazy("Send a JSON object."),
    "model_attributes_type": gettext_lazy("Send a JSON object."),
    "datetime_type": gettext_lazy("Send a date and time, such as 2030-01-31T17:00:00+01:00."),
    "datetime_parsing": gettext_lazy("Send a date and time, such as 2030-01-31T17:00:00+01:00."),
    "datetime_from_date_parsing": gettext_lazy("Send a date and time, such as 2030-01-31T17:00:00+01:00."),
    "extra_forbidden": gettext_lazy("This field is not known."),
    "literal_error": gettext_lazy("Send one of: %(expected)s."),
    "enum": gettext_lazy("Send one of: %(expected)s."),
    "greater_than_equal": gettext_lazy("Send a number of at least %(ge)s."),
    "less_than_equal": gettext_lazy("Send a number of at most %(le)s."),
    "greater_than": gettext_lazy("Send a number above %(gt)s."),
    "less_than": gettext_lazy("Send a number below %(lt)s."),
}


@api.exception_handler(SchemaValidationError)
def _schema_failed(request, exc):
    errors = {}
    for error in exc.errors:
        location = [str(part) for part in error.get("loc", ())]
        # ("body", "<parameter>", "field", ...) or ("query", "field"): keep what the client named.
        field = ".".join(location[2:] if location[:1] == ["body"] and len(location) > 2 else location[1:])
        errors.setdefault(field or "__all__", []).append(_schema_message(error))
    return error_response(422, _("The request is not valid."), errors=errors)


def _schema_message(error):
    """What pydantic found wrong with a field, in the request's language: pydantic speaks only English."""
    kind, context = error.get("type", ""), error.get("ctx") or {}
    if kind == "value_error" and "error" in context:  # a panel validator's own (translated) message
        return str(context["error"])
    try:
        return str(SCHEMA_MESSAGES[kind]) % context
    except (KeyError, TypeError, ValueError):  # a type not listed, or a context without the placeholder
        return error.get("msg") or _("Invalid value.")


@api.exception_handler(RequestDataTooBig)
def _too_large(request, exc):
    # The body is over DATA_UPLOAD_MAX_MEMORY_SIZE; Django would answer 400.
    return error_response(413, DETAILS[413])


@api.exception_handler(HttpError)
def _http_error(request, exc):
    # Raised by django-ninja itself (in English): a body that does not parse is its only 400.
    if exc.status_code == 400:
        return error_response(400, _("The request body is not valid JSON."))
    return error_response(exc.status_code, DETAILS.get(exc.status_code, str(exc)))


class HealthOut(Schema):
    status: str
    version: str = Field(description="Panel's version, as `panel --version` prints it", examples=["0.2.0"])


@api.get(
    "/health",
    auth=None,
    response={200: HealthOut},
    tags=["panel"],
    summary="Health check (no authentication)",
    operation_id="health",
)
def health(request):
    return {"status": "ok", "version": __version__}


api.add_router("/", accounts_router)
api.add_router("/", tokens_router)
api.add_router("/", mfa_router)
api.add_router("/", passkeys_router)
api.add_router("/", sessions_router)
api.add_router("/", organisation_router)
api.add_router("/", core_router)
