"""Each request of a logged-in session: within its policy's limits, and last seen at most a minute ago.

A session of an exclusive-login account must also still be recorded (one query, for those accounts
only): when a later login ends it while this browser's own login request is still running, that
request's closing save of the session overwrites the ending, and only the missing record tells.
"""

import time

from django.contrib import messages
from django.contrib.auth import logout
from django.utils.translation import gettext as _

from usersessions import policy, selectors, services

# Writing last-seen on every request would save the session each time; once a minute is enough.
_TOUCH_INTERVAL = 60


class SessionPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user, session = request.user, request.session
        if not user.is_authenticated:
            ended_because = session.pop(policy.ENDED_BECAUSE, None)
            if ended_because:  # stored in English (gettext_noop), told in this request's language
                messages.info(request, _(ended_because))
            return self.get_response(request)
        now = int(time.time())
        if policy.timed_out(session, user, now):
            logout(request)
            messages.info(request, _("Your session timed out. Please log in again."))
        elif user.exclusive_login and not selectors.session_recorded(session_key=session.session_key):
            logout(request)
            messages.info(request, _(policy.SIGNED_IN_ELSEWHERE))
        elif now - session.get(policy.SEEN_AT, now) >= _TOUCH_INTERVAL or policy.SEEN_AT not in session:
            session[policy.SEEN_AT] = now
            services.session_touch(session_key=session.session_key)
        return self.get_response(request)


class FallbackKeyMiddleware:
    """A session signed before SECRET_KEY was rotated keeps its record when it moves to a new key.

    Django verifies such a session with a former key (SECRET_KEY_FALLBACKS) and gives it a new session
    key; its record follows, so the session is still listed and can still be ended, and an exclusive-login
    account's session is not taken for one ended by a later login. Right after AuthenticationMiddleware.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.session.session_key
        # Checking the user is what verifies the session (and cycles its key).
        if key is not None and request.user.is_authenticated and request.session.session_key != key:
            services.session_rekey(old_key=key, new_key=request.session.session_key)
        return self.get_response(request)
