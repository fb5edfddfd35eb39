"""Reads of a user's second factors."""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy

from mfa.models import AuthenticatorDevice, EmailCodeDevice, RecoveryCode, RecoveryCodeDevice
from organisation.scope import self_or_permitted

RESET_PERMISSION = "mfa.reset_two_factor"


def _second_factor_user_ids(**filters):
    """The IDs of users with a confirmed app or email codes, as one query."""
    app = AuthenticatorDevice.objects.filter(confirmed=True, **filters).values_list("user_id", flat=True)
    email = EmailCodeDevice.objects.filter(confirmed=True, **filters).values_list("user_id", flat=True)
    return app.union(email)


def has_second_factor(user) -> bool:
    """Whether logging in as ``user`` needs a second step (an app or email codes)."""
    return _second_factor_user_ids(user=user).exists()


def status(user) -> dict:
    """What the user has on: for the user list, the two-factor page and the API."""
    totp = AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
    email = EmailCodeDevice.objects.filter(user=user, confirmed=True).exists()
    return {
        "enabled": totp or email,
        "totp": totp,
        "email": email,
        "recovery_codes_left": recovery_codes_left(user),
    }


def recovery_codes_left(user) -> int:
    return RecoveryCode.objects.filter(device__user=user).count()


def users_with_two_factor(user_ids) -> set:
    """Which of ``user_ids`` have a confirmed authenticator app or email codes."""
    return set(_second_factor_user_ids(user_id__in=user_ids))


def login_methods(user) -> list[str]:
    """The second factors ``user`` can use at login, in the order they are offered."""
    state = status(user)
    return [
        method
        for method, available in (
            ("totp", state["totp"]),
            ("recovery", state["recovery_codes_left"] > 0),
            ("email", state["email"]),
        )
        if available
    ]


def login_device(user, method):
    model = {"totp": AuthenticatorDevice, "recovery": RecoveryCodeDevice, "email": EmailCodeDevice}.get(method)
    if model is None:
        return None
    return model.objects.filter(user=user, confirmed=True).first()


def email_device(user):
    return EmailCodeDevice.objects.filter(user=user, confirmed=True).first()


def pending_authenticator(user, device_id):
    return AuthenticatorDevice.objects.filter(user=user, confirmed=False, pk=device_id).first()


def pending_email_device(user, device_id):
    return EmailCodeDevice.objects.filter(user=user, confirmed=False, pk=device_id).first()


def two_factor_subject(*, actor, user_id):
    """The user whose two-factor ``actor`` wants to see or change: themselves, or anyone with the permission."""
    return self_or_permitted(actor=actor, user_id=user_id, permission=RESET_PERMISSION)


EMAIL_OWNER_ONLY = gettext_lazy("Only the owner of the address can turn on email codes: they must enter one.")


def email_enrolment_subject(*, actor, user_id):
    """The user turning on email codes: only ``actor`` themselves, who must enter the code sent."""
    subject = two_factor_subject(actor=actor, user_id=user_id)
    if subject.pk != actor.pk:
        raise PermissionDenied(EMAIL_OWNER_ONLY)
    return subject
