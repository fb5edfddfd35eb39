"""Passkeys over the JSON API: list and delete. Registering needs a browser and its authenticator: the pages."""

from datetime import datetime

from ninja import Field, Query, Router, Schema, Status

from core.api import PageQuery, api_origin, errors, page_of, paged
from core.reauth import require_recent_proof
from passkeys import selectors, services

router = Router(tags=["passkeys"])


class PasskeyOut(Schema):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None = Field(description="Null until the passkey first logs in.")
    synced: bool = Field(alias="backup_eligible", description="A multi-device passkey, synced by its provider.")
    backed_up: bool
    aaguid: str = Field(description="The authenticator model; all zeros when the authenticator does not say.")
    transports: list[str]


PasskeyPage = page_of(PasskeyOut, "PasskeyPage")


@router.get(
    "/users/{user_id}/passkeys",
    response={200: PasskeyPage, **errors(403, 404, 422)},
    summary="A user's passkeys",
    operation_id="passkeys_list",
)
def passkey_list(request, user_id: int, query: Query[PageQuery]):
    return paged(selectors.passkeys_of(owner=selectors.passkey_owner(actor=request.user, user_id=user_id)), query)


@router.delete(
    "/users/{user_id}/passkeys/{passkey_id}",
    response={204: None, **errors(403, 404, 422)},
    summary="Delete a passkey; it can no longer log in",
    operation_id="passkeys_delete",
)
def passkey_delete(request, user_id: int, passkey_id: int):
    require_recent_proof(request)
    owner = selectors.passkey_owner(actor=request.user, user_id=user_id)
    passkey = selectors.passkey_get(owner=owner, passkey_id=passkey_id)
    services.passkey_delete(origin=api_origin(request), passkey=passkey)
    return Status(204, None)
