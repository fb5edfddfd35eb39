"""Every change to users' login sessions: started at login, touched, re-keyed, ended.

A session is remembered (UserSession) so that it can be listed and ended on the
server; ending one deletes Django's stored session, so its cookie logs nobody in.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy

from core.audit import record
from core.locks import lock_user
from core.notify import notify
from usersessions import policy
from usersessions.models import UserSession
from usersessions.validators import validate_session_policy

NEW_LOGIN = "core/notifications/new_login.txt"
# How long a record whose session is gone is kept (sessions_purge): longer than the middleware's touch interval.
RECORD_GRACE = timedelta(minutes=5)


def session_start(*, origin, user, session_key, new_browser=False):
    """Remember a freshly logged-in session, so that it can be ended later, and audit the login.

    With exclusive login, the user's other sessions end, and their browsers are told why; two logins at
    the same moment run one after the other (the user's row is locked), so the later one ends the
    earlier one and exactly one stays. A login from
    a ``new_browser`` (one without a device cookie for the account) is emailed to the user, unless they
    or the panel (PANEL_NOTIFY_NEW_LOGIN) turned that off.
    """
    with transaction.atomic():
        if user.exclusive_login:
            lock_user(user)
        UserSession.objects.update_or_create(
            session_key=session_key,
            defaults={"user": user, "ip": origin.ip, "user_agent": origin.user_agent},
        )
        details = {}
        if user.exclusive_login:
            ended = end_sessions(user=user, except_key=session_key, reason=policy.SIGNED_IN_ELSEWHERE)
            details["other_sessions_ended"] = ended
        record(origin=origin, action="auth.login", target=user, details=details)
        if new_browser and settings.PANEL_NOTIFY_NEW_LOGIN and user.notify_new_login:
            subject = gettext_lazy("New login to your account")  # rendered in the recipient's language
            notify(user, subject=subject, template=NEW_LOGIN, context={}, origin=origin)


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
        ended = end_sessions(user=user, except_key=except_key)
        record(origin=origin, action="session.end_all", target=user, details={"sessions_ended": ended})
    return ended


def sessions_purge(*, origin):
    """Delete the expired stored sessions, then every record (UserSession) whose session is gone.

    Returns ``(sessions, records)``, how many of each went; one event says so when any did.
    """
    now = timezone.now()
    with transaction.atomic():
        sessions, _ = Session.objects.filter(expire_date__lte=now).delete()
        stored = Session.objects.filter(session_key=OuterRef("session_key"))
        # A password change stores the session under a new key and deletes the old one before its record
        # follows (session_rekey); a record in use was seen within the last minute, so it is left alone.
        unused = UserSession.objects.filter(last_seen_at__lt=now - RECORD_GRACE)
        records, _ = unused.exclude(Exists(stored)).delete()
        if sessions or records:
            details = {"expired_sessions": sessions, "records": records}
            record(origin=origin, action="session.purge", target_name="login sessions", details=details)
    return sessions, records


def _session_store():
    return import_string(f"{settings.SESSION_ENGINE}.SessionStore")


def end_sessions(*, user, except_key=None, reason=None):
    """End every recorded session of ``user`` on the server; returns how many ended.

    With a ``reason`` (English, marked with gettext_noop), each browser is told it, translated, at its next
    request (policy.end_telling).
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
            policy.end_telling(store(session_key=key), reason)
        else:
            store(session_key=key).delete()
    sessions.delete()
    return live


def session_policy_set(*, origin, user, long_term_sessions, session_lifetime, exclusive_login):
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
