"""Two-factor over the JSON API, under the pages' rules: its status, enrolling an authenticator app, new
recovery codes, email codes on and off, and turning it all off.

Creating a second factor or recovery codes is for a browser session only (core.api.require_browser_session):
a leaked access token must not turn itself into a lasting second factor. Turning factors off is open to
tokens, as deleting a passkey is. A browser needs a recent login proof wherever the page asks for one.
"""

from typing import Annotated

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema, Status

from core.api import NO_NUL, BodyIn, Text, api_origin, errors, require_browser_session
from core.errors import error_response
from core.reauth import require_recent_proof
from mfa import selectors, services
from mfa.otpauth import base32_key, otpauth_url

router = Router(tags=["two-factor"])

ENROLMENT_CLOSED = gettext_lazy("This enrolment is no longer open. Start again.")
# A code as the pages take it: 6 digits, or a recovery code like abcd-efgh-jkmn-pqrs.
CODE_MAX_LENGTH = 32
Code = Annotated[
    str,
    Field(
        max_length=CODE_MAX_LENGTH,
        description="The 6-digit code, or a recovery code like abcd-efgh-jkmn-pqrs.",
        json_schema_extra={"pattern": NO_NUL},
    ),
]


class TwoFactorOut(Schema):
    enabled: bool
    totp: bool
    email: bool
    recovery_codes_left: int


class TotpEnrolmentOut(Schema):
    device_id: int = Field(description="Send it back with the first code to turn the app on.")
    otpauth_url: str = Field(description="For the app to scan as a QR code.", examples=["otpauth://totp/Panel:carol?…"])
    key: str = Field(description="The same key for typing in: base32, no padding.")


class EmailEnrolmentOut(Schema):
    device_id: int = Field(description="Send it back with the code emailed to turn email codes on.")


class ConfirmIn(BodyIn):
    device_id: int = Field(description="From the enrolment's start.")
    code: Code


class RecoveryCodesOut(Schema):
    recovery_codes: list[str] = Field(description="Shown once: each logs in once; the earlier set no longer works.")


class TurnOffIn(BodyIn):
    code: Code = Field("", description="Your own: a current code from your app, or a recovery code.")
    password: Text = Field("", description="Your own: or your password. Another user's: neither is needed.")


@router.get(
    "/users/{user_id}/two-factor",
    response={200: TwoFactorOut, **errors(403, 404, 422)},
    summary="Whether a user has two-factor authentication on, and with what",
    operation_id="two_factor_get",
)
def two_factor_status(request, user_id: int):
    return selectors.status(selectors.two_factor_subject(actor=request.user, user_id=user_id))


@router.post(
    "/users/{user_id}/two-factor/totp",
    response={201: TotpEnrolmentOut, **errors(403, 404, 422)},
    summary="Start enrolling an authenticator app (a browser session only)",
    description="Two-factor is not on until a first code from the app confirms it; starting again replaces "
    "an enrolment not yet confirmed.",
    operation_id="two_factor_totp_begin",
)
def totp_begin(request, user_id: int):
    require_browser_session(request)
    require_recent_proof(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    device = services.totp_begin(origin=api_origin(request), user=subject)
    return Status(201, {"device_id": device.pk, "otpauth_url": otpauth_url(subject, device), "key": base32_key(device)})


@router.post(
    "/users/{user_id}/two-factor/totp/confirm",
    response={200: RecoveryCodesOut, **errors(403, 404, 422)},
    summary="Turn the app on with its first code; the answer holds the new recovery codes (a browser session only)",
    operation_id="two_factor_totp_confirm",
)
def totp_confirm(request, user_id: int, body: ConfirmIn):
    require_browser_session(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    device = _pending(selectors.pending_authenticator, subject, body.device_id)
    codes = services.totp_confirm(origin=api_origin(request), user=subject, device=device, code=body.code)
    return {"recovery_codes": codes}


def _pending(find, subject, device_id):
    device = find(subject, device_id)
    if device is None:
        raise ValidationError({"device_id": ENROLMENT_CLOSED})
    return device


@router.post(
    "/users/{user_id}/two-factor/recovery-codes",
    response={201: RecoveryCodesOut, **errors(403, 404, 422)},
    summary="Make a new set of recovery codes; the old ones stop working (a browser session only)",
    operation_id="two_factor_recovery_codes_regenerate",
)
def recovery_codes_regenerate(request, user_id: int):
    require_browser_session(request)
    require_recent_proof(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    return Status(201, {"recovery_codes": services.recovery_codes_regenerate(origin=api_origin(request), user=subject)})


@router.post(
    "/users/{user_id}/two-factor/disable",
    response={204: None, **errors(403, 404, 422)},
    summary="Turn two-factor off: your own with a current code or your password, another's with the permission",
    description="Every second factor and the recovery codes go. A wrong code or password counts toward "
    "the account's lockout (429).",
    operation_id="two_factor_disable",
)
def two_factor_disable(request, user_id: int, body: TurnOffIn):
    require_recent_proof(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    services.two_factor_turn_off(origin=api_origin(request), user=subject, **body.dict())
    return Status(204, None)


@router.post(
    "/users/{user_id}/two-factor/email",
    response={202: EmailEnrolmentOut, **errors(403, 404, 422)},
    summary="Start email codes for your own login: a code goes to your address (a browser session only)",
    description="At most one email a minute (429 with Retry-After). Only the owner of the address may: "
    "they must enter the code.",
    operation_id="two_factor_email_begin",
)
def email_begin(request, user_id: int):
    require_browser_session(request)
    require_recent_proof(request)
    subject = selectors.email_enrolment_subject(actor=request.user, user_id=user_id)
    try:
        device = services.email_begin(origin=api_origin(request), user=subject)
    except services.CodeSendRefused as refused:
        return error_response(429, str(refused), headers={"Retry-After": str(refused.wait or 60)})
    return Status(202, {"device_id": device.pk})


@router.post(
    "/users/{user_id}/two-factor/email/confirm",
    response={204: None, **errors(403, 404, 422)},
    summary="Turn email codes on with the code sent (a browser session only)",
    operation_id="two_factor_email_confirm",
)
def email_confirm(request, user_id: int, body: ConfirmIn):
    require_browser_session(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    device = _pending(selectors.pending_email_device, subject, body.device_id)
    services.email_confirm(origin=api_origin(request), user=subject, device=device, code=body.code)
    return Status(204, None)


@router.delete(
    "/users/{user_id}/two-factor/email",
    response={204: None, **errors(403, 404, 422)},
    summary="Turn email codes off, keeping the authenticator app",
    description="Refused (422) when email codes are the last second factor: turn two-factor off instead "
    "(POST /users/{user_id}/two-factor/disable).",
    operation_id="two_factor_email_disable",
)
def email_codes_turn_off(request, user_id: int):
    require_recent_proof(request)
    subject = selectors.two_factor_subject(actor=request.user, user_id=user_id)
    services.email_codes_turn_off(origin=api_origin(request), user=subject)
    return Status(204, None)
