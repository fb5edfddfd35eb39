"""A user's login-session policy: how long their sessions last, and what ends them.

Each session keeps two clocks: when it logged in (the absolute limit) and when
it was last seen (the idle limit). A user's policy (User.long_term_sessions,
session_lifetime, exclusive_login) picks the limits; a session ended for a
reason the browser should hear (another login of an exclusive account) keeps
only that reason, which the next request shows on the login page.
"""

import contextlib
import time

from django.conf import settings
from django.contrib.sessions.backends.base import UpdateError
from django.utils.translation import gettext_noop

LOGIN_AT = "panel_login_at"
SEEN_AT = "panel_seen_at"
ENDED_BECAUSE = "panel_ended_because"
# A long-term session's cookie: it lasts while the browser keeps it, up to a year between visits.
LONG_TERM_SECONDS = 365 * 24 * 3600
# Reasons are kept in the ended session in English and translated when its browser is told (middleware).
SIGNED_IN_ELSEWHERE = gettext_noop("You were signed out because your account signed in on another browser.")


def lifetime(user):
    """Seconds a session of ``user`` lasts from login; None for long-term sessions."""
    if user.long_term_sessions:
        return None
    return user.session_lifetime or settings.SESSION_COOKIE_AGE


def idle_timeout(user):
    """Seconds a session of ``user`` may sit unused; None for long-term sessions."""
    return None if user.long_term_sessions else settings.PANEL_SESSION_IDLE_TIMEOUT


def start(session, user):
    """Start the clocks at login, and give the cookie the lifetime the policy says."""
    now = int(time.time())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now
    session.set_expiry(lifetime(user) or LONG_TERM_SECONDS)


def timed_out(session, user, now) -> bool:
    limit, idle = lifetime(user), idle_timeout(user)
    login_at = session.setdefault(LOGIN_AT, now)
    seen_at = session.get(SEEN_AT, now)
    return bool((limit and now - login_at > limit) or (idle and now - seen_at > idle))


def end_telling(session, reason):
    """Log a stored session out but keep ``reason`` in it, for its browser's next request."""
    session.clear()
    session[ENDED_BECAUSE] = reason
    # A session that had already expired and been cleared away has nothing left to end.
    with contextlib.suppress(UpdateError):
        session.save()
