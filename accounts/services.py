"""Every change to users.

Each function takes keyword-only arguments and an ``origin`` (who acts, from
where), validates with the shared validators, runs in one transaction and
writes one audit event. Views, operator commands and the API call these and
nothing below them.
"""

from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts import notifications, selectors
from accounts.models import User
from accounts.preferences import user_set_preferences
from accounts.validators import (
    REQUIRED_MESSAGES,
    validate_account_expiry,
    validate_sub_user_expiry,
    validate_username_available,
)
from core import throttle
from core.audit import record
from core.locks import lock_user
from core.models import AuditEvent
from organisation import scope
from organisation.services import ACTOR_DELETED, LastUserError, change_in_turn, deletion_refusal, in_turn
from usersessions.services import end_sessions

__all__ = ["LastUserError", "user_set_preferences"]


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
        message = _("Choose a company.") if company is None else _("You cannot place users in this company.")
        raise ValidationError({"company": message})
    if parent is not None and parent.company_id != (company.pk if company else None):
        raise ValidationError({"company": _("A sub-user belongs to the company of its parent user.")})


def _refuse_out_of_reach(actor, users, *, field):
    """Refuse to act on ``users`` when any of them is outside ``actor``'s scope (organisation.scope.out_of_reach)."""
    refusal = scope.beyond_reach(actor, users, doing="change")
    if refusal:
        raise ValidationError({field: refusal})


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
        lock_user(user)
        for field, change in changes.items():
            setattr(user, field, change["to"])
        _save_username(user)
        record(origin=origin, action="user.update", target=user, details={"changes": changes})
        if "email" in changes:
            notifications.email_changed(origin, user, changes["email"])
    return user


def user_set_expiry(*, origin, user, expires_at, whole_company=False):
    """Set when ``user`` stops being able to log in (None: never); returns how many accounts changed.

    ``whole_company`` sets the same moment on every user of ``user``'s company (not its subsidiaries).
    Sub-users that would outlive their parent are brought forward to it. Open sessions end at the
    moment itself (accounts.middleware). Refused (LastUserError, audited) if every user manager would then
    expire where one did not.
    """
    if whole_company and user.company_id is None:
        raise ValidationError({"expires_at": _("This user belongs to no company.")})
    _validate_expiry(expires_at, None if whole_company else user.parent)
    targets = User.objects.filter(company_id=user.company_id) if whole_company else User.objects.filter(pk=user.pk)
    _refuse_out_of_reach(origin.actor, targets, field="expires_at")
    if scope.own_change_refused(origin.actor, "expiry") and targets.filter(pk=origin.actor.pk).exists():
        raise PermissionDenied(scope.OWN_CHANGE_REFUSED)

    def set_expiry(origin):
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
        return len(changed_ids)

    changed = change_in_turn(origin=origin, action="user.expiry", target=user, change=set_expiry)
    user.expires_at = expires_at
    return changed


def _clamp_sub_users(parent_ids, expires_at):
    """Bring every descendant of ``parent_ids`` that would expire after ``expires_at`` forward to it."""
    if expires_at is None:
        return 0
    descendants = selectors.descendant_ids(parent_ids)
    later = Q(expires_at__isnull=True) | Q(expires_at__gt=expires_at)
    return User.objects.filter(later, pk__in=descendants).update(expires_at=expires_at)


# Kept in the ended session in English, translated when its browser is told (usersessions.middleware).
DISABLED = gettext_noop("You were signed out because your account was disabled.")


def user_set_enabled(*, origin, user, enabled):
    """Enable or disable ``user``'s account; returns whether it changed.

    A disabled user cannot log in by any means (password, passkey, access token: accounts.selectors.
    login_refusal) and their sessions end now, each browser told why. Nobody disables their own account,
    and disabling the last user manager is refused (LastUserError, audited).
    """
    actor = origin.actor
    if actor is not None and actor.pk == user.pk:
        raise PermissionDenied(_("You cannot disable your own account: someone else who may manage it must."))
    if not scope.may_manage(actor, user):
        raise PermissionDenied(_("You cannot manage this user."))
    enabled = bool(enabled)
    action = "user.enable" if enabled else "user.disable"

    def set_enabled(origin):
        lock_user(user)
        if not User.objects.filter(pk=user.pk).exclude(is_active=enabled).update(is_active=enabled):
            return False  # another admin did the same a moment earlier
        ended = 0 if enabled else end_sessions(user=user, reason=DISABLED)
        record(origin=origin, action=action, target=user, details={"sessions_ended": ended})
        return True

    changed = change_in_turn(origin=origin, action=action, target=user, change=set_enabled)
    user.is_active = enabled
    return changed


def user_move(*, origin, user, company):
    """Move ``user`` and its sub-users to ``company`` (None: panel staff), which must be in the acting user's scope."""
    actor = origin.actor
    if actor is not None and not scope.may_place_in(actor, company):
        message = _("You cannot move users to this company.") if company else _("Choose a company.")
        raise ValidationError({"company": message})
    if user.parent_id is not None:
        message = _("A sub-user moves with its parent user, %(name)s.") % {"name": user.parent.username}
        raise ValidationError({"company": message})
    if company == user.company:
        return 0
    moving = {user.pk} | selectors.descendant_ids({user.pk})
    _refuse_out_of_reach(origin.actor, User.objects.filter(pk__in=moving), field="company")
    with transaction.atomic():
        origin = in_turn(origin)  # several user rows at once: in turn with deletions, which lock theirs
        User.objects.filter(pk__in=moving).update(company=company)
        details = {
            "from": user.company and user.company.name,
            "to": company and company.name,
            "sub_users_moved": len(moving) - 1,
        }
        record(origin=origin, action="user.move", target=user, details=details)
    user.company = company
    return len(moving)


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
        lock_user(user)
        user.save(update_fields=["password"])
        ended = end_sessions(user=user, except_key=keep_session_key)
        record(
            origin=origin,
            action="user.password_reset" if by_reset else "user.password_change",
            target=user,
            details={
                "sessions_ended": ended,
                "self": by_reset or (origin.actor is not None and origin.actor.pk == user.pk),
            },
        )
        notifications.password_changed(origin, user, by_reset=by_reset)
    if by_reset:
        throttle.record_success(username=user.get_username())
    return user


def user_set_notifications(*, origin, user, notify_new_login):
    """Turn the emails about logins from new browsers on or off for ``user``."""
    notify_new_login = bool(notify_new_login)
    if notify_new_login == user.notify_new_login:
        return user
    with transaction.atomic():
        lock_user(user)
        user.notify_new_login = notify_new_login
        user.save(update_fields=["notify_new_login"])
        changes = {"notify_new_login": {"from": not notify_new_login, "to": notify_new_login}}
        record(origin=origin, action="user.notifications", target=user, details={"changes": changes})
    return user


def user_change_own_password(*, origin, user, current_password, new_password, session_key):
    """A user changing their own password must prove they know the current one, under the login guard."""
    if not current_password:
        raise ValidationError({"current_password": REQUIRED_MESSAGES["current_password"]})
    with throttle.guarded_attempt(
        origin=origin, action="user.password_change", username=user.get_username(), target=user
    ):
        if not user.check_password(current_password):
            record(
                origin=origin,
                action="user.password_change",
                target=user,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"reason": "wrong current password"},
            )
            raise ValidationError({"current_password": _("Your current password is not correct.")})
    return user_set_password(origin=origin, user=user, password=new_password, keep_session_key=session_key)


def user_delete(*, origin, user):
    """Delete a user with its sub-users (and theirs), ending their sessions; returns how many sub-users went.

    Refused (LastUserError, audited) when no user, or no user able to manage users, would remain; taken
    in turn with every such change (``in_turn``), so two admins deleting each other leave one of them.
    """
    with transaction.atomic():
        origin = in_turn(origin)
        doomed = {user.pk} | selectors.descendant_ids({user.pk})
        # Their rows first, in one order: a change to one of them (a password, say) then waits for this
        # deletion, or this for it, and never each for the other.
        locked = User.objects.select_for_update().filter(pk__in=doomed).order_by("pk").values_list("pk", flat=True)
        if user.pk not in set(locked):
            raise User.DoesNotExist("This user no longer exists.")
        if not origin.actor_deleted:  # a deleted actor reaches nobody: they are told the rule, or that they went
            beyond = scope.beyond_reach(origin.actor, User.objects.filter(pk__in=doomed), doing="delete")
            if beyond:
                raise PermissionDenied(beyond)
        refusal = deletion_refusal(doomed)
        if refusal:
            record(
                origin=origin,
                action="user.delete",
                target=user,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"reason": refusal},
            )
        elif origin.actor_deleted:
            raise PermissionDenied(ACTOR_DELETED)
        else:
            ended = sum(end_sessions(user=doomed_user) for doomed_user in User.objects.filter(pk__in=doomed))
            details = {"sessions_ended": ended, "sub_users_deleted": len(doomed) - 1}
            record(origin=origin, action="user.delete", target=user, details=details)
            user.delete()  # sub-users cascade
    if refusal:
        raise LastUserError(LastUserError.messages[refusal])
    return len(doomed) - 1
