"""Two-factor status over the JSON API (enrolling needs a person with the app in hand: the pages)."""

from ninja import Router, Schema

from core.api import errors
from mfa import selectors

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
