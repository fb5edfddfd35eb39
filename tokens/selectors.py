"""Reads of access tokens, scoped to the owner the caller may manage."""

from django.shortcuts import get_object_or_404

from organisation.scope import self_or_permitted
from tokens.models import AccessToken

MANAGE_OTHERS_PERMISSION = "tokens.manage_others_tokens"
CREATE_OTHERS_PERMISSION = "tokens.create_others_tokens"


def token_owner(*, actor, user_id):
    """The user whose tokens ``actor`` wants to see, change or delete: themselves, or anyone with the permission."""
    return self_or_permitted(actor=actor, user_id=user_id, permission=MANAGE_OTHERS_PERMISSION)


def token_creation_owner(*, actor, user_id):
    """The user ``actor`` wants to issue a token for: themselves, or, with ``tokens.create_others_tokens``,
    a user the scope rule lets them act on. Managing others' tokens is not enough: a token made for
    someone else is a way into their account, so it needs its own permission (and the owner is told).
    """
    return self_or_permitted(actor=actor, user_id=user_id, permission=CREATE_OTHERS_PERMISSION)


def may_create_tokens_for(*, actor, owner) -> bool:
    """Whether ``actor`` may issue tokens for ``owner`` (already one they may see): shows the Create button."""
    return owner.pk == actor.pk or actor.has_perm(CREATE_OTHERS_PERMISSION)


def tokens_of(*, owner):
    return AccessToken.objects.filter(user=owner).select_related("user")


def token_get(*, owner, token_id):
    """One of ``owner``'s tokens, or 404 (also for another user's token)."""
    return get_object_or_404(tokens_of(owner=owner), pk=token_id)
