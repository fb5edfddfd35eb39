"""Reads of a user's second factors."""

from accounts.selectors import self_or_permitted
from mfa.models import AuthenticatorDevice, EmailCodeDevice, RecoveryCodeDevice

RESET_PERMISSION = "mfa.reset_two_factor"
METHODS = ("totp", "recovery", "email")


def has_second_factor(user) -> bool:
    """Whether logging in as ``user`` needs a second step (an app or email codes)."""
    return (
        AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
        or EmailCodeDevice.objects.filter(user=user, confirmed=True).exists()
    )


def status(user) -> dict:
    """What the user has on: for the user list, the two-factor page and the API."""
    totp = AuthenticatorDevice.objects.filter(user=user, confirmed=True).exists()
    email = EmailCodeDevice.objects.filter(user=user, confirmed=True).exists()
    recovery = RecoveryCodeDevice.objects.filter(user=user).first()
    return {
        "enabled": totp or email,
        "totp": totp,
        "email": email,
        "recovery_codes_left": recovery.codes.count() if recovery else 0,
    }


def users_with_two_factor(user_ids) -> set:
    """Which of ``user_ids`` have a confirmed authenticator app or email codes (one query each kind)."""
    totp = AuthenticatorDevice.objects.filter(user_id__in=user_ids, confirmed=True).values_list("user_id", flat=True)
    email = EmailCodeDevice.objects.filter(user_id__in=user_ids, confirmed=True).values_list("user_id", flat=True)
    return set(totp) | set(email)


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
