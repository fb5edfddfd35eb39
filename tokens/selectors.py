"""Reads of access tokens, scoped to the owner the caller may manage."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from accounts.selectors import user_get
from tokens.models import AccessToken

MANAGE_OTHERS_PERMISSION = "tokens.manage_others_tokens"


def token_owner(*, actor, user_id):
    """The user whose tokens ``actor`` wants to manage: themselves, or anyone with the permission.

    Refused before the lookup, so that the answer does not reveal which user IDs exist.
    """
    if user_id != actor.pk and not actor.has_perm(MANAGE_OTHERS_PERMISSION):
        raise PermissionDenied
    return actor if user_id == actor.pk else user_get(pk=user_id)


def tokens_of(*, owner):
    return AccessToken.objects.filter(user=owner).select_related("user")


def token_get(*, owner, token_id):
    """One of ``owner``'s tokens, or 404 (also for another user's token)."""
    return get_object_or_404(tokens_of(owner=owner), pk=token_id)
