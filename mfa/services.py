"""Every change to a user's second factors.

Each takes an ``origin``, runs in one transaction and writes one audit event.
"""

import logging
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.models import GenerateNotAllowed

from core import crypto, throttle
from core.audit import record
from core.locks import lock_user
from core.models import AuditEvent
from core.notify import notify
from mfa import selectors
from mfa.models import (
    RECOVERY_ALPHABET,
    RECOVERY_CODE_LENGTH,
    AuthenticatorDevice,
    EmailCodeDevice,
    RecoveryCode,
    RecoveryCodeDevice,
)

RECOVERY_CODE_COUNT = 10
INVALID_CODE = gettext_lazy("That code is not valid. Check it and try again.")
FACTOR_UNAVAILABLE = gettext_lazy(
    "Your authenticator app cannot be checked right now because of a fault on the server. "
    "Use a recovery code or another method, or ask an administrator."
)
logger = logging.getLogger(__name__)


def _told(message, **params):
    return message % params


# Formatted when the email is written, in its recipient's language (the subjects are lazy too).
_told_lazy = lazy(_told, str)


def _notify(origin, user, subject, what):
    """Tell ``user`` that their second factors changed (core.notify: after the commit, never a code).

    ``subject`` and ``what`` are lazy messages, ``what`` with the placeholder ``%(username)s``.
    """
    context = {"what": _told_lazy(what, username=user.get_username())}
    notify(user, subject=subject, template="core/notifications/change.txt", context=context, origin=origin)


class CodeSendRefused(Exception):
    """An emailed code may not be sent now (cooldown); the message says when, ``wait`` in seconds."""

    def __init__(self, message, wait=None):
        super().__init__(message)
        self.wait = wait


class FactorUnavailable(ValidationError):
    """The server cannot check this factor now (no configured key opens its stored key): not the user's mistake.

    A ValidationError({"code": ...}), so every caller shows it as a refused code; the login counts no failure for it.
    """

    def __init__(self):
        super().__init__({"code": FACTOR_UNAVAILABLE})


def check_code(device, code):
    """Raise ValidationError({"code": ...}) unless ``code`` is right for ``device`` now.

    FactorUnavailable (a ValidationError) when the device's stored key opens with no configured key.
    """
    allowed, data = device.verify_is_allowed()
    if not allowed:
        locked_until = (data or {}).get("locked_until")
        wait = max(1, int((locked_until - timezone.now()).total_seconds() + 0.999)) if locked_until else 1
        raise ValidationError(
            {"code": _("Too many wrong codes in a row. Wait %(seconds)d s, then try again.") % {"seconds": wait}}
        )
    try:
        verified = device.verify_token(code or "")
    except crypto.SecretUnreadable as error:
        # A key was dropped before reencrypt_secrets ran; the message names the row and the repair.
        logger.error("%s", error)
        raise FactorUnavailable() from None
    if not verified:
        raise ValidationError({"code": INVALID_CODE})


def new_recovery_codes(count=RECOVERY_CODE_COUNT):
    """``count`` fresh codes like ``k7m2-abcd-efgh-jkmn``, each starting with a different character (its slot)."""
    slots = secrets.SystemRandom().sample(RECOVERY_ALPHABET, count)
    rest = RECOVERY_CODE_LENGTH - 1
    raws = [slot + "".join(secrets.choice(RECOVERY_ALPHABET) for _slot in range(rest)) for slot in slots]
    return ["-".join(raw[i : i + 4] for i in range(0, RECOVERY_CODE_LENGTH, 4)) for raw in raws]


def _hashed_recovery_codes():
    """Fresh codes and their unsaved rows. Ten slow hashes: run them before any transaction holds a lock."""
    codes = new_recovery_codes()
    return codes, [RecoveryCode.hashed(code) for code in codes]


def _replace_recovery_codes(user, rows):
    """Make ``rows`` the user's only set; in a transaction that called lock_user(user) first.

    The lock makes two replacements at the same moment run one after the other, so the set that
    remains is the one the later request showed (without it, both sets remained).
    """
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for row in rows:
        row.device = device
    RecoveryCode.objects.bulk_create(rows)


def totp_begin(*, origin, user):
    """A new, unconfirmed authenticator for ``user`` (replacing an unconfirmed one); returns the device.

    Two-factor is not on until ``totp_confirm`` accepts a code from it.
    """
    key = secrets.token_bytes(20)  # 160 bits, RFC 4226's recommendation for SHA-1
    with transaction.atomic():
        AuthenticatorDevice.objects.filter(user=user, confirmed=False).delete()
        device = AuthenticatorDevice.objects.create(
            user=user, name="Authenticator app", confirmed=False, hex_key=key.hex()
        )
        record(origin=origin, action="mfa.totp.enrol_start", target=user)
    return device


def _check_confirmation(*, origin, user, device, code, action):
    """A pending device's first code; a wrong one is audited as a failed ``action``."""
    if device.confirmed or device.user_id != user.pk:
        raise ValidationError({"code": _("This enrolment is no longer open. Start again.")})
    try:
        check_code(device, code)
    except ValidationError:
        record(
            origin=origin,
            action=action,
            target=user,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"reason": "wrong confirmation code"},
        )
        raise


def totp_confirm(*, origin, user, device, code):
    """Turn two-factor on once ``code`` from the new authenticator is right; returns the new recovery codes."""
    _check_confirmation(origin=origin, user=user, device=device, code=code, action="mfa.totp.enable")
    codes, rows = _hashed_recovery_codes()
    with transaction.atomic():
        lock_user(user)
        AuthenticatorDevice.objects.filter(user=user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        _replace_recovery_codes(user, rows)
        record(origin=origin, action="mfa.totp.enable", target=user)
        _notify(
            origin,
            user,
            gettext_lazy("Authenticator app turned on"),
            gettext_lazy("An authenticator app was turned on for your logins (account %(username)s)."),
        )
    return codes


def recovery_codes_regenerate(*, origin, user):
    """A fresh set of recovery codes; the old ones stop working. Returns the codes, to be shown once."""
    if not selectors.has_second_factor(user):
        raise ValidationError(_("Turn on two-factor authentication first."))
    codes, rows = _hashed_recovery_codes()
    with transaction.atomic():
        lock_user(user)
        _replace_recovery_codes(user, rows)
        record(origin=origin, action="mfa.recovery.regenerate", target=user)
        _notify(
            origin,
            user,
            gettext_lazy("New recovery codes"),
            gettext_lazy("A new set of recovery codes was made; the old ones no longer work (account %(username)s)."),
        )
    return codes


def two_factor_disable(*, origin, user, reason):
    """Turn every second factor of ``user`` off. Who may, and with what proof, the caller has checked."""
    with transaction.atomic():
        for model in (AuthenticatorDevice, RecoveryCodeDevice, EmailCodeDevice):
            model.objects.filter(user=user).delete()
        record(origin=origin, action="mfa.disable", target=user, details={"reason": reason})
        _notify(
            origin,
            user,
            gettext_lazy("Two-factor authentication turned off"),
            gettext_lazy("Two-factor authentication was turned off (account %(username)s)."),
        )


def two_factor_disable_own(*, origin, user, code="", password=""):
    """Turn your own two-factor off, proving it is you with a current or recovery code, or your password.

    Under the login brute-force guard: a wrong proof counts toward the account's lockout.
    """
    with throttle.guarded_attempt(origin=origin, action="mfa.disable", username=user.get_username(), target=user):
        if password:
            proven = user.check_password(password)
        else:
            proven = any(_code_proves(origin, user, method, code) for method in ("totp", "recovery"))
        if not proven:
            raise ValidationError({"__all__": _("That code or password is not correct.")})
    two_factor_disable(origin=origin, user=user, reason="by the user")


PROOF_NEEDED = gettext_lazy("Enter a current code or your password.")


def two_factor_turn_off(*, origin, user, code="", password=""):
    """Turn ``user``'s two-factor off as ``origin.actor`` (a page's or the API's): their own with proof, another's.

    Your own needs a current or recovery code, or your password (``two_factor_disable_own``); another
    user's (who lost their device) needs only that the caller may reset it, which the caller has checked.
    """
    if origin.actor.pk == user.pk:
        if not code and not password:
            raise ValidationError({"__all__": PROOF_NEEDED})
        two_factor_disable_own(origin=origin, user=user, code=code, password=password)
    else:
        two_factor_disable(origin=origin, user=user, reason=f"by {origin.actor.get_username()} (lost device)")


def _code_proves(origin, user, method, code):
    if selectors.login_device(user, method) is None:
        return False
    try:
        verify_login_code(origin=origin, user=user, method=method, code=code)
    except ValidationError:
        return False
    return True


def email_code_send(*, origin, user, device=None):
    """Email a fresh 6-digit code (valid 5 minutes) to ``user``; at most one per minute."""
    device = device or selectors.email_device(user)
    if device is None:
        raise CodeSendRefused(_("Email codes are not turned on for this account."))
    allowed, data = device.generate_is_allowed()
    if not allowed:
        if data.get("reason") == GenerateNotAllowed.COOLDOWN_DURATION_PENDING:
            wait = max(1, int((data["next_generation_at"] - timezone.now()).total_seconds()))
            told = _("A code was sent less than a minute ago. You can ask for another in %(seconds)d s.")
            raise CodeSendRefused(told % {"seconds": wait}, wait)
        raise CodeSendRefused(_("A code cannot be sent right now. Try again later."))
    device.generate_challenge(extra_context={"panel_name": settings.PANEL_NAME, "username": user.username})
    record(origin=origin, action="mfa.email.code_sent", target=user)


def email_begin(*, origin, user):
    """Start turning on email codes: an unconfirmed device, and a first code to prove the address works."""
    # The pending device is kept between clicks, so its one-email-a-minute limit holds.
    device = EmailCodeDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = EmailCodeDevice.objects.create(user=user, name="Email", confirmed=False)
    email_code_send(origin=origin, user=user, device=device)
    return device


def email_confirm(*, origin, user, device, code):
    """Turn email codes on once the code sent by ``email_begin`` comes back."""
    _check_confirmation(origin=origin, user=user, device=device, code=code, action="mfa.email.enable")
    with transaction.atomic():
        device.confirmed = True
        # The enrolment's email had its own one-a-minute limit: a login right after may ask for a code.
        device.cooldown_reset(commit=False)
        device.save(update_fields=["confirmed", "last_generated_timestamp"])
        record(origin=origin, action="mfa.email.enable", target=user)
        _notify(
            origin,
            user,
            gettext_lazy("Email login codes turned on"),
            gettext_lazy("Login codes by email were turned on for your logins (account %(username)s)."),
        )


EMAIL_IS_LAST_FACTOR = gettext_lazy(
    "Email codes are the only second factor left: turn two-factor authentication off instead "
    "(with a current code or your password)."
)


class LastFactor(ValidationError):
    """Turning off this factor alone would leave none: that is turning two-factor off, with its proof."""


def email_codes_turn_off(*, origin, user):
    """Turn email codes off and keep the authenticator app. Who may, the caller has checked.

    Refused when email codes are the last second factor: turning two-factor off altogether goes
    through ``two_factor_disable_own`` (with proof) or ``two_factor_disable`` (an admin's).
    """
    with transaction.atomic():
        lock_user(user)  # against the app being turned off at the same moment
        if not EmailCodeDevice.objects.filter(user=user, confirmed=True).exists():
            raise ValidationError(_("Email codes are not on."))
        if not AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists():
            raise LastFactor(EMAIL_IS_LAST_FACTOR)
        EmailCodeDevice.objects.filter(user=user).delete()
        record(origin=origin, action="mfa.email.disable", target=user)
        _notify(
            origin,
            user,
            gettext_lazy("Email login codes turned off"),
            gettext_lazy("Login codes by email were turned off (account %(username)s)."),
        )


def verify_login_code(*, origin, user, method, code):
    """Check a second-factor code (at login, or to prove who you are); audits the outcome.

    Raises ValidationError({"code": ...}) when the code is wrong or the factor must wait,
    FactorUnavailable (a ValidationError) when the server cannot check it.
    """
    device = selectors.login_device(user, method)
    action = "mfa.recovery.use" if method == "recovery" else "mfa.verify"
    try:
        if device is None:
            raise ValidationError({"code": INVALID_CODE})
        check_code(device, code)
    except ValidationError as error:
        details = {"method": method}
        if isinstance(error, FactorUnavailable):
            details["reason"] = "stored key unreadable with the configured keys (manage.py check_secrets)"
        record(origin=origin, action=action, target=user, outcome=AuditEvent.Outcome.FAILURE, details=details)
        raise
    record(origin=origin, action=action, target=user, details={"method": method})
