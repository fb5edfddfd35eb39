"""Who may see whom (seed 002): a user's data scope is their company and all its subsidiaries.

A superuser, and a user with no company (the panel's own staff, as in a
one-operator panel), see everything. Every read of users for pages and the API
goes through ``visible_users``, so a user outside the scope is a 404 wherever
it is asked for. The company tree is read in one query and walked in Python:
an organisation has hundreds of companies, not millions.
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404

from organisation.models import Company


def _children_by_parent():
    children = defaultdict(list)
    for pk, parent_id in Company.objects.values_list("id", "parent_id"):
        children[parent_id].append(pk)
    return children


def subtree_ids(company_id) -> set[int]:
    """``company_id`` and every company below it."""
    children = _children_by_parent()
    found, pending = set(), [company_id]
    while pending:
        pk = pending.pop()
        if pk not in found:
            found.add(pk)
            pending.extend(children[pk])
    return found


def is_unrestricted(actor) -> bool:
    return actor.is_superuser or actor.company_id is None


def company_ids(actor):
    """The IDs of the companies ``actor`` may see, or None for all of them."""
    return None if is_unrestricted(actor) else subtree_ids(actor.company_id)


def visible_users(actor):
    return narrow_users(actor, get_user_model().objects.all())


def narrow_users(actor, users):
    """``users`` cut down to ``actor``'s scope. Superusers are outside every other user's scope:
    managing one (setting its password, say) would give away everything. ``actor`` None is the
    operator at the server's shell, whose scope is the whole panel."""
    if actor is None or actor.is_superuser:
        return users
    ids = company_ids(actor)
    users = users.filter(is_superuser=False)
    return users if ids is None else users.filter(company_id__in=ids)


def out_of_reach(actor, users):
    """Those of ``users`` that ``actor`` may not see, and so may not manage.

    Services that act on many users at once (a whole company's expiry, a company's cascade, a user
    with its sub-users) ask this first and refuse rather than skip: acting on part of what the
    actor asked for would surprise them, and acting on all would reach past their scope.
    """
    return users.exclude(pk__in=narrow_users(actor, users).values("pk"))


def visible_companies(actor):
    ids = company_ids(actor)
    return Company.objects.all() if ids is None else Company.objects.filter(pk__in=ids)


def may_place_in(actor, company) -> bool:
    """Whether ``actor`` may put a user (or a subsidiary) in ``company``; None is the panel staff's place."""
    ids = company_ids(actor)
    if company is None:
        return ids is None
    return ids is None or company.pk in ids


def visible_events(reader, events):
    """The audit events of ``reader``'s scope: done by, or done to, a user of their companies."""
    ids = company_ids(reader)
    if ids is None:
        return events
    user_ids = [str(pk) for pk in get_user_model().objects.filter(company_id__in=ids).values_list("pk", flat=True)]
    return events.filter(Q(actor__company_id__in=ids) | Q(target_type="user", target_id__in=user_ids))


def user_get(*, actor, pk):
    """One user ``actor`` may see, by primary key, or 404 (also for a user outside the scope)."""
    return get_object_or_404(visible_users(actor), pk=pk)


def self_or_permitted(*, actor, user_id, permission):
    """The user ``user_id``: ``actor`` themselves, or anyone when ``actor`` has ``permission``.

    Refused (PermissionDenied) before the lookup, so that the answer does not reveal which user IDs exist.
    """
    if user_id == actor.pk:
        return actor
    if not actor.has_perm(permission):
        raise PermissionDenied
    return user_get(actor=actor, pk=user_id)
