"""Idle and absolute timeouts for logged-in sessions, and their last-seen time."""

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout

from accounts import services
from accounts.selectors import login_refusal

_LOGIN_AT = "panel_login_at"
_SEEN_AT = "panel_seen_at"
# Writing last-seen on every request would save the session each time; once a minute is enough.
_TOUCH_INTERVAL = 60


def start_session_clocks(session):
    """Start the idle and absolute clocks at login, not at the session's first later request."""
    now = int(time.time())
    session[_LOGIN_AT] = now
    session[_SEEN_AT] = now


class SessionActivityMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = login_refusal(request.user) if request.user.is_authenticated else None
        if refusal:
            # The account expired while this session was open.
            logout(request)
            messages.info(request, refusal)
        elif request.user.is_authenticated:
            now = int(time.time())
            login_at = request.session.setdefault(_LOGIN_AT, now)
            seen_at = request.session.get(_SEEN_AT, now)
            if now - seen_at > settings.PANEL_SESSION_IDLE_TIMEOUT or now - login_at > settings.SESSION_COOKIE_AGE:
                logout(request)
                messages.info(request, "Your session timed out. Please log in again.")
            elif now - seen_at >= _TOUCH_INTERVAL or _SEEN_AT not in request.session:
                request.session[_SEEN_AT] = now
                services.session_touch(session_key=request.session.session_key)
        return self.get_response(request)
