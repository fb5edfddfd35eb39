"""Every change to users and their sessions.

Each function takes keyword-only arguments and an ``origin`` (who acts, from
where), validates with the shared validators, runs in one transaction and
writes one audit event. Views, operator commands and the API call these and
nothing below them.
"""

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import login_guard, scope, session_policy
from accounts.models import User, UserSession
from accounts.validators import (
    REQUIRED_MESSAGES,
    validate_account_expiry,
    validate_session_policy,
    validate_sub_user_expiry,
    validate_username_available,
)
from panel.audit import record
from panel.models import AuditEvent


class LastUserError(Exception):
    """Deleting this user would leave the panel with nobody able to log in."""

    message = "The last user cannot be deleted: at least one user must remain."


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
    descendants = _descendant_ids(parent_ids)
    later = Q(expires_at__isnull=True) | Q(expires_at__gt=expires_at)
    return User.objects.filter(later, pk__in=descendants).update(expires_at=expires_at)


def _descendant_ids(user_ids):
    """The sub-users of ``user_ids``, their sub-users, and so on (not ``user_ids`` themselves)."""
    found, frontier = set(), set(user_ids)
    while frontier:
        children = set(User.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - found
        found |= children
        frontier = children
    return found


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
    """Delete a user and end its sessions, never the last user.

    Every user row is locked first, so two deletions racing for the last two
    users are serialised: the second one sees a single user left and is refused.
    """
    with transaction.atomic():
        remaining = list(User.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
        if user.pk not in remaining:
            raise User.DoesNotExist("This user no longer exists.")
        last_user = len(remaining) <= 1
        if last_user:
            # Recorded and committed before raising: raising inside the block would roll it back.
            record(
                origin=origin,
                action="user.delete",
                target=user,
                outcome=AuditEvent.Outcome.FAILURE,
                details={"reason": "last user"},
            )
        else:
            ended = _end_sessions(user=user)
            record(origin=origin, action="user.delete", target=user, details={"sessions_ended": ended})
            user.delete()
    if last_user:
        raise LastUserError(LastUserError.message)


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
