"""Every change to users and their sessions.

Each function takes keyword-only arguments and an ``origin`` (who acts, from
where), validates with the shared validators, runs in one transaction and
writes one audit event. Views, operator commands and the API call these and
nothing below them.
"""

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.defaultfilters import pluralize
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import login_guard, scope, selectors, session_policy
from accounts.models import Company, Role, User, UserSession
from accounts.permissions import LABELS, grantable_by
from accounts.validators import (
    REQUIRED_MESSAGES,
    clean_company_name,
    validate_account_expiry,
    validate_company_name_free,
    validate_company_parent,
    validate_session_policy,
    validate_sub_user_expiry,
    validate_username_available,
)
from panel.audit import record
from panel.models import AuditEvent


class LastUserError(Exception):
    """Deleting this would leave the panel with nobody, or nobody able to manage users."""

    messages = {
        "last user": "The last user cannot be deleted: at least one user must remain.",
        "no manager": "This would leave no user able to manage users. Give someone else that permission first.",
    }
    message = messages["last user"]


def _validate_username(username, *, exclude_pk=None):
    if not username:
        raise ValidationError({"username": REQUIRED_MESSAGES["username"]})
    try:
        User._meta.get_field("username").run_validators(username)  # characters and length
        validate_username_available(username, exclude_pk=exclude_pk)
    except ValidationError as error:
        raise ValidationError({"username": error.messages}) from None


def _validate_email(email):
    if not email:
        raise ValidationError({"email": REQUIRED_MESSAGES["email"]})
    try:
        User._meta.get_field("email").run_validators(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from None


def _validate_password(password, user):
    if not password:
        raise ValidationError({"password": REQUIRED_MESSAGES["password"]})
    try:
        password_validation.validate_password(password, user)
    except ValidationError as error:
        raise ValidationError({"password": error.messages}) from None


def _validate_expiry(expires_at, parent=None):
    try:
        validate_account_expiry(expires_at)
        if parent is not None:
            validate_sub_user_expiry(expires_at, parent=parent)
    except ValidationError as error:
        raise ValidationError({"expires_at": error.messages}) from None


def _validate_placement(actor, company, parent):
    """The company must be in the acting user's scope; a sub-user shares its parent's company."""
    if actor is not None and not scope.may_place_in(actor, company):
        message = "Choose a company." if company is None else "You cannot place users in this company."
        raise ValidationError({"company": message})
    if parent is not None and parent.company_id != (company.pk if company else None):
        raise ValidationError({"company": "A sub-user belongs to the company of its parent user."})


def _save_username(user):
    """Save, turning a lost race on the case-insensitive unique index into a form error."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"username": "This username is already taken."}) from None


def user_create(*, origin, username, email, password, is_superuser=False, expires_at=None, company=None, parent=None):
    """Create a user after checking every rule; returns the saved user.

    ``company`` must lie in the acting user's scope; a sub-user (``parent``) belongs to its parent's
    company and expires no later than its parent.
    """
    email = User.objects.normalize_email(email or "").strip()
    username = (username or "").strip()
    if parent is not None and company is None:
        company = parent.company
    user = User(
        username=username,
        email=email,
        is_superuser=is_superuser,
        expires_at=expires_at,
        company=company,
        parent=parent,
    )
    # Check every field so that each rule that failed is shown next to its field.
    errors = {}
    for check, args in (
        (_validate_username, (username,)),
        (_validate_email, (email,)),
        (_validate_password, (password or "", user)),
        (_validate_expiry, (expires_at, parent)),
        (_validate_placement, (origin.actor, company, parent)),
    ):
        try:
            check(*args)
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    with transaction.atomic():
        _save_username(user)
        details = {
            "superuser": is_superuser,
            "expires_at": _isoformat(expires_at),
            "company": company.name if company else None,
            "parent": parent.username if parent else None,
        }
        record(origin=origin, action="user.create", target=user, details=details)
    return user


def user_update(*, origin, user, username=None, email=None):
    """Change a user's username and/or email; unchanged fields are left alone."""
    changes = {}
    if username is not None:
        username = username.strip()
        _validate_username(username, exclude_pk=user.pk)
        if username != user.username:
            changes["username"] = {"from": user.username, "to": username}
    if email is not None:
        email = User.objects.normalize_email(email).strip()
        _validate_email(email)
        if email != user.email:
            changes["email"] = {"from": user.email, "to": email}
    if not changes:
        return user
    with transaction.atomic():
        for field, change in changes.items():
            setattr(user, field, change["to"])
        _save_username(user)
        record(origin=origin, action="user.update", target=user, details={"changes": changes})
    return user


def user_set_expiry(*, origin, user, expires_at, whole_company=False):
    """Set when ``user`` stops being able to log in (None: never); returns how many accounts changed.

    ``whole_company`` sets the same moment on every user of ``user``'s company (not its subsidiaries).
    Sub-users that would outlive their parent are brought forward to it. Open sessions end at the
    moment itself (accounts.middleware).
    """
    if whole_company and user.company_id is None:
        raise ValidationError({"expires_at": "This user belongs to no company."})
    _validate_expiry(expires_at, None if whole_company else user.parent)
    targets = User.objects.filter(company_id=user.company_id) if whole_company else User.objects.filter(pk=user.pk)
    with transaction.atomic():
        # exclude(expires_at=None) is "IS NOT NULL"; exclude(expires_at=moment) keeps the NULLs too.
        changed_ids = set(targets.exclude(expires_at=expires_at).values_list("pk", flat=True))
        if not changed_ids:
            return 0
        User.objects.filter(pk__in=changed_ids).update(expires_at=expires_at)
        clamped = _clamp_sub_users(set(targets.values_list("pk", flat=True)), expires_at)
        details = {
            "changes": {"expires_at": {"from": _isoformat(user.expires_at), "to": _isoformat(expires_at)}},
            "accounts_changed": len(changed_ids),
            "sub_users_brought_forward": clamped,
        }
        if whole_company:
            details["company"] = user.company.name
        record(origin=origin, action="user.expiry", target=user, details=details)
    user.expires_at = expires_at
    return len(changed_ids)


def _clamp_sub_users(parent_ids, expires_at):
    """Bring every descendant of ``parent_ids`` that would expire after ``expires_at`` forward to it."""
    if expires_at is None:
        return 0
    descendants = selectors.descendant_ids(parent_ids)
    later = Q(expires_at__isnull=True) | Q(expires_at__gt=expires_at)
    return User.objects.filter(later, pk__in=descendants).update(expires_at=expires_at)


def user_move(*, origin, user, company):
    """Move ``user`` and its sub-users to ``company`` (None: panel staff), which must be in the acting user's scope."""
    actor = origin.actor
    if actor is not None and not scope.may_place_in(actor, company):
        raise ValidationError({"company": "You cannot move users to this company." if company else "Choose a company."})
    if user.parent_id is not None:
        raise ValidationError({"company": f"A sub-user moves with its parent user, {user.parent.username}."})
    if company == user.company:
        return 0
    moving = {user.pk} | selectors.descendant_ids({user.pk})
    with transaction.atomic():
        User.objects.filter(pk__in=moving).update(company=company)
        details = {
            "from": user.company and user.company.name,
            "to": company and company.name,
            "sub_users_moved": len(moving) - 1,
        }
        record(origin=origin, action="user.move", target=user, details=details)
    user.company = company
    return len(moving)


def user_set_session_policy(*, origin, user, long_term_sessions, session_lifetime, exclusive_login):
    """Set how long ``user``'s login sessions last and whether a new login ends the others.

    Open sessions follow the new limits from their next request; exclusive login acts from the next login.
    """
    try:
        validate_session_policy(long_term=long_term_sessions, lifetime_seconds=session_lifetime)
    except ValidationError as error:
        raise ValidationError({"session_lifetime": error.messages}) from None
    policy = {
        "long_term_sessions": long_term_sessions,
        "session_lifetime": session_lifetime,
        "exclusive_login": exclusive_login,
    }
    changes = {
        field: {"from": getattr(user, field), "to": value}
        for field, value in policy.items()
        if getattr(user, field) != value
    }
    if not changes:
        return user
    with transaction.atomic():
        for field, change in changes.items():
            setattr(user, field, change["to"])
        user.save(update_fields=list(changes))
        record(origin=origin, action="user.session_policy", target=user, details={"changes": changes})
    return user


def _isoformat(moment):
    return moment.isoformat() if moment is not None else None


def user_set_password(*, origin, user, password, keep_session_key=None, by_reset=False):
    """Set a new password and end the user's sessions, except ``keep_session_key``.

    ``keep_session_key`` is the session of a user changing their own password:
    it survives (with a refreshed auth hash, see the view), every other ends.
    ``by_reset`` marks a password set through an emailed reset link; it also
    lifts a login lockout, which is how a locked-out user gets back in.
    """
    _validate_password(password or "", user)
    user.set_password(password)
    with transaction.atomic():
        user.save(update_fields=["password"])
        ended = _end_sessions(user=user, except_key=keep_session_key)
        record(
            origin=origin,
            action="user.password_reset" if by_reset else "user.password_change",
            target=user,
            details={
                "sessions_ended": ended,
                "self": by_reset or (origin.actor is not None and origin.actor.pk == user.pk),
            },
        )
    if by_reset:
        login_guard.record_success(username=user.get_username())
    return user


def user_change_own_password(*, origin, user, current_password, new_password, session_key):
    """A user changing their own password must prove they know the current one."""
    if not current_password:
        raise ValidationError({"current_password": REQUIRED_MESSAGES["current_password"]})
    if not user.check_password(current_password):
        record(
            origin=origin,
            action="user.password_change",
            target=user,
            outcome=AuditEvent.Outcome.FAILURE,
            details={"reason": "wrong current password"},
        )
        raise ValidationError({"current_password": "Your current password is not correct."})
    return user_set_password(origin=origin, user=user, password=new_password, keep_session_key=session_key)


def user_delete(*, origin, user):
    """Delete a user with its sub-users (and theirs), ending their sessions; returns how many sub-users went.

    Refused (LastUserError) when no user, or no user able to manage users, would remain. Every user
    row is locked first, so two deletions racing for the last two users are serialised: the second
    one sees what the first left and is refused.
    """
    with transaction.atomic():
        remaining = _lock_users()
        if user.pk not in remaining:
            raise User.DoesNotExist("This user no longer exists.")
        doomed = {user.pk} | selectors.descendant_ids({user.pk})
        refusal = _deletion_refusal(remaining=remaining, doomed=doomed)
        if refusal:
            # Recorded and committed before raising: raising inside the block would roll it back.
            record(
                origin=origin,
                action="user.delete",
                target=user,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"reason": refusal},
            )
        else:
            ended = sum(_end_sessions(user=doomed_user) for doomed_user in User.objects.filter(pk__in=doomed))
            details = {"sessions_ended": ended, "sub_users_deleted": len(doomed) - 1}
            record(origin=origin, action="user.delete", target=user, details=details)
            user.delete()  # sub-users cascade
    if refusal:
        raise LastUserError(LastUserError.messages[refusal])
    return len(doomed) - 1


def _lock_users():
    """Lock every user row (deletions check what remains); returns their primary keys."""
    return set(User.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


def _deletion_refusal(*, remaining, doomed):
    """Why deleting the users ``doomed`` must be refused ("last user", "no manager"), or None."""
    if not remaining - doomed:
        return "last user"
    managers = selectors.user_managers()
    if managers.filter(pk__in=doomed).exists() and not managers.exclude(pk__in=doomed).exists():
        return "no manager"
    return None


def session_start(*, origin, user, session_key):
    """Remember a freshly logged-in session, so that it can be ended later, and audit the login.

    With exclusive login, the user's other sessions end, and their browsers are told why.
    """
    with transaction.atomic():
        UserSession.objects.update_or_create(
            session_key=session_key,
            defaults={"user": user, "ip": origin.ip, "user_agent": origin.user_agent},
        )
        details = {}
        if user.exclusive_login:
            ended = _end_sessions(user=user, except_key=session_key, reason=session_policy.SIGNED_IN_ELSEWHERE)
            details["other_sessions_ended"] = ended
        record(origin=origin, action="auth.login", target=user, details=details)


def session_touch(*, session_key):
    UserSession.objects.filter(session_key=session_key).update(last_seen_at=timezone.now())


def session_rekey(*, old_key, new_key):
    """Follow a session whose key was cycled (after a password change)."""
    UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def session_end(*, origin, user, session_key):
    """A user logged out: forget the session and audit it."""
    with transaction.atomic():
        UserSession.objects.filter(session_key=session_key).delete()
        record(origin=origin, action="auth.logout", target=user)


def session_end_one(*, origin, session):
    """End one session of a user (their own choice, or an admin's) and audit it."""
    with transaction.atomic():
        _session_store()(session_key=session.session_key).delete()
        session.delete()
        record(
            origin=origin,
            action="session.end",
            target=session.user,
            details={"ip": session.ip, "started": session.created_at.isoformat()},
        )


def sessions_end_all(*, origin, user, except_key=None):
    """End every session of ``user`` but ``except_key`` (the browser asking, for your own); returns how many."""
    with transaction.atomic():
        ended = _end_sessions(user=user, except_key=except_key)
        record(origin=origin, action="session.end_all", target=user, details={"sessions_ended": ended})
    return ended


def _session_store():
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


def _end_sessions(*, user, except_key=None, reason=None):
    """End every recorded session of ``user`` on the server; returns how many ended.

    With a ``reason``, each browser is told it at its next request (session_policy.end_telling).
    """
    store: type[SessionBase] = _session_store()
    sessions = UserSession.objects.filter(user=user)
    if except_key:
        sessions = sessions.exclude(session_key=except_key)
    keys = list(sessions.values_list("session_key", flat=True))
    # Rows whose stored session already expired are tidied away but not counted as ended.
    live = Session.objects.filter(session_key__in=keys, expire_date__gt=timezone.now()).count()
    for key in keys:
        if reason:
            session_policy.end_telling(store(session_key=key), reason)
        else:
            store(session_key=key).delete()
    sessions.delete()
    return live


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
            raise ValidationError("Choose a parent company within your own.")
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
        raise CompanyNotEmpty("You cannot delete the company you belong to.")
    with transaction.atomic():
        remaining = _lock_users()  # first, so that nobody joins these companies while they are emptied
        user_ids = set(User.objects.filter(company_id__in=companies).values_list("pk", flat=True))
        if not cascade and (user_ids or len(companies) > 1):
            raise CompanyNotEmpty(
                f"{company.name} still holds {len(user_ids)} user{pluralize(len(user_ids))} and "
                f"{len(companies) - 1} subsidiar{pluralize(len(companies) - 1, 'y,ies')}: "
                "delete them too, or move them first."
            )
        refusal = _deletion_refusal(remaining=remaining, doomed=user_ids) if user_ids else None
        if refusal:
            details = {"reason": refusal}
            record(
                origin=origin,
                action="company.delete",
                target=company,
                outcome=AuditEvent.Outcome.FAILURE,
                details=details,
            )
        else:
            ended = sum(_end_sessions(user=user) for user in User.objects.filter(pk__in=user_ids))
            details = {
                "subsidiaries_deleted": len(companies) - 1,
                "users_deleted": len(user_ids),
                "sessions_ended": ended,
            }
            record(origin=origin, action="company.delete", target=company, details=details)
            User.objects.filter(pk__in=user_ids).delete()
            Group.objects.filter(role__company_id__in=companies).delete()  # the companies' own roles go too
            _delete_companies_leaves_first(companies)
    if refusal:
        raise LastUserError(LastUserError.messages[refusal])


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
        raise ValidationError({field: f"Unknown permission: {', '.join(sorted(unknown))}."})
    if beyond:
        labels = ", ".join(LABELS[name] for name in sorted(beyond))
        raise ValidationError({field: f"You cannot grant what you do not have yourself: {labels}."})


def _kept_out_of_reach(actor, current):
    """The permissions in ``current`` the acting user cannot grant: an edit by them leaves these as they are."""
    return set(current) - grantable_by(actor)


def _checked_role_fields(*, actor, name, company, role=None):
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "Enter the role's name."})
    if len(name) > Group._meta.get_field("name").max_length:
        raise ValidationError({"name": "The name must be at most 150 characters long."})
    taken = Group.objects.filter(name__iexact=name)
    if role is not None:
        taken = taken.exclude(pk=role.pk)
    if taken.exists():
        raise ValidationError({"name": f"A role named “{name}” already exists."})
    if actor is not None and not scope.may_place_in(actor, company):
        raise ValidationError({"company": "Choose a company within your own." if company else "Choose a company."})
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
    _checked_grant(origin.actor, permissions, field="permissions")
    current = selectors.permission_names(role.permissions.all())
    wanted = set(permissions) | _kept_out_of_reach(origin.actor, current)
    with transaction.atomic():
        role.name = name
        role.save(update_fields=["name"])
        Role.objects.update_or_create(group=role, defaults={"company": company})
        had_managers = selectors.user_managers().exists()
        role.permissions.set(selectors.permissions_named(wanted))
        _ensure_a_manager_remains(had_managers)
        details = {"name": name, "added": sorted(wanted - current), "removed": sorted(current - wanted)}
        record(origin=origin, action="role.update", target=role, details=details)
    return role


def role_delete(*, origin, role):
    """Delete ``role``; its members lose its permissions from their next request. Returns how many members."""
    with transaction.atomic():
        members = role.user_set.count()
        had_managers = selectors.user_managers().exists()
        record(origin=origin, action="role.delete", target=role, details={"members": members})
        role.delete()
        _ensure_a_manager_remains(had_managers)
    return members


def _ensure_a_manager_remains(had_managers):
    """Inside a transaction that took permissions away: refuse (and so roll back) if it took the last user manager."""
    if had_managers and not selectors.user_managers().exists():
        raise LastUserError(LastUserError.messages["no manager"])


def user_set_access(*, origin, user, roles, permissions):
    """Set ``user``'s roles and direct permissions; their permissions are the sum of both (seed 002).

    The acting user assigns only roles they may see whose permissions they hold, and grants only what
    they hold; what lies beyond their reach stays as it was.
    """
    actor = origin.actor
    roles = set(roles)
    visible = set(selectors.visible_roles(actor)) if actor is not None else set(Group.objects.all())
    hidden = sorted(role.name for role in roles - visible)
    if hidden:
        raise ValidationError({"roles": f"You cannot assign the role {', '.join(hidden)}."})
    current_roles = set(user.groups.all())
    for role in roles - current_roles:  # a role the user already holds is not granted again
        try:
            _checked_grant(actor, selectors.permission_names(role.permissions.all()), field="roles")
        except ValidationError:
            raise ValidationError({"roles": f"The role {role.name} grants more than you have."}) from None
    _checked_grant(actor, permissions, field="permissions")
    current_perms = selectors.permission_names(user.user_permissions.all())
    wanted_roles = roles | (current_roles - visible)
    wanted_perms = set(permissions) | _kept_out_of_reach(actor, current_perms)
    if wanted_roles == current_roles and wanted_perms == current_perms:
        return user
    with transaction.atomic():
        had_managers = selectors.user_managers().exists()
        user.groups.set(wanted_roles)
        user.user_permissions.set(selectors.permissions_named(wanted_perms))
        _ensure_a_manager_remains(had_managers)
        details = {
            "roles_added": sorted(role.name for role in wanted_roles - current_roles),
            "roles_removed": sorted(role.name for role in current_roles - wanted_roles),
            "permissions_added": sorted(wanted_perms - current_perms),
            "permissions_removed": sorted(current_perms - wanted_perms),
        }
        record(origin=origin, action="user.access", target=user, details=details)
    return user
