"""Reads of passkeys, scoped to the owner the caller may see."""

from django.shortcuts import get_object_or_404

from organisation.scope import self_or_permitted
from passkeys.models import Passkey, UserHandle

MANAGE_OTHERS_PERMISSION = "passkeys.manage_others_passkeys"
# Set in the session of a login made with a passkey.
LOGGED_IN_BY_PASSKEY = "panel_login_by_passkey"


def passkey_owner(*, actor, user_id):
    """The user whose passkeys ``actor`` wants to see: themselves, or anyone with the permission."""
    return self_or_permitted(actor=actor, user_id=user_id, permission=MANAGE_OTHERS_PERMISSION)


def passkeys_of(*, owner):
    return Passkey.objects.filter(user=owner)


def passkey_get(*, owner, passkey_id):
    """One of ``owner``'s passkeys, or 404 (also for another user's passkey)."""
    return get_object_or_404(passkeys_of(owner=owner), pk=passkey_id)


def passkey_for_login(credential_id: bytes):
    """The passkey with this credential ID, its user and the user's handle (one query), or None."""
    return Passkey.objects.select_related("user", "user__passkey_handle").filter(credential_id=credential_id).first()


def user_handle(user) -> bytes | None:
    handle = UserHandle.objects.filter(user=user).values_list("handle", flat=True).first()
    return bytes(handle) if handle is not None else None


def logged_in_by_passkey(request) -> bool:
    """Whether this session logged in with a passkey and its user still has one (two factors in one)."""
    return request.session.get(LOGGED_IN_BY_PASSKEY, False) and passkeys_of(owner=request.user).exists()
