"""Reads of access tokens, scoped to the owner the caller may manage."""

from django.shortcuts import get_object_or_404

from accounts.selectors import API_MODULE_PERMISSION
from core.pagination import NearerEndPaginator
from organisation.scope import self_or_permitted
from organisation.selectors import grantable_by_module, permission_label
from tokens.models import AccessToken

MANAGE_OTHERS_PERMISSION = "tokens.manage_others_tokens"
CREATE_OTHERS_PERMISSION = "tokens.create_others_tokens"
# Every token needs its owner to hold the API module; it is never one of the permissions a token is limited to.
API_MODULE = ".".join(API_MODULE_PERMISSION)


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


def token_permission_choices(*, owner):
    """What a token of ``owner`` may be limited to: the function permissions ``owner`` holds, grouped by module."""
    grouped = [
        (module, [(n, label) for n, label in perms if n != API_MODULE]) for module, perms in grantable_by_module(owner)
    ]
    return [(module, perms) for module, perms in grouped if perms]


def token_permission_names(*, owner):
    return {name for _module, perms in token_permission_choices(owner=owner) for name, _label in perms}


def read_only_permissions(*, owner):
    """The "read-only" shortcut: the ``view_`` permissions ``owner`` holds (seeing, never changing)."""
    return sorted(name for name in token_permission_names(owner=owner) if name.split(".")[1].startswith("view_"))


def is_token_permission(name):
    """Whether ``name`` is a function permission a token may be limited to (whoever holds it)."""
    return name != API_MODULE and permission_label(name) is not None


def tokens_listed(*, owner, page=1, per_page=20):
    """A page of ``owner``'s tokens for the token list, newest first (``created_at``, then ``id``: a stable order),
    each limited one with ``permission_labels`` (what its set names). Past the end: the last page.
    """
    tokens = AccessToken.objects.filter(user=owner).order_by("-created_at", "-id")
    listed = NearerEndPaginator(tokens, per_page).get_page(page)
    listed.object_list = list(listed.object_list)
    for token in listed.object_list:
        token.permission_labels = [permission_label(name) or name for name in token.permissions or ()]
    return listed
