"""Passkey ceremonies and changes, on py_webauthn. Each change takes an ``origin`` and writes an audit event.

A ceremony is two calls: ``*_options`` issues a challenge and the options for
``navigator.credentials.create()`` / ``.get()``; ``passkey_register`` and
``passkey_authenticate`` verify what the browser sent back. Both require user
verification (PIN or biometrics), so a passkey login is two factors in one:
something you have and something you know or are.
"""

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.selectors import login_refusal
from core.audit import record
from core.models import AuditEvent
from core.notify import notify
from passkeys import challenges, selectors
from passkeys.models import CREDENTIAL_ID_MAX_BYTES, Passkey, UserHandle
from passkeys.validators import clean_passkey_name, validate_passkey_name_free

# py_webauthn (with its certificate and CBOR libraries, about 7 MB per process) is imported by the ceremonies
# themselves, not here: a worker that never sees a passkey ceremony never loads it (bench/worker_memory.py).


def _unreadable():
    """What a malformed or hostile response can raise while it is parsed and checked."""
    from webauthn.helpers.exceptions import WebAuthnException

    return (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


class PasskeyRefused(Exception):
    """A ceremony failed; the message is for the user and reveals nothing about other accounts."""


EXPIRED = gettext_lazy("This passkey request expired or was already used. Try again.")
NOT_ACCEPTED = gettext_lazy("This passkey was not accepted. Try again, or log in with your password.")
UNREADABLE = gettext_lazy("The browser's passkey response could not be read. Try again.")
NOT_REGISTERED = gettext_lazy("The passkey could not be registered: the browser's answer did not verify.")


def _timeout_ms():
    return settings.PANEL_PASSKEY_CEREMONY_SECONDS * 1000


def _parse(parser, credential):
    """The credential the browser sent (a JSON string or object), and the challenge its client data names."""
    from webauthn.helpers import parse_client_data_json

    try:
        parsed = parser(credential if isinstance(credential, str | dict) else json.dumps(credential))
        return parsed, parse_client_data_json(bytes(parsed.response.client_data_json)).challenge
    except _unreadable():
        raise PasskeyRefused(UNREADABLE) from None


# Registration: only ever by the logged-in user, for their own account (the views pass request.user).


def registration_options(*, user, rp, name) -> str:
    """Start registering a passkey named ``name``; returns the options JSON for navigator.credentials.create()."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers import bytes_to_base64url
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    name = _checked_name(name, user=user)
    from webauthn.helpers.generate_user_handle import generate_user_handle

    handle = selectors.user_handle(user) or generate_user_handle()
    challenge = challenges.issue(
        ceremony=challenges.REGISTRATION,
        bound_to={"user": user.pk, "handle": bytes_to_base64url(handle), "name": name, "rp": rp.id},
    )
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_id=handle,
        user_name=user.get_username(),
        challenge=challenge,
        timeout=_timeout_ms(),
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        # The authenticator refuses to make a second passkey for the same account.
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=bytes(passkey.credential_id))
            for passkey in selectors.passkeys_of(owner=user).only("credential_id")
        ],
    )
    return options_to_json(options)


def passkey_register(*, origin, user, rp, credential) -> Passkey:
    """Verify the browser's answer to ``registration_options`` and store the new passkey."""
    from webauthn import verify_registration_response
    from webauthn.helpers import parse_registration_credential_json

    parsed, challenge = _parse(parse_registration_credential_json, credential)
    started = challenges.take(ceremony=challenges.REGISTRATION, challenge=challenge)
    if started is None or started["rp"] != rp.id:
        raise PasskeyRefused(EXPIRED)
    if started["user"] != user.pk:
        raise PasskeyRefused(_("This passkey request was started for another account. Start again."))
    try:
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            require_user_verification=True,
        )
    except _unreadable() as error:
        _audit_refusal(origin=origin, action="passkey.register", target=user, reason=str(error))
        raise PasskeyRefused(NOT_REGISTERED) from None
    if len(verified.credential_id) > CREDENTIAL_ID_MAX_BYTES:  # WebAuthn: the RP must refuse longer ones
        _audit_refusal(origin=origin, action="passkey.register", target=user, reason="credential ID too long")
        raise PasskeyRefused(NOT_REGISTERED)
    name = _checked_name(started["name"], user=user)
    try:
        return _store_passkey(origin=origin, user=user, name=name, started=started, parsed=parsed, verified=verified)
    except IntegrityError:
        # Two registrations raced for the same name or credential; the other one won.
        raise PasskeyRefused(
            _("This passkey or its name was registered meanwhile. Reload the page and check.")
        ) from None


def _store_passkey(*, origin, user, name, started, parsed, verified):
    from webauthn.helpers.structs import CredentialDeviceType

    with transaction.atomic():
        handle, _created = UserHandle.objects.get_or_create(user=user, defaults={"handle": _decode(started["handle"])})
        if not constant_time_compare(bytes(handle.handle), _decode(started["handle"])):
            # Another registration for this user created the handle meanwhile.
            raise PasskeyRefused(EXPIRED)
        if Passkey.objects.filter(credential_id=verified.credential_id).exists():
            raise PasskeyRefused(_("This passkey is already registered."))
        passkey = Passkey.objects.create(
            user=user,
            name=name,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=[transport.value for transport in parsed.response.transports or []],
            aaguid=verified.aaguid,
            backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
            backed_up=verified.credential_backed_up,
        )
        record(origin=origin, action="passkey.register", target=passkey, details=_describe(passkey))
        _notify(origin, passkey, "registered")
    return passkey


# Login: no username; the authenticator offers the passkeys it holds for this RP.


def login_options(*, rp) -> str:
    """Start a passkey login; returns the options JSON for navigator.credentials.get()."""
    from webauthn import generate_authentication_options, options_to_json
    from webauthn.helpers.structs import UserVerificationRequirement

    challenge = challenges.issue(ceremony=challenges.LOGIN, bound_to={"rp": rp.id})
    options = generate_authentication_options(
        rp_id=rp.id,
        challenge=challenge,
        timeout=_timeout_ms(),
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return options_to_json(options)


def passkey_authenticate(*, origin, rp, credential):
    """Verify the browser's answer to ``login_options``; returns the user it logs in. Raises PasskeyRefused."""
    from webauthn import verify_authentication_response
    from webauthn.helpers import parse_authentication_credential_json

    parsed, challenge = _parse(parse_authentication_credential_json, credential)
    started = challenges.take(ceremony=challenges.LOGIN, challenge=challenge)
    if started is None or started["rp"] != rp.id:
        raise PasskeyRefused(EXPIRED)
    passkey = selectors.passkey_for_login(bytes(parsed.raw_id))
    if passkey is None:
        _audit_refusal(origin=origin, action="passkey.login", reason="unknown credential")
        raise PasskeyRefused(NOT_ACCEPTED)
    # The user handle the authenticator stored must be this passkey's owner's.
    owner_handle = getattr(passkey.user, "passkey_handle", None)
    claimed_handle = parsed.response.user_handle or b""
    if owner_handle is None or not constant_time_compare(bytes(owner_handle.handle), bytes(claimed_handle)):
        _audit_refusal(origin=origin, action="passkey.login", target=passkey, reason="user handle does not match")
        raise PasskeyRefused(NOT_ACCEPTED)
    try:
        # The counter is checked below, after the signature, so that only a verified response can report a clone.
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=list(rp.origins),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except _unreadable() as error:
        _audit_refusal(origin=origin, action="passkey.login", target=passkey, reason=str(error))
        raise PasskeyRefused(NOT_ACCEPTED) from None
    return _accept_login(origin=origin, passkey=passkey, verified=verified)


def _accept_login(*, origin, passkey, verified):
    with transaction.atomic():
        stored = Passkey.objects.select_for_update().filter(pk=passkey.pk).values_list("sign_count", flat=True).first()
        if stored is None:
            refusal = ("passkey.login", "deleted meanwhile", NOT_ACCEPTED)
        elif _counter_went_back(stored, verified.new_sign_count):
            refusal = ("passkey.clone_suspected", "sign count did not increase", CLONE_SUSPECTED)
        elif account_refusal := login_refusal(passkey.user):
            refusal = ("passkey.login", "account may not log in", account_refusal)
        else:
            refusal = None
            passkey.sign_count, passkey.backed_up = verified.new_sign_count, verified.credential_backed_up
            passkey.last_used_at = timezone.now()
            passkey.save(update_fields=["sign_count", "backed_up", "last_used_at"])
            record(origin=origin, action="passkey.login", target=passkey, details={"owner": passkey.user.username})
    if refusal:
        action, reason, message = refusal
        details = {"stored_count": stored, "received_count": verified.new_sign_count} if stored is not None else {}
        _audit_refusal(origin=origin, action=action, target=passkey, reason=reason, details=details)
        raise PasskeyRefused(message)
    return passkey.user


CLONE_SUSPECTED = gettext_lazy(
    "This passkey was refused: its use counter went backwards, which can mean the key was copied. "
    "Ask an administrator to check the audit log."
)


def _counter_went_back(stored, received) -> bool:
    """Authenticators that keep no counter send 0 every time; any other must send more than last time."""
    return (stored > 0 or received > 0) and received <= stored


# Managing


def passkey_delete(*, origin, passkey):
    with transaction.atomic():
        record(origin=origin, action="passkey.delete", target=passkey, details=_describe(passkey))
        _notify(origin, passkey, "deleted")
        passkey.delete()


def _checked_name(name, *, user):
    try:
        name = clean_passkey_name(name)
        validate_passkey_name_free(name, user=user)
    except ValidationError as error:
        raise ValidationError({"name": error.messages}) from None
    return name


def _decode(handle_b64: str) -> bytes:
    from webauthn.helpers import base64url_to_bytes

    return base64url_to_bytes(handle_b64)


def _audit_refusal(*, origin, action, reason, target=None, details=None):
    record(
        origin=origin,
        action=action,
        target=target,
        outcome=AuditEvent.Outcome.FAILURE,
        details={"reason": reason[:200], **(details or {})},
    )


# The email about a change, by the change: its subject and what it says. Lazy, so that they are written
# in the recipient's language.
_CHANGE_EMAILS = {
    "registered": (
        gettext_lazy("A passkey was added"),
        gettext_lazy('The passkey "%(name)s" of your account %(username)s was registered.'),
    ),
    "deleted": (
        gettext_lazy("A passkey was removed"),
        gettext_lazy('The passkey "%(name)s" of your account %(username)s was deleted.'),
    ),
}


def _told(message, **params):
    return message % params


_told_lazy = lazy(_told, str)


def _notify(origin, passkey, change):
    owner = passkey.user
    subject, what = _CHANGE_EMAILS[change]
    context = {"what": _told_lazy(what, name=passkey.name, username=owner.get_username())}
    notify(owner, subject=subject, template="core/notifications/change.txt", context=context, origin=origin)


def _describe(passkey):
    return {"owner": passkey.user.get_username(), "name": passkey.name, "synced": passkey.backup_eligible}
