"""Two-factor over the JSON API: its status, and turning email codes off (enrolling needs a person: the pages)."""

from ninja import Router, Schema, Status

from core.api import api_origin, errors
from core.reauth import require_recent_proof
from mfa import selectors, services

router = Router(tags=["two-factor"])


class TwoFactorOut(Schema):
    enabled: bool
    totp: bool
    email: bool
    recovery_codes_left: int


@router.get(
    "/users/{user_id}/two-factor",
    response={200: TwoFactorOut, **errors(403, 404, 422)},
    summary="Whether a user has two-factor authentication on, and with what",
)
def two_factor_status(request, user_id: int):
    return selectors.status(selectors.two_factor_subject(actor=request.user, user_id=user_id))


@router.delete(
    "/users/{user_id}/two-factor/email",
    response={204: None, **errors(403, 404, 422)},
    summary="Turn email codes off, keeping the authenticator app",
    description="Refused (422) when email codes are the last second factor: turning two-factor off needs the pages.",
)
def email_codes_turn_off(request, user_id: int):
    require_recent_proof(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    services.email_codes_turn_off(origin=api_origin(request), user=subject)
    return Status(204, None)
