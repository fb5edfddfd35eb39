"""Every change to companies, roles and users' access, and the rule that someone must remain to manage users.

Each function takes keyword-only arguments and an ``origin``, runs in one
transaction and writes one audit event (or one refusal event).
"""

from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from core.audit import record
from core.locks import hold_mutex
from core.models import AuditEvent
from organisation import scope, selectors
from organisation.models import Company, Role
from organisation.permissions import LABELS, grantable_by
from organisation.validators import clean_company_name, validate_company_name_free, validate_company_parent
from usersessions.services import end_sessions


class LastUserError(Exception):
    """This would leave the panel with nobody, or nobody able to manage users (for good)."""

    messages = {
        "last user": gettext_lazy("The last user cannot be deleted: at least one user must remain."),
        "no manager": gettext_lazy(
            "This would leave no user able to manage users. Give someone else that permission first."
        ),
        "no lasting manager": gettext_lazy(
            "Every user able to manage users would then have an expiry date. "
            "Leave at least one of them without one, or give someone else that permission first."
        ),
    }
    message = messages["last user"]


USERS_MUTEX = "users"
ACTOR_DELETED = gettext_lazy("Your account was deleted while this change waited for another one.")


def in_turn(origin):
    """Wait until no other change to who may use the panel is under way; returns ``origin`` as it now stands.

    Every change that could leave no user or no user manager (deletions, access, roles, expiry), and every
    change to several users at once, calls this first in its transaction. They take turns on one row, a lock
    of constant cost taken before any user row, so they never deadlock; each then checks the rule against
    what the change before it left. An actor deleted meanwhile is still named by the audit event.
    """
    hold_mutex(USERS_MUTEX)
    actor = origin.actor
    if actor is not None and not get_user_model().objects.filter(pk=actor.pk).exists():
        return origin.with_actor_deleted()
    return origin


class _InCharge(NamedTuple):
    users: bool
    managers: bool
    lasting_managers: bool  # a user manager whose account never expires


def _in_charge(excluding=()):
    managers = selectors.user_managers().exclude(pk__in=excluding)
    return _InCharge(
        users=get_user_model().objects.exclude(pk__in=excluding).exists(),
        managers=managers.exists(),
        lasting_managers=managers.filter(expires_at__isnull=True).exists(),
    )


def _refusal(before, after):
    """Why going from ``before`` to ``after`` (``_InCharge``) must be refused, or None."""
    if not after.users:
        return "last user"
    if before.managers and not after.managers:
        return "no manager"
    if before.lasting_managers and not after.lasting_managers:
        return "no lasting manager"
    return None


def deletion_refusal(doomed):
    """Why deleting the users ``doomed`` must be refused (a key of LastUserError.messages), or None.

    Call it after ``in_turn``, so that what it counts cannot change before the transaction ends.
    """
    return _refusal(_in_charge(), _in_charge(excluding=doomed))


def change_in_turn(*, origin, action, target, change):
    """Run ``change(origin)`` in turn (see ``in_turn``) and return what it returns.

    If it left nobody in charge it is undone, the refusal is audited as ``action`` on ``target``, and
    LastUserError is raised.
    """
    with transaction.atomic():
        origin = in_turn(origin)
        before = _in_charge()
        with transaction.atomic():  # a savepoint: a refused change is undone, the refusal's event kept
            result = change(origin)
            refusal = _refusal(before, _in_charge())
            if refusal:
                transaction.set_rollback(True)
        if refusal:
            _record_refusal(origin, action, target, refusal)
    if refusal:
        raise LastUserError(LastUserError.messages[refusal])
    return result


def _record_refusal(origin, action, target, refusal):
    record(origin=origin, action=action, target=target, outcome=AuditEvent.Outcome.FAILURE, details={"reason": refusal})


# Companies


class CompanyNotEmpty(Exception):
    """A company with users or subsidiaries is deleted only with an explicit cascade."""


def _checked_company_fields(*, actor, name, parent, company=None):
    errors = {}
    try:
        name = clean_company_name(name)
        validate_company_name_free(name, parent=parent, exclude_pk=company.pk if company else None)
    except ValidationError as error:
        errors["name"] = error.messages
    try:
        moving = company is None or parent != company.parent
        if moving and actor is not None and not scope.may_place_in(actor, parent):
            raise ValidationError(_("Choose a parent company within your own."))
        if company is not None:
            validate_company_parent(company, parent, subtree_ids=scope.subtree_ids(company.pk))
    except ValidationError as error:
        errors["parent"] = error.messages
    if errors:
        raise ValidationError(errors)
    return name


def company_create(*, origin, name, parent=None):
    """Create a company at the top level or under ``parent`` (which must be in the acting user's scope)."""
    name = _checked_company_fields(actor=origin.actor, name=name, parent=parent)
    with transaction.atomic():
        company = Company.objects.create(name=name, parent=parent)
        record(origin=origin, action="company.create", target=company, details={"parent": parent and parent.name})
    return company


def company_update(*, origin, company, name, parent):
    """Rename ``company`` and/or move it under another ``parent`` (never into its own subtree)."""
    name = _checked_company_fields(actor=origin.actor, name=name, parent=parent, company=company)
    changes = {}
    if name != company.name:
        changes["name"] = {"from": company.name, "to": name}
    if parent != company.parent:
        changes["parent"] = {"from": company.parent and company.parent.name, "to": parent and parent.name}
    if not changes:
        return company
    with transaction.atomic():
        company.name, company.parent = name, parent
        company.save(update_fields=["name", "parent"])
        record(origin=origin, action="company.update", target=company, details={"changes": changes})
    return company


def company_delete(*, origin, company, cascade=False):
    """Delete ``company``; with ``cascade``, its subsidiaries and every user in them too.

    Refused (CompanyNotEmpty) without ``cascade`` when anything is in it, and (LastUserError) when no
    user able to manage users would remain. The acting user cannot delete the company they belong to.
    """
    companies = scope.subtree_ids(company.pk)
    actor = origin.actor
    if actor is not None and actor.company_id in companies:
        raise CompanyNotEmpty(_("You cannot delete the company you belong to."))
    with transaction.atomic():
        origin = in_turn(origin)
        user_ids = set(get_user_model().objects.filter(company_id__in=companies).values_list("pk", flat=True))
        beyond = scope.beyond_reach(actor, get_user_model().objects.filter(pk__in=user_ids), doing="delete")
        if beyond and not origin.actor_deleted:  # a deleted actor reaches nobody: see accounts' user_delete
            raise CompanyNotEmpty(beyond)
        if not cascade and (user_ids or len(companies) > 1):
            raise CompanyNotEmpty(_not_empty(company, users=len(user_ids), subsidiaries=len(companies) - 1))
        refusal = deletion_refusal(user_ids) if user_ids else None
        if refusal:
            _record_refusal(origin, "company.delete", company, refusal)
        elif origin.actor_deleted:
            raise PermissionDenied(ACTOR_DELETED)
        else:
            ended = sum(end_sessions(user=user) for user in get_user_model().objects.filter(pk__in=user_ids))
            details = {
                "subsidiaries_deleted": len(companies) - 1,
                "users_deleted": len(user_ids),
                "sessions_ended": ended,
            }
            record(origin=origin, action="company.delete", target=company, details=details)
            get_user_model().objects.filter(pk__in=user_ids).delete()
            Group.objects.filter(role__company_id__in=companies).delete()  # the companies' own roles go too
            _delete_companies_leaves_first(companies)
    if refusal:
        raise LastUserError(LastUserError.messages[refusal])


def _not_empty(company, *, users, subsidiaries):
    """Why a company holding something is not deleted without the cascade, as one whole sentence."""
    params = {"company": company.name, "users": users, "subsidiaries": subsidiaries}
    if users == 1:  # English's singular; a language with other plural rules translates both messages alike
        message = ngettext(
            "%(company)s still holds %(users)d user and %(subsidiaries)d subsidiary: "
            "delete them too, or move them first.",
            "%(company)s still holds %(users)d user and %(subsidiaries)d subsidiaries: "
            "delete them too, or move them first.",
            subsidiaries,
        )
    else:
        message = ngettext(
            "%(company)s still holds %(users)d users and %(subsidiaries)d subsidiary: "
            "delete them too, or move them first.",
            "%(company)s still holds %(users)d users and %(subsidiaries)d subsidiaries: "
            "delete them too, or move them first.",
            subsidiaries,
        )
    return message % params


def _delete_companies_leaves_first(company_ids):
    """Delete the companies ``company_ids`` (a subtree), children before parents: parent links protect."""
    remaining = set(company_ids)
    while remaining:
        parents = set(
            Company.objects.filter(pk__in=remaining, parent_id__in=remaining).values_list("parent_id", flat=True)
        )
        leaves = remaining - parents
        Company.objects.filter(pk__in=leaves).delete()
        remaining -= leaves


# Roles and permissions: nobody grants more than they have


def _checked_grant(actor, names, *, field):
    """Refuse any of ``names`` the acting user does not hold themselves."""
    unknown = set(names) - set(LABELS)
    beyond = set(names) - grantable_by(actor) - unknown
    if unknown:
        raise ValidationError({field: _("Unknown permission: %(names)s.") % {"names": ", ".join(sorted(unknown))}})
    if beyond:
        labels = ", ".join(str(LABELS[name]) for name in sorted(beyond))
        raise ValidationError(
            {field: _("You cannot grant what you do not have yourself: %(labels)s.") % {"labels": labels}}
        )


def _kept_out_of_reach(actor, current):
    """The permissions in ``current`` the acting user cannot grant: an edit by them leaves these as they are."""
    return set(current) - grantable_by(actor)


def _checked_role_fields(*, actor, name, company, role=None):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Enter the role's name.")})
    if len(name) > Group._meta.get_field("name").max_length:
        raise ValidationError({"name": _("The name must be at most %(max)d characters long.") % {"max": 150}})
    taken = Group.objects.filter(name__iexact=name)
    if role is not None:
        taken = taken.exclude(pk=role.pk)
    if taken.exists():
        raise ValidationError({"name": _("A role named “%(name)s” already exists.") % {"name": name}})
    if actor is not None and not scope.may_place_in(actor, company):
        raise ValidationError(
            {"company": _("Choose a company within your own.") if company else _("Choose a company.")}
        )
    return name


def role_create(*, origin, name, company=None, permissions=()):
    """A role (a Django group) with ``permissions`` ("app_label.codename"), owned by ``company`` or the panel."""
    name = _checked_role_fields(actor=origin.actor, name=name, company=company)
    _checked_grant(origin.actor, permissions, field="permissions")
    with transaction.atomic():
        role = Group.objects.create(name=name)
        Role.objects.create(group=role, company=company)
        role.permissions.set(selectors.permissions_named(permissions))
        details = {"company": company and company.name, "permissions": sorted(permissions)}
        record(origin=origin, action="role.create", target=role, details=details)
    return role


def role_update(*, origin, role, name, company, permissions):
    """Rename ``role``, change its company, and set the permissions the acting user may grant."""
    name = _checked_role_fields(actor=origin.actor, name=name, company=company, role=role)

    def update(origin):
        _checked_grant(origin.actor, permissions, field="permissions")  # in turn: the actor's own may just have gone
        current = selectors.permission_names(role.permissions.all())
        wanted = set(permissions) | _kept_out_of_reach(origin.actor, current)
        role.name = name
        role.save(update_fields=["name"])
        Role.objects.update_or_create(group=role, defaults={"company": company})
        role.permissions.set(selectors.permissions_named(wanted))
        details = {"name": name, "added": sorted(wanted - current), "removed": sorted(current - wanted)}
        record(origin=origin, action="role.update", target=role, details=details)
        return role

    return change_in_turn(origin=origin, action="role.update", target=role, change=update)


def role_delete(*, origin, role):
    """Delete ``role``; its members lose its permissions from their next request. Returns how many members."""

    def delete(origin):
        members = role.user_set.count()
        record(origin=origin, action="role.delete", target=role, details={"members": members})
        Group.objects.filter(pk=role.pk).delete()  # not role.delete(): a refusal still names the role's row
        return members

    return change_in_turn(origin=origin, action="role.delete", target=role, change=delete)


def user_set_access(*, origin, user, roles, permissions):
    """Set ``user``'s roles and direct permissions; their permissions are the sum of both (seed 002).

    The acting user assigns only roles they may see whose permissions they hold, and grants only what
    they hold; what lies beyond their reach stays as it was. All of that is judged in turn (``in_turn``),
    so a change that took the acting user's own permissions a moment earlier counts.
    """

    def set_access(origin):
        actor = origin.actor
        if not scope.may_manage(actor, user, action="access"):
            raise PermissionDenied(
                scope.OWN_CHANGE_REFUSED if user.pk == actor.pk else _("You cannot manage this user.")
            )
        current_roles, current_perms = set(user.groups.all()), selectors.permission_names(user.user_permissions.all())
        wanted_roles = _checked_roles(actor, set(roles), current_roles)
        _checked_grant(actor, permissions, field="permissions")
        wanted_perms = set(permissions) | _kept_out_of_reach(actor, current_perms)
        if wanted_roles == current_roles and wanted_perms == current_perms:
            return user
        user.groups.set(wanted_roles)
        user.user_permissions.set(selectors.permissions_named(wanted_perms))
        details = {
            "roles_added": sorted(role.name for role in wanted_roles - current_roles),
            "roles_removed": sorted(role.name for role in current_roles - wanted_roles),
            "permissions_added": sorted(wanted_perms - current_perms),
            "permissions_removed": sorted(current_perms - wanted_perms),
        }
        record(origin=origin, action="user.access", target=user, details=details)
        return user

    return change_in_turn(origin=origin, action="user.access", target=user, change=set_access)


def _checked_roles(actor, roles, current_roles):
    """The roles the user will hold: ``roles``, plus those they hold that ``actor`` cannot see."""
    visible = set(selectors.visible_roles(actor)) if actor is not None else set(Group.objects.all())
    hidden = sorted(role.name for role in roles - visible)
    if hidden:
        raise ValidationError(
            {
                "roles": ngettext(
                    "You cannot assign the role %(names)s.", "You cannot assign the roles %(names)s.", len(hidden)
                )
                % {"names": ", ".join(hidden)}
            }
        )
    for role in roles - current_roles:  # a role the user already holds is not granted again
        try:
            _checked_grant(actor, selectors.permission_names(role.permissions.all()), field="roles")
        except ValidationError:
            raise ValidationError(
                {"roles": _("The role %(name)s grants more than you have.") % {"name": role.name}}
            ) from None
    return roles | (current_roles - visible)
