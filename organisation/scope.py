"""Who may see and manage whom: the power rule, in one place.

An actor may see, and so act on, a user only when all three hold:

- the user is in the actor's data scope (seed 002): the actor's company and all its subsidiaries;
  a user with no company (the panel's own staff, as in a one-operator panel) scopes the whole panel;
- the user holds no permission the actor lacks (roles and direct permissions together), so that
  nobody can take over someone more powerful by setting their password or minting their token;
- the user is not a superuser, unless the actor is one.

A superuser, and the operator at the server's shell (actor None), see everyone. Every read of
users for pages, forms, the API and services goes through ``narrow_users``, so a user beyond reach
is a 404 wherever it is asked for. Some changes need someone else: nobody lifts their own expiry,
session policy or access (``SELF_EXCLUDED``), unless they are a superuser. The company tree is read
in one query and walked in Python: an organisation has hundreds of companies, not millions.
"""

from collections import defaultdict

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy, ngettext

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


# Changes to these need someone else who may manage the user: nobody extends their own account.
SELF_EXCLUDED = frozenset({"expiry", "session_policy", "access"})
OWN_CHANGE_REFUSED = gettext_lazy("Someone else who may manage your account must change this for you.")


def _held_by(user_ref):
    """The permissions ``user_ref`` (a user or an OuterRef to one) holds, directly or through a role."""
    return Permission.objects.filter(Q(user=user_ref) | Q(group__user=user_ref))


def narrow_users(actor, users):
    """``users`` cut down to those ``actor`` may see and manage (the power rule, see above)."""
    if actor is None or actor.is_superuser:
        return users
    ids = company_ids(actor)
    users = users.filter(is_superuser=False)
    if ids is not None:
        users = users.filter(company_id__in=ids)
    beyond = _held_by(OuterRef("pk")).exclude(pk__in=_held_by(actor).values("pk"))
    return users.exclude(Exists(beyond))


def own_change_refused(actor, action) -> bool:
    """Whether ``action`` is one ``actor`` may not take on their own account (``SELF_EXCLUDED``)."""
    return actor is not None and not actor.is_superuser and action in SELF_EXCLUDED


def may_manage(actor, user, *, action=None) -> bool:
    """Whether ``actor`` may take ``action`` on ``user``; one rule for pages, the API and services."""
    if actor is None or actor.is_superuser:
        return True
    if user.pk == actor.pk:
        return not own_change_refused(actor, action)
    return narrow_users(actor, get_user_model().objects.filter(pk=user.pk)).exists()


def out_of_reach(actor, users):
    """Those of ``users`` that ``actor`` may not see, and so may not manage.

    Services that act on many users at once (a whole company's expiry, a company's cascade, a user
    with its sub-users) ask this first and refuse rather than skip: acting on part of what the
    actor asked for would surprise them, and acting on all would reach past their scope.
    """
    return users.exclude(pk__in=narrow_users(actor, users).values("pk"))


def beyond_reach(actor, users, *, doing):
    """Why acting on ``users`` must be refused, naming those beyond ``actor``'s reach; None if none are.

    ``doing`` says what the action would do to them: "change" or "delete".
    """
    names = sorted(out_of_reach(actor, users).values_list("username", flat=True))
    if not names:
        return None
    params = {"count": len(names), "names": ", ".join(names)}
    if doing == "delete":
        message = ngettext(
            "This would also delete %(count)d account you cannot manage: %(names)s. Ask an administrator.",
            "This would also delete %(count)d accounts you cannot manage: %(names)s. Ask an administrator.",
            len(names),
        )
    else:
        message = ngettext(
            "This would also change %(count)d account you cannot manage: %(names)s. Ask an administrator.",
            "This would also change %(count)d accounts you cannot manage: %(names)s. Ask an administrator.",
            len(names),
        )
    return message % params


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
    """The audit events of ``reader``'s scope: done by, or done to, a user of their companies at the time.

    The companies are written on the event (``event_companies``), so this is a test of two columns that the
    database makes on each row it walks in time order: no list of users, whatever their number.
    """
    ids = company_ids(reader)
    if ids is None:
        return events
    return events.filter(Q(actor_company_id__in=ids) | Q(target_company_id__in=ids))


def visible_event_parts(reader):
    """``visible_events`` as one condition per company and column, each served by its index in time order."""
    ids = company_ids(reader)
    if ids is None:
        return None
    return [Q(actor_company_id=pk) for pk in sorted(ids)] + [Q(target_company_id=pk) for pk in sorted(ids)]


def event_companies(actor, target):
    """The company of ``actor`` and of ``target`` when it is a user, as the audit event stores them."""
    user_model = get_user_model()
    return (
        getattr(actor, "company_id", None),
        target.company_id if isinstance(target, user_model) else None,
    )


def user_get(*, actor, pk, action=None):
    """One user ``actor`` may see, by primary key, or 404 (also for a user beyond reach).

    With an ``action`` of ``SELF_EXCLUDED``, the actor's own account is refused (PermissionDenied).
    """
    user = get_object_or_404(visible_users(actor), pk=pk)  # in reach: only the own-account rule is left
    if user.pk == actor.pk and own_change_refused(actor, action):
        raise PermissionDenied(OWN_CHANGE_REFUSED)
    return user


def self_or_permitted(*, actor, user_id, permission):
    """The user ``user_id``: ``actor`` themselves, or anyone when ``actor`` has ``permission``.

    Refused (PermissionDenied) before the lookup, so that the answer does not reveal which user IDs exist.
    """
    if user_id == actor.pk:
        return actor
    if not actor.has_perm(permission):
        raise PermissionDenied
    return user_get(actor=actor, pk=user_id)
