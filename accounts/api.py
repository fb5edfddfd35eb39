"""User management over the JSON API: the same permissions as the pages, the same services."""

from datetime import datetime
from typing import Annotated

from django.db import transaction
from django.http import Http404
from ninja import Field, Query, Router, Schema, Status

from accounts import selectors, services
from accounts.models import User
from accounts.validators import (
    ACCOUNT_EXPIRY_MAX_YEARS,
    PASSWORD_MAX_LENGTH,
    PASSWORD_MIN_LENGTH,
    TIME_ZONE_MAX_LENGTH,
    USERNAME_CHARACTERS,
    USERNAME_MAX_LENGTH,
)
from core.api import (
    NO_NUL,
    BodyIn,
    Moment,
    PageQuery,
    Text,
    api_origin,
    errors,
    examples,
    in_scope,
    page_answer,
    page_of,
    require_browser_session,
    require_permission,
    stated,
    text,
)
from core.localisation import language_codes
from core.reauth import require_recent_proof
from organisation import scope
from organisation import selectors as organisation_selectors

router = Router(tags=["users"])

# The rules a schema can state, from the constants the validators use; the services still check
# every rule, including those no schema can state (see each description).
Username = Annotated[
    str,
    stated(
        description="Unique, ignoring case.",
        minLength=1,
        maxLength=USERNAME_MAX_LENGTH,
        pattern=f"^[{USERNAME_CHARACTERS}]+$",
    ),
]
Email = Annotated[str, stated(format="email", maxLength=User._meta.get_field("email").max_length)]
Password = text(
    description=(
        "At least two of: letters, digits and special characters; "
        "not a common password, nor too like the username or email."
    ),
    minLength=PASSWORD_MIN_LENGTH,
    maxLength=PASSWORD_MAX_LENGTH,
)
Language = Annotated[
    str,
    stated(
        description='The language of the user\'s pages, API answers and emails; "" follows their browser '
        "(Accept-Language), and their emails are in PANEL_LANGUAGE.",
        enum=["", *language_codes()],
    ),
]
TimeZone = text(
    description='An IANA time zone name, such as "Asia/Taipei", in which the user\'s pages and emails show times '
    "(the API's stay ISO 8601 with an offset); \"\" is the panel's (PANEL_TIME_ZONE).",
    maxLength=TIME_ZONE_MAX_LENGTH,
)
ACCOUNT_EXPIRY = f"in the future and at most {ACCOUNT_EXPIRY_MAX_YEARS} years away, with a time zone offset"


class UserOut(Schema):
    id: int
    username: str
    email: str
    is_active: bool
    is_superuser: bool
    date_joined: datetime
    expires_at: datetime | None = Field(description="After this moment the user cannot log in; null: never.")
    company_id: int | None = Field(description="The user's company, their data scope; null: panel staff.")
    parent_id: int | None = Field(description="The parent user of a sub-user.")
    language: Language
    time_zone: TimeZone


UserPage = page_of(UserOut, "UserPage")


class UserListQuery(PageQuery):
    search: str = Field("", max_length=100, pattern=NO_NUL)


class UserCreateIn(BodyIn):
    username: Username
    email: Email
    password: Password
    expires_at: Moment | None = Field(None, description=f"When the account expires ({ACCOUNT_EXPIRY}); null: never.")
    company_id: int | None = Field(None, description="A company within yours; required unless you are panel staff.")
    parent_id: int | None = Field(None, description="Make it a sub-user of this user (in the parent's company).")


class UserUpdateIn(BodyIn):
    username: Username | None = None
    email: Email | None = None
    expires_at: Moment | None = Field(
        None, description=f"A new expiry ({ACCOUNT_EXPIRY}); null: never. Omit to leave it as it is."
    )
    is_active: bool | None = Field(
        None,
        description="false disables the account (no login by any means, sessions end, tokens refused); "
        "true enables it. Not your own. Omit (or null) to leave it as it is.",
    )
    language: Language | None = None
    time_zone: TimeZone | None = None


class ExpiryIn(BodyIn):
    expires_at: Moment | None = Field(description=f"When the account expires ({ACCOUNT_EXPIRY}); null: never.")
    whole_company: bool = Field(
        False, description="Set it on every account of the user's company (not its subsidiaries), the user's included."
    )


class ExpiryOut(Schema):
    expires_at: datetime | None
    accounts_changed: int = Field(description="How many accounts had another expiry before (the page's count).")


_USER_EXAMPLE = {
    "id": 7,
    "username": "alice",
    "email": "alice@example.com",
    "is_active": True,
    "is_superuser": False,
    "date_joined": "2025-03-01T09:30:00Z",
    "expires_at": None,
    "company_id": 3,
    "parent_id": None,
    "language": "zh-hant",
    "time_zone": "Asia/Taipei",
}


class PasswordIn(BodyIn):
    password: Password
    current_password: Text | None = Field(None, description="Required when changing your own password.")


@router.get(
    "/user/info",
    response={200: UserOut, **errors()},
    summary="The user the request acts as",
    operation_id="user_info",
)
def user_info(request):
    return request.user


@router.get(
    "/users",
    response={200: UserPage, **errors(403, 422)},
    summary="List users, newest first",
    operation_id="users_list",
    openapi_extra=examples(response={"items": [_USER_EXAMPLE], "total": 41, "page": 3, "size": 20}),
)
def user_list(request, query: Query[UserListQuery]):
    require_permission(request, "accounts.view_user")
    page = selectors.user_list(actor=request.user, search=query.search, page=query.page, per_page=query.per_page)
    # The page selector falls back to the last page; a script looping until it is empty must see nothing there.
    return page_answer(query, items=page if page.number == query.page else [], total=page.paginator.count)


@router.post(
    "/users",
    response={201: UserOut, **errors(403, 422)},
    summary="Create a user",
    operation_id="users_create",
    openapi_extra=examples(
        request={"username": "alice", "email": "alice@example.com", "password": "Sturdy-pass-42", "company_id": 3},
        response=_USER_EXAMPLE,
        status=201,
    ),
)
def user_create(request, body: UserCreateIn):
    require_permission(request, "accounts.add_user")
    fields = body.dict()
    company_id, parent_id = fields.pop("company_id"), fields.pop("parent_id")
    company = in_scope(organisation_selectors.company_get, request, company_id, "company_id")
    parent = in_scope(scope.user_get, request, parent_id, "parent_id")
    return Status(201, services.user_create(origin=api_origin(request), company=company, parent=parent, **fields))


@router.get(
    "/users/{user_id}",
    response={200: UserOut, **errors(403, 404, 422)},
    summary="One user",
    operation_id="users_get",
)
def user_get(request, user_id: int):
    if user_id != request.user.pk:
        require_permission(request, "accounts.view_user")
    return scope.user_get(actor=request.user, pk=user_id)


@router.patch(
    "/users/{user_id}",
    response={200: UserOut, **errors(403, 404, 409, 422)},
    summary="Change username, email, expiry, whether the account is enabled, language or time zone",
    operation_id="users_update",
)
def user_update(request, user_id: int, body: UserUpdateIn):
    require_permission(request, "accounts.change_user")
    user = scope.user_get(actor=request.user, pk=user_id)
    changes = body.dict(exclude_unset=True)
    if "email" in changes:
        require_recent_proof(request)
    origin = api_origin(request)
    with transaction.atomic():  # all the changes, or none; but a refusal's audit event is kept
        try:
            if "expires_at" in changes:
                services.user_set_expiry(origin=origin, user=user, expires_at=changes.pop("expires_at"))
            if (enabled := changes.pop("is_active", None)) is not None:
                services.user_set_enabled(origin=origin, user=user, enabled=enabled)
            _set_preferences(origin, user, changes)
        except services.LastUserError as error:
            refusal = error
        else:
            return services.user_update(origin=origin, user=user, **changes)
    raise refusal


def _set_preferences(origin, user, changes):
    """The language and time zone of ``changes`` (each left as it is when omitted or null)."""
    language, time_zone = changes.pop("language", None), changes.pop("time_zone", None)
    if language is not None or time_zone is not None:
        services.user_set_preferences(
            origin=origin,
            user=user,
            language=user.language if language is None else language,
            time_zone=user.time_zone if time_zone is None else time_zone,
        )


@router.put(
    "/users/{user_id}/expiry",
    response={200: ExpiryOut, **errors(403, 404, 409, 422)},
    summary="Set when a user's account expires, or every account of their company",
    description="The answer counts the accounts that changed; sub-users that would outlive the new "
    "moment are brought forward to it. Refused (409) if no user manager would be left unexpired.",
    operation_id="users_expiry_set",
)
def user_expiry_set(request, user_id: int, body: ExpiryIn):
    require_permission(request, "accounts.change_user")
    user = scope.user_get(actor=request.user, pk=user_id, action="expiry")
    changed = services.user_set_expiry(origin=api_origin(request), user=user, **body.dict())
    return {"expires_at": user.expires_at, "accounts_changed": changed}


@router.put(
    "/users/{user_id}/password",
    response={204: None, **errors(403, 404, 422)},
    summary="Set a password (your own needs current_password); ends all of the user's sessions",
    operation_id="users_password_set",
)
def user_password(request, user_id: int, body: PasswordIn):
    require_browser_session(request)
    user = scope.self_or_permitted(actor=request.user, user_id=user_id, permission="accounts.change_user")
    origin = api_origin(request)
    if user.pk == request.user.pk:
        services.user_change_own_password(
            origin=origin,
            user=user,
            current_password=body.current_password or "",
            new_password=body.password,
            session_key=None,
        )
    else:
        require_recent_proof(request)
        services.user_set_password(origin=origin, user=user, password=body.password)
    return Status(204, None)


@router.delete(
    "/users/{user_id}",
    response={204: None, **errors(403, 404, 409, 422)},
    summary="Delete a user (never the last)",
    operation_id="users_delete",
)
def user_delete(request, user_id: int):
    require_permission(request, "accounts.delete_user")
    require_recent_proof(request)
    user = scope.user_get(actor=request.user, pk=user_id)
    try:
        services.user_delete(origin=api_origin(request), user=user)
    except user.DoesNotExist:
        raise Http404 from None  # deleted by someone else meanwhile
    return Status(204, None)
