"""Access tokens over the JSON API: the same rules as the token manager page."""

from datetime import datetime
from typing import Annotated

from ninja import Field, Query, Router, Schema, Status

from core.api import (
    BodyIn,
    Moment,
    PageQuery,
    Text,
    api_origin,
    errors,
    examples,
    page_of,
    paged,
    require_browser_session,
    stated,
    text,
)
from core.reauth import require_recent_proof
from tokens import selectors, services
from tokens.credentials import bearer_string
from tokens.models import UNUSED_AFTER, AccessToken
from tokens.validators import MAX_IP_ALLOWLIST_ENTRIES, MAX_LIFETIME_YEARS

router = Router(tags=["tokens"])


class TokenOut(Schema):
    id: int = Field(description="The credential ID clients send.")
    name: str
    ip_allowlist: list[str]
    expires_at: datetime
    expired: bool = Field(alias="is_expired")
    created_at: datetime
    last_used_at: datetime | None
    last_used_ip: str | None
    permissions: list[str] | None = Field(
        description="null: all of its owner's permissions; else the names it is limited to. Either way it acts "
        "only with what its owner holds at each request."
    )
    unused: bool = Field(
        alias="is_unused",
        description=f"Not used for {UNUSED_AFTER.days} days (or never, and made that long ago): probably forgotten.",
    )


TokenPage = page_of(TokenOut, "TokenPage")


class TokenCreatedOut(TokenOut):
    secret: str = Field(description="Shown once: it cannot be read again.")
    bearer: str = Field(description="The ready `Authorization: Bearer` value.")


# The rules a schema can state, from the constants the validators use; the services check them all.
TokenName = text(maxLength=AccessToken._meta.get_field("name").max_length)
IpAllowlist = Annotated[
    list[Text],
    stated(
        description=(
            "IPv4 and IPv6 addresses and CIDR blocks (no host bits set, none listed twice) "
            "the token may be used from; empty: any address."
        ),
        maxItems=MAX_IP_ALLOWLIST_ENTRIES,
    ),
]
EXPIRY = f"in the future and at most {MAX_LIFETIME_YEARS} years away, with a time zone offset"
TokenPermissions = Annotated[
    list[text(maxLength=100, examples=["accounts.view_user"])] | None,
    stated(
        description=(
            "null: all of its owner's permissions, whatever they are at each request; or names of function "
            "permissions its owner holds (as in the role editor, without accounts.use_api, which every token "
            "needs from its owner), such as the view_ ones for a read-only token. Setting it needs a browser session."
        ),
        uniqueItems=True,
        examples=[["accounts.view_user", "organisation.view_company"]],
    ),
]
LONG_TERM = f"Expire at the latest allowed moment, {MAX_LIFETIME_YEARS} years from now (expires_at is then ignored)."


class TokenCreateIn(BodyIn):
    name: TokenName = ""
    ip_allowlist: IpAllowlist = []
    expires_at: Moment | None = Field(
        None, description=f"When the token expires ({EXPIRY}); required unless long_term is true."
    )
    long_term: bool = Field(False, description=LONG_TERM)
    permissions: TokenPermissions = None


class TokenUpdateIn(BodyIn):
    name: TokenName | None = None
    ip_allowlist: IpAllowlist | None = None
    expires_at: Moment | None = Field(None, description=f"A new expiry ({EXPIRY}).")
    long_term: bool = Field(False, description=LONG_TERM)
    permissions: TokenPermissions = None


@router.get(
    "/users/{user_id}/tokens",
    response={200: TokenPage, **errors(403, 404, 422)},
    summary="A user's tokens",
    operation_id="tokens_list",
)
def token_list(request, user_id: int, query: Query[PageQuery]):
    owner = selectors.token_owner(actor=request.user, user_id=user_id)
    return paged(selectors.tokens_of(owner=owner), query)


@router.post(
    "/users/{user_id}/tokens",
    response={201: TokenCreatedOut, **errors(403, 404, 422)},
    summary="Issue a token; the answer holds its secret, shown this once (a browser session only)",
    operation_id="tokens_create",
    openapi_extra=examples(
        request={"name": "report", "long_term": True, "permissions": ["accounts.view_user"]},
        response={
            "id": 16,
            "name": "report",
            "ip_allowlist": [],
            "expires_at": "2035-03-01T09:30:00Z",
            "expired": False,
            "created_at": "2025-03-01T09:30:00Z",
            "last_used_at": None,
            "last_used_ip": None,
            "permissions": ["accounts.view_user"],
            "unused": False,
            "secret": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE",
            "bearer": "pnl_16_Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmE",
        },
        status=201,
    ),
)
def token_create(request, user_id: int, body: TokenCreateIn):
    require_browser_session(request)
    require_recent_proof(request)
    owner = selectors.token_creation_owner(actor=request.user, user_id=user_id)
    token, secret = services.token_create(origin=api_origin(request), user=owner, **body.dict())
    token.secret, token.bearer = secret, bearer_string(token.pk, secret)
    return Status(201, token)


@router.patch(
    "/users/{user_id}/tokens/{token_id}",
    response={200: TokenOut, **errors(403, 404, 422)},
    summary="Change a token's name, IP allow-list, expiry or permissions (permissions: a browser session only)",
    operation_id="tokens_update",
)
def token_update(request, user_id: int, token_id: int, body: TokenUpdateIn):
    changes = body.dict(exclude_unset=True)
    if "permissions" in changes:
        require_browser_session(request)  # a token must not widen itself or its siblings
    require_recent_proof(request)
    owner = selectors.token_owner(actor=request.user, user_id=user_id)
    token = selectors.token_get(owner=owner, token_id=token_id)
    return services.token_update(origin=api_origin(request), token=token, **changes)


@router.delete(
    "/users/{user_id}/tokens/{token_id}",
    response={204: None, **errors(403, 404, 422)},
    summary="Delete a token",
    operation_id="tokens_delete",
)
def token_delete(request, user_id: int, token_id: int):
    owner = selectors.token_owner(actor=request.user, user_id=user_id)
    services.token_delete(origin=api_origin(request), token=selectors.token_get(owner=owner, token_id=token_id))
    return Status(204, None)
