"""Every change to users and their sessions.

Each function takes keyword-only arguments and an ``origin`` (who acts, from
where), validates with the shared validators, runs in one transaction and
writes one audit event. Views, operator commands and the API call these and
nothing below them.
"""

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import login_guard, session_policy
from accounts.models import User, UserSession
from accounts.validators import (
    REQUIRED_MESSAGES,
    validate_account_expiry,
    validate_session_policy,
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


def _validate_expiry(expires_at):
    try:
        validate_account_expiry(expires_at)
    except ValidationError as error:
        raise ValidationError({"expires_at": error.messages}) from None


def _save_username(user):
    """Save, turning a lost race on the case-insensitive unique index into a form error."""
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ValidationError({"username": "This username is already taken."}) from None


def user_create(*, origin, username, email, password, is_superuser=False, expires_at=None):
    """Create a user after checking every rule; returns the saved user."""
    email = User.objects.normalize_email(email or "").strip()
    username = (username or "").strip()
    user = User(username=username, email=email, is_superuser=is_superuser, expires_at=expires_at)
    # Check every field so that each rule that failed is shown next to its field.
    errors = {}
    for check, args in (
        (_validate_username, (username,)),
        (_validate_email, (email,)),
        (_validate_password, (password or "", user)),
        (_validate_expiry, (expires_at,)),
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
        details = {"superuser": is_superuser, "expires_at": _isoformat(expires_at)}
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


def user_set_expiry(*, origin, user, expires_at):
    """Set when ``user`` stops being able to log in (None: never). Their open sessions end at the moment itself."""
    _validate_expiry(expires_at)
    if expires_at == user.expires_at:
        return user
    change = {"from": _isoformat(user.expires_at), "to": _isoformat(expires_at)}
    with transaction.atomic():
        user.expires_at = expires_at
        user.save(update_fields=["expires_at"])
        record(origin=origin, action="user.expiry", target=user, details={"changes": {"expires_at": change}})
    return user


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
    for key in keys:
        if reason:
            session_policy.end_telling(store(session_key=key), reason)
        else:
            store(session_key=key).delete()
    sessions.delete()
    return len(keys)
